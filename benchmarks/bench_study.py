"""Benchmark of simulation studies: 5 designs x 20 scenarios x 10,000 trials (1,000,000 simulated trials).

Wall time in-process, with 2 local processes and on a 2-worker Dask LocalCluster; speed-up and
parallel efficiency (speed-up / workers); overhead per task.  Every run computes the whole grid (no
cache) and must give results identical to the in-process run.

* Runs alternate (in-process, parallel, in-process, ...; best of ``--repeats`` each) so both see the
  same machine load; a parallel run's speed-up is against the in-process runs of its own phase.
* ``wall``: from run_study's call to its return (grid expansion, workers' start, simulation, pooling
  of all results into the table).  For Dask the LocalCluster is started before the clock (reported
  separately as "cluster start"); "dask incl. start" adds it.
* ``overhead per task`` = (workers x wall - time spent inside tasks) / tasks: everything a task costs
  beyond its own simulation (scheduling, transfer, pooling, idle workers at the end), per task;
  ``driver CPU/task``: CPU time of the main process per task outside the simulation (dispatch, cache,
  pooling of results), unaffected by other load on the machine.
* CPU: the machine is shared, so the available parallelism (a fixed CPU-bound loop in ``workers``
  processes at once vs alone: the ceiling of any speed-up right now), the system-wide CPU utilisation
  (psutil) during each run and the load average are printed; ``task CPU s`` (CPU time of the tasks)
  shows whether parallel runs did more work or just got fewer cycles.

Usage: python benchmarks/bench_study.py [--trials 10000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def grid(n_trials: int) -> dict:
    """5 designs x 20 five-dose scenarios with the true MTD (target 0.3) at every dose level and the
    toxicity curve steep or flat (deterministic, no random numbers)."""
    import numpy as np

    scenarios = []
    for i in range(20):
        mtd = i % 5                    # dose whose toxicity is closest to 0.3
        slope = (0.6, 0.9, 1.3, 1.8)[i // 5]
        logit = np.log(0.3 / 0.7) + slope * (np.arange(5) - mtd) + 0.05 * (i % 3 - 1)
        p = 1 / (1 + np.exp(-logit))
        scenarios.append({"name": f"S{i + 1} MTD {mtd + 1} slope {slope}", "true_tox": [round(float(x), 4) for x in p]})
    return {
        "name": "bench", "seed": 20240801, "n_trials": n_trials,
        "designs": [{"name": "3+3"}, {"name": "i3+3"}, {"name": "keyboard"}, {"name": "boin"},
                    {"name": "crm", "options": {"skeleton": [0.08, 0.15, 0.25, 0.35, 0.45]}}],
        "scenarios": scenarios,
    }


def _spin(n: int = 6_000_000) -> float:
    t0 = time.perf_counter()
    sum(i * i for i in range(n))
    return time.perf_counter() - t0


def available_parallelism(workers: int) -> float:
    """How many cores this machine gives us right now: ``workers`` x (time of a fixed CPU-bound loop
    alone) / (wall time of ``workers`` copies run at once in processes).  The ceiling of any speed-up."""
    from concurrent.futures import ProcessPoolExecutor

    from dossier.simstudy.executors import _process_context

    alone = min(_spin() for _ in range(2))
    with ProcessPoolExecutor(workers, mp_context=_process_context()) as pool:
        list(pool.map(_spin, [1000] * workers))  # start the workers
        t0 = time.perf_counter()
        list(pool.map(_spin, [6_000_000] * workers))
        together = time.perf_counter() - t0
    return workers * alone / together


def interleaved(runs: dict, repeats: int) -> dict:
    """Best (wall, result, cpu%) of each run, the runs alternating ``repeats`` times."""
    best: dict = {}
    for _ in range(repeats):
        for name, run in runs.items():
            m = measure(run, 1)
            if name not in best or m[0] < best[name][0]:
                best[name] = m
    return best


def measure(run, repeats: int):
    """Best of ``repeats`` (wall, result, cpu%) of run(); cpu% is the system-wide utilisation during it."""
    import psutil

    best = None
    for _ in range(repeats):
        psutil.cpu_percent(None)
        t0 = time.perf_counter()
        result = run()
        wall = time.perf_counter() - t0
        cpu = psutil.cpu_percent(None)
        if best is None or wall < best[0]:
            best = (wall, result, cpu)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from dossier.simstudy import parse_study_spec, run_study
    from dossier.simstudy.executors import DaskExecutor

    spec = parse_study_spec(grid(args.trials))
    w = args.workers
    rows = {}
    load_before = os.getloadavg()

    # overhead per task without work: the same grid with 10 trials per cell, one unit per task (100 tasks)
    tiny = parse_study_spec({**grid(10), "block_trials": 10, "trials_per_task": 1})
    ovh = {}

    def overhead(name: str, executor, workers: int) -> None:
        wall, res, _ = measure(lambda: run_study(tiny, executor, workers=workers), args.repeats)
        ovh[name] = 1000 * (workers * wall - res.run.task_seconds) / res.run.n_tasks

    overhead("inprocess", "inprocess", 1)
    overhead(f"processes ({w})", "processes", w)
    ceiling = {"before": available_parallelism(w)}
    # in-process and parallel runs alternate, so that both see the same (shared, changing) machine load;
    # each parallel executor is compared with the in-process runs of its own phase
    best = interleaved({"inprocess": lambda: run_study(spec, "inprocess"),
                        f"processes ({w})": lambda: run_study(spec, "processes", workers=w)}, args.repeats)
    t_in, r_in, cpu_in = best["inprocess"]
    rows["inprocess"] = (t_in, r_in, cpu_in, 1, t_in)
    rows[f"processes ({w})"] = (*best[f"processes ({w})"], w, t_in)
    ceiling["after processes"] = available_parallelism(w)

    dask_start = None
    try:
        from distributed import Client

        from dossier.simstudy.executors import start_local_cluster
    except ImportError:
        print("dask.distributed not installed: Dask skipped (pip install 'dossier[dask]')", file=sys.stderr)
    else:
        t0 = time.perf_counter()
        cluster = start_local_cluster(w)
        client = Client(cluster)
        client.wait_for_workers(w)
        dask_start = time.perf_counter() - t0
        try:
            ex = DaskExecutor(client=client)
            best = interleaved({"inprocess": lambda: run_study(spec, "inprocess"),
                                "dask": lambda: run_study(spec, ex)}, args.repeats)
            rows[f"dask LocalCluster ({w})"] = (*best["dask"], w, best["inprocess"][0])
            overhead(f"dask LocalCluster ({w})", ex, w)
        finally:
            client.close()
            cluster.close()

    reference = r_in.model_dump()
    out = {"grid": {"designs": len(r_in.designs), "scenarios": len(r_in.scenarios), "trials": args.trials,
                    "tasks": r_in.run.n_tasks, "units": r_in.run.n_units},
           "cpu_count": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
           "available_parallelism": ceiling, "overhead_per_empty_task_ms": ovh, "dask_cluster_start_seconds": dask_start, "runs": {}}
    for name, (wall, res, cpu, workers, base) in rows.items():
        st = res.run
        out["runs"][name] = {
            "wall_seconds": wall, "inprocess_same_phase_seconds": base, "speedup": base / wall,
            "parallel_efficiency": base / wall / workers,
            "task_seconds": st.task_seconds, "task_cpu_seconds": st.task_cpu_seconds, "tasks": st.n_tasks,
            "overhead_per_task_ms": 1000 * (workers * wall - st.task_seconds) / st.n_tasks,
            "driver_cpu_per_task_ms": 1000 * (st.driver_cpu_seconds - (st.task_cpu_seconds if workers == 1 and
                                                                     st.executor == "inprocess" else 0)) / st.n_tasks,
            "trials_per_second": 5 * 20 * args.trials / wall, "system_cpu_percent": cpu,
            "identical_to_inprocess": res.model_dump() == reference,
        }
    if dask_start is not None:
        name = f"dask LocalCluster ({w})"
        out["runs"][name]["speedup_including_cluster_start"] = rows[name][4] / (rows[name][0] + dask_start)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    g = out["grid"]
    print(f"grid: {g['designs']} designs x {g['scenarios']} scenarios x {g['trials']} trials = "
          f"{g['units']} units in {g['tasks']} tasks; {out['cpu_count']} cores; load average before "
          f"{load_before[0]:.2f}, after {out['loadavg_after'][0]:.2f}; best of {args.repeats}")
    print("available parallelism (ceiling of the speed-up now): " +
          ", ".join(f"{k} {v:.2f}" for k, v in ceiling.items()))
    print(f"{'executor':24s} {'wall s':>7s} {'in-proc s':>9s} {'speed-up':>8s} {'effic.':>6s} {'tasks s':>7s} {'task CPU s':>10s} "
          f"{'ovh/task ms':>11s} {'driver CPU/task ms':>18s} {'trials/s':>8s} {'sys CPU%':>8s} identical")
    for name, r in out["runs"].items():
        print(f"{name:24s} {r['wall_seconds']:7.2f} {r['inprocess_same_phase_seconds']:9.2f} {r['speedup']:8.2f} {r['parallel_efficiency']:6.2f} "
              f"{r['task_seconds']:7.2f} {r['task_cpu_seconds']:10.2f} {r['overhead_per_task_ms']:11.1f} "
              f"{r['driver_cpu_per_task_ms']:18.1f} {r['trials_per_second']:8.0f} {r['system_cpu_percent']:8.0f} "
              f"{r['identical_to_inprocess']}")
    print("overhead per task, tasks of 10 trials (100 tasks; workers x wall - time in tasks, per task): " +
          ", ".join(f"{k} {v:.1f} ms" for k, v in ovh.items()))
    if dask_start is not None:
        name = f"dask LocalCluster ({w})"
        print(f"dask cluster start: {dask_start:.2f} s (speed-up including it: "
              f"{out['runs'][name]['speedup_including_cluster_start']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
