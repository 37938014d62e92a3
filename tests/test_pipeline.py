"""End-to-end build of the example study: outputs, identical core evidence across agencies,
determinism, staleness checks, atomic replacement and escaping of dataset strings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from pypdf import PdfReader

from dossier.errors import DossierError
from dossier.pipeline import build
from dossier.render.html import extract_core_numbers, extract_numbers
from dossier.render.preflight import preflight_pdf

AGENCIES = ("fda", "ema", "pmda")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "examplinib"


def test_build_writes_six_dossiers_evidence_and_manifest(built_example):
    d = built_example.study_dir
    for agency in AGENCIES:
        for name in ("dossier.html", "dossier.pdf", "variant.json"):
            assert (d / agency / name).is_file(), f"{agency}/{name} missing"
    manifest = json.loads((d / "manifest.json").read_text())
    listed = {o["path"] for o in manifest["outputs"]}
    assert {f"{a}/dossier.{x}" for a in AGENCIES for x in ("html", "pdf")} | {"evidence.json"} <= listed
    assert {i["name"] for i in manifest["inputs"]} == {"adsl", "adex", "adae", "adpp", "adrs", "adtte", "adqs", "adpd"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", i["sha256"]) for i in manifest["inputs"])
    assert manifest["dossier_version"]
    evidence = json.loads((d / "evidence.json").read_text())
    assert evidence["proposed_dosage"] == 240


def test_core_numbers_identical_across_agencies(built_example):
    d = built_example.study_dir
    cores = {a: extract_core_numbers((d / a / "dossier.html").read_text()) for a in AGENCIES}
    assert len(cores["fda"]) > 100, "the core evidence should carry many evidence-linked numbers"
    assert cores["fda"] == cores["ema"] == cores["pmda"]
    # and a number that appears anywhere in two variants reads the same in both
    alls = {a: extract_numbers((d / a / "dossier.html").read_text()) for a in AGENCIES}
    for a, b in (("fda", "ema"), ("fda", "pmda"), ("ema", "pmda")):
        shared = set(alls[a]) & set(alls[b])
        assert {k: alls[a][k] for k in shared} == {k: alls[b][k] for k in shared}


def test_core_numbers_match_the_data(built_example):
    """The 240 mg row of the overview equals a direct count of the raw XPT files."""
    adsl = pyreadstat.read_xport(str(EXAMPLE / "data" / "adsl.xpt"))[0]
    adae = pyreadstat.read_xport(str(EXAMPLE / "data" / "adae.xpt"))[0]
    ids = set(adsl.loc[adsl["DOSE01A"] == 240, "USUBJID"])
    g3 = adae[adae["USUBJID"].isin(ids) & (adae["AETOXGR"].astype(int) >= 3) & (adae["TRTEMFL"] == "Y")]
    nums = extract_core_numbers((built_example.study_dir / "fda" / "dossier.html").read_text())
    assert nums["ds.240.n"] == str(len(ids))
    assert nums["ds.240.g3.events"] == str(g3["USUBJID"].nunique())
    assert nums["ds.240.g3.rate"] == f"{100 * g3['USUBJID'].nunique() / len(ids):.1f}%"


def test_paper_sizes_and_preflight(built_example):
    d = built_example.study_dir
    expected = {"fda": (612, 792), "ema": (595, 842), "pmda": (595, 842)}
    for agency, (w, h) in expected.items():
        pdf = d / agency / "dossier.pdf"
        box = PdfReader(str(pdf)).pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (w, h)
        assert preflight_pdf(pdf, "letter" if agency == "fda" else "a4") == []


def test_pmda_japanese_headings_are_text_with_embedded_cjk_font(built_example):
    reader = PdfReader(str(built_example.study_dir / "pmda" / "dossier.pdf"))
    headings = ("相談事項", "用法・用量", "民族的要因")
    text = ""
    for page in reader.pages:  # text extraction of CJK pages is slow: stop at the page where all are found
        text += page.extract_text()
        if all(h in text for h in headings):
            break
    assert all(h in text for h in headings), [h for h in headings if h not in text]
    fonts = set()
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            fonts.add(str(f.get_object()["/BaseFont"]))
    assert any(f.endswith("+Dossier-Sans-JP") for f in fonts), fonts  # our Noto Sans CJK JP subset
    assert all("Dossier-Sans" in f for f in fonts), f"a system font slipped in: {fonts}"


def test_second_build_is_byte_identical(built_example, tmp_path):
    """A second build (here: the PMDA variant, the one with CJK fonts, to keep the suite fast) gives the
    same bytes for evidence.json and the variant's HTML, JSON and PDF."""
    import dossier.pipeline as pipeline

    pipeline._FIGURE_MEMO.clear()  # draw the figures again: they are part of what must be deterministic
    again = build(EXAMPLE / "study.yaml", agencies="pmda", out_dir=tmp_path, force=True)
    a, b = built_example.study_dir, again.study_dir
    files = ["evidence.json"] + [f"pmda/{n}" for n in ("dossier.html", "dossier.pdf", "variant.json")]
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), f"{rel} differs between two builds"


