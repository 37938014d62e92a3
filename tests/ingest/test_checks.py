"""ADaM mapping and content checks on a synthetic oncology study (standard variables, no config):
every problem is collected (not only the first) with file, column, row, USUBJID and a hint."""

from __future__ import annotations

import json

import adam_synthetic as synthetic
import numpy as np
import pandas as pd
import pytest
from ingest_helpers import build_spec

from dossier.errors import DataError
from dossier.ingest import check_study, load_study
from dossier.ingest.tables import TABLE_COLUMNS


def study(tmp_path, fmt="xpt", edit=None, spec_edit=None, **kw):
    tables = synthetic.make_tables(**kw)
    if edit:
        edit(tables)
    spec = synthetic.write_study(tmp_path, fmt=fmt, tables=tables)
    if spec_edit:
        spec_edit(spec)
    return build_spec(spec), tmp_path


def errors_for(report, column=None, text=""):
    return [e for e in report.errors if (column is None or e.column == column) and text in e.message]


def test_standard_variables_map_with_no_configuration(tmp_path):
    spec, base = study(tmp_path)
    data, report = load_study(spec, base)
    assert report.errors == [] and report.warnings == []
    for table, cols in TABLE_COLUMNS.items():
        df = getattr(data, table)
        if table in ("concentrations", "pk_profiles", "dosing", "pro", "biomarker"):  # tests/ingest/test_pro.py, test_biomarker.py
            assert df is None
            continue
        assert list(df.columns) == list(cols), table
        for name, dtype in cols.items():
            assert str(df[name].dtype) == dtype or (dtype == "string" and df[name].dtype == "string"), (table, name)
    raw = synthetic.make_tables()
    assert len(data.subjects) == 60 and len(data.exposure) == 60 and len(data.adverse_events) == 300
    assert data.subjects["dose"].tolist() == raw["adsl"]["DOSE01A"].tolist()
    assert data.subjects["dlt_evaluable"].tolist() == (raw["adsl"]["DLTEVLFL"] == "Y").tolist()
    assert data.subjects["first_dose_date"].tolist() == raw["adsl"]["TRTSDT"].tolist()
    assert data.adverse_events["grade"].astype(int).tolist() == raw["adae"]["ATOXGR"].astype(int).tolist()
    assert data.adverse_events["dose_reduced"].sum() == (raw["adae"]["AEACN"] == "DOSE REDUCED").sum()
    assert data.time_to_event["event"].tolist() == (raw["adtte"]["CNSR"] == 0).tolist()
    ex = raw["adex"].pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    assert data.exposure.set_index("usubjid")["rdi_pct"].tolist() == ex.loc[data.exposure["usubjid"], "RDI"].tolist()
    assert set(data.pk["paramcd"]) == {"AUCSS", "CMAXSS", "CMINSS"}
    json.dumps(report.model_dump(mode="json"))  # serializable for evidence.json


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_give_the_same_tables_as_xpt(tmp_path, fmt):
    a, _ = load_study(*study(tmp_path / "x"))
    b, _ = load_study(*study(tmp_path / fmt, fmt=fmt))
    for table in ("subjects", "exposure", "adverse_events", "pk", "response", "time_to_event"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), obj=table)


def test_columns_mapping_renamed_variables(tmp_path):
    def edit(t):
        t["adsl"] = t["adsl"].rename(columns={"DOSE01A": "EXDOSE", "SAFFL": "SAFETYFL"})

    def spec_edit(s):
        s["datasets"]["adsl"]["columns"] = {"dose": "EXDOSE", "SAFFL": "SAFETYFL"}

    data, report = load_study(*study(tmp_path, edit=edit, spec_edit=spec_edit))
    assert report.errors == [] and data.subjects["safety"].all()


def test_columns_mapping_errors_name_the_key(tmp_path):
    def spec_edit(s):
        s["datasets"]["adsl"]["columns"] = {"dose": "NOPE", "bogus": "X"}

    report = check_study(*study(tmp_path, spec_edit=spec_edit))
    assert errors_for(report, "NOPE", "mapped to dose") and errors_for(report, "bogus", "not a variable of ADSL")


