"""Benchmark of the analyses stage on the example study (examples/examplinib).

Times ``run_analyses`` end to end (escalation, tolerability, randomized comparison, MCP-Mod for each
endpoint with its bootstrap, exposure-response, predictions with 1,000 bootstrap replicates,
benefit-risk, model credibility), reports each analysis's share of the wall time, and checks the
target of 10 s. Ingest is done once before the clock (it is not part of the analyses). The first
run is reported separately (imports and one-time set-up such as Sobol point sets are warm after it).

Usage: python benchmarks/bench_analyses.py [--repeats 3] [--bootstrap 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TARGET_S = 10.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates of the predictions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import numpy as np

    from dossier.analyses import AnalysisSettings, run_analyses
    from dossier.ingest import load_study
    from dossier.spec import load_spec

    spec = load_spec(REPO / "examples" / "examplinib" / "study.yaml")
    data, _ = load_study(spec, REPO / "examples" / "examplinib")
    settings = AnalysisSettings(n_bootstrap_predictions=args.bootstrap)
    runs = []
    for i in range(args.repeats + 1):
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        bundle = run_analyses(data, spec, np.random.default_rng(spec.design.seed), settings, timings)
        wall = time.perf_counter() - t0
        runs.append({"wall": wall, "timings": timings, "first": i == 0})
    warm = [r for r in runs if not r["first"]] or runs
    best = min(warm, key=lambda r: r["wall"])
    result = {
        "study": spec.study.id, "subjects": len(data.subjects), "bootstrap_predictions": args.bootstrap,
        "first_run_s": round(runs[0]["wall"], 3), "best_s": round(best["wall"], 3),
        "median_s": round(sorted(r["wall"] for r in warm)[len(warm) // 2], 3), "target_s": TARGET_S,
        "meets_target": best["wall"] <= TARGET_S and runs[0]["wall"] <= TARGET_S,
        "share": {k: round(v / best["wall"], 3) for k, v in sorted(best["timings"].items(), key=lambda kv: -kv[1])},
        "seconds": {k: round(v, 3) for k, v in sorted(best["timings"].items(), key=lambda kv: -kv[1])},
        "recommended_dose": bundle.benefit_risk.recommended_dose if bundle.benefit_risk else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"run_analyses on {result['study']} ({result['subjects']} subjects, "
              f"{args.bootstrap} bootstrap replicates of the predictions)")
        print(f"  first run {result['first_run_s']:.2f} s; best of {len(warm)} {result['best_s']:.2f} s; "
              f"median {result['median_s']:.2f} s; target <= {TARGET_S:.0f} s: "
              f"{'met' if result['meets_target'] else 'NOT met'}")
        for k, v in result["seconds"].items():
            print(f"  {k:<20} {v:7.3f} s  {100 * result['share'][k]:5.1f}%")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
