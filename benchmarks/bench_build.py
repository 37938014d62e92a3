"""Wall time of the example build per stage: ingest, analyses, render HTML, render PDF; then a warm rebuild.

Target (issue 2/7): cold build of the example (3 agencies, HTML + PDF) <= 15 s on a 2-core machine;
warm rebuild with unchanged inputs <= 2 s.  Run: python benchmarks/bench_build.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dossier.analyses.dose_summary import analyse_dose_summary
from dossier.ingest import load_study
from dossier.pipeline import build, compute_evidence, plan_build, render_variants

SPEC = Path(__file__).resolve().parents[1] / "examples" / "examplinib" / "study.yaml"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        plan = plan_build(SPEC, out_dir=out)
        t0 = time.perf_counter()
        data, _ = load_study(plan.spec, plan.base_dir)
        t_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        analyse_dose_summary(data, plan.spec.doses.levels)
        evidence = compute_evidence(plan)
        t_evidence = time.perf_counter() - t0
        timings: dict[str, float] = {}
        stage = out / "stage"
        stage.mkdir()
        render_variants(plan, evidence, stage, timings=timings)
        print(f"ingest                      {t_ingest:6.2f} s")
        print(f"ingest + analyses           {t_evidence:6.2f} s  (analyses ~{t_evidence - t_ingest:.2f} s)")
        print(f"render HTML (3 variants)    {timings['render_html']:6.2f} s")
        print(f"render PDF  (3 variants, parallel processes) {timings['render_pdf']:6.2f} s")
        serial: dict[str, float] = {}
        stage2 = out / "stage2"
        stage2.mkdir()
        render_variants(plan, evidence, stage2, timings=serial, workers=1)
        print(f"render PDF  (3 variants, one process)        {serial['render_pdf']:6.2f} s  "
              f"({serial['render_pdf'] / 3:.2f} s per variant; parallel speed-up "
              f"{serial['render_pdf'] / timings['render_pdf']:.2f}x)")
        t0 = time.perf_counter()
        build(SPEC, out_dir=out / "full")
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        warm_result = build(SPEC, out_dir=out / "full")
        warm = time.perf_counter() - t0
        print(f"cold build (end to end)     {cold:6.2f} s   target <= 15 s   ratio {cold / 15:.2f}")
        print(f"warm rebuild ({warm_result.status}) {warm:6.2f} s   target <= 2 s    ratio {warm / 2:.2f}")


if __name__ == "__main__":
    main()
