"""PK concentration ingest (NONMEM CSV, ADPC, SDTM PC + EX) and the PK section end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dossier.analyses.nca import NCASettings, analyse_nca
from dossier.ingest.pk import read_pk_concentrations
from dossier.ingest.report import IngestReport, IssueCollector
from dossier.spec import DatasetSpec, PKSpec

REPO = Path(__file__).resolve().parents[2]
NLMIXR = REPO / ".." / "shared" / "data" / "nlmixr2data"
needs_data = pytest.mark.skipif(not NLMIXR.is_dir(), reason="../shared/data/nlmixr2data not available")


def read(base: Path, **kw):
    report = IngestReport()
    issues = IssueCollector(report)
    table = read_pk_concentrations(PKSpec(**kw), base, report, issues)
    issues.finish()
    return table, report


@needs_data
def test_theo_sd_nonmem_csv_as_delivered():
    """EVID 101 dose records (rxode2), per-subject AMT as the dose; NCA reproduces WinNonlin AUClast."""
    t, rep = read(NLMIXR, dataset=DatasetSpec(path="theo_sd.csv"), conc_unit="mg/L")
    assert rep.errors == [] and len(t) == 132 and set(t["profile"]) == {"dose 1"}
    raw = pd.read_csv(NLMIXR / "theo_sd.csv")
    amt = raw[raw["EVID"] == 101].set_index("ID")["AMT"]
    assert t.groupby("usubjid")["dose"].first().sort_index().tolist() == \
        amt.rename(index=str).sort_index().tolist()
    assert (t["dose_source"] == "record").all()
    r = analyse_nca(t.assign(dose=320.0), NCASettings(auc_method="linear"))
    ref = pd.read_csv(REPO / "tests" / "analyses" / "fixtures" / "winnonlin_theoph_Linear.csv")
    assert r.value("1", "AUCLST") == pytest.approx(ref.loc[ref["Subject"] == 1, "AUClast"].iloc[0], rel=1e-6)


@needs_data
def test_warfarin_needs_an_analyte_and_keeps_cp():
    t, rep = read(NLMIXR, dataset=DatasetSpec(path="warfarin.csv"))
    assert t is None and "several analytes (cp, pca)" in rep.errors[0].message
    t, rep = read(NLMIXR, dataset=DatasetSpec(path="warfarin.csv"), analyte="cp", conc_unit="mg/L")
    # subject 9 has two samples at 3, 6, 9 and 12 h: an error unless the spec says what to do
    assert t is None and rep.errors[0].message == ("8 samples share a time with another sample of the same profile "
                                                   "(first: subject 9, profile dose 1, time 3)")
    t, rep = read(NLMIXR, dataset=DatasetSpec(path="warfarin.csv"), analyte="cp", conc_unit="mg/L",
                  replicates="mean")
    assert rep.errors == [] and len(t) == 251 - 4 and t["usubjid"].nunique() == 32
    assert [(e.reason, e.rows) for e in rep.datasets[0].excluded] == [
        ("observation of another analyte than cp", 232), ("replicate sample at the same time (mean kept)", 4)]
    s9 = t[t["usubjid"] == "9"].set_index("time")["conc"]
    assert s9[3.0] == pytest.approx((12.7 + 8.0) / 2) and s9[12.0] == pytest.approx((11.4 + 11.0) / 2)


@needs_data
def test_mavoglurant_mdv_blq_and_occasions():
    """53 MDV=1 observations are BLQ (README); OCC gives 198 subject-occasions; crossover doses per occasion."""
    t, rep = read(NLMIXR, dataset=DatasetSpec(path="mavoglurant.csv"), replicates="first")
    assert rep.errors == [] and int(t["blq"].sum()) == 53 and t["conc"][t["blq"]].isna().all()
    assert len(t.groupby(["usubjid", "profile"])) == 198
    per_subject = t.groupby("usubjid")["dose"].nunique()
    assert int((per_subject == 2).sum()) == 78  # the crossover subjects got two different doses
    t2, rep2 = read(NLMIXR, dataset=DatasetSpec(path="mavoglurant.csv"), mdv_observations="exclude",
                    replicates="first")
    assert len(t2) == len(t) - 53
    assert ("observation with MDV = 1 (excluded by pk.mdv_observations)", 53) in \
        [(e.reason, e.rows) for e in rep2.datasets[0].excluded]


def test_adpc_dose_per_record_blq_text_and_lloq(tmp_path):
    """Titration: the day-15 profile's dose is the DOSEA of its records, not the arm's dose."""
    rows = []
    for visit, dose in (("DAY 1", 100.0), ("DAY 15", 200.0)):
        for tt, c in ((0.0, None), (1.0, 5.0), (2.0, 4.0), (4.0, 2.0), (8.0, 1.0), (24.0, None)):
            rows.append({"USUBJID": "S1", "PARAMCD": "DRUG", "AVISIT": visit, "ARRLT": tt, "AVAL": c,
                         "AVALC": "BLQ" if c is None else str(c), "AVALU": "ng/mL", "DOSEA": dose, "ALLOQ": 0.5})
    pd.DataFrame(rows).to_csv(tmp_path / "adpc.csv", index=False)
    t, rep = read(tmp_path, dataset=DatasetSpec(path="adpc.csv"))
    assert rep.errors == [] and rep.warnings == []
    assert t.groupby("profile")["dose"].first().to_dict() == {"DAY 1": 100.0, "DAY 15": 200.0}
    assert t["blq"].sum() == 4 and (t["lloq"] == 0.5).all() and set(t["unit"]) == {"ng/mL"}
    # no DOSEA: the subject's dose level from ADSL, with a warning
    pd.DataFrame(rows).drop(columns=["DOSEA"]).to_csv(tmp_path / "adpc2.csv", index=False)
    report = IngestReport()
    issues = IssueCollector(report)
    subjects = pd.DataFrame({"usubjid": ["S1"], "dose": [150.0]})
    t2 = read_pk_concentrations(PKSpec(dataset=DatasetSpec(path="adpc2.csv")), tmp_path, report, issues, subjects)
    assert (t2["dose"] == 150.0).all() and (t2["dose_source"] == "arm").all()
    assert "dose per sample not in the data" in report.warnings[0].message


def test_sdtm_pc_with_ex_takes_the_latest_dose(tmp_path):
    ex = pd.DataFrame({"USUBJID": ["S1", "S1"], "EXSTDTC": ["2024-01-01T08:00", "2024-01-08T08:00"],
                       "EXDOSE": [100.0, 50.0]})
    pc = pd.DataFrame({"USUBJID": "S1", "PCTESTCD": "DRUG",
                       "PCDTC": ["2024-01-01T07:00", "2024-01-01T09:00", "2024-01-01T12:00", "2024-01-08T10:00",
                                 "2024-01-08T20:00"],
                       "PCSTRESN": [np.nan, 4.0, 2.0, 3.0, np.nan], "PCSTRESC": ["", "4", "2", "3", "<LLOQ"],
                       "PCLLOQ": 0.1, "PCSTRESU": "ng/mL"})
    ex.to_csv(tmp_path / "ex.csv", index=False)
    pc.to_csv(tmp_path / "pc.csv", index=False)
    t, rep = read(tmp_path, dataset=DatasetSpec(path="pc.csv"), ex=DatasetSpec(path="ex.csv"))
    assert rep.errors == []
    assert t[["profile", "time", "dose"]].values.tolist() == [["dose 1", 1.0, 100.0], ["dose 1", 4.0, 100.0],
                                                              ["dose 2", 2.0, 50.0], ["dose 2", 12.0, 50.0]]
    assert t["blq"].tolist() == [False, False, False, True]
    assert ("sample before the first dose (no EX record at or before it)", 1) in \
        [(e.reason, e.rows) for e in rep.datasets[0].excluded]
    t_none, rep2 = read(tmp_path, dataset=DatasetSpec(path="pc.csv"))
    assert t_none is None and "SDTM PC needs the dosing records of SDTM EX" in rep2.errors[0].message


def _example_with_adpc(dst: Path) -> Path:
    """examplinib without ADPP, with an ADPC (day 1 and steady-state day 15, QD) whose AUCτ equals ADPP AUCSS."""
    import pyreadstat

    shutil.copytree(REPO / "examples" / "examplinib", dst, ignore=shutil.ignore_patterns("__pycache__"))
    adsl = pyreadstat.read_xport(str(dst / "data" / "adsl.xpt"))[0]
    adpp = pyreadstat.read_xport(str(dst / "data" / "adpp.xpt"))[0]
    auc = adpp[adpp["PARAMCD"] == "AUCSS"].set_index("USUBJID")["AVAL"]
    dose = adsl.set_index("USUBJID")["DOSE01A"]
    ka, ke, tau = 1.0, 0.1, 24.0
    t = np.array([0, 0.5, 1, 2, 4, 6, 8, 12, 24.0])
    shapes = {"DAY 1": np.exp(-ke * t) - np.exp(-ka * t),
              "DAY 15": np.exp(-ke * t) / (1 - np.exp(-ke * tau)) - np.exp(-ka * t) / (1 - np.exp(-ka * tau))}
    rows = [{"USUBJID": u, "PARAMCD": "EXM", "AVISIT": v, "ARRLT": ti, "AVAL": round(ci, 6) if ci >= 0.01 else None,
             "AVALC": f"{ci:.6f}" if ci >= 0.01 else "BLQ", "AVALU": "ug/mL", "DOSEA": dose[u], "ALLOQ": 0.01}
            for u, a in auc.items() for v, sh in shapes.items()
            for ti, ci in zip(t, a / (1 / ke - 1 / ka) * sh, strict=True)]
    pd.DataFrame(rows).to_csv(dst / "data" / "adpc.csv", index=False)
    spec = yaml.safe_load((dst / "study.yaml").read_text())
    del spec["datasets"]["adpp"]
    spec["pk"] = {"dataset": {"path": "data/adpc.csv"}, "tau": 24, "steady_state_profiles": ["DAY 15"]}
    spec["filters"]["exposure_paramcd"] = "AUCTAU"
    spec["design"]["n_trials"] = 10
    spec.setdefault("analyses", {})["n_bootstrap_predictions"] = 100
    (dst / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dst / "study.yaml"


def _pk_section(html: str) -> str:
    i = html.index('<section id="pk">')
    return html[i:html.index("</section>", i)]


def test_pk_section_end_to_end_feeds_exposure_response(tmp_path):
    """ADPC only (no ADPP): NCA evidence, E-R on NCA AUCτ, a PK section with identical numbers in every
    variant; the NCA AUCτ reproduces the ADPP AUCSS the concentrations were made from."""
    from dossier.pipeline import build
    from dossier.render.html import extract_core_numbers

    spec = _example_with_adpc(tmp_path / "study")
    result = build(spec, formats="html", out_dir=tmp_path / "out")
    ev = json.loads((result.study_dir / "evidence.json").read_text())
    pk = ev["analyses"]["pk"]
    assert pk["n_profiles"] == 2 * pk["n_subjects"] and pk["dose_source"] == "record"
    assert ev["analyses"]["exposure_response"]["metric"] == "AUCTAU"
    # the PMDA ethnic-sensitivity analysis takes the same NCA exposure; one dose-proportionality implementation
    assert ev["ethnic"]["dose_proportionality"]["metric"] == "AUCTAU"
    assert ev["ethnic"]["dose_proportionality"]["verdict"] in ("proportional", "inconclusive", "less than proportional",
                                                               "more than proportional")
    assert "pk" in {i["name"] for i in ev["provenance"]["inputs"]}
    assert {d["profiles"] for d in pk["dose_proportionality"]} == {"single dose", "steady state"}
    assert all(a["geo_mean"] > 1 for a in pk["accumulation"])
    import pyreadstat

    adpp = pyreadstat.read_xport(str(REPO / "examples" / "examplinib" / "data" / "adpp.xpt"))[0]
    truth = adpp[adpp["PARAMCD"] == "AUCSS"].set_index("USUBJID")["AVAL"]
    auctau = {p["usubjid"]: p["value"] for p in pk["parameters"] if p["paramcd"] == "AUCTAU"}
    rel = np.array([auctau[u] / truth[u] - 1 for u in truth.index])
    assert np.abs(rel).max() < 0.02  # trapezoids on 9 samples vs the exact AUC of the generating curve
    sections, numbers = [], []
    for agency in ("fda", "ema", "pmda"):
        html = (result.study_dir / agency / "dossier.html").read_text()
        sec = _pk_section(html)
        assert "Noncompartmental analysis of EXM" in sec and "<svg" in sec and "Accumulation ratio" in sec
        sections.append(sec)
        numbers.append({k: v for k, v in extract_core_numbers(html).items() if k.startswith("pk.")})
    assert numbers[0] and numbers[0] == numbers[1] == numbers[2]


def test_no_concentrations_says_not_collected():
    """Without concentration data the section says so and shows no PK number (every variant includes it)."""
    from types import SimpleNamespace

    from dossier.render.html import CORE_SECTIONS, make_environment

    assert ("pk", "Pharmacokinetics") in CORE_SECTIONS  # core sections are rendered in every agency variant
    env = make_environment()
    sec = env.get_template("base/sections/pk.html.j2").render(
        evidence=SimpleNamespace(analyses=SimpleNamespace(pk=None)), figures={}, terms={})
    assert "PK concentrations were not collected or not provided" in sec
    assert "data-eid" not in sec


def _pk_only_spec(tmp_path: Path, name: str, levels: list[float], pk: dict) -> Path:
    """A PK-only study spec (no ADSL) whose data path points at ../shared/data, relative to the spec."""
    import os

    rel = os.path.relpath(NLMIXR / name, tmp_path)
    spec = {"study": {"id": name.split(".")[0], "title": f"{name} as delivered (nlmixr2data)", "sponsor": "public data",
                      "compound": name.split(".")[0], "modality": "small_molecule", "indication": "pharmacokinetics", "therapeutic_area": "other",
                      "line_of_therapy": "not applicable"},
            "doses": {"unit": "mg", "schedule": "single dose", "levels": levels}, "proposed_dosage": max(levels),
            "datasets": {}, "pk": {"dataset": {"path": rel}, **pk}, "design": {"scenarios": []}, "agencies": ["fda"]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@needs_data
def test_real_mavoglurant_pk_only_spec_validates_and_builds(tmp_path, capsys):
    """The real crossover data as delivered, mapped by the spec alone: validate, build, NCA evidence with the
    crossover doses per occasion and a mixed-model power model."""
    from dossier.cli import main
    from dossier.pipeline import build

    spec = _pk_only_spec(tmp_path, "mavoglurant.csv", [25, 37.5, 50], {"replicates": "mean"})
    assert main(["validate", str(spec)]) == 0
    assert "no errors" in capsys.readouterr().out
    result = build(spec, formats="html", out_dir=tmp_path / "out")
    pk = json.loads((result.study_dir / "evidence.json").read_text())["analyses"]["pk"]
    assert pk["n_subjects"] == 120 and pk["n_profiles"] == 198 and pk["doses"] == [25.0, 37.5, 50.0]
    n_by_dose = {r["dose"]: r["n_profiles"] for r in pk["summary"] if r["paramcd"] == "CMAX"}
    raw = pd.read_csv(NLMIXR / "mavoglurant.csv")
    expected = raw[raw["EVID"] == 1].groupby("AMT").size().to_dict()  # one dose record per subject-occasion
    assert n_by_dose == {float(k): v for k, v in expected.items()}
    dp = {d["metric"]: d for d in pk["dose_proportionality"]}
    assert dp["AUCIFO"]["model"].startswith("linear mixed model") and dp["AUCIFO"]["n_subjects"] == 120
    assert dp["AUCIFO"]["acceptance_lower"] == pytest.approx(1 + np.log(0.8) / np.log(2))
    html = (result.study_dir / "fda" / "dossier.html").read_text()
    assert "Noncompartmental analysis was done for" in _pk_section(html)


@needs_data
def test_real_theophylline_pk_only_spec_validates(tmp_path, capsys):
    """theo_sd as delivered: EVID 101 doses; each subject's dose (AMT, mg) is a level of the spec."""
    from dossier.cli import main
    from dossier.ingest import load_study

    raw = pd.read_csv(NLMIXR / "theo_sd.csv")
    amt = sorted(raw.loc[raw["EVID"] == 101, "AMT"].astype(float).unique().tolist())
    spec_path = _pk_only_spec(tmp_path, "theo_sd.csv", amt, {"conc_unit": "mg/L"})
    assert main(["validate", str(spec_path)]) == 0
    capsys.readouterr()
    from dossier.spec import load_spec

    data, _ = load_study(load_spec(spec_path), tmp_path)
    assert len(data.subjects) == 12 and data.pk_profiles["usubjid"].nunique() == 12
    assert sorted(data.subjects["dose"]) == sorted(raw.loc[raw["EVID"] == 101, "AMT"].astype(float))
    # a dose missing from the spec's levels is a validation error naming the subject
    spec = yaml.safe_load(spec_path.read_text())
    spec["doses"]["levels"] = amt[1:]
    spec["proposed_dosage"] = amt[-1]
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["validate", str(spec_path)]) == 2
    out = capsys.readouterr()
    first = raw[(raw["EVID"] == 101) & (raw["AMT"] == amt[0])]["ID"].iloc[0]
    assert f"(first: subject {first}, {amt[0]:g} mg)" in " ".join((out.out + out.err).split())
