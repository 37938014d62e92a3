"""Truthful dossiers on a real non-oncology study (issue 13, first half): missing is not zero, sections that
apply, framing by therapeutic area, named populations. Builds mutated copies of the CDISC pilot (real public
ADaM: placebo, 54 and 81 mg xanomeline, Alzheimer's disease; AEACN blank in every AE record, no AETOXGR, no
DLT flag, no PK) into tmp folders (HTML only) and asserts the exact statements that must and must not appear.
The reference for every count is the raw ADaM file itself (read with pyreadstat)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pyreadstat
import pytest
import yaml
from typer.testing import CliRunner

from dossier.cli import app
from dossier.errors import SpecError
from dossier.pipeline import build
from dossier.spec import load_spec
from dossier.wording import say

REPO = Path(__file__).resolve().parents[1]
PILOT_SPEC = REPO / "examples" / "cdisc_pilot" / "study.yaml"
PILOT_DATA = (REPO / ".." / "shared" / "data" / "cdisc-pilot-adam").resolve()


def _need_data() -> None:
    if not PILOT_DATA.is_dir():
        pytest.skip(f"real data not available: {PILOT_DATA} is missing")


def _text(html: str) -> str:
    """The visible text of a dossier, one block per paragraph / row, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"</t[dh]>", " | ", html)
    html = re.sub(r"<(p|tr|h[1-6]|li|caption)[^>]*>", "\n", html)
    return re.sub(r"[ \t]+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def _spec_copy(tmp: Path, **changes) -> Path:
    """The pilot spec with its dataset paths made absolute and ``changes`` applied (dotted keys)."""
    spec = yaml.safe_load(PILOT_SPEC.read_text())
    for ds in spec["datasets"].values():
        ds["path"] = str((PILOT_SPEC.parent / ds["path"]).resolve())
    for key, value in changes.items():
        node = spec
        *path, last = key.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    out = tmp / "study.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


def _build(spec: Path, out: Path) -> tuple[str, dict]:
    result = build(spec, formats="html", out_dir=out)
    html = (result.study_dir / "fda" / "dossier.html").read_text(encoding="utf-8")
    # the PMR-risk section (or its not-applicable statement) is in the internal strategy report (issue 15)
    internal = (result.study_dir / "internal" / "strategy.html").read_text(encoding="utf-8")
    return _text(html) + "\n" + _text(internal), json.loads((result.study_dir / "evidence.json").read_text())


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    """The CDISC pilot as shipped: neurology, placebo-controlled, no escalation, AEACN blank, no CTCAE grade."""
    _need_data()
    tmp = tmp_path_factory.mktemp("pilot")
    return _build(_spec_copy(tmp), tmp / "out")


@pytest.fixture(scope="module")
def pilot_oncology_no_randomized(tmp_path_factory):
    """Mutated: declared oncology, and no randomized part (no randomized dosages)."""
    _need_data()
    tmp = tmp_path_factory.mktemp("pilot_onc")
    spec = _spec_copy(tmp, **{"study.therapeutic_area": "oncology", "randomized_dosages": []})
    return _build(spec, tmp / "out")


@pytest.fixture(scope="module")
def pilot_partly_graded(tmp_path_factory):
    """Mutated ADAE: AETOXGR derived from AESEV (MILD 1, MODERATE 2, SEVERE 3) and AEACN filled for most
    records, blank for the AEs of every 7th subject: dose reductions are partly unknown."""
    _need_data()
    tmp = tmp_path_factory.mktemp("pilot_graded")
    ae, meta = pyreadstat.read_xport(str(PILOT_DATA / "adae.xpt"))
    ae["AETOXGR"] = ae["AESEV"].map({"MILD": "1", "MODERATE": "2", "SEVERE": "3"}).fillna("")
    subjects = sorted(ae["USUBJID"].unique())
    blank = set(subjects[::7])
    reduced = set(subjects[1::5]) - blank
    ae["AEACN"] = np.where(ae["USUBJID"].isin(blank), "",
                           np.where(ae["USUBJID"].isin(reduced) & (ae["AESEV"] == "MODERATE"), "DOSE REDUCED",
                                    "DOSE NOT CHANGED"))
    pyreadstat.write_xport(ae, str(tmp / "adae.xpt"), table_name="ADAE")
    spec = _spec_copy(tmp, **{"datasets.adae.path": str(tmp / "adae.xpt")})
    text, ev = _build(spec, tmp / "out")
    return text, ev, ae


# -- missing is not zero ------------------------------------------------------------------------------------

def test_not_collected_measures_are_said_so_never_zero(pilot):
    text, ev = pilot
    ms = ev["dose_summary"]["measures"]
    assert ms["grade3"]["status"] == ms["reduced"]["status"] == ms["interrupted"]["status"] == "not_collected"
    assert ms["reduced"]["reason"] == {"code": "analysis.measure.blank_everywhere", "values": {"var": "AEACN"}}
    assert say(ms["reduced"]["reason"]) == "AEACN is blank in every AE record"
    for row in ev["dose_summary"]["rows"]:
        assert row["grade3"] is None and row["reduction"] is None and row["interruption"] is None
    # every dose row of the overview: grade >= 3, reduction and interruption are "not collected"
    # tables are numbered and listed in the front matter (issue 15): the last match is the table's own caption
    overview = text[list(re.finditer(r"Table \d+\. Patients", text))[-1].start():]
    nxt = re.search(r"Table \d+\. ", overview[1:])
    overview = overview[:nxt.start() + 1] if nxt else overview  # that table only
    rows = [ln for ln in overview.splitlines() if ln.startswith(("Control |", "54 |", "81 |"))]
    assert len(rows) == 3 and all(ln.count("not collected") >= 1 for ln in rows)
    assert "Grade ≥3 TEAE (CTCAE): not collected (no CTCAE grade (AETOXGR) was recorded)." in text
    assert "TEAE leading to dose reduction: not collected (AEACN is blank in every AE record)." in text
    assert "0/84 (0.0%" not in text and "0/86 (0.0%" not in text  # no rate of zero for a measure not collected


def test_severity_is_shown_as_severity_and_discontinuation_from_adsl(pilot):
    """Severe (AESEV) 5/86, 16/84, 8/84; ADSL DCDECOD = ADVERSE EVENT 8/86, 44/84, 40/84 (counted from the files)."""
    text, ev = pilot
    adsl = pyreadstat.read_xport(str(PILOT_DATA / "adsl.xpt"))[0]
    adae = pyreadstat.read_xport(str(PILOT_DATA / "adae.xpt"))[0]
    teae = adae[adae["TRTEMFL"] == "Y"]
    for arm, dose in (("Placebo", 0), ("Xanomeline Low Dose", 54), ("Xanomeline High Dose", 81)):
        ids = set(adsl.loc[adsl["TRT01A"] == arm, "USUBJID"])
        n = len(ids)
        severe = teae.loc[(teae["AESEV"] == "SEVERE") & teae["USUBJID"].isin(ids), "USUBJID"].nunique()
        disc = int(((adsl["TRT01A"] == arm) & (adsl["DCDECOD"] == "ADVERSE EVENT")).sum())
        row = next(r for r in ev["dose_summary"]["rows"] if r["dose"] == dose)
        assert (row["severe_severity"]["events"], row["severe_severity"]["n"]) == (severe, n)
        assert (row["discontinuation"]["events"], row["discontinuation"]["n"]) == (disc, n)
        assert f"{disc}/{n} (" in text
    assert "Severe TEAE (severity, ADAE AESEV)" in text
    assert "Discontinuation of the study for an AE (ADSL DCDECOD)" in text
    assert ev["dose_summary"]["measures"]["discontinuation"]["source"] == "ADSL DCDECOD"


def test_partly_missing_measure_uses_known_values_as_denominator(pilot_partly_graded):
    text, ev, ae = pilot_partly_graded
    ms = ev["dose_summary"]["measures"]
    assert ms["grade3"]["status"] == "collected" and ms["reduced"]["status"] == "partial"
    adsl = pyreadstat.read_xport(str(PILOT_DATA / "adsl.xpt"))[0]
    teae = ae[ae["TRTEMFL"] == "Y"]
    for arm, dose in (("Placebo", 0), ("Xanomeline Low Dose", 54), ("Xanomeline High Dose", 81)):
        ids = set(adsl.loc[adsl["TRT01A"] == arm, "USUBJID"])
        a = teae[teae["USUBJID"].isin(ids)]
        # unknown: subjects whose TEAEs all have a blank AEACN (none of them flagged)
        unknown = {u for u, g in a.groupby("USUBJID") if (g["AEACN"] == "").all()}
        events = a.loc[a["AEACN"] == "DOSE REDUCED", "USUBJID"].nunique()
        row = next(r for r in ev["dose_summary"]["rows"] if r["dose"] == dose)
        assert (row["reduction"]["events"], row["reduction"]["n"]) == (events, len(ids) - len(unknown))
        assert row["reduction"]["n"] < len(ids)
        assert f"{events}/{len(ids) - len(unknown)} (" in text
    assert "its rates use the" in text and "patients with a known value" in text
    # the counts of the note are evidence values (linked), its cause named without them
    r = ms["reduced"]
    assert f"unknown for {r['n_subjects'] - r['n_known']} of {r['n_subjects']} subjects (AEACN blank)" in text
    assert say(r["cause"]) == "AEACN blank"


# -- sections that apply --------------------------------------------------------------------------------------

def test_sections_without_their_data_say_so_and_nothing_else_refers_to_them(pilot):
    text, ev = pilot
    ap = ev["applicability"]
    assert not ap["escalation"]["applicable"] and not ap["exposure_response"]["applicable"]
    assert not ap["pmr_risk"]["applicable"] and ap["randomized"]["applicable"]
    assert ("Not performed for this study. This analysis needs a dose-escalation part with DLT-evaluable patients. "
            "No patient is flagged DLT-evaluable (ADSL DLTEVLFL)") in text
    assert "The indication is not oncology; the score is calibrated on oncology approvals" in text
    for absent in ("dose-escalation part over", "rather than the maximum tolerated dose", "MTD selected",
                   "Operating characteristics of the escalation design", "exposure-response data summarised",
                   "Exposure-response relationships are observational"):
        assert absent not in text, absent
    assert ("treated 254 patients at 2 dose levels (54, 81 mg QD) and 1 control arm; subjects were randomized "
            "between placebo, 54 mg and 81 mg QD.") in text
    assert "No pharmacokinetic exposure data were provided, so no exposure-response analysis was done." in text


def test_no_randomized_part(pilot_oncology_no_randomized):
    text, ev = pilot_oncology_no_randomized
    assert ev["analyses"]["randomized"] is None and not ev["applicability"]["randomized"]["applicable"]
    assert "No randomized comparison of dosages was conducted." in text
    assert "No two arms have randomized subjects" in text
    for absent in ("randomized between", "randomized comparison, ", "The randomized comparison is estimation-based"):
        assert absent not in text, absent


# -- therapeutic area -----------------------------------------------------------------------------------------

def test_non_oncology_gets_general_framing(pilot):
    text, _ = pilot
    for absent in ("Project Optimus", "Division of Oncology", "Oncology Dosing Tool Kit", "oncologic",
                   "Registration-trial median", "Harvey et al", "NCI CTCAE",
                   # the pilot's time-to-event endpoint is a time to a dermatologic event, not progression-free
                   # survival; a small molecule's chemical name is not "not applicable"
                   "Progression-free", "PFS", "Chemical name and structure | not applicable"):
        assert absent not in text, absent
    assert "Time-to-event parameter (PARAMCD) | TTDE" in text
    assert "Chemical name and structure | not given in the study specification" in text
    assert "Following ICH E4 (Dose-Response Information to Support Drug Registration)" in text
    assert "FDA attendees are requested from the review division" in text


def test_oncology_framing_only_for_oncology(pilot_oncology_no_randomized):
    text, _ = pilot_oncology_no_randomized
    assert "Consistent with FDA's Project Optimus" in text
    assert "FDA attendees are requested from the Division of Oncology" in text
    assert "This summary follows the three questions of FDA's Oncology Dosing Tool Kit." in text
    assert "Progression-free survival parameter (PARAMCD)" in text


def test_spec_without_therapeutic_area_is_a_helpful_error(tmp_path):
    spec = yaml.safe_load(PILOT_SPEC.read_text())
    del spec["study"]["therapeutic_area"]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match=r"study\.therapeutic_area: missing: .*oncology.*neurology"):
        load_spec(tmp_path / "s.yaml")


