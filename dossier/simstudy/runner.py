"""Run a simulation study: expand the grid, skip units already in the cache, run the rest on an executor,
stream the outputs into the cache and the result table.

Resume: each finished task is written to ``cache_dir/<task hash>.npz`` (atomically) as soon as it
arrives, holding the per-trial outcomes of its units keyed by unit hash.  A later run with the same
grid (any executor, any task grouping) loads every cached unit and computes only the others.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dossier.simstudy.executors import make_executor, run_task
from dossier.simstudy.grid import (
    SimulationStudySpec,
    expand_designs,
    expand_scenarios,
    expand_units,
    make_tasks,
)
from dossier.simstudy.results import Aggregator, RunStats, SimulationStudyResult

_FIELDS = ("n", "y", "selected", "no_mtd")


@dataclass
class StudyProgress:
    """Passed to the ``progress`` callback after each finished task."""

    tasks_done: int
    tasks_total: int
    trials_done: int  # trials simulated in this run (cached ones excluded)
    trials_total: int  # trials to simulate in this run
    units_cached: int
    elapsed: float

    @property
    def trials_per_second(self) -> float:
        return self.trials_done / self.elapsed if self.elapsed > 0 else 0.0


class UnitCache:
    """Finished units on disk: one ``<task hash>.npz`` per finished task, arrays named ``<unit hash>__<field>``."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._where: dict[str, Path] = {}

    def index(self) -> dict[str, Path]:
        """Unit hash -> file, for every readable cache file (a torn or foreign file is ignored)."""
        where: dict[str, Path] = {}
        for path in sorted(self.dir.glob("*.npz")):
            try:
                with np.load(path) as z:
                    names = z.files
            except (OSError, ValueError, zipfile.BadZipFile, EOFError):
                continue
            for name in names:
                h, _, fld = name.rpartition("__")
                if fld == "no_mtd":
                    where[h] = path
        self._where = where
        return where

    def load_many(self, unit_hashes: list[str]) -> dict[str, dict[str, np.ndarray]]:
        """The cached outcomes of those units that are cached and readable (each file opened once)."""
        by_path: dict[Path, list[str]] = {}
        for h in unit_hashes:
            if h in self._where:
                by_path.setdefault(self._where[h], []).append(h)
        found: dict[str, dict[str, np.ndarray]] = {}
        for path, hashes in by_path.items():
            try:
                with np.load(path) as z:
                    fields: dict[str, list[str]] = {}
                    for name in z.files:
                        h, _, fld = name.rpartition("__")
                        fields.setdefault(h, []).append(fld)
                    for h in hashes:
                        if not set(_FIELDS) <= set(fields.get(h, ())):
                            raise KeyError(h)
                        found[h] = {f: z[f"{h}__{f}"] for f in fields[h]}
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
                continue
        return found

    def store(self, output: dict[str, Any]) -> Path:
        # the fields every unit has, plus those of OBD designs (r, duration, n_backfill)
        arrays = {f"{h}__{f}": v for h, a in output["units"].items() for f, v in a.items()}
        path = self.dir / f"{output['task']}.npz"
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)  # atomic: a killed run leaves either the whole file or none
        for h in output["units"]:
            self._where[h] = path
        return path


def run_study(spec: SimulationStudySpec, executor: Any = "inprocess", cache_dir: str | Path | None = None,
              progress: Callable[[StudyProgress], None] | None = None, *, workers: int | None = None,
              scheduler: str | None = None) -> SimulationStudyResult:
    """Simulate every design x scenario of ``spec`` and return the comparison with MC standard errors.

    ``executor``: ``"inprocess"`` (default), ``"processes"``, ``"dask"`` or an executor object (anything
    with ``name``, ``workers`` and ``map(fn, payloads)`` yielding outputs as they complete).
    ``cache_dir``: finished tasks are stored there and not recomputed by a later run (resume).
    ``progress``: called with a :class:`StudyProgress` after each task (after it is cached, so an
    exception raised by the callback, like an interrupted run, loses no finished work).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    ex = make_executor(executor, scheduler=scheduler, workers=workers) if isinstance(executor, str) else executor
    designs = expand_designs(spec)
    scenarios = expand_scenarios(spec)
    units = expand_units(spec, designs, scenarios)
    agg = Aggregator(spec, designs, scenarios, units)
    cache = UnitCache(cache_dir) if cache_dir is not None else None
    todo = units
    n_cached = 0
    if cache is not None:
        cache.index()
        found = cache.load_many([u.hash for u in units])
        todo = [u for u in units if u.hash not in found]
        for h, arrays in found.items():
            agg.add(h, arrays)
        n_cached = len(found)
    tasks = make_tasks(spec, todo, designs, scenarios)
    trials_total = sum(t.n_trials for t in tasks)
    sizes = {t.hash: t.n_trials for t in tasks}
    done = trials_done = 0
    task_seconds = task_cpu = 0.0
    # start the executor (worker processes are forked here) before the first progress callback
    outputs = ex.map(run_task, [t.payload for t in tasks]) if tasks else iter(())
    with contextlib.closing(outputs) if hasattr(outputs, "close") else contextlib.nullcontext(outputs):
        if progress is not None:
            progress(StudyProgress(0, len(tasks), 0, trials_total, n_cached, time.perf_counter() - t0))
        for output in outputs:
            if cache is not None:
                cache.store(output)
            for h, arrays in output["units"].items():
                agg.add(h, arrays)
            done += 1
            trials_done += sizes[output["task"]]
            task_seconds += output["seconds"]
            task_cpu += output.get("cpu_seconds", 0.0)
            if progress is not None:
                progress(StudyProgress(done, len(tasks), trials_done, trials_total, n_cached,
                                       time.perf_counter() - t0))
    missing = agg.missing()
    if missing:  # an executor that returned fewer outputs than tasks: a bug, not a user error
        raise RuntimeError(f"{len(missing)} units of the study have no result")
    result = agg.finish()
    wall = time.perf_counter() - t0
    result.run = RunStats(executor=ex.name, workers=int(getattr(ex, "workers", 1)), n_tasks=len(tasks),
                          n_units=len(units), units_computed=len(todo), units_cached=n_cached,
                          trials_computed=trials_done, wall_seconds=wall, task_seconds=task_seconds,
                          task_cpu_seconds=task_cpu, driver_cpu_seconds=time.process_time() - c0,
                          trials_per_second=trials_done / wall if wall > 0 else 0.0)
    return result
