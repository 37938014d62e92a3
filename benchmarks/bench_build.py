"""Cold build of the example study (3 agencies, HTML + PDF) against issue 16's targets.

1. Stages, one after the other in this process (CPU seconds of this process and wall seconds; one run):
   analyses (ingest + every analysis + simulation study), figures (one process), HTML (3 variants and the
   internal report), PDF (the 4 documents, one process; CPU per document printed), preflight (4 PDFs, from
   the bytes).  What each stage costs, whoever runs it.
2. End to end, as a user runs it: ``python -m dossier build --force`` in a fresh process on an empty output
   folder (cold: imports included; figures and PDFs in processes sized to the cores), ``--runs`` times:
   median wall time and CPU time (the build and its worker processes), against the target of 15 s; then
   a warm rebuild (nothing changed: <= 2 s) and ``build --check`` (<= 1 s).  The outputs of the cold runs
   must be byte-identical to each other (deterministic build), which is checked and printed.

The machine's load average is printed: the machine is shared, and the wall time of a loaded machine is
not the build's; the CPU time is steadier.  The ratio to the previous figure compares with the last run of
this benchmark on this machine (``benchmarks/.bench_build_last.json``, not versioned) or, on a first run,
with the figure of issue 16 (34 s).

Usage:  python benchmarks/bench_build.py [--runs 3] [--no-stages]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "examplinib" / "study.yaml"
LAST = Path(__file__).resolve().parent / ".bench_build_last.json"
TARGET_COLD, TARGET_WARM, TARGET_CHECK = 15.0, 2.0, 1.0
ISSUE_FIGURE = 34.0  # issue 16: cold build 34-43 s on this machine before the work on speed


class Stopwatch:
    """Wall and CPU (this process) seconds of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0


def stages() -> None:
    from dossier.jurisdictions import load_profile
    from dossier.pipeline import _make_figures, compute_evidence, plan_build, questions_for
    from dossier.render.html import agency_core_sections, render_html, render_internal_html
    from dossier.render.pdf import render_pdf
    from dossier.render.preflight import preflight_bytes

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_build(SPEC, out_dir=Path(tmp))
        rows = []
        with Stopwatch() as sw:
            evidence = compute_evidence(plan)
        rows.append(("analyses (ingest, analyses, simulation study)", sw))
        with Stopwatch() as sw:
            figures = _make_figures(evidence, workers=1)
        rows.append((f"figures ({len(figures)} SVG, one process)", sw))
        key = evidence.content_hash()
        spec = plan.spec
        extra = {"render": spec.render.model_dump(), "spec_agencies": list(spec.agencies)}
        profiles = {a: load_profile(a, spec.overrides.get(a), area=spec.study.therapeutic_area) for a in plan.agencies}
        with Stopwatch() as sw:
            htmls = {a: render_html(evidence, p, figures=figures, questions=questions_for(spec, evidence, p),
                                    evidence_hash=key, extra=extra,
                                    core_sections=agency_core_sections(spec.render.pmr_risk_in_agency_variants))
                     for a, p in profiles.items()}
            htmls["internal"] = render_internal_html(evidence, figures=figures, agencies=plan.agencies, extra=extra,
                                                     evidence_hash=key)
        rows.append((f"HTML ({len(profiles)} variants + internal report)", sw))
        pdfs, per_pdf = {}, []
        with Stopwatch() as sw:
            for a, h in htmls.items():
                with Stopwatch() as one:
                    pdfs[a] = render_pdf(h, key=f"{key}:{a}", date=evidence.study.document_date)
                per_pdf.append(f"{a} {one.cpu:.1f} s")
        rows.append((f"PDF ({len(pdfs)} documents, one process)", sw))
        with Stopwatch() as sw:
            problems = [p for a, pdf in pdfs.items()
                        for p in preflight_bytes(pdf, profiles[a].paper if a in profiles else "a4",
                                                 submission=a in profiles)]
        rows.append((f"preflight ({len(pdfs)} PDFs)", sw))
    if problems:
        raise SystemExit(f"preflight failed: {problems}")
    total = sum(sw.cpu for _, sw in rows)
    print(f"stages, one after the other in one process (one run; load average now "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}):")
    for label, sw in rows:
        print(f"  {label:48s} wall {sw.wall:6.2f} s  cpu {sw.cpu:6.2f} s  ({100 * sw.cpu / total:4.1f} % of cpu)")
    print(f"  {'sum':48s} {'':13s} cpu {total:6.2f} s  (2 cores: >= {total / 2:.1f} s wall with perfect overlap)")
    print(f"  PDF cpu per document: {', '.join(per_pdf)}")


def run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its children) of ``python -m dossier args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dossier", *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"dossier {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every output file (the lock file and the simulation cache excluded)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".cache" not in p.parts and p.suffix != ".lock"}


def end_to_end(runs: int) -> None:
    cold, cold_cpu, outputs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            out = Path(tmp) / f"cold{i}"
            wall, cpu = run(["build", str(SPEC), "--out", str(out), "--force", "--quiet"])
            cold.append(wall)
            cold_cpu.append(cpu)
            outputs.append(digest(out))
        warm_runs = [run(["build", str(SPEC), "--out", str(Path(tmp) / "cold0"), "--quiet"]) for _ in range(runs)]
        check_runs = [run(["build", str(SPEC), "--out", str(Path(tmp) / "cold0"), "--check"]) for _ in range(runs)]
    warm, warm_cpu = [w for w, _ in warm_runs], [c for _, c in warm_runs]
    check, check_cpu = [w for w, _ in check_runs], [c for _, c in check_runs]
    identical = all(o == outputs[0] for o in outputs[1:])
    med, med_cpu = statistics.median(cold), statistics.median(cold_cpu)
    previous = json.loads(LAST.read_text())["cold_s"] if LAST.is_file() else ISSUE_FIGURE
    source = "last run of this benchmark" if LAST.is_file() else "issue 16"
    print(f"end to end, fresh processes, median of {runs} (load average now "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores):")
    print(f"  cold build     wall {med:6.2f} s  cpu {med_cpu:6.2f} s   target <= {TARGET_COLD:.0f} s  ratio "
          f"{med / TARGET_COLD:.2f}   previous {previous:.1f} s ({source}): ratio {med / previous:.2f}"
          f"   [runs: {', '.join(f'{w:.1f}' for w in cold)}]")
    print(f"  warm rebuild   wall {statistics.median(warm):6.2f} s  cpu {statistics.median(warm_cpu):6.2f} s   "
          f"target <= {TARGET_WARM:.0f} s  ratio {statistics.median(warm) / TARGET_WARM:.2f}")
    print(f"  build --check  wall {statistics.median(check):6.2f} s  cpu {statistics.median(check_cpu):6.2f} s   "
          f"target <= {TARGET_CHECK:.0f} s  ratio {statistics.median(check) / TARGET_CHECK:.2f}")
    print(f"  outputs of the {runs} cold builds byte-identical: {'yes' if identical else 'NO'} "
          f"({len(outputs[0])} files)")
    LAST.write_text(json.dumps({"cold_s": round(med, 2), "cold_cpu_s": round(med_cpu, 2),
                                "load": os.getloadavg()[0]}) + "\n")
    if not identical:
        raise SystemExit("the build is not deterministic")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-stages", action="store_true", help="only the end-to-end builds")
    args = ap.parse_args()
    if not args.no_stages:
        stages()
    end_to_end(args.runs)


if __name__ == "__main__":
    main()
