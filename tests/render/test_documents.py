"""The documents as a regulatory writer reads them (issue 15, document part):

- audiences: the agency variants carry the evidence and the sponsor's positions; the PMR-risk score, other
  products' scores and the findings go to the internal strategy report (HTML + PDF, listed in the manifest);
- no raw identifiers in the rendered text of either example (``LEAKS``);
- the apparatus: numbered sections, tables and figures, filled cross-references, contents entries equal to
  the headings, lists of tables and figures, abbreviations and references from what the text uses;
- pagination read page by page from the PDFs (pypdf): title page first, no blank page, no page ending with
  a heading or a caption;
- PMDA: every character of the document is in the bundled fonts (fontTools cmap).

Each example is built once: examplinib by the session fixture ``built_example`` (conftest), the CDISC pilot
once in this module.
"""

from __future__ import annotations

import functools
import html as H
import json
import re
from pathlib import Path

import pytest

from dossier.render.apparatus import load_glossary, load_references
from dossier.render.html import ASSETS_DIR, make_environment

REPO = Path(__file__).resolve().parents[2]
MARKING = "Internal \u2014 confidential \u2014 not for submission"
AGENCIES = ("fda", "ema", "pmda")

#: what a reader must never see: configuration keys, Python values, exponent notation, duplicated labels,
#: lower-cased proper names
LEAKS: list[tuple[str, re.Pattern[str]]] = [
    ("snake_case token", re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/-]|\.\w)")),
    ("None", re.compile(r"\bNone\b")),
    ("nan/inf", re.compile(r"\b(?:nan|NaN|inf|-inf)\b")),
    ("Python repr", re.compile(r"\{'|\['|'\]|'\}|\b(?:True|False)\b(?=\s*(?:[,;)\]}]|$))|object at 0x|\bnp\.|"
                               r"\bnumpy\.|\bdict\(")),
    ("exponent notation", re.compile(r"\b\d(?:\.\d+)?[eE][+-]?\d+\b")),
    ("duplicated label", re.compile(r"\b(IND|NDA|BLA) \1\b")),
    ("lower-cased proper name", re.compile(r"\b(?:kras|alzheimer|parkinson|hodgkin|kaplan|meier|clopper|newcombe|"
                                           r"hosmer|lemeshow|meddra|ctcae|recist|emax)\b")),
]


def visible_text(doc: str) -> str:
    """The text a reader sees: no head, style, script or SVG (figures are checked by their own tests)."""
    doc = re.sub(r"<(style|script|svg|head)\b.*?</\1>", " ", doc, flags=re.S | re.I)
    doc = re.sub(r"<[^>]+>", " ", doc)
    return re.sub(r"\s+", " ", H.unescape(doc))


def leaks(doc: str) -> list[str]:
    """Every raw identifier in a rendered document, with its context."""
    text = visible_text(doc)
    return [f"{name}: ...{text[max(0, m.start() - 60):m.end() + 30]}..."
            for name, rx in LEAKS for m in rx.finditer(text)]


