"""Where tasks run: in this process (default), in local processes, or on a Dask cluster.

Every executor maps :func:`run_task` over task payloads and yields the outputs **as they complete**
(so results stream into the table and the cache while the rest still runs).  A task's output does not
depend on the executor: the payload carries its seeds (see :mod:`dossier.simstudy.grid`).

Dask is optional (``pip install dossier[dask]``): it is imported only inside :class:`DaskExecutor`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dossier.designs.blas import single_threaded_blas
from dossier.errors import DossierError

if TYPE_CHECKING:
    import numpy as np

EXECUTORS = ("inprocess", "processes", "dask")


class ExecutorError(DossierError):
    """An executor could not be started (Dask missing, scheduler unreachable, ...)."""


# ----------------------------------------------------------------------------------------------
# The work of one task (runs in the worker)
# ----------------------------------------------------------------------------------------------


def simulate_unit(design, true_tox: np.ndarray, true_eff: np.ndarray | None, uniforms: np.ndarray,
                  rng: np.random.Generator | None = None):
    """Per-trial outcomes of one block: the single place that calls the simulation engine.

    ``uniforms`` has shape (trials, >= design.max_patients), one per patient slot (toxicity of the
    escalation patients: common random numbers).  MTD designs use the toxicity curve only.  OBD / timed
    designs (BOIN12, U-BOIN, BF-BOIN, TITE-BOIN) also draw efficacy, accrual and backfill randomness from
    ``rng`` (a generator seeded by the unit's SeedSequence, never global state) and return
    :class:`~dossier.designs.obd.ObdOutcomes`; TITE-BOIN's responses (which do not influence the
    design) are then drawn from ``rng``.  Every design is run through :meth:`Design.outcomes`.
    """
    from dossier.designs import Scenario

    if rng is None and (design.needs_efficacy or design.uses_calendar_time or design.selects_obd):
        raise ValueError("OBD designs need a seeded generator for their extra randomness")
    scenario = Scenario(p_tox=[float(v) for v in true_tox],
                        p_eff=None if true_eff is None else [float(v) for v in true_eff])
    return design.outcomes(scenario, uniforms.shape[0], rng, uniforms)


def unit_rng(entropy: int, spawn_key: tuple[int, ...]) -> np.random.Generator:
    """The generator of a unit's extra randomness (efficacy, accrual, backfill of OBD designs): the first
    spawned child of the block's SeedSequence (a spawn key one longer than any block's, so its stream
    is distinct from every block's uniforms); the same for every design of the block."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=tuple(spawn_key) + (0,)))


