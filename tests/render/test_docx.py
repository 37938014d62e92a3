"""Word output: built from the variant's HTML (same headings, same tables), real Word styles, a TOC field,
numbered captions, print-resolution figures, and deterministic bytes.

Reference: ECMA-376 Part 1 (Office Open XML) 17.16 fields (TOC, SEQ), 17.13.6 bookmarks; the HTML of the same
build is the reference for the content."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import lxml.html
import pytest
from docx import Document
from docx.oxml.ns import qn

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "examplinib" / "study.yaml"


@pytest.fixture(scope="module")
def docx_build(tmp_path_factory):
    """One build of the FDA variant as HTML and DOCX."""
    from dossier.pipeline import build

    out = tmp_path_factory.mktemp("docx")
    result = build(SPEC, agencies="fda", formats="html,docx", out_dir=out)
    return result.study_dir


@pytest.fixture(scope="module")
def word(docx_build):
    return Document(str(docx_build / "fda" / "dossier.docx"))


@pytest.fixture(scope="module")
def html_root(docx_build):
    return lxml.html.parse(str(docx_build / "fda" / "dossier.html")).getroot()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_listed_in_manifest(docx_build):
    manifest = json.loads((docx_build / "manifest.json").read_text())
    assert "docx" in manifest["formats"]
    assert "fda/dossier.docx" in [o["path"] for o in manifest["outputs"]]


def test_same_headings_as_html(word, html_root):
    main = html_root.find(".//main")
    expected = [_norm(h.text_content()) for h in main.iter("h1", "h2", "h3")
                if "doc-title" not in (h.get("class") or "") and not any(a.tag == "nav" for a in h.iterancestors())]
    got = [_norm(p.text) for p in word.paragraphs if p.style.name.startswith("Heading ")]
    assert got == expected
    assert {p.style.name for p in word.paragraphs if p.style.name.startswith("Heading")} >= {"Heading 1", "Heading 2"}


def test_every_html_table_is_a_word_table(word, html_root):
    tables = html_root.find(".//main").findall(".//table")
    assert len(word.tables) == len(tables) > 10
    assert all(t.style.name == "Table Grid" for t in word.tables)
    # the cells say what the HTML says: compare the first table with a header row cell by cell
    html_rows = [[_norm(c.text_content()) for c in r if c.tag in ("td", "th")] for r in tables[-1].iter("tr")]
    word_rows = [[_norm(c.text) for c in r.cells] for r in word.tables[-1].rows]
    assert [r[: len(h)] for r, h in zip(word_rows, html_rows, strict=True)] == html_rows
    # header rows repeat on each page: every table whose HTML has a <thead>
    with_head = [i for i, t in enumerate(tables) if t.find("thead") is not None]
    assert with_head
    for i in with_head:
        pr = word.tables[i].rows[0]._tr.trPr
        assert pr is not None and pr.find(qn("w:tblHeader")) is not None, f"table {i + 1}: header row not repeated"


def test_toc_field_and_numbered_captions(word, docx_build):
    xml = zipfile.ZipFile(docx_build / "fda" / "dossier.docx").read("word/document.xml").decode()
    assert re.search(r'<w:instrText[^>]*> TOC \\o "1-3" \\h \\z \\u </w:instrText>', xml)
    n_fig = len(re.findall(r"> SEQ Figure \\\* ARABIC <", xml))
    n_tab = len(re.findall(r"> SEQ Table \\\* ARABIC <", xml))
    captions = [p.text for p in word.paragraphs if p.style.name == "Caption"]
    assert n_fig == sum(c.startswith("Figure ") for c in captions) > 5
    assert n_tab == sum(c.startswith("Table ") for c in captions) > 5
    # numbered in order, and the HTML's "Figure:" prefix is not repeated
    figs = [c for c in captions if c.startswith("Figure ")]
    assert [int(re.match(r"Figure (\d+): ", c).group(1)) for c in figs] == list(range(1, len(figs) + 1))
    assert not any(re.match(r"Figure \d+: Figure", c) for c in figs)
    # bookmarks on sections and captions, and internal links point at existing bookmarks
    marks = set(re.findall(r'<w:bookmarkStart w:id="\d+" w:name="([^"]+)"', xml))
    assert {"sec_product", "Figure_1", "Table_1"} <= marks
    anchors = set(re.findall(r'<w:hyperlink w:anchor="([^"]+)"', xml))
    assert anchors and anchors <= marks


def test_figures_at_print_resolution(word, html_root):
    assert len(word.inline_shapes) == len(html_root.find(".//main").findall(".//figure")) > 5
    for shape in word.inline_shapes:
        blip = shape._inline.graphic.graphicData.pic.blipFill.blip
        png = word.part.related_parts[blip.embed].blob
        width_px = int.from_bytes(png[16:20], "big")
        assert width_px / (shape.width / 914400) >= 299  # pixels per printed inch


def test_core_properties_and_styles(word):
    props = word.core_properties
    assert props.created.date().isoformat() == props.modified.date().isoformat() == "2026-11-26"
    assert props.title
    names = {s.name for s in word.styles}
    assert {"Heading 1", "Heading 2", "Heading 3", "Caption", "Table Grid", "Table Text"} <= names


def test_bytes_are_deterministic(docx_build, tmp_path):
    """A second render of the variant from the evidence the build wrote, read back as a rebuild reads it
    (figures redrawn, nothing memoized), gives the bytes of the build's own DOCX, with fixed zip timestamps."""
    from dossier import pipeline
    from dossier.evidence import CoreEvidence

    plan = pipeline.plan_build(SPEC, "fda", "docx", tmp_path)
    evidence = pipeline.add_findings(plan.spec, CoreEvidence.model_validate_json(
        (docx_build / "evidence.json").read_text(encoding="utf-8")))
    pipeline._FIGURE_MEMO.clear()
    pipeline._PNG_MEMO.clear()
    pipeline.render_variants(plan, evidence, tmp_path)
    runs = [(docx_build / "fda" / "dossier.docx").read_bytes(), (tmp_path / "fda" / "dossier.docx").read_bytes()]
    assert runs[0] == runs[1]
    with zipfile.ZipFile(io.BytesIO(runs[0])) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert [i.filename for i in z.infolist()][0] == "[Content_Types].xml"