# -- populations and validate -----------------------------------------------------------------------------------

def test_populations_are_defined_with_n_per_dose(pilot):
    text, ev = pilot
    pops = {p["name"]: p for p in ev["dose_summary"]["populations"]}
    assert pops["safety"]["n_by_dose"] == {"0": 86, "54": 84, "81": 84}
    assert "DLT-evaluable" not in pops  # nobody is flagged: the population is not listed
    assert "safety | safety population flag (SAFFL = Y); adverse-event rates | 86 | 84 | 84 | 254 |" in text


def test_validate_warns_with_column_and_count_and_strict_fails():
    _need_data()
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(PILOT_SPEC), "--json"])
    assert ok.exit_code == 0
    warnings = [w["message"] for w in json.loads(ok.stdout)["warnings"]]
    assert any("AEACN is blank in all 1191 AE records" in w and "not collected" in w for w in warnings)
    assert any("no AETOXGR/ATOXGR column" in w and "1191" in w for w in warnings)
    strict = runner.invoke(app, ["validate", str(PILOT_SPEC), "--strict", "--json"])
    assert strict.exit_code == 2


# -- one quantity, one value ------------------------------------------------------------------------------------

def test_design_scenario_takes_the_simulation_study_cell_of_the_same_design_and_scenario():
    """The spec's BOIN under a scenario the simulation study also runs (same settings, seed tree, trials) is
    that study cell: one simulation, one value (issue 13: 51.0% vs 50.5% for the same simulation)."""
    from types import SimpleNamespace

    from dossier.pipeline import study_cell_for
    from dossier.simstudy.grid import DesignConfig, ScenarioConfig

    spec = load_spec(REPO / "examples" / "examplinib" / "study.yaml")
    d = spec.design
    boin = DesignConfig(id="boin", label="BOIN", name="boin", target=d.target, cohort_size=d.cohort_size,
                        n_cohorts=d.n_cohorts, options=d.design_options())
    other = DesignConfig(id="crm", label="CRM", name="crm", target=d.target, cohort_size=d.cohort_size,
                         n_cohorts=d.n_cohorts, options={})
    tox = list(d.scenarios[0].true_tox)
    study = SimpleNamespace(n_trials=d.n_trials, designs=[other, boin],
                            scenarios=[ScenarioConfig(id="s2", name="x", true_tox=[0.5] * len(tox)),
                                       ScenarioConfig(id="s1", name="y", true_tox=tox)])
    assert study_cell_for(spec, study, tox, None) == "boin/s1"
    assert study_cell_for(spec, study, [0.1] * len(tox), None) is None  # scenario not in the study
    study.n_trials = d.n_trials + 1
    assert study_cell_for(spec, study, tox, None) is None  # a different number of trials is another quantity


