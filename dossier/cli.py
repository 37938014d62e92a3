"""The `dossier` command line: thin; parses, calls the pipeline, prints.

User mistakes (bad spec, missing data, unknown agency, ...) are :class:`DossierError`: printed as one
block on stderr with exit status 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer import _click
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from dossier.errors import DossierError


def _design_commands() -> typer.Typer:
    from dossier.commands.designs import register

    return _commands_of(register)


def _design_command_for(name: str, args: list[str]) -> _click.Command | None:
    """``name`` (boundaries, simulate, decide) with the options of the design named in ``args`` only, or None
    (see :func:`dossier.commands.designs.design_in_args`): loads that design's code, not every design's."""
    with _no_pydantic_plugins():
        from dossier.commands.designs import design_in_args, register

        design = design_in_args(args)
        if design is None:
            return None
        sub = _commands_of(lambda app: register(app, design=design, names=(name,)))
        return typer.main.get_command(sub).commands[name]


@contextlib.contextmanager
def _no_pydantic_plugins():
    """Pydantic looks for plugins in the metadata of every installed package when it builds its first model
    (~50 ms); dossier's models use none.  Disabled while the quick commands load, as typer does for its own
    parameters (PYDANTIC_DISABLE_PLUGINS, read when a model is built)."""
    previous = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = previous


def _study_commands() -> typer.Typer:
    from dossier.commands.study import register

    return _commands_of(register)


def _combination_commands() -> typer.Typer:
    from dossier.commands.combination import register

    return _commands_of(register)


#: the commands defined outside this module, loaded when they run (or their own --help is asked for):
#: name -> (loader, one-line help shown by `dossier --help`).  Their options are generated from the designs'
#: parameter models, which would import numpy, pydantic and every design at start-up (issue 16: `--help`,
#: `decide` and `boundaries` start in <= 0.4 s).  tests/test_cli_imports.py checks that the help here is the
#: command's own.
LAZY_COMMANDS = {
    "boundaries": (_design_commands, "Decision table of a design: escalate / de-escalate / eliminate boundaries "
                                     "by patients treated."),
    "simulate": (_design_commands, "Operating characteristics of a design by simulation, with Monte Carlo "
                                   "standard errors."),
    "decide": (_design_commands, "The selected dose (MTD, or OBD for boin12/uboin) and estimates from the data "
                                 "observed; with --current also the next dose."),
    "study": (_study_commands, "Simulation study: designs x scenarios x parameters, with MC standard errors and "
                               "a comparison table."),
    "combination": (_combination_commands, "Drug-combination dose finding (two agents): BOIN combination and "
                                           "waterfall designs."),
}
_loaded: dict = {}

#: commands that can be built for the command line at hand, lighter than in full (issue 16: `decide` and
#: `boundaries` <= 0.4 s): name -> builder(name, args) returning the command or None
QUICK_COMMANDS = {name: _design_command_for for name in ("boundaries", "simulate", "decide")}


def _commands_of(register) -> typer.Typer:
    sub = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    register(sub)
    sub.callback()(lambda: None)  # a group even when `register` adds one command
    return sub


def lazy_command(name: str) -> _click.Command:
    """The click command ``name`` of :data:`LAZY_COMMANDS`, built on first use (its module imported then)."""
    if name not in _loaded:
        loader = LAZY_COMMANDS[name][0]
        group = typer.main.get_command(loader())
        _loaded.update({n: c for n, c in group.commands.items() if n in LAZY_COMMANDS})
    return _loaded[name]


class _LazyCommand(TyperCommand):
    """Stands for a command of :data:`LAZY_COMMANDS` in the group: listed in ``dossier --help`` with its static
    one-line help; parsing its arguments (running it, or its --help) loads the real command, which runs."""

    def __init__(self, name: str):
        super().__init__(name, help=LAZY_COMMANDS[name][1], add_help_option=False)

    def make_context(self, info_name, args, parent=None, **extra):
        quick = QUICK_COMMANDS[self.name](self.name, args) if self.name in QUICK_COMMANDS else None
        if quick is not None:
            try:  # a command line the lighter command parses is parsed the same by the full command
                return quick.make_context(info_name, list(args), parent=parent, **extra)
            except UsageError:
                pass  # e.g. an option of another design: the full command parses it and reports as before
        return lazy_command(self.name).make_context(info_name, args, parent=parent, **extra)


class _LazyGroup(TyperGroup):
    """The `dossier` group: the commands of this module plus stand-ins for :data:`LAZY_COMMANDS`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in LAZY_COMMANDS:
            self.commands.setdefault(name, _LazyCommand(name))


