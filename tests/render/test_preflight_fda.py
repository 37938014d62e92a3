"""Preflight to the FDA PDF specifications: title in the metadata, a hyperlinked contents page, links and
bookmarks that inherit zoom, Fast Web View (linearized), only link annotations, and PDF/A-2b on request.
Each check is shown to pass on our renderer's output and to fail on a copy that breaks it.

Reference: FDA, "Portable Document Format (PDF) Specifications"; ISO 32000-1 Annex F (linearization);
ISO 19005-2 (PDF/A-2, level B)."""

from __future__ import annotations

import io

import pikepdf
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from dossier.render.preflight import preflight_pdf

SECTIONS = ["Product information", "Background", "Questions for the Agency", "Supporting data"]
HTML = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>examplinib: Meeting Package</title>"
        "</head><body><nav class='toc'><h1>Contents</h1><ol>"
        + "".join(f"<li><a href='#s{i}'>{t}</a></li>" for i, t in enumerate(SECTIONS))
        + "</ol></nav>"
        + "".join(f"<h1 id='s{i}' style='break-before: page'>{t}</h1><p>Text of {t}.</p>"
                  for i, t in enumerate(SECTIONS))
        + "</body></html>")


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """One plain and one PDF/A-2b rendering of a small document with a contents page (rendered once)."""
    from dossier.render.pdf import render_pdf

    folder = tmp_path_factory.mktemp("preflight")
    plain, pdfa = folder / "plain.pdf", folder / "pdfa.pdf"
    plain.write_bytes(render_pdf(HTML, key="preflight", date="2026-01-01"))
    pdfa.write_bytes(render_pdf(HTML, key="preflight", date="2026-01-01", pdfa=True))
    return plain, pdfa


def _copy(src, dst, mutate):
    writer = PdfWriter(clone_from=PdfReader(str(src)))
    mutate(writer)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def test_our_pdfs_pass(pdfs):
    plain, pdfa = pdfs
    assert preflight_pdf(plain, "a4") == []
    assert preflight_pdf(pdfa, "a4", pdfa=True) == []


def test_rendering_is_deterministic_and_linearized(pdfs):
    from dossier.render.pdf import render_pdf

    assert render_pdf(HTML, key="preflight", date="2026-01-01") == pdfs[0].read_bytes()
    with pikepdf.open(pdfs[0]) as pdf:
        assert pdf.is_linearized


def test_not_linearized_is_caught(pdfs, tmp_path):
    bad = _copy(pdfs[0], tmp_path / "flat.pdf", lambda w: None)  # pypdf writes a non-linearized file
    assert "not linearized (Fast Web View)" in preflight_pdf(bad)


def test_missing_title_is_caught(pdfs, tmp_path):
    def drop_title(w):
        w._info.get_object()[NameObject("/Title")] = TextStringObject("")
    problems = preflight_pdf(_copy(pdfs[0], tmp_path / "untitled.pdf", drop_title))
    assert "no document title in the metadata (/Info /Title)" in problems


def test_zoom_that_is_not_inherited_is_caught(pdfs, tmp_path):
    def fit(w):
        for page in w.pages:
            for annot in page.get("/Annots", []) or []:
                annot = annot.get_object()
                if annot.get("/Subtype") == "/Link":
                    annot[NameObject("/Dest")] = ArrayObject([w.pages[-1].indirect_reference, NameObject("/Fit")])
                    return
    problems = preflight_pdf(_copy(pdfs[0], tmp_path / "fit.pdf", fit))
    assert any("do not inherit zoom" in p for p in problems), problems

    def zoom_200(w):
        for page in w.pages:
            for annot in page.get("/Annots", []) or []:
                annot = annot.get_object()
                annot[NameObject("/Dest")] = ArrayObject([w.pages[-1].indirect_reference, NameObject("/XYZ"),
                                                          NumberObject(0), NumberObject(800), NumberObject(2)])
    problems = preflight_pdf(_copy(pdfs[0], tmp_path / "zoom.pdf", zoom_200))
    assert any("do not inherit zoom" in p for p in problems), problems


def test_contents_without_links_is_caught(pdfs, tmp_path):
    def unlink(w):
        for page in w.pages:
            if "/Annots" in page:
                del page[NameObject("/Annots")]
    problems = preflight_pdf(_copy(pdfs[0], tmp_path / "nolinks.pdf", unlink))
    assert any(p.startswith("no hyperlinked table of contents") for p in problems), problems


def test_other_annotations_are_caught(pdfs, tmp_path):
    def note(w):
        w.pages[0][NameObject("/Annots")] = ArrayObject([w._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Text"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
            NameObject("/Contents"): TextStringObject("reviewer note")}))])
    problems = preflight_pdf(_copy(pdfs[0], tmp_path / "note.pdf", note))
    assert "page 1: annotation of type /Text (only links are allowed)" in problems


def test_pdfa_is_checked(pdfs, tmp_path):
    plain, pdfa = pdfs
    problems = preflight_pdf(plain, pdfa=True)
    assert "PDF/A: no output intent /GTS_PDFA1 with an ICC profile" in problems
    assert any(p.startswith("PDF/A: the XMP metadata does not declare PDF/A-2b") for p in problems)

    def drop_intent(w):
        del w._root_object[NameObject("/OutputIntents")]
    problems = preflight_pdf(_copy(pdfa, tmp_path / "nointent.pdf", drop_intent), pdfa=True)
    assert "PDF/A: no output intent /GTS_PDFA1 with an ICC profile" in problems
    assert not any(p.startswith("PDF/A: the XMP") for p in problems)
    with pikepdf.open(pdfa) as pdf:
        xmp = bytes(pdf.Root.Metadata.read_bytes()).decode()
        assert "pdfaid" in xmp
        assert io.BytesIO(bytes(pdf.Root.OutputIntents[0].DestOutputProfile.read_bytes())).read(40)[36:40] == b"acsp"