def test_pilot_builds_without_findings(pilot):
    """Both examples build with zero findings (examplinib: tests/test_findings.py; `make demo` builds both with
    --strict)."""
    _, ev = pilot
    assert ev["findings"] == []


# -- statements a reviewing statistician checked (issue 13) ------------------------------------------------------

def test_pilot_material_results_list_every_result_whose_ci_excludes_no_effect(pilot):
    """The justification says "every result whose 95% CI excludes no effect is listed": for the pilot that is
    every randomized difference (severity-severe and ADSL discontinuation, not only the matrix's endpoints) and
    every hazard ratio of the time-to-event endpoint (TTDE) whose interval excludes 0 (or 1)."""
    text, ev = pilot
    rnd = ev["analyses"]["randomized"]
    expected = set()
    for c in rnd["comparisons"]:
        pair = (c["arm"], c["reference"])
        for k, d in [("response", c["response"])] + list(c["safety"].items()):
            if d and d["estimate"] is not None and (d["ci_lower"] > 0 or d["ci_upper"] < 0):
                expected.add(("randomized", k, pair))
        h = c["pfs_hr"]
        if h and h["hr"] is not None and (h["ci_lower"] > 1 or h["ci_upper"] < 1):
            expected.add(("randomized_tte", "tte", pair))
    listed = {(x["source"], x["endpoint"], (x["arm"], x["reference"])) for x in ev["justification"]["material"]}
    assert ("randomized", "withdrawn_study", (54.0, 0.0)) in expected and ("randomized_tte", "tte", (81.0, 0.0)) in expected
    assert listed == expected
    assert "TTDE: hazard ratio, 54 mg vs placebo, 4.05 (95% CI 2.57 to 6.38; p < 0.001): speaks against higher doses." in text
    assert ("Discontinued the study because of an adverse event (ADSL DCDECOD): difference in percentage points, "
            "81 mg minus placebo, +38.3 (95% CI 25.2 to 49.8): speaks against higher doses.") in text


