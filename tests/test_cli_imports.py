"""The quick commands stay quick: importing the CLI, ``--help``, ``decide`` and ``boundaries`` do not load
the heavy libraries of the build (issue 16: start-up <= 0.4 s; benchmarks/bench_cli.py times it).

Each check runs in a fresh interpreter and lists the heavy modules found in ``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_ONLY = ("pandas", "matplotlib", "weasyprint", "statsmodels", "scipy.stats", "pyarrow", "jinja2", "pypdf",
              "dossier.spec", "dossier.pipeline")

PROBE = """
import contextlib, io, json, sys
from dossier.cli import main
args = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(args) if args else 0
print(json.dumps({"code": code, "output": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _probe(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _heavy(modules: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    return [m for m in BUILD_ONLY + extra if m in modules]


def test_importing_the_cli_loads_neither_numpy_nor_the_build_libraries():
    modules = _probe([])["modules"]
    assert "dossier.cli" in modules
    assert _heavy(modules, ("numpy", "scipy", "pydantic", "rich.console", "dossier.designs")) == []


def test_help_loads_nothing_heavy():
    run = _probe(["--help"])
    assert run["code"] == 0 and "decide" in run["output"]
    assert _heavy(run["modules"], ("numpy", "scipy", "rich.markdown")) == []


@pytest.mark.parametrize("args", [
    ["decide", "--design", "boin", "--n", "3,6,3", "--dlt", "0,1,2", "--json"],
    ["decide", "--design", "crm", "--skeleton", "0.05,0.12,0.25", "--n", "3,3,0", "--dlt", "0,1,0", "--json"],
    ["boundaries", "--design", "boin", "--json"],
    ["boundaries", "--design", "mtpi2", "--json"],
])
def test_decide_and_boundaries_load_no_build_library(args):  # pandas, matplotlib, scipy.stats, ... never
    run = _probe(args)
    assert run["code"] == 0
    assert json.loads(run["output"])["design"]
    assert _heavy(run["modules"]) == []


@pytest.mark.parametrize("args", [
    ["decide", "--design", "boin", "--n", "3,6,3", "--dlt", "0,1,2", "--json"],
    ["boundaries", "--design", "boin", "--json"],
    ["boundaries", "--json"],  # BOIN by default
])
def test_boin_quick_commands_load_neither_scipy_nor_the_other_designs(args):
    """BOIN's rules without scipy (dossier.designs.betafn) and only BOIN's code: the command is built with the
    options of the design named on the command line."""
    run = _probe(args)
    assert run["code"] == 0 and json.loads(run["output"])["design"] == "boin"
    others = ("dossier.designs.crm", "dossier.designs.boin12", "dossier.designs.uboin", "dossier.designs.backfill",
              "dossier.designs.mtpi2", "dossier.designs.three_plus_three", "dossier.designs.obd")
    assert [m for m in ("scipy", *others) if m in run["modules"]] == []


def test_an_option_of_another_design_is_reported_as_before(capsys):
    """A command line the one-design command cannot parse goes to the full command, which reports it."""
    from dossier.cli import main

    assert main(["decide", "--design", "boin", "--n", "3,3", "--dlt", "0,1", "--skeleton", "0.1,0.2"]) == 2
    assert "--skeleton does not apply to --design boin" in capsys.readouterr().err
    assert main(["decide", "--design", "boin", "--n", "3,3", "--dlt", "0,1", "--no-such", "1"]) == 2
    assert "No such option: --no-such" in capsys.readouterr().err
    # an alias: the full command
    assert main(["decide", "--design", "U-BOIN", "--n", "3,3", "--dlt", "0,1", "--resp", "1,1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["design"] == "uboin"


def test_help_and_import_load_no_build_library():
    """What holds today for the plain import and ``--help``: none of the build's libraries is loaded."""
    for args in ([], ["--help"]):
        run = _probe(args)
        assert _heavy(run["modules"]) == [], args


def test_help_lists_every_command_with_its_own_one_line_help():
    """``--help`` shows the lazily loaded commands from a static table: the same names and one-line help as the
    commands themselves (the table cannot drift from the docstrings), and every lazy command runs."""
    from typer.testing import CliRunner

    from dossier.cli import LAZY_COMMANDS, app, lazy_command

    listed = CliRunner().invoke(app, ["--help"]).output
    for name, (_, short) in LAZY_COMMANDS.items():
        cmd = lazy_command(name)
        assert cmd.name == name and cmd.get_short_help_str(200) == short
        assert f"  {name} " in listed
        sub = CliRunner().invoke(app, [name, "--help"])
        assert sub.exit_code == 0 and sub.output.startswith(f"Usage: dossier {name} "), sub.output


def test_decide_options_are_generated_from_the_parameter_models():
    """Lazy loading keeps the options that the design parameter models generate (one per parameter)."""
    from dossier.cli import lazy_command
    from dossier.commands.designs import PARAMETERS

    for name in ("decide", "boundaries", "simulate"):
        flags = {o for p in lazy_command(name).params for o in p.opts}
        assert {"--" + n.replace("_", "-") for n in PARAMETERS} <= flags, name


def test_build_check_loads_neither_the_analyses_nor_the_renderers(tmp_path):
    """``build --check`` (and the up-to-date test of a rebuild, the same code) fingerprints the spec, its
    inputs and the templates without importing the analyses, the evidence model or the renderers (issue 16:
    ``--check`` <= 1 s, warm rebuild <= 2 s)."""
    spec = ROOT / "examples" / "examplinib" / "study.yaml"
    run = _probe(["build", str(spec), "--check", "--out", str(tmp_path)])
    assert run["code"] == 1  # never built there: stale
    # validating the spec builds the simulation study's designs, without their decision tables (scipy)
    never = ("pandas", "matplotlib", "weasyprint", "statsmodels", "pyarrow", "jinja2", "pypdf", "dossier.analyses",
             "dossier.evidence", "dossier.ingest", "dossier.render.html", "dossier.render.pdf", "scipy.stats",
             "scipy.special")
    assert [m for m in never if m in run["modules"]] == []
    assert "dossier.pipeline" in run["modules"]
