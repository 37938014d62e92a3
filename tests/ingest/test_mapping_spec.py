"""Mapping of data as delivered, declared in the spec: arm_map, renames, record filters, code lists,
log-scale values and duplicates. References are direct pandas counts of the raw public files."""

from __future__ import annotations

import adam_synthetic as synthetic
import numpy as np
import pandas as pd
import pyreadstat
import pytest
from ingest_helpers import STUDY, build_spec, pilot_spec, shared

from dossier.errors import DataError, SpecError
from dossier.ingest import check_study, load_study
from dossier.spec import parse_spec


def _raw(path) -> pd.DataFrame:
    return pyreadstat.read_xport(str(path))[0]


RANDOM_ARMS = {"A: Drug X": 480.0, "C: Combination": 960.0}


def random_spec(adae: dict | None = None, **doses) -> object:
    datasets = {"adsl": {"path": "adsl.xpt"}}
    if adae is not None:
        datasets["adae"] = {"path": "adae.xpt", **adae}
    return build_spec({"study": STUDY, "doses": {"levels": [480, 960], "control_arms": ["B: Placebo"],
                                                 "arm_map": RANDOM_ARMS, **doses},
                       "proposed_dosage": 480, "datasets": datasets})


def test_arm_map_gives_doses_from_arm_labels_random_cdisc_data():
    folder = shared("random-cdisc-data")
    data, report = load_study(random_spec(), folder)
    assert report.errors == []
    raw = _raw(folder / "adsl.xpt")
    got = data.subjects.groupby("arm")["dose"].agg(["first", "size"]).to_dict("index")
    expected = raw.groupby("TRT01A").size().to_dict()
    assert {a: (v["first"], v["size"]) for a, v in got.items()} == {
        "A: Drug X": (480.0, expected["A: Drug X"]), "B: Placebo": (0.0, expected["B: Placebo"]),
        "C: Combination": (960.0, expected["C: Combination"])}
    assert data.subjects.loc[data.subjects["arm"] == "B: Placebo", "control"].all()


def test_arm_map_unknown_arm_is_a_located_error_and_spec_checks_levels():
    folder = shared("random-cdisc-data")
    spec = random_spec(arm_map={"A: Drug X": 480.0})
    report = check_study(spec, folder)
    errs = [e for e in report.errors if "not in doses.arm_map" in e.message]
    raw = _raw(folder / "adsl.xpt")
    first_c = int(np.flatnonzero(raw["TRT01A"] == "C: Combination")[0]) + 1
    assert errs and errs[0].row == first_c and errs[0].column == "TRT01A" and errs[0].file == "adsl.xpt"
    with pytest.raises(SpecError, match="not among doses.levels"):
        random_spec(arm_map={"A: Drug X": 100.0}) if False else parse_spec(
            {"study": STUDY, "doses": {"levels": [480], "arm_map": {"A": 100}}, "proposed_dosage": 480,
             "datasets": {"adsl": {"path": "x"}}})
    with pytest.raises(SpecError, match="both in arm_map and control_arms"):
        parse_spec({"study": STUDY, "doses": {"levels": [480], "arm_map": {"Placebo": 480},
                                              "control_arms": ["placebo"]},
                    "proposed_dosage": 480, "datasets": {"adsl": {"path": "x"}}})


def test_arm_variable_and_rename():
    folder = shared("random-cdisc-data")
    spec = random_spec(arm_variable="MYARM")
    spec.datasets.adsl.rename = {"ACTARM": "MYARM"}
    data, report = load_study(spec, folder)
    raw = _raw(folder / "adsl.xpt")
    assert data.subjects["arm"].tolist() == raw["ACTARM"].tolist()
    spec.datasets.adsl.rename = {"NOPE": "MYARM"}
    report = check_study(spec, folder)
    assert any(e.column == "NOPE" and "to rename is not in the file" in e.message for e in report.errors)


def test_aeacn_meanings_default_cdisc_terms_and_unknown_is_missing():
    folder = shared("random-cdisc-data")
    data, report = load_study(random_spec(adae={}), folder)
    raw = _raw(folder / "adae.xpt")
    ae = data.adverse_events
    acn = raw["AEACN"]
    assert int(ae["dose_reduced"].sum()) == int(acn.isin(["DOSE REDUCED", "DOSE RATE REDUCED"]).sum()) == 292
    assert int(ae["dose_interrupted"].sum()) == int((acn == "DRUG INTERRUPTED").sum()) == 11
    assert int(ae["drug_withdrawn"].sum()) == int((acn == "DRUG WITHDRAWN").sum()) == 96
    unknown = acn.isin(["UNKNOWN", "NOT EVALUABLE"]).to_numpy()
    assert ae["dose_reduced"].isna().to_numpy().tolist() == unknown.tolist()


def test_aeacn_codelist_in_spec():
    folder = shared("random-cdisc-data")
    codes = {"DOSE REDUCED": "reduction", "DOSE RATE REDUCED": "none", "DRUG INTERRUPTED": "interruption",
             "DRUG WITHDRAWN": "withdrawal", "DOSE INCREASED": "increase", "DOSE NOT CHANGED": "none",
             "NOT APPLICABLE": "none"}
    data, report = load_study(random_spec(adae={"codelists": {"AEACN": codes}}), folder)
    raw = _raw(folder / "adae.xpt")
    assert int(data.adverse_events["dose_reduced"].sum()) == int((raw["AEACN"] == "DOSE REDUCED").sum()) == 199
    # NOT EVALUABLE / UNKNOWN are not listed: missing, and reported
    assert int(data.adverse_events["dose_reduced"].isna().sum()) == 452 + 85
    assert not any("not in the spec's code list" in w.message for w in report.warnings)
    codes.pop("NOT APPLICABLE")
    report = check_study(random_spec(adae={"codelists": {"AEACN": codes}}), folder)
    assert any("not in the spec's code list" in w.message and w.column == "AEACN" for w in report.warnings)
    report = check_study(random_spec(adae={"codelists": {"AEACN": {"DOSE REDUCED": "less"}}}), folder)
    assert any("meanings ['less']" in e.message for e in report.errors)