def test_randomized_comparison_makes_no_claim_about_the_trial_design(pilot):
    """Whether the trial was powered for a comparison is not in the evidence (the pilot was a placebo-controlled
    efficacy trial): the documents say how the comparison is presented, not what it was designed for."""
    text, _ = pilot
    for absent in ("not designed to show", "not powered"):
        assert absent not in text, absent
    assert ("The comparison is presented as estimates with 95% confidence intervals, not as tests of the superiority "
            "of one dosage over another.") in text
    assert "The randomized comparison is estimation-based (ICH E4): it gives differences between the arms" in text


def test_ingest_warning_names_the_severity_measure_from_its_one_label_source():
    """The pilot has AESEV and no CTCAE grade: the warning names the measures by labels.safety_label."""
    from dossier.labels import safety_label

    _need_data()
    out = CliRunner().invoke(app, ["validate", str(PILOT_SPEC), "--json"])
    warning = next(w["message"] for w in json.loads(out.stdout)["warnings"] if "no AETOXGR/ATOXGR column" in w["message"])
    assert f"{safety_label('grade3')} is not collected" in warning
    assert f"severe AEs are counted by severity: {safety_label('severe', 'severity')}" in warning
    assert "grade >= 3" not in warning and safety_label("severe", "severity") == "severe TEAE (AESEV; no CTCAE grade recorded)"


