"""Where the renderer's package data live: templates, CSS and fonts ship inside the package (package data), so
an installed wheel finds them with no environment variable; nothing outside this folder is ever read by the
renderer.  A module of its own so that the figures and the HTML renderer can both name it."""

from __future__ import annotations

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
ASSETS_DIR = TEMPLATES_DIR / "assets"
