"""ADPD (biomarker / PD measurements, ADaM BDS) -> the typed ``biomarker`` table, with located errors."""

from __future__ import annotations

import adam_synthetic as synthetic
import numpy as np
import pandas as pd
import pytest
from ingest_helpers import build_spec

from dossier.ingest import check_study, load_study
from dossier.ingest.tables import TABLE_COLUMNS

MARKER = {"paramcd": "PERKINH", "name": "pERK inhibition", "unit": "%", "validation": "exploratory",
          "measure": "change", "visit": "WEEK 4"}


def _adpd(subjects: list[str], with_chg: bool = True, ablfl: bool = True) -> pd.DataFrame:
    rows = []
    for i, u in enumerate(subjects):
        base = float(i % 3)
        for week, day in ((0, 1), (1, 8), (4, 29)):
            for code, value in (("PERKINH", base if week == 0 else base + 10.0 * week + i),
                                ("ALT", 20.0 + week)):
                row = {"STUDYID": "EX-001", "USUBJID": u, "PARAMCD": code, "AVISIT": "BASELINE" if week == 0
                       else f"WEEK {week}", "AVISITN": float(week), "ADY": float(day), "AVAL": value,
                       "AVALU": "%" if code == "PERKINH" else "U/L"}
                if with_chg:
                    row["CHG"] = value - (base if code == "PERKINH" else 20.0)
                if ablfl:
                    row["ABLFL"] = "Y" if week == 0 else ""
                rows.append(row)
    return pd.DataFrame(rows)


def study(tmp_path, edit=None, marker=None, **kw):
    tables = synthetic.make_tables(n_subjects=12, n_ae=30)
    tables["adpd"] = _adpd(list(tables["adsl"]["USUBJID"][:10]), **kw)
    if edit:
        tables["adpd"] = edit(tables["adpd"])
    spec = synthetic.write_study(tmp_path, fmt="csv", tables=tables)
    spec["biomarkers"] = [{**MARKER, **(marker or {})}]
    return build_spec(spec), tmp_path


def test_adpd_maps_to_the_biomarker_table(tmp_path):
    spec, base = study(tmp_path)
    data, report = load_study(spec, base)
    bm = data.biomarker
    assert list(bm.columns) == list(TABLE_COLUMNS["biomarker"])
    assert len(bm) == 30  # ALT is not a marker of the spec: excluded, and counted
    count = next(c for c in report.datasets if c.name == "adpd")
    assert any("ALT" in e.reason and e.rows == 30 for e in count.excluded)
    assert bm["baseline"].sum() == 10 and bm["post_baseline"].sum() == 20
    assert (bm.loc[bm["baseline"], "change"] == 0).all()


def test_change_without_chg_is_aval_minus_baseline(tmp_path):
    with_chg, _ = load_study(*study(tmp_path / "a"))
    derived, _ = load_study(*study(tmp_path / "b", with_chg=False))
    np.testing.assert_allclose(derived.biomarker["change"].to_numpy(float),
                               with_chg.biomarker["change"].to_numpy(float))
    np.testing.assert_allclose(derived.biomarker["base"].to_numpy(float),
                               np.repeat([float(i % 3) for i in range(10)], 3))


def test_baseline_without_ablfl_warns_and_uses_day_1(tmp_path):
    data, report = load_study(*study(tmp_path, ablfl=False))
    assert data.biomarker["baseline"].sum() == 10
    assert (data.biomarker.loc[data.biomarker["baseline"], "day"] == 1).all()
    assert any("no ABLFL column" in w.message and w.column == "ABLFL" for w in report.warnings)


def test_a_subject_without_baseline_has_no_change_not_zero(tmp_path):
    def edit(adpd):
        return adpd[~((adpd["USUBJID"] == adpd["USUBJID"].iloc[0]) & (adpd["AVISITN"] == 0))]

    data, _ = load_study(*study(tmp_path, edit, with_chg=False))
    first = data.biomarker[data.biomarker["usubjid"] == data.biomarker["usubjid"].iloc[0]]
    assert len(first) == 2 and first["change"].isna().all() and not first["post_baseline"].any()


@pytest.mark.parametrize("marker, column, text", [
    ({"paramcd": "TEINH"}, "PARAMCD", "biomarkers[0].paramcd TEINH has no records"),
    ({"visit": "WEEK 12"}, "AVISIT", "biomarkers[0].visit 'WEEK 12' is not an AVISIT of PERKINH"),
    ({"unit": "ng/mL"}, "AVALU", "AVALU of PERKINH differs from the spec's unit 'ng/mL'"),
])
def test_spec_and_data_disagreements_are_located_errors(tmp_path, marker, column, text):
    spec, base = study(tmp_path, marker=marker)
    report = check_study(spec, base)
    errs = [e for e in report.errors if text in e.message]
    assert errs and all(e.column == column and e.file.endswith("adpd.csv") for e in errs)
    if column == "AVALU":
        assert errs[0].row is not None and errs[0].usubjid


def test_biomarkers_without_adpd_are_a_spec_error():
    spec = synthetic.spec_dict({"adsl": {"path": "adsl.csv"}})
    spec["biomarkers"] = [MARKER]
    with pytest.raises(ValueError, match="datasets.adpd"):
        build_spec(spec)
