"""Rendering does not depend on the machine: no text from the data reaches matplotlib's math parser, only the
project's bundled fonts are embedded in PDFs (fontconfig pinned to templates/assets/fonts), and the PDF bytes
do not change with the locale (C, de_DE.UTF-8, ja_JP.UTF-8)."""

from __future__ import annotations

import hashlib
import io
import locale
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

REPO = Path(__file__).resolve().parents[2]


def _html(body: str) -> str:
    from dossier.render.html import ASSETS_DIR

    css = (ASSETS_DIR / "dossier.css").read_text(encoding="utf-8")
    return f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>{css}</style></head><body>{body}</body></html>'


SAMPLE = _html("<h1>Dose justification</h1>" + "".join(
    f"<p>Paragraph {i}: the proposed dosage of 240 mg QD gave an objective response rate of 41.7% "
    f"(95% CI 25.5–59.2) versus 38.2% at 480 mg; 日本人患者における曝露量は非日本人と同程度であった。"
    f" US$ 5 vs US$ 6, Привет, Ωmega ✓ – long-word-without-spaces-{i * 'x'}</p>" for i in range(40)))


def embedded_fonts(pdf: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for _, font in page["/Resources"].get("/Font", {}).items():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return fonts


def test_only_bundled_fonts_are_embedded_even_for_characters_they_lack():
    from dossier.render.pdf import FONTCONFIG_FILE, render_pdf

    assert os.environ["FONTCONFIG_FILE"] == str(FONTCONFIG_FILE)
    assert "templates/assets/fonts" in FONTCONFIG_FILE.read_text(encoding="utf-8")
    fonts = embedded_fonts(render_pdf(SAMPLE, key="fonts"))
    assert fonts and fonts <= {"Dossier-Sans", "Dossier-Sans-Bold", "Dossier-Sans-JP", "Dossier-Sans-JP-Bold"}, fonts


def test_dollar_signs_in_figure_text_are_plain_text():
    from dossier.analyses.stats import KMCurve
    from dossier.render.figures import km_plot

    curve = KMCurve(label="US$ 5 vs US$ 6 $unbalanced", group="a", n=3, events=1, time=[0.0, 5.0],
                    survival=[1.0, 0.5], ci_lower=[1.0, 0.2], ci_upper=[1.0, 0.8], at_risk=[3, 1], median=5.0,
                    median_ci_lower=None, median_ci_upper=None)
    svg = km_plot([curve], title=r"cost $\frac{1}{2}$")
    assert "US$ 5 vs US$ 6 $unbalanced" in svg
    assert r"cost $\frac{1}{2}$" in svg
    assert "DejaVu" not in svg and "cmr10" not in svg


def _locale_exists(name: str) -> bool:
    try:
        old = locale.setlocale(locale.LC_ALL)
        locale.setlocale(locale.LC_ALL, name)
        locale.setlocale(locale.LC_ALL, old)
        return True
    except locale.Error:
        return False


PROBE = """
import hashlib, sys
from dossier.render.pdf import render_pdf
html = open(sys.argv[1], encoding="utf-8").read()
print(hashlib.sha256(render_pdf(html, key="locale", date="2026-11-26")).hexdigest())
"""


def test_pdf_bytes_do_not_depend_on_the_locale(tmp_path):
    names = ["C", "de_DE.UTF-8", "ja_JP.UTF-8"]
    missing = [n for n in names if not _locale_exists(n)]
    if missing:
        pytest.skip(f"locale(s) {missing} not installed on this machine (apt-get install locales; locale-gen)")
    page = tmp_path / "sample.html"
    page.write_text(SAMPLE, encoding="utf-8")
    digests = {}
    for name in names:
        env = {**os.environ, "LC_ALL": name, "LANG": name, "LANGUAGE": name.split(".")[0],
               "PYTHONPATH": str(REPO)}
        env.pop("PANGO_LANGUAGE", None)
        res = subprocess.run([sys.executable, "-c", PROBE, str(page)], env=env, capture_output=True, text=True,
                             timeout=300, check=True)
        digests[name] = res.stdout.strip()
    assert len(set(digests.values())) == 1, digests
    assert len(hashlib.sha256(b"").hexdigest()) == len(digests["C"])
