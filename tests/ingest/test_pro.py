"""ADQS (PRO-CTCAE and QLQ-C30 items, ADaM BDS) -> the typed ``pro`` table, with its content checks."""

from __future__ import annotations

import adam_synthetic as synthetic
import numpy as np
import pandas as pd
import pytest
from ingest_helpers import build_spec

from dossier.errors import DataError
from dossier.ingest import check_study, load_study
from dossier.ingest.pro import parse_paramcd
from dossier.ingest.tables import TABLE_COLUMNS


@pytest.mark.parametrize("code, expected", [
    ("PROCTCAE_16A_SCL", ("PRO-CTCAE", "16A", "SCL")), ("proctcae_24a_ind", ("PRO-CTCAE", "24A", "IND")),
    ("PRO53B", ("PRO-CTCAE", "53B", "")), ("PRO09A", ("PRO-CTCAE", "9A", "")),
    ("C30Q01", ("QLQ-C30", "1", "")), ("QLQC3030", ("QLQ-C30", "30", "")), ("QLQ30_17", ("QLQ-C30", "17", "")),
    ("C30Q31", None), ("PRO81A", None), ("QL2", None), ("AUCSS", None),
])
def test_paramcd_conventions(code, expected):
    assert parse_paramcd(code) == expected


def _adqs(subjects: list[str], ablfl: bool = True) -> pd.DataFrame:
    rows = []
    for u in subjects:
        for week, day in ((0, 1), (4, 29), (8, 57)):
            for code, value in (("PRO16A", 0 if week == 0 else 2), ("PRO53A", 1), ("C30Q10", 2), ("C30Q29", 5),
                                ("QL2", 66.7)):
                row = {"STUDYID": "EX-001", "USUBJID": u, "PARAMCD": code, "AVISIT": "BASELINE" if week == 0
                       else f"WEEK {week}", "AVISITN": float(week), "ADY": float(day), "AVAL": float(value)}
                if ablfl:
                    row["ABLFL"] = "Y" if week == 0 else ""
                rows.append(row)
    return pd.DataFrame(rows)


def study(tmp_path, edit=None, ablfl=True):
    tables = synthetic.make_tables(n_subjects=12, n_ae=30)
    tables["adqs"] = _adqs(list(tables["adsl"]["USUBJID"][:10]), ablfl)
    if edit:
        edit(tables["adqs"])
    spec = synthetic.write_study(tmp_path, fmt="csv", tables=tables)
    return build_spec(spec), tmp_path


def test_adqs_maps_to_the_pro_table(tmp_path):
    spec, base = study(tmp_path)
    data, report = load_study(spec, base)
    pro = data.pro
    assert list(pro.columns) == list(TABLE_COLUMNS["pro"])
    assert len(pro) == 10 * 3 * 4  # QL2 (a derived scale, not an item) is excluded, and counted
    count = next(c for c in report.datasets if c.name == "adqs")
    assert any("QL2" in e.reason and e.rows == 30 for e in count.excluded)
    assert set(pro["instrument"]) == {"PRO-CTCAE", "QLQ-C30"}
    assert set(pro["item"]) == {"16A", "53A", "10", "29"}
    assert pro["baseline"].sum() == 40 and pro["post_baseline"].sum() == 80
    assert not (pro["baseline"] & pro["post_baseline"]).any()


def test_baseline_without_ablfl_is_the_last_assessment_on_or_before_day_1(tmp_path):
    spec, base = study(tmp_path, ablfl=False)
    data, report = load_study(spec, base)
    assert data.pro["baseline"].sum() == 40
    assert (data.pro.loc[data.pro["baseline"], "day"] == 1).all()
    assert any("no ABLFL column" in w.message for w in report.warnings)


def test_out_of_range_responses_are_errors_with_row(tmp_path):
    def edit(adqs):
        adqs.loc[1, "AVAL"] = 5.0  # PRO-CTCAE 53A holds 0-4
        adqs.loc[2, "AVAL"] = 0.0  # QLQ-C30 item 10 holds 1-4
        adqs.loc[3, "AVAL"] = 8.0  # QLQ-C30 item 29 holds 1-7

    spec, base = study(tmp_path, edit)
    report = check_study(spec, base)
    errs = [e for e in report.errors if "outside the instrument's scale" in e.message]
    assert sorted(e.row for e in errs) == [2, 3, 4]  # record numbers are 1-based
    with pytest.raises(DataError):
        load_study(spec, base)


def test_duplicate_assessments_and_unknown_subjects_are_errors(tmp_path):
    def edit(adqs):
        adqs.loc[len(adqs)] = adqs.loc[0]  # an exact copy: dropped with a warning (dossier/ingest/mapping.py)
        adqs.loc[len(adqs)] = adqs.loc[1].replace({adqs.loc[1, "USUBJID"]: "NOBODY"})
        other = adqs.loc[2].copy()  # the same assessment with another answer: an error
        other["AVAL"] = other["AVAL"] + 1 if other["AVAL"] < 2 else other["AVAL"] - 1
        adqs.loc[len(adqs)] = other

    spec, base = study(tmp_path, edit)
    report = check_study(spec, base)
    assert any("exact duplicate" in w.message for w in report.warnings)
    assert any("more than one ADQS record" in e.message for e in report.errors)
    assert any(e.usubjid == "NOBODY" and "not in ADSL" in e.message for e in report.errors)


def test_no_timing_variable_is_an_error(tmp_path):
    def edit(adqs):
        del adqs["AVISITN"], adqs["ADY"]

    spec, base = study(tmp_path, edit)
    report = check_study(spec, base)
    assert any("neither AVISITN nor ADY" in e.message for e in report.errors)


def test_missing_answers_are_excluded_not_zero(tmp_path):
    spec, base = study(tmp_path, lambda adqs: adqs.__setitem__("AVAL", adqs["AVAL"].where(adqs.index != 5, np.nan)))
    data, report = load_study(spec, base)
    assert len(data.pro) == 119 and not data.pro["value"].isna().any()


def test_example_study_reads_its_adqs():
    from pathlib import Path

    from dossier.spec import load_spec

    root = Path(__file__).resolve().parents[2] / "examples" / "examplinib"
    spec = load_spec(root / "study.yaml")
    report = check_study(spec, root)
    assert not report.errors
    count = next(c for c in report.datasets if c.name == "adqs")
    assert count.rows_in == count.rows_out > 0
