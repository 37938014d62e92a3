"""CLI command ``dossier study``: run a simulation study from a grid YAML (or a study spec with a
``simulation_study:`` section) and write its tables and figure.

Outputs in ``--out`` (default ``output/simulation-study/<name>``): ``study.parquet`` (the tidy table
with MC SEs), ``comparison.csv`` (the design-comparison table), ``design_study.svg`` (the figure),
``result.json`` (the full result) and ``cache/`` (finished tasks; a re-run resumes from it).

``--json`` prints ``{"name", "seed", "n_trials", "spec_sha256", "reference", "designs": [...],
"scenarios": [...], "comparison": [...], "outputs": {...}, "run": {...}}`` (percentages 0-100, dose
levels 1-based) and nothing else.  Progress is shown on a terminal only (not with --json, not in CI).

Executors: ``--executor inprocess`` (default), ``processes`` (``--workers`` local processes, default
one per core) or ``dask``: a LocalCluster of ``--workers`` processes, or a running cluster with
``--scheduler tcp://host:8786`` (start it with ``dask scheduler`` and ``dask worker tcp://host:8786
--nthreads 1`` on each machine; every worker needs the same version of dossier installed).  The results
are identical whichever executor ran them; ``--out``'s ``cache/`` lets an interrupted study resume.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from dossier.simstudy.executors import EXECUTORS, ExecutorError


class _RichProgress:
    """A progress bar (tasks done, ETA, trials/s) redrawn on each finished task: no refresh thread, so
    worker processes can be forked safely while it is shown."""

    def __init__(self, title: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("tasks"), TimeRemainingColumn(), TextColumn("{task.fields[rate]}"),
                            auto_refresh=False, transient=True, console=Console(stderr=True))
        self.task = self.bar.add_task(title, total=None, rate="")

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc):
        self.bar.stop()

    def __call__(self, p) -> None:
        rate = f"{p.trials_per_second:,.0f} trials/s" if p.trials_done else ""
        if p.units_cached and not p.tasks_done:
            rate = f"{p.units_cached} units from cache"
        self.bar.update(self.task, total=max(p.tasks_total, 1), completed=p.tasks_done, rate=rate)
        self.bar.refresh()


def study(
    spec: Annotated[Path, typer.Argument(help="Grid YAML, or a study spec with a simulation_study section.")],
    executor: Annotated[str, typer.Option("--executor", help=f"Where tasks run: {', '.join(EXECUTORS)}.")] = "inprocess",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                                                                     "(default: a LocalCluster).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: all cores).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default output/simulation-study/<name>).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse or store finished tasks.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Simulation study: designs x scenarios x parameters, with MC standard errors and a comparison table."""
    from dossier.render.study_figures import design_study_svg
    from dossier.simstudy.grid import load_study_spec
    from dossier.simstudy.runner import run_study

    grid = load_study_spec(spec)
    if executor.strip().lower() not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}", "--executor", f"choose one of: {', '.join(EXECUTORS)}")
    out_dir = out if out is not None else Path("output") / "simulation-study" / grid.name
    cache_dir = None if no_cache else out_dir / "cache"
    interactive = not as_json and sys.stderr.isatty() and not os.environ.get("CI")
    if interactive:
        with _RichProgress(f"{grid.name} ({executor})") as bar:
            result = run_study(grid, executor, cache_dir, bar, workers=workers, scheduler=scheduler)
    else:
        result = run_study(grid, executor, cache_dir, None, workers=workers, scheduler=scheduler)

    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "table": result.write_parquet(out_dir / "study.parquet"),
        "comparison": out_dir / "comparison.csv",
        "figure": out_dir / "design_study.svg",
        "result": out_dir / "result.json",
    }
    result.comparison_frame().to_csv(outputs["comparison"], index=False, float_format="%.6g")
    outputs["figure"].write_text(design_study_svg(result), encoding="utf-8")
    outputs["result"].write_text(json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
                                 encoding="utf-8")
    run = result.run.model_dump() if result.run else {}
    if as_json:
        payload = result.model_dump(mode="json", include={"name", "seed", "n_trials", "spec_sha256", "reference",
                                                          "designs", "scenarios", "comparison"})
        payload["outputs"] = {k: str(v) for k, v in outputs.items()}
        payload["run"] = run
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    _print_summary(result, outputs)


def _print_summary(result, outputs) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    labels = {d.id: d.label for d in result.designs}
    t = Table(title=f"{result.name}: {result.n_trials} trials per cell, seed {result.seed} "
                    f"(MC SE in brackets; difference vs {labels[result.reference]} with paired SE)")
    timed = any(r.mean_duration_months is not None for r in result.comparison)  # OBD / timed designs
    for col in ("scenario", "design", "MTD", "correct sel. %", "diff. vs ref.", "at MTD", "above MTD %", "mean N",
                "cohorts") + (("months",) if timed else ()):
        t.add_column(col, justify="left" if col in ("scenario", "design") else "right")
    names = {s.id: s.name for s in result.scenarios}
    for r in result.comparison:
        months = () if not timed else ("" if r.mean_duration_months is None else
                                       f"{r.mean_duration_months:.1f} ({r.mean_duration_months_se:.1f})",)
        t.add_row(names[r.scenario_id], labels[r.design_id], str(r.true_mtd), f"{r.pcs:.1f} ({r.pcs_se:.1f})",
                  "" if r.design_id == result.reference else f"{r.pcs_diff:+.1f} ({r.pcs_diff_se:.1f})",
                  f"{r.patients_at_mtd:.1f}", f"{r.patients_above_mtd_pct:.1f}", f"{r.mean_sample_size:.1f}",
                  f"{r.mean_cohorts:.1f}", *months)
    console.print(t)
    if result.run is not None:
        r = result.run
        console.print(f"{r.n_tasks} tasks on {r.executor} ({r.workers} worker{'s' if r.workers != 1 else ''}), "
                      f"{r.units_cached} of {r.n_units} units from cache; {r.wall_seconds:.1f} s, "
                      f"{r.trials_per_second:,.0f} trials/s")
    for k, v in outputs.items():
        console.print(f"  {k}: {v}")


def register(app: typer.Typer) -> None:
    """Add the ``study`` command to the application's CLI."""
    app.command("study")(study)
