"""Agency-true writing (issue 15): the EMA variant addressed to the CHMP / SAWP in EU terms with the EU guidelines
it uses, its SmPC 4.2 annex in SmPC style, questions in each agency's wording (default wording in the agency
YAML, never in Python), the PMDA ethnic-factor tables from the data, the parallel-advice sentence only from the
spec, and the internal strategy report with a contents page.

References: the example's own ADaM (examples/examplinib/data/adsl.xpt, read with pyreadstat) for the race and
country counts; the real CDISC pilot (../shared/data/cdisc-pilot-adam, neurology, no COUNTRY, transdermal) as the
non-oncology copy, built with all three agencies; the QRD template's headings of SmPC section 4.2 (Posology;
Special populations; Method of administration)."""

from __future__ import annotations

import inspect
import re
from html import unescape
from pathlib import Path

import pyreadstat
import pytest
import yaml

from dossier import pipeline
from dossier.evidence import CoreEvidence
from dossier.findings import check_wording
from dossier.jurisdictions import load_profile
from dossier.pipeline import questions_for
from dossier.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "examplinib"
PILOT_SPEC = REPO / "examples" / "cdisc_pilot" / "study.yaml"
PILOT_DATA = (REPO / ".." / "shared" / "data" / "cdisc-pilot-adam").resolve()
#: terms of the FDA procedure that have no place in a request to the CHMP
FDA_ISMS = [r"\bthe Agency\b", r"\bregistrational\b", r"\bEOP2\b", r"End-of-Phase 2 meeting(?! package\))",
            r"\bDivision of\b", r"\bPMRs?\b", r"post-marketing requirement", r"FDA guidance",
            r"guidance on optimizing the dosage", r"Project Optimus", r"Oncology Dosing Tool Kit"]