def run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Simulate every unit of a task; returns per-trial outcomes per unit (compact integer arrays).

    Units of the same scenario and block share one uniform matrix (common random numbers), drawn
    once per task from the unit's SeedSequence.
    """
    with single_threaded_blas():
        return _run_task(payload)


def _run_task(payload: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from dossier.designs.obd import ObdOutcomes
    from dossier.simstudy.grid import build_design

    t0, c0 = time.perf_counter(), time.thread_time()  # thread: not the worker's own threads (Dask comms)
    uniforms: dict[tuple, np.ndarray] = {}
    out: dict[str, dict[str, np.ndarray]] = {}
    for u in payload["units"]:
        design = build_design(u["design"])
        P = design.max_patients
        skey = (u["entropy"], tuple(u["spawn_key"]), u["size"])
        U = uniforms.get(skey)
        if U is None or U.shape[1] < P:
            # one uniform per patient slot, slot-major so any P' < P sees the same first slots
            ss = np.random.SeedSequence(u["entropy"], spawn_key=tuple(u["spawn_key"]))
            U = uniforms[skey] = np.random.default_rng(ss).random((P, u["size"])).T
        tox = np.asarray(u["true_tox"], dtype=float)
        eff = None if u["true_eff"] is None else np.asarray(u["true_eff"], dtype=float)
        res = simulate_unit(design, tox, eff, U[:, :P], unit_rng(u["entropy"], u["spawn_key"]))
        obd = isinstance(res, ObdOutcomes)
        # counts per dose fit: halves transfer and cache (OBD designs may add backfill patients beyond P)
        small = np.int8 if P <= 127 and not obd else np.int16 if P <= 16_000 else np.int32
        arrays = {"n": res.n.astype(small), "y": res.y.astype(small),
                  "selected": res.selected.astype(np.int16), "no_mtd": res.no_mtd.astype(bool)}
        if obd:
            arrays["r"] = res.r.astype(small)
            if res.duration is not None:
                arrays["duration"] = np.asarray(res.duration, dtype=float)
            if res.n_backfill is not None:
                arrays["n_backfill"] = res.n_backfill.astype(small)
        out[u["hash"]] = arrays
    return {"task": payload["task"], "units": out, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.thread_time() - c0, "pid": os.getpid()}


# ----------------------------------------------------------------------------------------------
# Executors
# ----------------------------------------------------------------------------------------------


class InProcessExecutor:
    """Runs tasks one after the other in this process."""

    name = "inprocess"
    workers = 1

    def map(self, fn: Callable[[Any], Any], payloads: Iterable[Any]) -> Iterator[Any]:
        for p in payloads:
            yield fn(p)


def _process_context():
    import multiprocessing as mp
    import threading

    methods = mp.get_all_start_methods()
    # fork: workers start in milliseconds with everything imported; safe only while this process runs
    # no other thread (a forked copy of a lock held by another thread never unlocks).  Otherwise
    # forkserver: children forked from a clean server process with the simulation modules preloaded.
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["dossier.simstudy.executors", "dossier.designs"])
        return ctx
    return mp.get_context("spawn")


class ProcessExecutor:
    """Runs tasks in local worker processes (``concurrent.futures.ProcessPoolExecutor``); by default one
    per core.  Workers are started and all tasks submitted when :meth:`map` is called (before any
    progress display starts a thread), then outputs are yielded as they complete.  Workers are forked
    when this process runs a single thread, else started by a fork server, which re-imports the main
    script: scripts then need the ``if __name__ == "__main__":`` guard (as with any multiprocessing)."""

    name = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = int(workers or os.cpu_count() or 1)

    def map(self, fn: Callable[[Any], Any], payloads: Iterable[Any]) -> Iterator[Any]:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_process_context())
        try:
            futures = [pool.submit(fn, p) for p in payloads]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        return _PoolResults(pool, futures)


class _PoolResults:
    """Outputs of a process pool in completion order; ``close()`` (also when never iterated) cancels
    what has not started and shuts the pool down."""

    def __init__(self, pool, futures):
        from concurrent.futures import as_completed

        self.pool, self.futures = pool, futures
        self._done = as_completed(futures)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._done).result()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for fut in self.futures:
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs tasks on a Dask cluster: an existing ``distributed.Client`` (``client``, left open), the
    scheduler at ``scheduler`` (``tcp://host:8786``), or a ``LocalCluster`` of ``workers``
    single-threaded worker processes started (and closed) here."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, client: Any = None):
        self.scheduler = scheduler
        self.client = client
        self.workers = int(workers or os.cpu_count() or 1)
        if client is not None:
            self.workers = len(client.scheduler_info().get("workers", {})) or self.workers

    def map(self, fn: Callable[[Any], Any], payloads: Iterable[Any]) -> Iterator[Any]:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise ExecutorError("the Dask executor needs dask.distributed, which is not installed",
                                "--executor dask", "pip install 'dossier[dask]'") from None
        cluster = None
        own = self.client is None
        try:
            if not own:
                client = self.client
            elif self.scheduler:
                client = Client(self.scheduler, timeout="10s")
            else:
                cluster = start_local_cluster(self.workers)
                client = Client(cluster)
        except (OSError, TimeoutError) as err:
            if cluster is not None:
                cluster.close()
            raise ExecutorError(f"cannot connect to the Dask scheduler: {err}", self.scheduler or "LocalCluster",
                                "check the address (tcp://host:8786) and that the scheduler is running") from None
        futures = []
        try:
            payloads = list(payloads)
            run = uuid.uuid4().hex[:8]  # distinct keys per run: a shared cluster may still hold old ones
            keys = [f"simstudy-{run}-{p['task'][:16]}" for p in payloads]
            futures = client.map(fn, payloads, key=keys, pure=False)
            for fut, result in as_completed(futures, with_results=True):  # results gathered in batches
                fut.release()
                yield result
        finally:
            if futures:
                client.cancel(futures)
            if own:
                client.close()
            if cluster is not None:
                cluster.close()


def start_local_cluster(workers: int | None = None):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes, without a dashboard.

    Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers (to return memory to the OS); that
    also switches off glibc's adaptive mmap threshold, so every larger numpy temporary is mmap-ed
    and page-faulted afresh: +30% CPU for this engine (measured).  It is unset here; set it the same
    way (``distributed.nanny.pre-spawn-environ``) on a remote cluster's workers.
    """
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=int(workers or os.cpu_count() or 1), threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


def make_executor(kind: str = "inprocess", *, scheduler: str | None = None, workers: int | None = None):
    """An executor by name: ``inprocess``, ``processes`` (``workers`` processes, default all cores) or
    ``dask`` (``scheduler`` address, or a LocalCluster of ``workers`` processes)."""
    key = str(kind).strip().lower()
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be >= 1, got {workers}", "--workers")
    if scheduler and key != "dask":
        raise ExecutorError("--scheduler applies to --executor dask only", "--scheduler",
                            "add --executor dask")
    if key == "inprocess":
        return InProcessExecutor()
    if key == "processes":
        return ProcessExecutor(workers)
    if key == "dask":
        return DaskExecutor(scheduler, workers)
    raise ExecutorError(f"unknown executor {kind!r}", "--executor", f"choose one of: {', '.join(EXECUTORS)}")
