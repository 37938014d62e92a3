"""The README table "R packages and dossier options" names only options that exist: every CLI flag is an option
of a `dossier` command, every spec key a key of the study spec, every Python keyword a parameter of a design
(or of the MCP-Mod functions), every method one that the class has.  (A row that names an option `dossier`
does not have says "not available".)"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import typer

import dossier.analyses.mcpmod as mcpmod
import dossier.designs as designs
import dossier.designs.boin_comb as boin_comb
import dossier.designs.waterfall as waterfall
from dossier.cli import _LazyCommand, app, lazy_command
from dossier.spec import StudySpec

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## R packages and dossier options"
TICKED = re.compile(r"`([^`]+)`")


def table_rows() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING):]
    section = section[:section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| R function: argument | spec key")
    return [[c.strip() for c in r.strip("|").split(" | ")] for r in rows[1:]]


def cli_options() -> set[str]:
    out: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        c = stack.pop()
        # the design, study and combination commands are loaded on use (issue 16): resolve their stand-ins
        stack += [lazy_command(n) if isinstance(sub, _LazyCommand) else sub
                  for n, sub in getattr(c, "commands", {}).items()]
        out |= {o for p in c.params for o in (*p.opts, *p.secondary_opts)}
    return out


def spec_has(path: str) -> bool:
    """``a.b[].c`` resolves through the spec's models (under ``design:`` unless it starts with a top-level key)."""
    parts = [p.removesuffix("[]") for p in path.split(".")]
    model = StudySpec
    if parts[0] not in StudySpec.model_fields:
        model = StudySpec.model_fields["design"].annotation
    for p in parts:
        if model is None or p not in getattr(model, "model_fields", {}):
            return False
        ann = model.model_fields[p].annotation
        args = [a for a in getattr(ann, "__args__", ()) if hasattr(a, "model_fields")]
        model = ann if hasattr(ann, "model_fields") else (args[0] if args else None)
    return True


def python_names() -> set[str]:
    """Parameters of every design (constructor and ``Params``) and of the MCP-Mod functions."""
    out: set[str] = set()
    for cls in [*designs.REGISTRY.values(), boin_comb.BoinComb, waterfall.Waterfall]:
        out |= set(inspect.signature(cls.__init__).parameters) | set(cls.Params.model_fields
                                                                       if hasattr(cls, "Params") else ())
    for fn in (mcpmod.analyse_mcpmod, mcpmod.fit_model, mcpmod.target_dose, mcpmod.contrast_test):
        out |= set(inspect.signature(fn).parameters)
    return out


def resolves(item: str) -> bool:
    """``Class``, ``function(...)``, ``Class.method(...)``, ``Class.property`` or ``Model.field`` exists in the designs
    or MCP-Mod."""
    dotted = re.fullmatch(r"([A-Za-z_][\w.]*)(\(.*\))?", item)
    if dotted is None:
        return False
    head, *rest = dotted.group(1).split(".")
    obj = next((getattr(ns, head) for ns in NAMESPACES if hasattr(ns, head)), None)
    for attr in rest:
        if obj is not None and not hasattr(obj, attr) and attr in getattr(obj, "model_fields", {}):
            return attr == rest[-1] and not dotted.group(2)  # a field of a result model
        obj = getattr(obj, attr, None)
    return callable(obj) or isinstance(obj, property)


ROWS = table_rows()
NAMESPACES = (designs, boin_comb, waterfall, mcpmod)
CLI_OPTIONS = cli_options()
PYTHON_NAMES = python_names()
IDS = [r[0][:60] for r in ROWS]


def test_the_table_is_read():
    assert len(ROWS) >= 30 and all(len(r) == 4 for r in ROWS), [r for r in ROWS if len(r) != 4]
    assert "--extrasafe" in CLI_OPTIONS and "cutoff_eli" in PYTHON_NAMES and spec_has("uboin.s1")
    assert not spec_has("uboin.s9") and not resolves("Boin.no_such_method()")


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_cli_flag_exists(row):
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", row[2]))
    assert flags - CLI_OPTIONS == set()


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_spec_key_exists(row):
    keys = [k for k in TICKED.findall(row[1]) if re.fullmatch(r"[a-z_][a-z0-9_.\[\]]*", k)]
    assert [k for k in keys if not spec_has(k)] == []


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_python_name_exists(row):
    for item in TICKED.findall(row[3]):
        if re.fullmatch(r"[A-Z][\w.]*|[\w.]+\(.*\)", item):  # a class, function, method or field
            assert resolves(item), item
        else:  # keywords (``name=value``: the name)
            words = re.findall(r"[a-z_][a-z0-9_]*", item.split("=")[0])
            assert [w for w in words if w not in PYTHON_NAMES] == [], item
