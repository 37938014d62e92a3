"""Benchmark of the drug-combination designs against the single-agent BOIN (target: within 3x).

Times (best of ``--repeats``, wall and CPU seconds) for 10,000 trials of:
* single-agent BOIN, 6 doses x 10 cohorts of 3 (as benchmarks/bench_designs.py), and x 20 cohorts;
* BOIN combination on the 3 x 5 grid of the BOIN package's example (Yan et al. 2020), 10 cohorts of 3
  (the same 30 patients) and 20 cohorts of 3 with n_earlystop = 12 (the package example);
* waterfall on the same grid, subtrials of 10, 5 and 5 cohorts (reported, no target).
The ratio is combination / single-agent CPU time with the same number of cohorts (CPU time is more
robust than wall time on a busy shared machine); the load average is printed with the results.

Usage:  python benchmarks/bench_combination.py [--trials 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dossier.designs import make_design, simulate_trials
from dossier.designs.boin_comb import BoinComb
from dossier.designs.waterfall import Waterfall

P_SINGLE = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]
P_COMB = np.array([[0.01, 0.03, 0.10, 0.20, 0.30], [0.03, 0.05, 0.15, 0.30, 0.60], [0.08, 0.10, 0.30, 0.60, 0.75]])
TARGET_RATIO = 3.0


def best(fn, repeats: int) -> tuple[float, float]:
    wall = cpu = np.inf
    for r in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(np.random.default_rng(r))
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    T = args.trials
    single = make_design("boin", target=0.3, n_doses=len(P_SINGLE), cohort_size=3, n_cohorts=10)
    single20 = make_design("boin", target=0.3, n_doses=len(P_SINGLE), cohort_size=3, n_cohorts=20)
    comb10 = BoinComb(target=0.3, n_rows=3, n_cols=5, n_cohorts=10)
    comb20 = BoinComb(target=0.3, n_rows=3, n_cols=5, n_cohorts=20, n_earlystop=12)
    water = Waterfall(target=0.3, n_rows=3, n_cols=5, n_cohorts=[10, 5, 5])
    rows = [("single-agent BOIN (6 doses, 10x3)", None, lambda g: simulate_trials(single, P_SINGLE, T, g)),
            ("single-agent BOIN (6 doses, 20x3)", None, lambda g: simulate_trials(single20, P_SINGLE, T, g)),
            ("BOIN combination 3x5, 10x3", 0, lambda g: comb10.simulate(P_COMB, T, g)),
            ("BOIN combination 3x5, 20x3, n_earlystop 12", 1, lambda g: comb20.simulate(P_COMB, T, g)),
            ("waterfall 3x5, 10+5+5 cohorts of 3", 1, lambda g: water.simulate(P_COMB, T, g))]
    print(f"{T} trials, best of {args.repeats}; ratio = CPU time / CPU time of the single-agent BOIN with the same "
          f"number of cohorts (target <= {TARGET_RATIO:g}x for the BOIN combination design); load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    base = []
    for label, ref, fn in rows:
        wall, cpu = best(fn, args.repeats)
        if ref is None:
            base.append(cpu)
            print(f"{label:<45} wall {wall:7.3f} s  cpu {cpu:7.3f} s", flush=True)
            continue
        ratio = cpu / base[ref]
        flag = "" if label.startswith("waterfall") else ("  ok" if ratio <= TARGET_RATIO else "  SLOW")
        print(f"{label:<45} wall {wall:7.3f} s  cpu {cpu:7.3f} s  ratio {ratio:5.1f}x{flag}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