def text_of(html: str) -> str:
    """Visible text, one block per line (style, SVG and the sidebar removed)."""
    html = re.sub(r"<(style|svg|nav)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</t[dh]>", " | ", html)
    html = re.sub(r"<(p|tr|h[1-6]|li|caption)[^>]*>", "\n", html)
    return re.sub(r"[ \t]+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def section(text: str, start: str, end: str, last: bool = False) -> str:
    """The text from ``start`` (its first occurrence, or its last: the body after the lists of tables) to ``end``."""
    i = text.rindex(start) if last else text.index(start)
    return text[i:text.index(end, i + len(start))]


@pytest.fixture(scope="module")
def example(built_example):
    study = built_example.study_dir
    docs = {a: (study / a / "dossier.html").read_text(encoding="utf-8") for a in ("fda", "ema", "pmda")}
    docs["internal"] = (study / "internal" / "strategy.html").read_text(encoding="utf-8")
    ev = CoreEvidence.model_validate_json((study / "evidence.json").read_text(encoding="utf-8"))
    return docs, ev


@pytest.fixture(scope="module")
def pilot_all_agencies(tmp_path_factory):
    """Mutated non-oncology copy: the CDISC pilot built for FDA, EMA and PMDA (HTML), with the parallel EMA-FDA
    scientific advice requested in the spec and no questions (so each agency's default question is used)."""
    if not PILOT_DATA.is_dir():
        pytest.skip(f"real data not available: {PILOT_DATA} is missing")
    from dossier.pipeline import build

    tmp = tmp_path_factory.mktemp("pilot_agencies")
    spec = yaml.safe_load(PILOT_SPEC.read_text())
    for ds in spec["datasets"].values():
        ds["path"] = str((PILOT_SPEC.parent / ds["path"]).resolve())
    spec["agencies"] = ["fda", "ema", "pmda"]
    spec["questions"] = []
    spec.setdefault("overrides", {})["ema"] = {"parallel_scientific_advice": True}
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    study = build(path, formats="html", out_dir=tmp / "out", workers=1).study_dir
    return {a: text_of((study / a / "dossier.html").read_text(encoding="utf-8")) for a in ("fda", "ema", "pmda")}


# -- EMA: addressed to the CHMP / SAWP, in EU terms ------------------------------------------------------------

def test_ema_variant_has_no_fda_isms_and_is_addressed_to_chmp_sawp(example):
    docs, _ = example
    text = text_of(docs["ema"])
    body = text[:text.index("References")] if "References" in text else text
    for rx in FDA_ISMS:
        hits = [ln.strip() for ln in body.splitlines() if re.search(rx, ln)]
        assert not hits, (rx, hits[:3])
    assert "Addressed to | Committee for Medicinal Products for Human Use (CHMP), Scientific Advice Working Party" in text
    intro = section(text, "Introduction", "Background")
    assert "scientific advice from the Committee for Medicinal Products for Human Use (CHMP), given through its " \
           "Scientific Advice Working Party (SAWP)" in intro
    assert "pivotal trial" in intro and "marketing authorisation application" in intro
    # oncology: the EU anticancer guideline, and the ICH guidelines the text uses (E4 dose-response, M15 models,
    # E5/E17 because the example enrolled in 7 countries, 3 in the EU: DEU 16, ESP 28, FRA 17 in ADSL COUNTRY)
    assert "EU guideline on the evaluation of anticancer medicinal products (EMA/CHMP/205/95 Rev.6)" in intro
    adsl = pyreadstat.read_xport(str(EXAMPLE / "data" / "adsl.xpt"))[0]
    by_country = adsl["COUNTRY"].value_counts()
    assert (f"enrolled patients in {len(by_country)} countries, 3 of them in the EU/EEA (Germany: "
            f"{by_country['DEU']} patients; Spain: {by_country['ESP']} patients; France: {by_country['FRA']} "
            "patients)") in intro
    refs = text[text.rindex("References"):]
    for ref in ("EMA/CHMP/205/95 Rev.6", "ICH E4.", "ICH E5(R1).", "ICH E17.", "ICH M15."):
        assert ref in refs, ref
    assert "Optimizing the Dosage" not in refs and "Project Optimus" not in refs


def test_ema_questions_in_the_chmp_wording_and_fda_keeps_its_own(example):
    docs, _ = example
    ema, fda = text_of(docs["ema"]), text_of(docs["fda"])
    assert ema.count("Does the CHMP agree") == 3 and "Does the Agency agree" not in ema
    assert "for the pivotal trial" in ema and "as described in ICH E4" in ema
    assert fda.count("Does the Agency agree") == 3 and "registrational trial" in fda


def test_parallel_advice_said_only_when_the_spec_says_so(example, pilot_all_agencies):
    docs, _ = example
    ema = text_of(docs["ema"])
    assert "parallel scientific advice" not in ema and "parallel request" not in ema
    assert "The core evidence of this document is also presented to the FDA (End-of-Phase 2 meeting package) " \
           "and PMDA (face-to-face consultation), unchanged." in ema
    assert "No advice on the posology from other agencies is listed for this request." in ema
    assert "The Applicant requests parallel scientific advice from the EMA and the FDA on these questions." \
        in pilot_all_agencies["ema"]
    # the PMDA variant no longer announces meetings the spec does not name
    assert "are planned" not in text_of(docs["pmda"])


def test_non_oncology_ema_uses_the_general_eu_framing(pilot_all_agencies):
    ema = pilot_all_agencies["ema"]
    assert "EMA/CHMP/205/95" not in ema and "anticancer" not in ema
    assert "general EU framework for dose finding: the ICH E4 guideline on dose-response information" in ema
    assert "The country of enrolment was not collected, so the proportion of patients enrolled in the EU/EEA " \
           "cannot be stated." in ema
    for rx in FDA_ISMS:
        assert not re.search(rx, ema[:ema.rindex("References")]), rx
    annex = section(ema, "Annex: Draft SmPC Section 4.2", "Annexes")
    assert "Xanomeline is for transdermal use (transdermal patch)." in annex
    assert "The recommended dose is 54 mg xanomeline once daily." in annex


# -- SmPC 4.2 annex -------------------------------------------------------------------------------------------

def test_smpc_annex_in_smpc_style_from_spec_and_evidence(example):
    docs, ev = example
    text = text_of(docs["ema"])
    annex = section(text, "Annex: Draft SmPC Section 4.2", "Annexes")
    heads = ["4.2 Posology and method of administration", "Posology", "Dose adjustments", "Special populations",
             "Method of administration"]
    assert [h for h in heads if f"\n{h}\n" in annex] == heads
    assert "The recommended dose is 240 mg examplinib once daily." in annex
    # reduction levels are the studied levels below the proposed dose (FDA annex: the same dose_steps)
    assert "First dose reduction | 120 mg once daily |" in annex and "Second dose reduction | 60 mg once daily |" in annex
    assert "Unable to tolerate 60 mg once daily | Discontinue permanently |" in annex
    arm = next(a for a in ev.analyses.tolerability.arms if a.dose == 240)
    rates = [f"{100 * arm.get(k).rate:.1f}%" for k in ("reduced", "interrupted", "withdrawn")]
    assert (f"adverse events led to dose reduction in {rates[0]}, dose interruption in {rates[1]} and "
            f"discontinuation in {rates[2]} of patients") in annex
    assert "Examplinib is for oral use (film-coated tablets, 60 mg and 120 mg)." in annex
    # nothing the evidence does not say: no renal / hepatic / elderly dose advice, no food or duration rule
    for invented in ("No dose adjustment is required", "with or without food", "until disease progression"):
        assert invented not in annex
    # the numbers are evidence-linked
    raw = docs["ema"][docs["ema"].index('id="smpc-4-2"'):]
    assert 'data-eid="tol.240.reduced.rate"' in raw and 'data-eid="label.step1"' in raw


# -- questions: wording in the agency YAML ----------------------------------------------------------------------

def test_default_question_wording_comes_from_the_agency_yaml(example):
    _, ev = example
    spec = load_spec(EXAMPLE / "study.yaml").model_copy(update={"questions": []})
    by = {a: questions_for(spec, ev, load_profile(a))[0] for a in ("fda", "ema", "pmda")}
    assert str(by["fda"]["text"]).startswith("Does the Agency agree that the data support")
    assert "registrational trial" in by["fda"]["text"]
    assert str(by["ema"]["text"]).startswith("Does the CHMP agree") and "pivotal trial" in by["ema"]["text"]
    assert "posology" in by["ema"]["position"]
    # the analyses listed are those done, in the YAML's order; the dose is an evidence-linked value
    assert "randomized comparison, dose-response, exposure-response and tolerability data" in by["fda"]["position"]
    assert 'data-eid="ref.study.proposed_dosage"' in by["fda"]["text"]
    # PMDA: bilingual, the Japanese lists joined in Japanese
    assert "機構の見解を伺いたい" in by["pmda"]["text_ja"]
    assert "無作為化用量比較、用量反応、曝露反応及び忍容性" in by["pmda"]["position_ja"]
    assert by["fda"]["text_ja"] is None
    # no question wording left in Python
    source = inspect.getsource(pipeline)
    assert "Does the" not in source and "registrational trial" not in source and "data summarised" not in source


def test_pmda_default_item_is_bilingual_and_spec_items_say_japanese_pending(example, pilot_all_agencies):
    pmda = pilot_all_agencies["pmda"]
    assert "機構の見解を伺いたい" in pmda and "Does PMDA agree" in pmda
    assert "is pending" not in section(pmda, "Consultation item 1", "開発の経緯")
    docs, _ = example  # the example's items have no text_ja: the document says so, without a placeholder
    assert "The Japanese text of this item and of the view is pending" in text_of(docs["pmda"])


def test_wording_finding_names_an_fda_question_in_the_ema_document():
    spec = load_spec(EXAMPLE / "study.yaml")
    assert check_wording(spec) == []  # the example gives its EMA wording
    q = spec.questions[0].model_copy(update={"by_agency": {}})
    found = check_wording(spec.model_copy(update={"questions": [q]}))
    assert [(f.kind, f.where) for f in found] == [("wording", "questions[0].text"),
                                                   ("wording", "questions[0].text")]
    assert {f.what for f in found} == {"the EMA document would say 'the Agency'",
                                       "the EMA document would say 'registrational'"}
    assert "questions[0].by_agency.ema.text" in found[0].hint


# -- PMDA ethnic-factor tables ------------------------------------------------------------------------------------

def test_pmda_race_and_country_tables_from_the_data(example, pilot_all_agencies):
    docs, _ = example
    text = text_of(docs["pmda"])
    adsl = pyreadstat.read_xport(str(EXAMPLE / "data" / "adsl.xpt"))[0]
    n = len(adsl)
    race = section(text, "Patients by race (ADSL RACE)\n", "Table", last=True)
    names = {"WHITE": "White", "ASIAN": "Asian", "BLACK OR AFRICAN AMERICAN": "Black or African American",
             "OTHER": "Other"}
    for code, k in adsl["RACE"].value_counts().items():
        assert f"{names[code]} | {k} | {100 * k / n:.1f}% |" in race, code
    ethnic = section(text, "Ethnic Sensitivity (ICH E5 Appendix D)\n", "Exposure in Japanese Patients", last=True)
    assert "Sponsor input required" not in ethnic and "sponsor input" not in ethnic.lower()
    exposure = section(text, "Exposure in Japanese Patients\n", "MRCT Consistency", last=True)
    assert "Exposure metric: AUCss (µg·h/mL)." in exposure and "ug*h" not in exposure and "AUCSS" not in exposure
    pilot = section(pilot_all_agencies["pmda"], "Patients by race (ADSL RACE)\n", "Table", last=True)
    assert "White | 230 | 90.6% |" in pilot and "American Indian or Alaska Native | 1 | 0.4% |" in pilot
    assert "The country of enrolment was not collected (no ADSL COUNTRY)." in pilot_all_agencies["pmda"]


# -- internal report apparatus ------------------------------------------------------------------------------------

def test_internal_report_has_contents_and_numbered_sections(example):
    docs, _ = example
    doc = docs["internal"]
    toc = re.search(r'<nav class="toc">(.*?)</nav>', doc, flags=re.S)
    assert toc, "no contents page"
    entries = re.findall(r'<li class="toc-l1"><a href="#([^"]+)">([^<]+)</a>', toc.group(1))
    assert [unescape(t) for _, t in entries][:3] == ["1 Purpose", "2 Consistency of the sponsor's statements with the evidence",
                                          "3 Risk of an FDA post-marketing requirement on the dosage"]
    for hid, _ in entries:
        assert f'id="{hid}"' in doc.split("<!--body-->", 1)[1], hid
    assert "List of Tables" in toc.group(1)
    assert "Internal — confidential — not for submission" in text_of(doc)


# -- contents page layout (CSS) -----------------------------------------------------------------------------------

def test_fda_contents_fits_its_page(built_example):
    from pypdf import PdfReader

    pages = PdfReader(str(built_example.study_dir / "fda" / "dossier.pdf")).pages
    contents = pages[1].extract_text()
    assert "Table of Contents" in contents and "References" in contents  # the last entry is on the same page
    assert "Table of Contents" not in pages[2].extract_text()


def test_a_long_contents_repeats_its_heading_on_the_next_page():
    """A contents longer than a page breaks with "Table of Contents (continued)" in the next page's header, and
    a section's level-2 entries stay with it (dossier.css: named page ``toc``)."""
    from pypdf import PdfReader

    from dossier.render.html import ASSETS_DIR
    from dossier.render.pdf import render_pdf

    css = (ASSETS_DIR / "dossier.css").read_text(encoding="utf-8")
    items = "".join(f'<li class="toc-l1"><a href="#s{i}">{i} Section {i}</a></li>'
                    + "".join(f'<li class="toc-l2"><a href="#s{i}-{j}">{i}.{j} Part</a></li>' for j in range(1, 4))
                    for i in range(1, 21))
    body = "".join(f'<h1 id="s{i}">Section {i}</h1>' + "".join(f'<h2 id="s{i}-{j}">Part</h2>' for j in range(1, 4))
                   for i in range(1, 21))
    html = (f"<html><head><style>{css}</style></head><body><div class='titlepage'>Title</div>"
            f"<nav class='toc'><h1>Table of Contents</h1><ol>{items}</ol></nav>{body}</body></html>")
    import io

    pages = PdfReader(io.BytesIO(render_pdf(html, key="toc-test"))).pages
    first, second = pages[1].extract_text(), pages[2].extract_text()
    assert "Table of Contents" in first and "(continued)" not in first
    assert "Table of Contents (continued)" in second
    # the break falls before a level-1 entry: the continued page starts with one
    lines = [ln for ln in second.splitlines() if re.match(r"\d+(\.\d+)? ", ln)]
    assert re.match(r"\d+ Section", lines[0]), lines[:3]