# rich_markup_mode=None: plain click help and usage errors; typer's rich help imports rich.markdown,
# markdown_it and pygments (~0.3 s, most of `dossier --help`'s start-up)
app = typer.Typer(name="dossier", cls=_LazyGroup, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Dose-optimization trial data to FDA / EMA / PMDA dose-justification dossiers.")
_state = {"debug": False}


class _LazyConsole:
    """A rich Console made on first use: `dossier decide --json` and `--help` never import rich.console."""

    def __init__(self, **kwargs):
        self._kwargs, self._console = kwargs, None

    def __getattr__(self, name: str):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return getattr(self._console, name)


err_console = _LazyConsole(stderr=True, highlight=False)
out_console = _LazyConsole(highlight=False)


def _version(value: bool) -> None:
    if value:
        from dossier import __version__

        print(f"dossier {__version__}")
        raise typer.Exit()


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    _state["debug"] = debug


def _progress(quiet: bool):
    """A progress printer for the build stages: a rich status line on a terminal, silence otherwise."""
    if quiet or not err_console.is_terminal:
        return None, None
    status = err_console.status("building ...")
    status.start()
    return status, (lambda msg: status.update(f"[bold]dossier[/] {msg} ..."))


@app.command()
def build(spec: Annotated[Path, typer.Argument(help="Study spec (YAML).")],
          agency: Annotated[str | None, typer.Option(help="Agencies, comma-separated (default: the spec's).")] = None,
          format: Annotated[str | None, typer.Option("--format", help="Formats: html,pdf,docx (default html,pdf).")] = None,
          out: Annotated[Path, typer.Option(help="Output folder.")] = Path("output"),
          check: Annotated[bool, typer.Option("--check", help="Build nothing; exit 1 if outputs are missing or stale.")] = False,
          force: Annotated[bool, typer.Option("--force", help="Rebuild even if nothing changed.")] = False,
          quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
          executor: Annotated[str, typer.Option(
              "--executor", help="Simulation study: inprocess, processes or dask (results do not depend on it).")
          ] = "inprocess",
          workers: Annotated[int | None, typer.Option(
              "--workers", help="Processes for the simulation study and the PDFs (default: all cores).")] = None,
          strict: Annotated[bool, typer.Option(
              "--strict", help="Fail (exit 1, previous outputs untouched) on any finding.")] = False,
          pdfa: Annotated[bool, typer.Option(
              "--pdfa", help="Write the PDFs as PDF/A-2b (sRGB output intent, XMP metadata); preflight checks it.")
          ] = False,
          ) -> None:
    """Build the dossiers of a study: output/<study>/<agency>/dossier.html|pdf, evidence.json, manifest.json.
    Findings (spec statements the evidence does not bear out) are printed; --strict fails on any."""
    from dossier.pipeline import build as run_build
    from dossier.pipeline import check_outputs, plan_build

    if check:
        plan = plan_build(spec, agency, format, out)
        plan.pdfa = pdfa
        problems = check_outputs(plan)
        if problems:
            err_console.print(f"[bold red]stale[/]: {plan.study_dir}")
            for p in problems:
                err_console.print(f"  - {p}")
            raise typer.Exit(1)
        out_console.print(f"up to date: {plan.study_dir}")
        return
    status, progress = _progress(quiet)
    try:
        result = run_build(spec, agency, format, out, progress=progress, force=force, executor=executor,
                           workers=workers, strict=strict, pdfa=pdfa)
    finally:
        if status is not None:
            status.stop()
    if not quiet:
        verb = {"built": "built", "rendered": "re-rendered (evidence reused)", "up-to-date": "up to date"}[result.status]
        out_console.print(f"{verb}: {result.study_dir}  ({result.timings.get('total', 0):.1f} s)")
        for p in result.outputs:
            out_console.print(f"  {p}")
    _print_findings(result.findings)


def _print_findings(findings) -> None:
    if not findings:
        return
    err_console.print(f"[bold yellow]{len(findings)} finding{'s' if len(findings) != 1 else ''}[/] "
                      "(statements the evidence does not bear out; `dossier check` lists them):")
    for f in findings:
        err_console.print(f"  - [{f.kind}] {f.format()}", markup=False)


@app.command()
def check(spec: Annotated[Path, typer.Argument(help="Study spec (YAML).")],
          out: Annotated[Path, typer.Option(help="Output folder of the last build (its evidence is reused "
                                                 "when current).")] = Path("output"),
          as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
          keys: Annotated[bool, typer.Option("--keys", help="Also list the evidence keys {ev:KEY} can cite.")] = False,
          ) -> None:
    """List the findings of a study (exit 1 if there is any, 0 if none, 2 on a user error); writes nothing."""
    from dossier.findings import evidence_values
    from dossier.pipeline import evidence_for

    status, progress = _progress(as_json)
    try:
        evidence = evidence_for(spec, out, progress)
    finally:
        if status is not None:
            status.stop()
    findings = evidence.findings
    if as_json:
        payload = {"spec": str(spec), "findings": [f.model_dump(mode="json") for f in findings]}
        if keys:
            payload["keys"] = {k: v.text(evidence.doses.unit) for k, v in sorted(evidence_values(evidence).items())}
        print(json.dumps(payload, indent=2, sort_keys=True))
    else:
        if keys:
            for k, v in sorted(evidence_values(evidence).items()):
                out_console.print(f"{{ev:{k}}} = {v.text(evidence.doses.unit)}", markup=False)
        if findings:
            _print_findings(findings)
        else:
            out_console.print(f"no findings: {spec}")
    if findings:
        raise typer.Exit(1)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="Study spec (YAML).")],
             as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
             strict: Annotated[bool, typer.Option("--strict", help="Treat warnings (e.g. a measure that was "
                                                  "not collected) as errors: exit 2.")] = False) -> None:
    """Check the spec and its datasets without building; exit 2 if there is any error (with --strict: any
    warning)."""
    from dossier.findings import check_spec_references
    from dossier.ingest import check_study
    from dossier.spec import load_spec

    study = load_spec(spec)
    check_spec_references(study)
    report = check_study(study, spec.parent)
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        out_console.print(f"spec: {spec} (study {study.study.id}) is valid")
        out_console.print(report.format_text(), markup=False)
    if report.has_errors():
        raise typer.Exit(2)
    if strict and report.warnings:
        if not as_json:
            err_console.print(f"--strict: {len(report.warnings)} warning(s) count as errors", markup=False)
        raise typer.Exit(2)