def test_an_optional_measure_not_collected_is_no_limitation(built_example):
    """Examplinib has no ADSL reason for discontinuation; discontinuation for an AE is collected from AEACN, so
    the missing optional source (endpoints.OPTIONAL_MEASURES) is not listed among the limitations."""
    ev = json.loads((built_example.study_dir / "evidence.json").read_text(encoding="utf-8"))
    assert ev["dose_summary"]["measures"]["withdrawn_study"]["status"] == "not_collected"
    text = _text((built_example.study_dir / "fda" / "dossier.html").read_text(encoding="utf-8"))
    limitations = text[text.index("Uncertainties and limitations\n"):]
    assert "Discontinued the study because of an adverse event (ADSL DCDECOD) was not collected" not in limitations


# -- the combination example: built with --strict as CI and `make demo` build it ---------------------------------

COMB = REPO / "examples" / "combination"


@pytest.fixture(scope="module")
def combination(tmp_path_factory):
    """`dossier build examples/combination/study.yaml --strict` (HTML): exit code, text, evidence."""
    from dossier.cli import main

    out = tmp_path_factory.mktemp("comb") / "out"
    rc = main(["build", str(COMB / "study.yaml"), "--strict", "--format", "html", "--out", str(out), "-q"])
    study = out / "combination-CMB-101"
    return (rc, _text((study / "fda" / "dossier.html").read_text(encoding="utf-8")),
            json.loads((study / "evidence.json").read_text(encoding="utf-8")))


