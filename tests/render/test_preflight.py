"""Preflight catches what publishing teams bounce: missing fonts, no bookmarks, JavaScript, attachments."""

from __future__ import annotations

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from dossier.render.preflight import preflight_pdf


def _copy(src, dst, mutate):
    writer = PdfWriter(clone_from=PdfReader(str(src)))
    mutate(writer)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def test_our_pdfs_pass(built_example):
    for agency, paper in (("fda", "letter"), ("ema", "a4"), ("pmda", "a4")):
        assert preflight_pdf(built_example.study_dir / agency / "dossier.pdf", paper) == []


def test_javascript_is_caught(built_example, tmp_path):
    def add_js(w):
        w._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hi');")})
    bad = _copy(built_example.study_dir / "fda" / "dossier.pdf", tmp_path / "js.pdf", add_js)
    assert "contains JavaScript" in preflight_pdf(bad)


def test_missing_bookmarks_are_caught(tmp_path):
    w = PdfWriter()
    w.add_blank_page(612, 792)
    path = tmp_path / "plain.pdf"
    with open(path, "wb") as fh:
        w.write(fh)
    problems = preflight_pdf(path, "a4")
    assert "no bookmarks (document outline)" in problems
    assert any(p.startswith("page size 612 x 792 pt is not a4") for p in problems)


def test_unembedded_font_is_caught(tmp_path):
    w = PdfWriter()
    page = w.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    path = tmp_path / "font.pdf"
    with open(path, "wb") as fh:
        w.write(fh)
    assert "fonts not embedded: /Helvetica" in preflight_pdf(path)


def test_attachment_is_caught(built_example, tmp_path):
    bad = _copy(built_example.study_dir / "ema" / "dossier.pdf", tmp_path / "att.pdf",
                lambda w: w.add_attachment("data.txt", b"secret"))
    assert "contains embedded files (attachments)" in preflight_pdf(bad)


def test_unreadable_file(tmp_path):
    p = tmp_path / "x.pdf"
    p.write_bytes(b"%PDF-1.7\n garbage")
    assert preflight_pdf(p)