_SMALL = """<html><body><h1 class="doc-title">Title</h1><p>Sponsor</p>
<nav class="toc"><h2>Contents</h2><ol><li><a href="#a">1 A</a></li></ol></nav>
<section id="a"><h2>1 A</h2><table><caption>Table 1. Analysis populations</caption>
<thead><tr><th>Population</th><th>Definition</th><th>60</th></tr></thead>
<tbody><tr><td>Safety</td><td>All patients who received at least one dose of study treatment and had an assessment</td>
<td>3</td></tr><tr><td colspan="3">A note over the whole row</td></tr></tbody></table></section></body></html>"""


def _small_docx():
    from dossier.render.docx import render_docx

    return Document(io.BytesIO(render_docx(_SMALL, svgs={}, pngs={}, date="2026-01-01", title="Title")))


def test_title_page_and_contents_on_pages_of_their_own():
    body = _small_docx().element.body
    kinds = []  # the order of page breaks, the TOC field and the first heading in the body
    for el in body.iter():
        if el.tag == qn("w:br") and el.get(qn("w:type")) == "page":
            kinds.append("break")
        elif el.tag == qn("w:instrText") and "TOC" in (el.text or ""):
            kinds.append("toc")
        elif el.tag == qn("w:pStyle") and el.get(qn("w:val")) == "Heading2" and "heading" not in kinds:
            kinds.append("heading")
    assert kinds == ["break", "toc", "break", "heading"]


def test_table_columns_sized_by_content():
    d = _small_docx()
    widths = [c.width for c in d.tables[0].columns]
    # the definition column is the widest, the count column the narrowest; together they fill the text width
    assert widths[1] > widths[0] > widths[2]
    row = d.tables[0].rows[0]._tr.tc_lst
    assert [tc.width for tc in row] == widths


def test_list_of_tables_is_not_numbered_twice():
    """The list of tables has no list markers in the HTML (CSS ``ol.lot``): its entries already read "Table 1.";
    in Word it must not become a numbered list ("1. Table 1.")."""
    from dossier.render.docx import render_docx

    html = ('<html><body><h2>List of Tables</h2><ol class="lot"><li><a href="#t">Table 1. Doses</a></li></ol>'
            '<ol class="references"><li>Smith B. A paper. 2000.</li></ol></body></html>')
    d = Document(io.BytesIO(render_docx(html, svgs={}, pngs={}, date="2026-01-01", title="T")))
    styles = {p.text: p.style.name for p in d.paragraphs if p.text}
    assert styles["Table 1. Doses"] != "List Number" and styles["Smith B. A paper. 2000."] == "List Number"


def test_list_entry_with_marked_numbers_is_one_hyperlink():
    """An entry of the list of tables keeps its caption's marks (label, evidence-linked numbers as spans): in
    Word it is still one internal hyperlink with the entry's whole text."""
    from dossier.render.docx import render_docx

    html = ('<html><body><h2>List of Tables</h2><ol class="lot"><li><a href="#t"><span class="ordinal">Table 1.</span>'
            ' Doses up to <span class="num" data-eid="ds.max">480</span> mg</a></li></ol>'
            '<table id="t"><caption>Doses</caption><tr><td>x</td></tr></table></body></html>')
    d = Document(io.BytesIO(render_docx(html, svgs={}, pngs={}, date="2026-01-01", title="T")))
    entry = next(p for p in d.paragraphs if p.text.startswith("Table 1."))
    assert entry.text == "Table 1. Doses up to 480 mg"
    links = entry._p.findall(qn("w:hyperlink"))
    assert len(links) == 1 and "".join(t.text for t in links[0].iter(qn("w:t"))) == entry.text