def test_every_example_is_built_strict_by_the_tests():
    """examplinib: tests/test_findings.py and tests/render/test_evidence_sentences.py; cdisc_pilot:
    test_pilot_builds_without_findings; combination: the test below. A new example must be added here."""
    assert {p.parent.name for p in (REPO / "examples").glob("*/study.yaml")} == {"examplinib", "cdisc_pilot",
                                                                                 "combination"}
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for name in ("examplinib", "cdisc_pilot", "combination"):
        assert re.search(rf"dossier build examples/{name}/study.yaml --out output --strict", makefile), name


def test_combination_example_builds_strict_and_its_evidence_favours_the_proposed_dosage(combination):
    """The randomized part (examples/combination/generate_adsl.py) shows lower response at 120 mg than at 240 mg;
    counts from the ADaM files themselves."""
    rc, text, ev = combination
    assert rc == 0 and ev["findings"] == []
    adsl = pyreadstat.read_xport(str(COMB / "data" / "adsl.xpt"))[0]
    adrs = pyreadstat.read_xport(str(COMB / "data" / "adrs.xpt"))[0].merge(adsl, on="USUBJID")
    resp = adrs[adrs["RANDFL"] == "Y"].assign(r=lambda d: d["AVALC"].isin(["CR", "PR"])).groupby("DOSE01A")["r"]
    for dose in (120.0, 240.0):
        assert f"{dose:g} mg | {int(resp.count()[dose])} | {int(resp.sum()[dose])}/{int(resp.count()[dose])} (" in text
    assert "By the decision rule the evidence favours 240 mg, the proposed dosage." in text
    assert "120 mg is excluded because an efficacy line speaks against it (randomized comparison)." in text


def test_combination_escalation_and_missing_data_are_stated_truthfully(combination):
    _, text, _ = combination
    # the escalation of dose pairs is not called absent because no single-agent DLT flag exists
    assert "so the study has no dose-escalation part" not in text
    assert ("No patient is flagged DLT-evaluable (ADSL DLTEVLFL) for a single-agent escalation; the study's "
            "escalation was of two-agent dose pairs, summarised in Section") in text
    # no ADAE: adverse-event measures are "not collected", never a dash; no rate of nobody ("0/0")
    assert "Adverse events: not collected (the study specification gives no ADAE dataset)." in text
    assert "480 | 15 | none evaluable | not collected |" in text and "0/0" not in text


