"""Per-dose overview: Clopper-Pearson intervals equal the beta-quantile closed form; counts per dose."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import beta

from dossier.analyses.dose_summary import analyse_dose_summary, exact_rate
from dossier.ingest.tables import StudyData


@pytest.mark.parametrize(("x", "n"), [(0, 3), (1, 6), (7, 40), (40, 40)])
def test_clopper_pearson_closed_form(x, n):
    """Clopper & Pearson (1934): [B(0.025; x, n-x+1), B(0.975; x+1, n-x)], with 0 and 1 at the edges."""
    r = exact_rate(x, n)
    lo = 0.0 if x == 0 else beta.ppf(0.025, x, n - x + 1)
    hi = 1.0 if x == n else beta.ppf(0.975, x + 1, n - x)
    assert r.rate == x / n
    assert r.lower == pytest.approx(lo, abs=1e-12) and r.upper == pytest.approx(hi, abs=1e-12)


def test_empty_dose_has_no_rate():
    assert exact_rate(0, 0).rate is None


def test_counts_per_dose():
    subjects = pd.DataFrame({
        "usubjid": ["a", "b", "c", "d"], "dose": [10.0, 10.0, 20.0, 20.0],
        "safety": [True] * 4, "efficacy": [True, True, True, False], "dlt_evaluable": [True, True, True, True]})
    ae = pd.DataFrame({
        "usubjid": ["a", "a", "c", "d"], "grade": pd.array([3, 1, 2, 4], dtype="Int64"),
        "serious": [False, False, False, True], "teae": [True, True, True, False], "dlt": [True, False, False, True],
        "dose_reduced": [False, True, False, False], "dose_interrupted": [False, False, True, False],
        "drug_withdrawn": [False, False, False, True]})
    resp = pd.DataFrame({"usubjid": ["a", "b", "c", "d"], "responder": [True, False, True, True]})
    s = analyse_dose_summary(StudyData(subjects=subjects, adverse_events=ae, response=resp), [10.0, 20.0, 40.0])
    r10, r20, r40 = s.rows
    assert (r10.dlt.events, r10.dlt.n, r10.grade3.events, r10.reduction.events) == (1, 2, 1, 1)
    # d's AEs are not treatment-emergent: they count for nothing
    assert (r20.dlt.events, r20.grade3.events, r20.discontinuation.events, r20.interruption.events) == (0, 0, 0, 1)
    assert (r20.response.events, r20.response.n) == (1, 1)  # d is not efficacy-evaluable
    assert r40.n_subjects == 0 and r40.dlt.rate is None


def test_control_arm_gets_its_own_first_row():
    subjects = pd.DataFrame({
        "usubjid": ["p1", "p2", "a"], "dose": [0.0, 0.0, 10.0], "control": [True, True, False],
        "safety": [True] * 3, "efficacy": [True] * 3, "dlt_evaluable": [False] * 3})
    s = analyse_dose_summary(StudyData(subjects=subjects), [10.0])
    assert [(r.dose, r.control, r.n_subjects) for r in s.rows] == [(0.0, True, 2), (10.0, False, 1)]
