"""Benchmark of the vectorised dose-escalation simulation engine (dossier/designs/simulate.py).

For each design: seconds for 10,000 trials x 6 doses x 10 cohorts of 3 (best of ``--repeats``),
trials per second, peak memory of one run (tracemalloc), and the ratio against a straightforward
per-trial Python loop of the same design (``run_trials_loop``: one trial at a time through the
single-trial API, timed on ``--loop-trials`` trials and scaled linearly).  Then a 100,000-trial run
per design to check linear scaling and peak memory (< 1 GB).

Usage:  python benchmarks/bench_designs.py [--trials 10000] [--loop-trials 500] [--big 100000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from dossier.designs import make_design, simulate_trials
from dossier.designs.simulate import run_trials_loop

P_TRUE = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]
DESIGNS = ["3+3", "i3+3", "mtpi2", "keyboard", "boin", "crm"]
TARGETS_S = {"3+3": 0.05, "i3+3": 0.05, "mtpi2": 0.05, "keyboard": 0.05, "boin": 0.05, "crm": 1.0}


def build(name: str):
    return make_design(name, target=0.3, n_doses=len(P_TRUE), cohort_size=3, n_cohorts=10)


def time_vectorised(name: str, n_trials: int, repeats: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of ``simulate_trials`` (design built beforehand)."""
    wall = cpu = np.inf
    for r in range(repeats):
        design = build(name)  # decision tables / quadrature grid are built here, once per design
        w0, c0 = time.perf_counter(), time.process_time()
        simulate_trials(design, P_TRUE, n_trials, np.random.default_rng(r))
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def peak_memory_mb(name: str, n_trials: int) -> float:
    design = build(name)
    tracemalloc.start()
    simulate_trials(design, P_TRUE, n_trials, np.random.default_rng(0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def time_loop(name: str, n_trials: int) -> float:
    design = build(name)
    u = np.random.default_rng(0).random((n_trials, design.max_patients))
    t0 = time.perf_counter()
    run_trials_loop(design, P_TRUE, u)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--loop-trials", type=int, default=500)
    ap.add_argument("--big", type=int, default=100_000, help="trials for the scaling check (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--designs", default=",".join(DESIGNS))
    args = ap.parse_args()
    names = [d for d in args.designs.split(",") if d]

    print(f"{args.trials} trials x {len(P_TRUE)} doses x 10 cohorts of 3, p_true = {P_TRUE}")
    print("wall = elapsed seconds (best of repeats), cpu = process CPU seconds (robust to a busy machine)")
    header = (f"{'design':<9} {'wall s':>8} {'cpu s':>8} {'target':>8} {'trials/s':>10} {'peak MB':>8} "
              f"{'loop s (scaled)':>16} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for name in names:
        wall, cpu = time_vectorised(name, args.trials, args.repeats)
        mem = peak_memory_mb(name, args.trials)
        loop = time_loop(name, args.loop_trials) * args.trials / args.loop_trials
        ok = "ok" if min(wall, cpu) <= TARGETS_S[name] else "SLOW"
        print(f"{name:<9} {wall:8.4f} {cpu:8.4f} {TARGETS_S[name]:>5.2f} {ok:<2} {args.trials / wall:10.0f} "
              f"{mem:8.1f} {loop:16.1f} {loop / wall:8.0f}x", flush=True)

    if args.big:
        print(f"\nscaling: {args.big} trials (linear scaling expected; peak memory must stay < 1 GB)")
        print(f"{'design':<9} {'cpu s':>8} {'x of 10k':>9} {'peak MB':>8}")
        for name in names:
            _, small = time_vectorised(name, args.trials, 2)
            _, big = time_vectorised(name, args.big, 1)
            mem = peak_memory_mb(name, args.big)
            print(f"{name:<9} {big:8.3f} {big / small:9.1f} {mem:8.1f}", flush=True)


if __name__ == "__main__":
    main()
