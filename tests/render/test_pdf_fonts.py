"""The PDF's bytes do not depend on the system's HarfBuzz: embedded fonts are always subset by fontTools
(WeasyPrint would use libharfbuzz-subset when installed, which writes different bytes)."""

from __future__ import annotations

import weasyprint.pdf.fonts as weasyprint_fonts

from dossier.render.pdf import render_pdf

# The project's own fonts (relative to the assets folder, the renderer's base URL), no system font.
HTML = ("<html><head><style>@font-face{font-family:T;src:url(fonts/NotoSansJP-Regular-subset.otf)}"
        "body{font-family:T}</style></head><body><h1>Dose 240 mg</h1><p>用量 240 mg QD</p></body></html>")


def test_fonts_are_subset_by_fonttools_whatever_the_system_has(monkeypatch):
    calls = []
    original = weasyprint_fonts.Font._fonttools_subset

    def spy(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    def refuse(self, *args, **kwargs):  # pragma: no cover - reached only if the pin is lost
        raise AssertionError("HarfBuzz subsetting was used: PDF bytes would depend on the system")

    monkeypatch.setattr(weasyprint_fonts.Font, "_fonttools_subset", spy)
    monkeypatch.setattr(weasyprint_fonts.Font, "_harfbuzz_subset", refuse)
    pdf = render_pdf(HTML, key="test")
    assert pdf.startswith(b"%PDF-1.7") and calls, "no font was subset by fontTools"
    assert render_pdf(HTML, key="test") == pdf
