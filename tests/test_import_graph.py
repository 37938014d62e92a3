"""The import graph of ``dossier``: no cycles between modules and no import from a lower stage into a
higher one.  Imports inside functions count (they are dependencies all the same).

Layers, lowest first (README "Layout"):

    errors, yamlio, finding, labels, wording  <  designs  <  simstudy.grid (the simulation-study spec), filters, nca_settings  <  spec
    <  ingest, jurisdictions  <  analyses  <  simstudy (engine, results)  <  evidence, findings  <  render
    <  pipeline  <  commands  <  cli, __main__

A module may import modules of its own layer or of lower layers.  ``dossier`` itself (``__version__``) is in
the lowest layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "dossier"

#: (module prefix, layer); the longest matching prefix wins
LAYERS = [
    ("dossier", 0), ("dossier.errors", 0), ("dossier.yamlio", 0), ("dossier.finding", 0), ("dossier.labels", 0), ("dossier.wording", 0),
    ("dossier.designs", 1),
    ("dossier.simstudy.grid", 2), ("dossier.nca_settings", 2), ("dossier.filters", 2),
    ("dossier.spec", 3),
    ("dossier.ingest", 4), ("dossier.jurisdictions", 4),
    ("dossier.analyses", 5),
    ("dossier.simstudy", 6),
    ("dossier.evidence", 7), ("dossier.findings", 7),
    ("dossier.render", 8),
    ("dossier.pipeline", 9),
    ("dossier.commands", 10),
    ("dossier.cli", 11), ("dossier.__main__", 11),
]


def layer(module: str) -> int:
    best = max((p for p, _ in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return dict(LAYERS)[best]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """dossier modules imported anywhere in the file (``from dossier.x import y`` -> dossier.x or dossier.x.y)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    known = MODULES
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "dossier"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "dossier":
                continue
            subs = {f"{base}.{a.name}" for a in node.names} & known
            out |= subs or {base}
    return {m for m in out if m != mod}


MODULES = {module_name(p) for p in ROOT.rglob("*.py")}
GRAPH = {module_name(p): imports(p) for p in ROOT.rglob("*.py")}

#: known cycles (an edge listed here is ignored by the cycle check only): none
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()



def test_no_upward_imports():
    bad = sorted(f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
                 for m, deps in GRAPH.items() for d in deps if layer(d) > layer(m))
    assert not bad, "\n".join(bad)



def test_no_import_cycles():
    # Tarjan-free check: depth-first search for a back edge, reporting one cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(GRAPH.get(m, ())):
            if d not in GRAPH or (m, d) in KNOWN_CYCLE_EDGES:
                continue
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(GRAPH):
        if m not in state and (cycle := visit(m)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_known_cycle_edges_exist():
    """An exception that no longer applies is removed (so the list cannot hide a new cycle)."""
    for m, d in KNOWN_CYCLE_EDGES:
        assert d in GRAPH[m], (m, d)


def test_commands_imported_only_by_the_cli():
    users = sorted(m for m, deps in GRAPH.items() if not m.startswith(("dossier.commands", "dossier.cli"))
                   and any(d.startswith("dossier.commands") for d in deps))
    assert not users, users


def test_the_engine_and_the_design_interface_share_only_the_state():
    """designs.state (the trial data) is below both the design interface and the engine; the engine knows
    designs through a protocol, so it never imports the design classes (issue 17)."""
    assert "dossier.designs.state" in GRAPH["dossier.designs.simulate"]
    assert "dossier.designs.base" not in GRAPH["dossier.designs.simulate"]
    assert "dossier.designs.simulate" in GRAPH["dossier.designs.base"]
    assert not any(d.startswith("dossier.designs") for d in GRAPH["dossier.designs.state"])


def test_the_graph_is_read():
    """The checks above see the imports they are about (a parser that found nothing would pass them)."""
    assert "dossier.designs.boin" in GRAPH["dossier.designs"]
    assert "dossier.spec" in GRAPH["dossier.pipeline"]