def test_generic_codelist_recodes_grade():
    folder = shared("random-cdisc-data")
    data, _ = load_study(random_spec(adae={"codelists": {"AETOXGR": {"5": "4"}}}), folder)
    raw = _raw(folder / "adae.xpt")
    grades = data.adverse_events["grade"].value_counts().to_dict()
    assert 5 not in grades and grades[4] == int(raw["AETOXGR"].isin(["4", "5"]).sum())


def test_pilot_aeacn_blank_is_missing_not_false():
    folder = shared("cdisc-pilot-adam")
    data, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"}), folder)
    ae = data.adverse_events
    for c in ("dose_reduced", "dose_interrupted", "drug_withdrawn"):
        assert ae[c].isna().all() and str(ae[c].dtype) == "boolean"


def test_record_filter_in_spec_selects_and_counts():
    folder = shared("cdisc-pilot-adam")
    spec = pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"})
    spec.datasets.adae.filter = 'AESEV == "SEVERE" or AESER == "Y"'
    data, report = load_study(spec, folder)
    raw = _raw(folder / "adae.xpt")
    n = int(((raw["AESEV"] == "SEVERE") | (raw["AESER"] == "Y")).sum())
    assert len(data.adverse_events) == n
    count = next(d for d in report.datasets if d.name == "adae")
    assert count.rows_out == n and [(e.reason.startswith("not selected by the filter"), e.rows)
                                    for e in count.excluded] == [(True, len(raw) - n)]
    spec.datasets.adae.filter = 'AESEVX == "SEVERE"'
    with pytest.raises(DataError) as exc:
        load_study(spec, folder)
    first = exc.value.report.errors[0]
    assert first.file == "adae.xpt" and "filter of ADAE at character 1: column 'AESEVX' is not in ADAE" in first.message


def test_filter_syntax_is_checked_when_the_spec_is_read():
    with pytest.raises(SpecError) as exc:
        parse_spec({"study": STUDY, "doses": {"levels": [1]}, "proposed_dosage": 1,
                    "datasets": {"adsl": {"path": "x"}, "adex": {"path": "y", "filter": 'PARCAT1 = "OVERALL"'}}})
    assert "datasets.adex.filter" in exc.value.what and "at character 9" in exc.value.what


def test_adae_with_every_record_twice_counts_once():
    """Issue 19: ADAE with every record twice must not double event counts."""
    folder = shared("cdisc-pilot-adam")
    raw = _raw(folder / "adae.xpt")
    once, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"}), folder)
    twice = pd.concat([raw, raw], ignore_index=True)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        synthetic.write_xpt(twice, Path(tmp) / "adae.xpt", "adae")
        spec = pilot_spec({"adsl": str(folder / "adsl.xpt"), "adae": "adae.xpt"})
        data, report = load_study(spec, Path(tmp))
        pd.testing.assert_frame_equal(data.adverse_events, once.adverse_events)
        count = next(d for d in report.datasets if d.name == "adae")
        assert (count.rows_in, count.rows_out) == (2382, 1191)
        assert [(e.reason, e.rows) for e in count.excluded] == [("exact duplicate of an earlier record (dropped)", 1191)]
        dup = [w for w in report.warnings if "exact duplicate of row" in w.message]
        assert dup[0].row == 1192 and "duplicate of row 1;" in dup[0].message
        assert any("1181 more row(s)" in w.message for w in report.warnings)
        # a conflicting duplicate (same USUBJID + AESEQ, another severity) is an error naming both rows
        twice.loc[1191 + 4, "AESEV"] = "SEVERE" if twice.loc[4, "AESEV"] != "SEVERE" else "MILD"
        synthetic.write_xpt(twice, Path(tmp) / "adae.xpt", "adae")
        report = check_study(spec, Path(tmp))
        errs = [e for e in report.errors if "conflicting duplicate" in e.message]
        assert len(errs) == 1 and errs[0].row == 1196 and "rows 5 and 1196" in errs[0].message
        assert "USUBJID + AESEQ" in errs[0].message and "AESEV" in errs[0].message


def test_log_scale_values_are_back_transformed(tmp_path):
    tables = synthetic.make_tables()
    pp = tables["adpp"].copy()
    original = pp["AVAL"].to_numpy(float)
    tables["adpp"] = pp.assign(AVAL=np.log(pp["AVAL"]))
    spec = synthetic.write_study(tmp_path, tables=tables)
    spec["datasets"]["adpp"]["log_scale"] = {"AVAL": "ln"}
    data, report = load_study(build_spec(spec), tmp_path)
    np.testing.assert_allclose(data.pk["value"].to_numpy(), original[~np.isnan(original)], rtol=1e-12)


def test_adrs_codelist_gives_responders_and_drops_unknown(tmp_path):
    tables = synthetic.make_tables()
    spec = synthetic.write_study(tmp_path, tables=tables)
    rs = tables["adrs"]
    spec["datasets"]["adrs"]["codelists"] = {"AVALC": {"CR": "responder", "PR": "non-responder",
                                                       "SD": "non-responder", "PD": "non-responder"}}
    data, report = load_study(build_spec(spec), tmp_path)
    bor = rs.loc[rs["PARAMCD"] == "BOR", "AVALC"]
    assert int(data.response["responder"].sum()) == int((bor == "CR").sum())
    assert len(data.response) == int(bor.isin(["CR", "PR", "SD", "PD"]).sum())
