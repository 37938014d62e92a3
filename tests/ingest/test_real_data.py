"""Ingest of real public CDISC data (../shared/data): the CDISC pilot study CDISCPILOT01.

References are direct pandas/pyreadstat counts of the raw files, so the typed tables are proven to
carry exactly what the files hold."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
from ingest_helpers import HAS_CONTROL_ARMS, REPO, build_spec, pilot_spec, shared

from dossier.errors import DataError
from dossier.ingest import check_study, load_study
from dossier.ingest.readers import read_dataset


def _raw(path) -> pd.DataFrame:
    df, _ = pyreadstat.read_xport(str(path))
    return df


def test_pilot_adsl_adae_adtte_ingest_without_error():
    folder = shared("cdisc-pilot-adam")
    data, report = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt", "adtte": "adtte.xpt"}), folder)
    assert report.errors == []
    counts = {d.name: (d.rows_in, d.rows_out) for d in report.datasets}
    assert counts == {"adsl": (254, 254), "adae": (1191, 1191), "adtte": (254, 254)}  # README: 254 x 49, 1191 x 55
    assert all(len(d.sha256) == 64 and d.format == "xpt v5" for d in report.datasets)
    # the pilot has AESEV but no CTCAE grade: reported, not fatal
    assert any("AETOXGR" in (w.column or "") for w in report.warnings)
    assert data.adverse_events["grade"].isna().all()
    assert set(data.adverse_events["severity"]) == {"MILD", "MODERATE", "SEVERE"}
    subjects = data.subjects
    assert subjects.loc[subjects["arm"] == "Placebo", "dose"].eq(0).all()
    assert subjects.loc[subjects["arm"] == "Placebo", "control"].all()
    assert sorted(subjects.loc[~subjects["control"], "dose"].unique()) == [54.0, 81.0]
    assert str(subjects["first_dose_date"].min().date()) >= "2012-01-01"


def test_pilot_subjects_and_teae_per_arm_equal_direct_counts():
    folder = shared("cdisc-pilot-adam")
    data, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"}), folder)
    raw_sl, raw_ae = _raw(folder / "adsl.xpt"), _raw(folder / "adae.xpt")
    expected_n = raw_sl.groupby("TRT01A").size().to_dict()
    assert data.subjects.groupby("arm").size().to_dict() == expected_n
    assert expected_n == {"Placebo": 86, "Xanomeline High Dose": 84, "Xanomeline Low Dose": 84}
    teae = raw_ae[raw_ae["TRTEMFL"] == "Y"].merge(raw_sl[["USUBJID", "TRT01A"]], on="USUBJID")
    expected_teae = teae.groupby("TRT01A").size().to_dict()
    ae = data.adverse_events.merge(data.subjects[["usubjid", "arm"]], on="usubjid")
    assert ae[ae["teae"]].groupby("arm").size().to_dict() == expected_teae
    # subjects with >= 1 TEAE per arm, and serious AEs, too
    assert (ae[ae["teae"]].groupby("arm")["usubjid"].nunique().to_dict()
            == teae.groupby("TRT01A")["USUBJID"].nunique().to_dict())
    assert int(data.adverse_events["serious"].sum()) == int((raw_ae["AESER"] == "Y").sum())
    # planned dose mirrors TRT01PN (0 / 54 / 81)
    assert data.subjects["planned_dose"].tolist() == raw_sl["TRT01PN"].tolist()


def test_pilot_time_to_event_matches_raw():
    folder = shared("cdisc-pilot-adam")
    data, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adtte": "adtte.xpt"}), folder)
    raw = _raw(folder / "adtte.xpt")
    tte = data.time_to_event
    assert len(tte) == len(raw) == 254
    assert tte["event"].sum() == (raw["CNSR"] == 0).sum()
    assert tte["time"].tolist() == raw["AVAL"].tolist()


def test_pilot_without_control_arm_is_rejected_with_location():
    folder = shared("cdisc-pilot-adam")
    spec = build_spec({"study": pilot_spec({"adsl": "x"}).study.model_dump(), "doses": {"levels": [54, 81]},
                       "proposed_dosage": 54, "datasets": {"adsl": {"path": "adsl.xpt"}}})
    with pytest.raises(DataError) as exc:
        load_study(spec, folder)
    report = exc.value.report
    first = report.errors[0]
    assert first.file == "adsl.xpt" and first.column == "TRT01AN" and first.row == 1
    assert first.usubjid == "01-701-1015" and "control_arms" in first.hint
    assert "dose must be greater than 0" in str(exc.value)


@pytest.mark.parametrize("dataset", ["adsl", "adae", "adtte"])
@pytest.mark.parametrize("ext", ["json", "ndjson", "dsjc"])
def test_dataset_json_and_xpt_of_the_same_dataset_give_equal_tables(dataset, ext):
    folder = shared("cdisc-dataset-json")
    files = {"adsl": f"adsl.{ext}"} | ({dataset: f"{dataset}.{ext}"} if dataset != "adsl" else {})
    xfiles = {k: v.rsplit(".", 1)[0] + ".xpt" for k, v in files.items()}
    data_j, rep_j = load_study(pilot_spec(files), folder)
    data_x, rep_x = load_study(pilot_spec(xfiles), folder)
    table = {"adsl": "subjects", "adae": "adverse_events", "adtte": "time_to_event"}[dataset]
    pd.testing.assert_frame_equal(getattr(data_j, table), getattr(data_x, table))
    assert [d.rows_out for d in rep_j.datasets] == [d.rows_out for d in rep_x.datasets]


@pytest.mark.parametrize("name", ["adsl", "adae", "adtte", "adcibc"])
def test_dataset_json_raw_values_equal_xpt(name):
    """Every column of the Dataset-JSON reads equal to the XPT of the same dataset (dates, numbers, text)."""
    folder = shared("cdisc-dataset-json")
    j = read_dataset(folder / f"{name}.json", f"{name}.json").frame
    x = read_dataset(folder / f"{name}.xpt", f"{name}.xpt")
    assert list(j.columns) == list(x.frame.columns)
    for col in j.columns:
        a, b = j[col], x.frame[col]
        if pd.api.types.is_numeric_dtype(b) or pd.api.types.is_datetime64_any_dtype(b):
            pd.testing.assert_series_equal(a, b, check_names=False, check_dtype=False, obj=col)
        else:
            assert a.fillna("").str.strip().tolist() == b.fillna("").str.strip().tolist(), col
    assert x.labels["USUBJID"] == "Unique Subject Identifier"


def test_cdisc_split_two_studies_and_2013_release_give_same_counts():
    """PHUSE split of the pilot into two STUDYIDs: same subjects and TEAE counts as the pooled original."""
    split = shared("phuse-scripts", "cdisc-split")
    folder = shared("cdisc-pilot-adam")
    d_split, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"}), split)
    d_pilot, _ = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt"}), folder)
    assert d_split.subjects.groupby("arm").size().equals(d_pilot.subjects.groupby("arm").size())
    assert len(d_split.adverse_events) == len(d_pilot.adverse_events) == 1191


def test_random_cdisc_data_adae_toxicity_grades_and_actions():
    """Synthetic oncology ADaM (random.cdisc.data): character AETOXGR and AEACN dose modifications."""
    folder = shared("random-cdisc-data")
    spec = build_spec({
        "study": pilot_spec({"adsl": "x"}).study.model_dump(), "doses": {"levels": [1.0]}, "proposed_dosage": 1.0,
        "datasets": {"adsl": {"path": "adsl.xpt"}, "adae": {"path": "adae.xpt"}}})
    report = check_study(spec, folder)
    # ADSL has no numeric dose: one clear error naming the missing variable, not a traceback
    missing = [e for e in report.errors if e.message.startswith("required column missing")]
    assert len(missing) == 1 and missing[0].column == "DOSE01A" and "columns" in missing[0].hint
    raw = _raw(folder / "adae.xpt")
    from dossier.ingest.mapping import Mapper, map_adae
    from dossier.ingest.report import DatasetCount, IngestReport, IssueCollector

    rep = IngestReport()
    m = Mapper("adae", read_dataset(folder / "adae.xpt", "adae.xpt"), {}, IssueCollector(rep), DatasetCount(
        name="adae", path="adae.xpt"))
    ae = map_adae(m)
    assert rep.errors == []
    assert ae["grade"].value_counts().sort_index().to_dict() == (
        raw["AETOXGR"].astype(int).value_counts().sort_index().to_dict())
    assert int(ae["dose_reduced"].sum()) == int(raw["AEACN"].isin(["DOSE REDUCED", "DOSE RATE REDUCED"]).sum())
    assert int(ae["drug_withdrawn"].sum()) == int((raw["AEACN"] == "DRUG WITHDRAWN").sum())


@pytest.mark.skipif(not HAS_CONTROL_ARMS, reason="needs `Doses.control_arms` in dossier/spec.py (requested)")
def test_real_data_spec_validates_and_ingests():
    shared("cdisc-pilot-adam")
    from dossier.spec import load_spec

    path = REPO / "examples" / "cdisc_pilot" / "study.yaml"
    spec = load_spec(path)
    data, report = load_study(spec, path.parent)
    assert not report.has_errors() and len(data.subjects) == 254
