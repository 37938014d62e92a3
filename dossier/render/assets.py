"""Where the templates, CSS and fonts are (package data), without the renderer's imports: the build's
staleness check (``dossier build --check``, an up-to-date rebuild) hashes them without loading Jinja or the
evidence model (:mod:`dossier.render.html` re-exports these names)."""

from __future__ import annotations

from pathlib import Path

# Templates, CSS and fonts ship inside the package (package data), so an installed wheel finds them with no
# environment variable; nothing outside this folder is ever read by the renderer.
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
ASSETS_DIR = TEMPLATES_DIR / "assets"
# The files that are package data (pyproject's package-data globs): what a wheel ships and what the build's
# template hash covers, so an installed wheel and a checkout hash alike (no __pycache__, no font tooling).
TEMPLATE_SUFFIXES = (".j2", ".css", ".otf", ".md", ".yaml")


def template_files() -> list[Path]:
    """Every template and asset file shipped with the package, in a fixed order."""
    return sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