def test_combination_without_response_data_favours_the_lower_dose(tmp_path, capsys):
    """Mutated copy without ADRS: nothing shows lost efficacy at 120 mg (43 patients), so the evidence favours
    it and the proposed 240 mg is exactly one finding (`dossier check` exits 1)."""
    import shutil

    from dossier.cli import main

    shutil.copytree(COMB, tmp_path / "combination", ignore=shutil.ignore_patterns("__pycache__"))
    spec = tmp_path / "combination" / "study.yaml"
    raw = yaml.safe_load(spec.read_text())
    del raw["datasets"]["adrs"]
    spec.write_text(yaml.safe_dump(raw, sort_keys=False))
    capsys.readouterr()
    assert main(["check", str(spec), "--out", str(tmp_path / "out"), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["evidence"] for f in findings] == [["just.favoured"]]
    assert "the proposed dosage 240 mg is not what the evidence favours (120 mg" in findings[0]["what"]


def test_contents_page_is_found_when_pypdf_extracts_nul_interleaved_text():
    """The combination example's PDF (built by `make demo` with --strict): pypdf extracts its contents page as
    UTF-16 code units with NUL high bytes (pdftotext reads it fine); preflight still finds the contents page."""
    from dossier.render.preflight import _toc_page

    class Page(dict):
        def extract_text(self):
            return "\x00".join("Table of Contents")

    page = Page({"/Annots": [{"/Subtype": "/Link", "/Dest": f"h-{i}"} for i in range(3)]})
    named = {f"h-{i}": {"/Type": "/XYZ", "/Zoom": 0} for i in range(3)}
    assert _toc_page(page, named)
    assert not _toc_page(Page({"/Annots": page["/Annots"][:2]}), named)  # too few links


def test_response_models_use_the_response_population(built_example):
    """Examplinib: one 60 mg patient has a best response of NE and EFFFL = N. The exposure-response model of
    response, like every response rate, uses the efficacy-evaluable patients with a response record (counted
    here from the ADaM files), not that record as a non-response."""
    data = REPO / "examples" / "examplinib" / "data"
    adsl = pyreadstat.read_xport(str(data / "adsl.xpt"))[0]
    adrs = pyreadstat.read_xport(str(data / "adrs.xpt"))[0]
    adpp = pyreadstat.read_xport(str(data / "adpp.xpt"))[0]
    evaluable = set(adsl.loc[adsl["EFFFL"] == "Y", "USUBJID"]) & set(adrs.loc[adrs["PARAMCD"] == "BOR", "USUBJID"])
    with_pk = evaluable & set(adpp.loc[adpp["PARAMCD"] == "AUCSS", "USUBJID"])
    assert len(with_pk) < len(adsl)  # the example has a patient who is not efficacy-evaluable
    ev = json.loads((built_example.study_dir / "evidence.json").read_text(encoding="utf-8"))
    model = next(m for m in ev["analyses"]["exposure_response"]["models"] if m["endpoint"] == "response")
    assert model["n"] == len(with_pk)
    assert sum(r["response"]["n"] for r in ev["dose_summary"]["rows"] if r["response"]) == len(evaluable)


def test_simulation_study_states_the_true_mtd_as_a_dose_and_no_target_for_3_3(built_example):
    text = _text((built_example.study_dir / "fda" / "dossier.html").read_text(encoding="utf-8"))
    # the 3+3 design has no target DLT rate: its rules are fixed
    assert "3+3 | 3+3 | none (rule-based) | 3 | 10 |" in text
    # scenario 1's true DLT probabilities 0.02 ... 0.45: 0.28 at the fifth level (720 mg) is closest to 0.30
    assert "0.02, 0.04, 0.08, 0.15, 0.28, 0.45 |" in text and "| 720 mg (level 5) |" in text


def test_combination_generator_reproduces_its_adsl_and_adrs(tmp_path):
    import importlib.util

    mod_spec = importlib.util.spec_from_file_location("comb_generate_adsl_truth", COMB / "generate_adsl.py")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    module.generate(COMB / "data", out_dir=tmp_path)
    for name in ("adsl.xpt", "adrs.xpt"):
        assert (tmp_path / name).read_bytes() == (COMB / "data" / name).read_bytes(), name


def test_combination_section_only_in_a_combination_study(built_example, combination):
    """A single-agent study does not have a combination part: the section is left out (section_needs.yaml
    ``omit_when_unmet``), not reported as "not performed"; the combination example shows it."""
    single = _text((built_example.study_dir / "fda" / "dossier.html").read_text(encoding="utf-8"))
    assert "Combination dose finding" not in single
    single_ev = json.loads(built_example.study_dir.joinpath("evidence.json").read_text(encoding="utf-8"))
    assert single_ev["applicability"]["combination"]["applicable"] is False  # assessed, and left out
    _, text, ev = combination
    assert "Combination dose finding" in text and ev["applicability"]["combination"]["applicable"]


def test_no_heading_repeats_the_heading_above_it(built_example):
    """A sub-heading that says what its section's heading says (the internal report's PMR part once read
    "3 Risk of an FDA post-marketing requirement on the dosage / 3.1 Risk of an FDA post-marketing requirement
    (PMR) on the dosage") is a defect a writer sees at once."""
    import re as _re

    def norm(h: str) -> str:
        h = _re.sub(r"<[^>]+>", "", h)
        h = _re.sub(r"\([^)]*\)", "", h)  # abbreviations in parentheses
        return " ".join(_re.sub(r"^[\d.]+\s*", "", h).lower().split())

    for doc in ["fda/dossier.html", "ema/dossier.html", "pmda/dossier.html", "internal/strategy.html"]:
        html = (built_example.study_dir / doc).read_text(encoding="utf-8")
        heads = [norm(h) for h in _re.findall(r'<h[1-3] id="h-[^"]*"[^>]*>(.*?)</h[1-3]>', html, _re.S)]
        assert heads, doc
        repeats = [a for a, b in zip(heads, heads[1:], strict=False) if a == b]
        assert not repeats, (doc, repeats)


def test_blank_dcsreas_is_no_discontinuation_not_unknown(tmp_path):
    """ADSL DCSREAS (reason for discontinuation) is null for a subject who did not discontinue (ADaMIG): read
    from DCSREAS alone (the pilot's ADSL with DCDECOD dropped), discontinuation for an AE is known for every
    subject and equals the DCDECOD-based value (92 ADVERSE EVENT of 254), never "unknown" for the completers."""
    _need_data()
    from dossier.analyses.endpoints import measure_status, subject_endpoints
    from dossier.ingest import load_study

    adsl, meta = pyreadstat.read_xport(str(PILOT_DATA / "adsl.xpt"))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    adsl = adsl.drop(columns="DCDECOD")
    pyreadstat.write_xport(adsl, str(tmp_path / "adsl.xpt"), table_name="ADSL",
                           column_labels=[labels[c] for c in adsl.columns])
    out = {}
    for name, changes in (("DCDECOD", {}), ("DCSREAS", {"datasets.adsl.path": str(tmp_path / "adsl.xpt")})):
        (tmp_path / name).mkdir()
        spec_path = _spec_copy(tmp_path / name, **changes)
        data, _ = load_study(load_spec(spec_path), spec_path.parent)
        se = subject_endpoints(data)
        m = measure_status(se)["withdrawn_study"]
        assert (m.source, m.status, m.n_known) == (f"ADSL {name}", "collected", 254), m
        out[name] = se["withdrawn_study"].sort_index()
    assert int(out["DCSREAS"].sum()) == 92
    assert out["DCSREAS"].tolist() == out["DCDECOD"].tolist()


def test_unknown_action_says_whether_blank_or_coded_unknown(tmp_path):
    """A dose reduction is unknown for a subject whose AE records hold AEACN UNKNOWN: the reason names the code
    ("AEACN coded as unknown"), not a blank that the data do not have; with some records blank as well, both."""
    _need_data()
    from dossier.analyses.endpoints import measure_status, subject_endpoints
    from dossier.ingest import load_study

    ae, meta = pyreadstat.read_xport(str(PILOT_DATA / "adae.xpt"))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    subjects = sorted(ae["USUBJID"].unique())
    reasons = {}
    for name, blank in (("coded", set()), ("both", set(subjects[1::9]))):
        ae["AEACN"] = np.where(ae["USUBJID"].isin(subjects[::7]), "UNKNOWN",
                               np.where(ae["USUBJID"].isin(blank), "", "DOSE NOT CHANGED"))
        (tmp_path / name).mkdir()
        pyreadstat.write_xport(ae, str(tmp_path / name / "adae.xpt"), table_name="ADAE",
                               column_labels=[labels[c] for c in ae.columns])
        spec_path = _spec_copy(tmp_path / name, **{"datasets.adae.path": str(tmp_path / name / "adae.xpt")})
        data, _ = load_study(load_spec(spec_path), spec_path.parent)
        ms = measure_status(subject_endpoints(data))
        m = ms["reduced"]
        assert m.status == "partial", m
        reasons[name] = say(m.reason)
        # reduction or interruption: the same cause, not a generic "source value blank"
        assert ms["modified"].cause == m.cause, ms["modified"]
    assert reasons["coded"].endswith("(AEACN coded as unknown)") and "blank" not in reasons["coded"], reasons
    assert reasons["both"].endswith("(AEACN blank or coded as unknown)"), reasons