@app.command()
def init(data_dir: Annotated[Path, typer.Argument(help="Folder of ADaM / SDTM files (adsl.xpt, adae.xpt, ...).")],
         out: Annotated[Path, typer.Option("--out", help="The spec to write.")] = Path("study.yaml"),
         force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False) -> None:
    """Write a starting study spec from a folder of datasets, with TODO markers where it cannot decide."""
    from dossier.ingest.init_spec import write_spec

    todos = write_spec(data_dir, out, force=force)
    out_console.print(f"wrote {out}")
    if todos:
        out_console.print(f"{len(todos)} TODO item(s) to fill in (`dossier validate {out}` lists those left):",
                          markup=False)
        for t in todos:
            out_console.print(f"  - {t}", markup=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the study spec (for editors)."""
    from dossier.spec import spec_json_schema

    print(spec_json_schema())


@app.command()
def preflight(pdf: Annotated[Path, typer.Argument(help="A PDF file.")],
              paper: Annotated[str | None, typer.Option(help="Expected paper: letter or a4.")] = None,
              pdfa: Annotated[bool, typer.Option("--pdfa", help="Also require PDF/A-2b.")] = False,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check a PDF against submission rules (fonts embedded, bookmarks, no JavaScript, ...); exit 1 if not."""
    from dossier.render.preflight import preflight_pdf

    if not pdf.is_file():
        raise DossierError(f"PDF not found: {pdf}", where=str(pdf), hint="pass the path of a PDF file")
    if paper is not None and paper not in ("letter", "a4"):
        raise DossierError(f"unknown paper {paper!r}", where="--paper", hint="use letter or a4")
    problems = preflight_pdf(pdf, expected_paper=paper, pdfa=pdfa)
    if as_json:
        print(json.dumps({"file": str(pdf), "passed": not problems, "problems": problems}, indent=2))
    elif problems:
        err_console.print(f"[bold red]preflight failed[/]: {pdf}")
        for p in problems:
            err_console.print(f"  - {p}", markup=False)
    else:
        out_console.print(f"preflight passed: {pdf}")
    if problems:
        raise typer.Exit(1)


@app.command()
def diff(dir_a: Annotated[Path, typer.Argument(help="A built variant folder, e.g. output/<study>/fda.")],
         dir_b: Annotated[Path, typer.Argument(help="Another variant folder.")],
         html: Annotated[Path | None, typer.Option("--html", help="Also write a side-by-side HTML report.")] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Compare two dossier variants; exit 1 if their core evidence differs."""
    from dossier.render.diff import diff_variants, format_text, render_diff_html
    from dossier.render.write import write_atomic

    d = diff_variants(dir_a, dir_b)
    if html is not None:
        write_atomic(html, render_diff_html(d).encode("utf-8"))
    if as_json:
        print(json.dumps(d.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        out_console.print(format_text(d), markup=False)
    if not d.core_identical:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning DossierError into one message and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="dossier")  # standalone mode: usage errors exit 2 with click's message
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except DossierError as err:
        if "--debug" in args:
            traceback.print_exc()
        err_console.print(err.format(), markup=False, style="bold red" if err_console.is_terminal else None)
        return err.exit_code
    except OSError as exc:  # the environment failed (read-only folder, full disk, missing asset): one block
        from dossier.render.write import os_error

        if "--debug" in args:
            traceback.print_exc()
        err = os_error(exc, "complete the command")
        err_console.print(err.format(), markup=False, style="bold red" if err_console.is_terminal else None)
        return err.exit_code
    except MemoryError:
        if "--debug" in args:
            traceback.print_exc()
        err = DossierError("out of memory", where="(this machine)",
                           hint="the input is too large for the available memory; the previous outputs are intact")
        err_console.print(err.format(), markup=False)
        return err.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted: the previous outputs are intact")
        return 130
    return 0


def run() -> None:  # console script
    sys.exit(main())