def test_all_problems_are_collected_not_only_the_first(tmp_path):
    def edit(t):
        sl, ae, tte, pp = t["adsl"], t["adae"], t["adtte"], t["adpp"]
        sl.loc[3, "USUBJID"] = sl.loc[2, "USUBJID"]           # duplicate subject
        sl.loc[5, "DOSE01A"] = 100.0                            # not a dose level
        sl.loc[6, "DOSE01A"] = -40.0                            # negative
        sl.loc[7, "DOSE01A"] = 0.0                              # zero
        ae.loc[10, "USUBJID"] = "EX-001-99999"                  # not in ADSL
        ae["AETOXGR"] = ae["AETOXGR"].astype(object)
        ae.loc[11, "ATOXGR"] = "7"                              # grade outside 1-5
        ae.loc[12, "ATOXGR"] = ""                               # missing grade: warning
        ae.loc[13, "ATOXGR"] = "3 or 4"                         # not a number
        tte.loc[4, "CNSR"] = 2.0                                # CNSR not 0/1
        pp.loc[0, "AVALU"] = "ug*h/L"                           # mixed units within AUCSS
        t["adpp"] = pp[~((pp["USUBJID"] == "EX-001-00009") & (pp["PARAMCD"] == "AUCSS"))]  # no PK: warning

    report = check_study(*study(tmp_path, edit=edit))
    sl = synthetic.make_tables()["adsl"]
    dup = errors_for(report, "USUBJID", "duplicate subject")
    assert dup and dup[0].file == "adsl.xpt" and dup[0].row == 4 and dup[0].usubjid == sl.loc[2, "USUBJID"]
    assert [e.row for e in errors_for(report, "DOSE01A", "not one of the spec's dose levels")] == [6]
    assert [e.row for e in errors_for(report, "DOSE01A", "greater than 0")] == [7, 8]
    # EX-001-00004 lost its ADSL record to the duplicate: its ADEX/ADAE/ADPP... records are orphans too
    assert {e.file for e in errors_for(report, "USUBJID", "not in ADSL")} >= {"adex.xpt", "adpp.xpt", "adtte.xpt"}
    orphan = [e for e in errors_for(report, "USUBJID", "not in ADSL") if e.usubjid == "EX-001-99999"]
    assert orphan[0].file == "adae.xpt" and orphan[0].row == 11 and orphan[0].usubjid == "EX-001-99999"
    assert [e.row for e in errors_for(report, "ATOXGR", "outside 1-5")] == [12]
    assert [e.row for e in errors_for(report, "ATOXGR", "not a number")] == [14]
    assert [e.row for e in errors_for(report, "CNSR", "not 0 or 1")] == [5]
    assert errors_for(report, "AVALU", "mixed units within PARAMCD AUCSS")
    warn = {(w.column, w.row, w.usubjid) for w in report.warnings}
    assert ("ATOXGR", 13, synthetic.make_tables()["adae"].loc[12, "USUBJID"]) in warn
    assert any("no AUCSS record" in w.message and w.usubjid == "EX-001-00009" for w in report.warnings)
    assert all(e.hint for e in report.errors)
    text = report.format_text()
    assert "FAILED" in text and "adsl.xpt, column DOSE01A, row 6" in text
    with pytest.raises(DataError) as exc:
        load_study(*study(tmp_path / "again", edit=edit))
    assert exc.value.where.startswith("adsl.xpt, column USUBJID, row 4")
    assert len(exc.value.report.errors) == len(report.errors)


def test_missing_required_columns_and_empty_dataset(tmp_path):
    def edit(t):
        t["adae"] = t["adae"].drop(columns=["AEDECOD"])
        t["adtte"] = t["adtte"].drop(columns=["CNSR"])
        t["adrs"] = t["adrs"].iloc[:0]

    report = check_study(*study(tmp_path, edit=edit, fmt="csv"))
    assert errors_for(report, "AEDECOD", "required column missing")[0].file == "adae.csv"
    assert errors_for(report, "CNSR", "required column missing")
    assert [e for e in report.errors if e.file == "adrs.csv" and "no rows" in e.message]


def test_wrong_types_and_unparseable_dates_in_csv(tmp_path):
    def edit(t):
        sl = t["adsl"]
        sl["AGE"] = sl["AGE"].astype(object)
        sl.loc[1, "AGE"] = "sixty"
        sl["TRTSDT"] = sl["TRTSDT"].dt.strftime("%Y-%m-%d").astype(object)
        sl.loc[2, "TRTSDT"] = "2024-13-45"
        sl.loc[3, "SAFFL"] = "maybe"

    report = check_study(*study(tmp_path, edit=edit, fmt="csv"))
    assert [e.row for e in errors_for(report, "AGE", "not a number")] == [2]
    assert [e.row for e in errors_for(report, "TRTSDT", "unparseable date")] == [3]
    assert [e.row for e in errors_for(report, "SAFFL", "flag")] == [4]