def page_lines(text: str) -> list[str]:
    """The lines of a page's extracted text without the running header and the page footer."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return [ln for ln in lines if not re.fullmatch(r"Page \d+ of \d+", ln) and " · " not in ln
            and "\u00b7" not in ln]


def _docs(study: Path) -> list[Path]:
    return sorted(study.glob("*/dossier.html")) + sorted(study.glob("internal/strategy.html"))


# -- audiences ----------------------------------------------------------------------------------------------

def test_agency_variants_carry_no_strategy_and_the_internal_report_does(built_example):
    study = built_example.study_dir
    for agency in AGENCIES:
        doc = (study / agency / "dossier.html").read_text(encoding="utf-8")
        assert 'id="pmr-risk"' not in doc and 'data-eid="pmr.' not in doc, agency
        assert "post-authorisation measure" not in doc and "past approvals" not in doc, agency
        assert MARKING not in doc
    internal = (study / "internal" / "strategy.html").read_text(encoding="utf-8")
    assert MARKING in internal and 'id="pmr-risk"' in internal and "past approvals" in internal
    assert "FDA post-marketing requirement" in internal and "post-authorisation measure" not in internal
    assert "Consistency of the sponsor's statements with the evidence" in internal
    pdf = study / "internal" / "strategy.pdf"
    assert pdf.is_file()
    from pypdf import PdfReader

    assert MARKING in PdfReader(str(pdf)).pages[0].extract_text()
    manifest = json.loads((study / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["internal_report"] == ["internal/strategy.html", "internal/strategy.pdf"]
    assert {o["path"] for o in manifest["outputs"]} >= set(manifest["internal_report"])


def test_pmr_risk_in_an_agency_variant_only_by_setting_and_never_relabelled(built_example):
    from dossier.evidence import CoreEvidence
    from dossier.jurisdictions import load_profile
    from dossier.render.html import agency_core_sections, render_html

    ev = CoreEvidence.model_validate_json((built_example.study_dir / "evidence.json").read_text(encoding="utf-8"))
    assert "pmr_risk" not in [i for i, _ in agency_core_sections()]
    assert "pmr_risk" in [i for i, _ in agency_core_sections(True)]
    q = [{"number": 1, "discipline": "clinical", "text": "Q?", "position": "P.", "text_ja": None,
          "position_ja": None}]
    doc = render_html(ev, load_profile("ema", area="oncology"), figures={}, questions=q,
                      core_sections=agency_core_sections(True))
    assert 'id="pmr-risk"' in doc and "FDA post-marketing requirement" in doc
    assert "post-authorisation measure" not in doc


# -- text ---------------------------------------------------------------------------------------------------

def test_no_raw_identifiers_in_either_example(built_example, cdisc):
    found = {}
    for study in (built_example.study_dir, cdisc):
        docs = _docs(study)
        assert docs
        for path in docs:
            bad = leaks(path.read_text(encoding="utf-8"))
            if bad:
                found[f"{study.name}/{path.parent.name}"] = bad[:5]
    assert not found, found


@pytest.mark.parametrize("p,text", [(1.4e-05, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.0010"),
                                    (0.01234, "0.012"), (0.05, "0.050"), (0.5, "0.50"), (0.999, "1.0"),
                                    (None, "NE"), (float("nan"), "NE")])
def test_p_values_as_reviewers_expect(p, text):
    tpl = make_environment().from_string('{% import "base/macros.html.j2" as m %}{{ m.p(p, "x.p") }}|{{ m.p_eq(p, "x.p") }}')
    cell, prose = tpl.render(p=p).split("|")
    assert visible_text(cell).strip() == text
    assert visible_text(prose).strip() == ("p " if text.startswith("<") else "p = ") + text


def test_fda_questions_in_spec_order_and_diff_in_labels(built_example):
    from dossier.render.diff import diff_variants, format_text

    study = built_example.study_dir
    doc = (study / "fda" / "dossier.html").read_text(encoding="utf-8")
    text = visible_text(doc[doc.index("<!--body-->"):])
    numbers = [int(n) for n in re.findall(r"\d+(?:\.\d+)* Question (\d+) \(", text)]
    assert numbers and numbers == sorted(numbers) == list(range(1, len(numbers) + 1))
    report = format_text(diff_variants(study / "fda", study / "pmda"))
    assert "Population note" in report or "Reference body weight kg" in report
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|\bNone\b|\{'|'\}|\{ev:", report), report


# -- apparatus ----------------------------------------------------------------------------------------------

def test_apparatus_is_generated_from_the_text(built_example, cdisc):
    glossary, references = load_glossary(), load_references()
    for study in (built_example.study_dir, cdisc):
        for path in _docs(study):
            doc = path.read_text(encoding="utf-8")
            where = f"{study.name}/{path.parent.name}"
            body = doc[doc.index("<!--body-->"):]
            assert not re.search(r'<a class="xref"[^>]*></a>', doc), where
            for target in re.findall(r'<a class="xref" href="#([^"]+)">', doc):
                assert f'id="{target}"' in doc, (where, target)
            tables = re.findall(r'<caption><span class="label">Table (\d+)\.</span>', body)
            assert tables == [str(i) for i in range(1, len(tables) + 1)] and "<caption>Table:" not in doc, where
            figures = re.findall(r'<figcaption><span class="label">Figure (\d+)\.</span>', body)
            assert figures == [str(i) for i in range(1, len(figures) + 1)], where
            if path.name == "strategy.html":
                continue
            assert '<a class="xref" href="#' in doc, where
            # contents entries equal the headings (number and text) and link to them
            toc = re.search(r'<nav class="toc">(.*?)</nav>', doc, re.S).group(1)
            entries = re.findall(r'<a href="#([^"]+)">(.*?)</a>', toc)
            assert len(entries) > 10, where
            for hid, text in entries:
                head = re.search(rf'<h[12][^>]*\bid="{re.escape(hid)}"[^>]*>(.*?)</h[12]>', doc, re.S)
                assert head, (where, hid)
                assert visible_text(head.group(1)).strip() == visible_text(text).strip(), (where, hid)
            lot = re.findall(r'<li><a href="#[^"]+"><span class="ordinal">Table (\d+)\.', doc)
            assert lot == tables, where
            # abbreviations: exactly the glossary terms the body uses
            listed = re.findall(r"<tr><td>([^<]+)</td><td>", re.search(
                r'<table class="abbreviations">(.*?)</table>', doc, re.S).group(1))
            text = visible_text(re.sub(r'<section class="(?:front|back)" id="(?:abbreviations|references)">.*?'
                                       r'</section>', "", body, flags=re.S))
            used = [t for t in glossary if re.search(r"(?<![\w-])" + re.escape(t) + r"s?(?![\w-])", text)]
            assert sorted(listed, key=str.lower) == sorted(used, key=str.lower), where
            cited = re.findall(r'<li id="ref-([^"]+)">', doc)
            assert cited and set(cited) <= {r["id"] for r in references}, where
            assert "Document Control" in doc or "文書管理" in doc
    ema = (built_example.study_dir / "ema" / "dossier.html").read_text(encoding="utf-8")
    assert 'id="ref-ema-anticancer-rev6"' in ema


def test_attendees_and_revision_history_from_the_spec(built_example):
    from dossier.evidence import CoreEvidence
    from dossier.jurisdictions import load_profile
    from dossier.render.html import render_html

    ev = CoreEvidence.model_validate_json((built_example.study_dir / "evidence.json").read_text(encoding="utf-8"))
    fda = load_profile("fda", area="oncology")
    q = [{"number": 1, "discipline": "clinical", "text": "Q?", "position": "P.", "text_ja": None, "position_ja": None}]
    bare = render_html(ev, fda, figures={}, questions=q)
    assert "No Sponsor attendees are listed" in bare and "no earlier versions are recorded" in bare
    given = render_html(ev, fda, figures={}, questions=q, extra={"render": {
        "pmr_risk_in_agency_variants": False, "status": "Final",
        "revision_history": [{"version": "0.9", "date": "2026-10-01", "description": "Draft for review"}],
        "attendees": [{"name": "A. Writer", "role": "Regulatory writer", "affiliation": None}]}})
    assert "A. Writer" in given and "Draft for review" in given and "No Sponsor attendees" not in given


# -- pages --------------------------------------------------------------------------------------------------

def _captions_and_headings(doc: str) -> set[str]:
    out = set()
    for m in re.finditer(r"<(h[123]|caption|figcaption)\b[^>]*>(.*?)</\1>", doc, re.S):
        text = visible_text(m.group(2)).strip()
        if text:
            out.add(text)
    return out


@functools.cache
def pdf_page_texts(pdf: Path) -> tuple[str, ...]:
    """The extracted text of each page of a PDF (pypdf), once per file for this module: text extraction of the
    CJK pages is slow (~14 s of CPU for the PMDA variant) and two tests read the same PDFs."""
    from pypdf import PdfReader

    return tuple(p.extract_text() or "" for p in PdfReader(str(pdf)).pages)


def test_pdf_pages_title_first_no_blank_page_no_heading_at_a_page_foot(built_example, cdisc):
    problems = []
    for study in (built_example.study_dir, cdisc):
        for html_path in _docs(study):
            pdf = html_path.with_suffix(".pdf")
            doc = html_path.read_text(encoding="utf-8")
            heads = _captions_and_headings(doc)
            pages = list(pdf_page_texts(pdf))
            where = f"{study.name}/{html_path.parent.name}"
            title = re.search(r"<title>(.*?)</title>", doc).group(1).split(":")[0]
            assert title in pages[0], (where, "page 1 is not the title page")
            for i, text in enumerate(pages, start=1):
                lines = page_lines(text)
                if not lines:
                    problems.append((where, i, "blank page"))
                    continue
                last = lines[-1]
                if i < len(pages) and any(last == h or (len(last) > 12 and h.startswith(last)) for h in heads):
                    problems.append((where, i, f"ends with a heading or caption: {last!r}"))
    assert not problems, problems


def test_pmda_characters_are_all_in_the_bundled_fonts(built_example):
    from fontTools.ttLib import TTFont

    fonts = ASSETS_DIR / "fonts"
    covered: set[int] = set()
    for name in ("DossierSans-Latin-Regular-subset.otf", "NotoSansJP-Regular-subset.otf"):
        covered |= set(TTFont(str(fonts / name), lazy=True).getBestCmap())
    jp = set(TTFont(str(fonts / "NotoSansJP-Regular-subset.otf"), lazy=True).getBestCmap())
    doc = (built_example.study_dir / "pmda" / "dossier.html").read_text(encoding="utf-8")
    text = visible_text(doc)
    missing = sorted({c for c in text if ord(c) not in covered and not c.isspace()})
    assert not missing, missing
    # a space inside Japanese text is drawn with the Japanese font: it must have one
    assert ord(" ") in jp and 0x3000 in jp
    pdf_text = "".join(pdf_page_texts(built_example.study_dir / "pmda" / "dossier.pdf"))
    assert "\ufffd" not in pdf_text and "\u2612" not in pdf_text
