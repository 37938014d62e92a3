"""Plausibility warnings (dossier/ingest/plausibility.py): each stated range flags a value just outside it
and not one just inside; warnings name the file, column and row and are counted in the ingest report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import adam_synthetic as synthetic
import pandas as pd
import pytest
from ingest_helpers import build_spec

from dossier.ingest import check_study

GOOD = synthetic.make_tables(n_subjects=12, n_ae=30, seed=7)


def validate(edit) -> list:
    tables = {k: v.copy() for k, v in GOOD.items()}
    edit(tables)
    folder = Path(tempfile.mkdtemp(prefix="dossier-plaus-"))
    try:
        spec = synthetic.write_study(folder, fmt="csv", tables=tables)
        return check_study(build_spec(spec), folder).warnings
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_good_study_has_no_plausibility_warning():
    assert [w for w in validate(lambda t: None) if "implausible" in w.message or "no record" in w.message] == []


def _set(ds, col, row, value):
    def edit(t):
        t[ds].loc[t[ds].index[row], col] = value
    return edit


@pytest.mark.parametrize("ds, col, inside, outside", [
    ("adsl", "WEIGHTBL", 30.0, 0.5), ("adsl", "WEIGHTBL", 250.0, 251.0), ("adsl", "AGE", 100.0, 101.0),
    ("adae", "ASTDY", 3650.0, 1e12), ("adpp", "AVAL", 1e8, 1e300),
])
def test_ranges_flag_just_outside_not_inside(ds, col, inside, outside):
    assert not [w for w in validate(_set(ds, col, 2, inside)) if "implausible" in w.message]
    hits = [w for w in validate(_set(ds, col, 2, outside)) if "implausible" in w.message]
    assert hits and hits[0].file == f"{ds}.csv" and hits[0].column == col and hits[0].row == 3


def test_zero_exposure_is_flagged():
    hits = [w for w in validate(_set("adpp", "AVAL", 0, 0.0)) if "implausible" in w.message]
    assert hits and hits[0].row == 1


def test_adverse_event_ending_before_it_starts():
    def edit(t):
        t["adae"].loc[t["adae"].index[4], ["ASTDY", "AENDY"]] = [50.0, 10.0]
    hits = [w for w in validate(edit) if "ends before it starts" in w.message]
    assert hits and hits[0].row == 5 and hits[0].column == "AENDY"


@pytest.mark.parametrize("date", ["2099-01-01", "1800-01-01"])
def test_first_dose_dates_relative_to_the_study(date):
    hits = [w for w in validate(_set("adsl", "TRTSDT", 1, pd.Timestamp(date))) if "first dose date" in w.message]
    assert hits and hits[0].row == 2


def test_dataset_cut_to_half_its_subjects_is_reported_naming_the_file():
    def edit(t):
        keep = sorted(t["adrs"]["USUBJID"])[:6]
        t["adrs"] = t["adrs"][t["adrs"]["USUBJID"].isin(keep)]
    hits = [w for w in validate(edit) if "have no record" in w.message]
    assert hits and hits[0].file == "adrs.csv" and "6 of 12" in hits[0].message


@pytest.mark.parametrize("ds, col, table_col", [("adsl", "TRT01A", "TRT01A"), ("adpp", "PARAMCD", "PARAMCD")])
def test_blank_key_values_are_warned(ds, col, table_col):
    hits = [w for w in validate(_set(ds, col, 4, "")) if "is blank" in w.message]
    assert hits and hits[0].file == f"{ds}.csv" and hits[0].column == table_col and hits[0].row == 5