def test_diff_reports_identical_core_and_changed_numbers(built_example, example_copy, tmp_path):
    from dossier.render.diff import diff_variants

    d = built_example.study_dir
    same = diff_variants(d / "fda", d / "ema")
    assert same.core_identical
    assert "questions" in same.sections_b and "dosing_toolkit" in same.sections_only_a
    assert any(c.key == "paper" or c.key == "dosage" for c in same.terms_changed)
    # change one input value, rebuild, and compare this week's FDA build with last week's
    adrs_path = example_copy.parent / "data" / "adrs.xpt"
    df, meta = pyreadstat.read_xport(str(adrs_path))
    adsl = pd.read_sas(str(example_copy.parent / "data" / "adsl.xpt"), format="xport", encoding="utf-8")
    first_240 = adsl.loc[adsl["DOSE01A"] == 240, "USUBJID"].iloc[0]
    row = df.index[df["USUBJID"] == first_240][0]
    df.loc[row, "AVALC"] = "PD" if df.loc[row, "AVALC"] in ("CR", "PR") else "PR"
    pyreadstat.write_xport(df, str(adrs_path), file_format_version=5, table_name="ADRS",
                           column_labels=meta.column_labels)
    changed = build(example_copy, agencies="fda", formats="html", out_dir=tmp_path / "new")
    result = diff_variants(d / "fda", changed.study_dir / "fda")
    assert not result.core_identical
    assert "ds.240.orr.events" in {c.eid for c in result.numbers_changed}
    shutil.rmtree(tmp_path / "new")


def test_html_is_self_contained(built_example):
    for agency in AGENCIES:
        html = (built_example.study_dir / agency / "dossier.html").read_text()
        assert 'url("fonts/' not in html and "url(http" not in html
        assert not re.search(r'<(img|script|link)\b[^>]*(src|href)="(https?:)?//', html)
        assert "<svg" in html, "figures are inline SVG"
        assert 'src: url("data:font/otf;base64,' in html
    assert "NotoSansJP" not in (built_example.study_dir / "fda" / "dossier.html").read_text()


def test_simulation_study_on_processes_gives_identical_evidence(built_example, example_copy, tmp_path):
    """``build --executor processes --workers 2``: the simulation study runs in two processes (no cache in a
    new output folder), and the evidence is byte-identical to the in-process build."""
    result = build(example_copy, agencies="fda", formats="html", out_dir=tmp_path, executor="processes", workers=2)
    assert (result.study_dir / "evidence.json").read_bytes() == (built_example.study_dir / "evidence.json").read_bytes()
    with pytest.raises(DossierError, match="unknown executor"):
        build(example_copy, out_dir=tmp_path, executor="threads")


def test_real_cdisc_pilot_builds_a_dossier(tmp_path):
    """The whole chain on real public data (placebo, 54 mg, 81 mg): a placebo row, no PK sections."""
    spec = EXAMPLE.parent / "cdisc_pilot" / "study.yaml"
    shared = EXAMPLE.parents[2] / "shared" / "data" / "cdisc-pilot-adam"
    if not shared.is_dir():
        pytest.skip(f"real data not available: {shared} is missing")
    result = build(spec, formats="html", out_dir=tmp_path)
    nums = extract_core_numbers((result.study_dir / "fda" / "dossier.html").read_text())
    adsl = pyreadstat.read_xport(str(shared / "adsl.xpt"))[0]
    assert nums["ds.0.n"] == str(int((adsl["TRT01A"] == "Placebo").sum()))  # 86 on placebo
    assert nums["ds.54.n"] == str(int((adsl["TRT01AN"] == 54).sum()))
    evidence = json.loads((result.study_dir / "evidence.json").read_text())
    assert evidence["analyses"]["exposure_response"] is None and evidence["ethnic"] is None
