"""Benchmark of the noncompartmental analysis: 1,000 subjects x 20 samples (target <= 2 s).

Simulates a one-compartment oral profile per subject (log-normal between-subject variability, 10%
proportional residual error, an LLOQ so that late samples are BLQ) with an explicit
``numpy.random.Generator``, then times :func:`dossier.analyses.nca.analyse_nca` (lin-up/log-down,
automatic λz, one partial AUC) and prints the best of ``--repeats`` runs against the target.

Usage: python benchmarks/bench_nca.py [--subjects 1000] [--samples 20] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TARGET_S = 2.0


def simulate(n_subjects: int, n_samples: int, seed: int = 20261203):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.concatenate([[0.0], np.geomspace(0.25, 72.0, n_samples - 1)])
    ka = 1.2 * np.exp(rng.normal(0, 0.3, n_subjects))
    ke = 0.08 * np.exp(rng.normal(0, 0.3, n_subjects))
    v = 30 * np.exp(rng.normal(0, 0.2, n_subjects))
    dose = 100.0
    c = dose * ka[:, None] / (v[:, None] * (ka[:, None] - ke[:, None])) * (
        np.exp(-ke[:, None] * t) - np.exp(-ka[:, None] * t))
    c = c * np.exp(rng.normal(0, 0.1, c.shape))
    return pd.DataFrame({"usubjid": np.repeat([f"S{i:04d}" for i in range(n_subjects)], n_samples),
                         "time": np.tile(t, n_subjects), "conc": c.ravel(), "dose": dose, "lloq": 0.05})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from dossier.analyses.nca import NCASettings, analyse_nca

    df = simulate(args.subjects, args.samples)
    settings = NCASettings(partial_aucs=[(0.0, 24.0)], conc_unit="mg/L")
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        r = analyse_nca(df, settings)
        times.append(time.perf_counter() - t0)
    best = min(times)
    n_est = int(r.lambda_z["estimable"].sum())
    out = {"subjects": args.subjects, "samples": args.samples, "best_s": round(best, 3),
           "runs_s": [round(x, 3) for x in times], "target_s": TARGET_S, "lambda_z_estimable": n_est,
           "rows": len(r.parameters), "meets_target": best <= TARGET_S}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"NCA of {args.subjects} subjects x {args.samples} samples: best {best:.3f} s of {args.repeats} "
              f"(target <= {TARGET_S:.1f} s: {'met' if best <= TARGET_S else 'MISSED'}); "
              f"λz estimable in {n_est}; {len(r.parameters)} parameter rows")
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
