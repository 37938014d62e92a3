"""Every third-party module the package imports is a declared runtime dependency (pyproject
``dependencies``), so ``pip install dossier`` without extras runs every command. The only exception is an
optional extra (Dask), imported inside the function that needs it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPTIONAL_EXTRAS = {"dask"}  # pyproject [project.optional-dependencies] extras the code may import lazily


def _requirement_names(reqs: list[str]) -> set[str]:
    """Distribution names of requirements; ``dask[distributed]`` names dask and its extra's distribution."""
    names = set()
    for r in reqs:
        names.add(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].strip().lower().replace("_", "-"))
        names |= {e.strip().lower() for e in re.findall(r"\[([^\]]*)\]", r)[:1][0].split(",")} if "[" in r else set()
    return names


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level module, imported at module level?) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name.split(".")[0], id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], id(node) in top_level))
    return found


def test_every_imported_third_party_module_is_a_runtime_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    extras = {name: _requirement_names(reqs) for name, reqs in project["optional-dependencies"].items()}
    optional = set().union(*(extras[e] for e in OPTIONAL_EXTRAS))
    dists = {mod: {d.lower().replace("_", "-") for d in ds} for mod, ds in packages_distributions().items()}
    missing = []
    for path in sorted((REPO / "dossier").rglob("*.py")):
        if "templates" in path.parts:  # font tooling kept beside the fonts, not shipped code
            continue
        for module, module_level in _imports(path):
            if module in sys.stdlib_module_names or module in ("dossier", "__future__"):
                continue
            names = dists.get(module, {module.lower()})
            if names & runtime:
                continue
            if names & optional and not module_level:
                continue
            missing.append(f"{path.relative_to(REPO)}: {module} ({', '.join(sorted(names))})")
    assert not missing, "imported but not a runtime dependency:\n" + "\n".join(missing)
