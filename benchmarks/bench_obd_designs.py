"""Benchmark of the OBD / timed designs (BOIN12, U-BOIN, BF-BOIN, TITE-BOIN) on a 5-dose scenario.

For each design: seconds for 10,000 trials (best of ``--repeats``, wall and CPU), trials per second,
the issue-8 target (BOIN12 and BF-BOIN <= 0.5 s, TITE-BOIN <= 2 s; U-BOIN held to BOIN12's 0.5 s), and the ratio against a
per-trial loop: the same simulation called one trial at a time (``n_trials=1``), timed on
``--loop-trials`` trials and scaled linearly.

Usage:  python benchmarks/bench_obd_designs.py [--trials 10000] [--loop-trials 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dossier.designs import make_obd_design

P_TOX = [0.04, 0.12, 0.25, 0.43, 0.63]
P_RESP = [0.10, 0.20, 0.30, 0.45, 0.58]
TARGET_S = {"boin12": 0.5, "uboin": 0.5, "bf-boin": 0.5, "tite-boin": 2.0}
OPTIONS = {
    "boin12": dict(target=0.35),
    "uboin": dict(target=0.25, s1=9, s2=18),
    "bf-boin": dict(target=0.25, n_earlystop=9, accrual_per_month=3, dlt_window_months=1),
    "tite-boin": dict(target=0.25, accrual_per_month=2, dlt_window_months=3),
}


def build(name: str):
    opts = dict(OPTIONS[name])
    return make_obd_design(name, n_doses=len(P_TOX), cohort_size=3, n_cohorts=10, **opts)


def run(design, n_trials: int, seed: int):
    return design.simulate_outcomes(P_TOX, n_trials, np.random.default_rng(seed)) if design.name == "tite-boin" \
        else design.simulate_outcomes(P_TOX, P_RESP, n_trials, np.random.default_rng(seed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--loop-trials", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"{args.trials} trials x 5 doses x 10 cohorts of 3; p_tox = {P_TOX}, p_resp = {P_RESP}")
    header = (f"{'design':<10} {'wall s':>8} {'cpu s':>8} {'target s':>9} {'trials/s':>10} "
              f"{'loop s (scaled)':>16} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for name in OPTIONS:
        design = build(name)
        wall = cpu = np.inf
        for r in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            run(design, args.trials, r)
            wall = min(wall, time.perf_counter() - w0)
            cpu = min(cpu, time.process_time() - c0)
        t0 = time.perf_counter()
        for i in range(args.loop_trials):
            run(design, 1, 10_000 + i)
        loop = (time.perf_counter() - t0) * args.trials / args.loop_trials
        ok = "ok" if cpu <= TARGET_S[name] else "SLOW"
        print(f"{name:<10} {wall:8.3f} {cpu:8.3f} {TARGET_S[name]:8.1f}{ok[0]} {args.trials / wall:10.0f} "
              f"{loop:16.1f} {loop / wall:8.0f}x")


if __name__ == "__main__":
    main()