def test_row_accounting_with_exclusions(tmp_path):
    def edit(t):
        sl = t["adsl"]
        sl.loc[0, "DOSE01A"] = np.nan       # never treated ...
        sl.loc[0, "SAFFL"] = "N"            # ... and not in the safety population: excluded
        rs = t["adrs"]
        t["adrs"] = pd.concat([rs, rs.assign(PARAMCD="OVRINV")], ignore_index=True)

    data, report = load_study(*study(tmp_path, edit=edit))
    counts = {d.name: d for d in report.datasets}
    assert counts["adsl"].rows_in == 60 and counts["adsl"].rows_out == 59
    assert counts["adsl"].excluded[0].rows == 1 and "not treated" in counts["adsl"].excluded[0].reason
    assert counts["adrs"].rows_in == 120 and counts["adrs"].rows_out == 59
    reasons = {e.reason: e.rows for e in counts["adrs"].excluded}
    assert reasons == {"PARAMCD OVRINV is not the response parameter BOR (filters.response_paramcd)": 60,
                       "subject excluded from ADSL (not treated)": 1}
    for d in report.datasets:  # nothing lost: in = out + excluded
        assert d.rows_in == d.rows_out + sum(e.rows for e in d.excluded), d.name
    assert "EX-001-00001" not in set(data.response["usubjid"])


def test_record_filters_choose_the_parameters(tmp_path):
    def edit(t):
        t["adtte"]["PARAMCD"] = "OS"

    spec, base = study(tmp_path, edit=edit)
    report = check_study(spec, base)
    assert errors_for(report, "PARAMCD", "no ADTTE record has PARAMCD PFS")[0].hint.startswith(
        "set filters.pfs_paramcd to one of ['OS']")
    spec.filters.pfs_paramcd = "OS"
    data, _ = load_study(spec, base)
    assert set(data.time_to_event["paramcd"]) == {"OS"}


def test_control_arm_subjects_get_dose_zero(tmp_path):
    def edit(t):
        sl = t["adsl"]
        sl.loc[:9, ["TRT01A", "DOSE01A", "DOSE01P"]] = ["Placebo", 0.0, 0.0]
        sl.loc[10, ["TRT01A", "DOSE01A"]] = ["Placebo", 80.0]   # a placebo subject with a dose: error

    def spec_edit(s):
        s["doses"]["control_arms"] = ["placebo"]

    report = check_study(*study(tmp_path, edit=edit, spec_edit=spec_edit))
    assert [e.row for e in report.errors] == [11] and "control arm" in report.errors[0].message


def test_flag_and_grade_variants_are_read(tmp_path):
    def edit(t):
        t["adae"]["ATOXGR"] = t["adae"]["ATOXGR"].astype(float)   # numeric grade also accepted
        t["adsl"]["DOSE01A"] = t["adsl"]["DOSE01A"] + 1e-12        # float noise snaps to the level

    data, report = load_study(*study(tmp_path, edit=edit, fmt="parquet"))
    assert report.errors == [] and set(data.subjects["dose"]) <= set(synthetic.LEVELS)


def test_concentrations_adpc(tmp_path):
    def edit(t):
        sl = t["adsl"]
        n = 4
        t["adpc"] = pd.DataFrame({
            "USUBJID": np.repeat(sl["USUBJID"].iloc[:n].to_numpy(), 3), "PARAMCD": "EXAMPL",
            "AFRLT": np.tile([0.5, 2.0, 24.0], n), "AVAL": np.tile([10.0, 42.0, np.nan], n), "AVALU": "ng/mL"})
        t["adpc"].loc[1, "AVALU"] = "ug/L"

    report = check_study(*study(tmp_path, edit=edit))
    assert errors_for(report, "AVALU", "mixed units within analyte EXAMPL")[0].row == 2
    counts = {d.name: d for d in report.datasets}
    assert counts["adpc"].rows_out == 8 and counts["adpc"].excluded[0].reason.startswith("AVAL missing")


def test_check_study_never_raises_for_data_problems(tmp_path):
    def spec_edit(s):
        s["datasets"]["adae"]["path"] = "missing.xpt"

    def corrupt(t):
        t["adsl"] = t["adsl"].drop(columns=["USUBJID"])

    spec, base = study(tmp_path, edit=corrupt, spec_edit=spec_edit)
    (base / "adex.xpt").write_bytes(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"\x00" * 40)
    report = check_study(spec, base)
    files = {e.file for e in report.errors}
    assert {"missing.xpt", "adsl.xpt", "adex.xpt"} <= files
    assert report.has_errors() and "FAILED" in report.format_text()
    assert json.loads(json.dumps(report.model_dump(mode="json")))["errors"]
