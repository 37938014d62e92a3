"""Tolerability and the randomized comparison: hand-made data (exact counts) and the example study."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dossier.analyses.randomized import analyse_randomized
from dossier.analyses.stats import clopper_pearson, newcombe_diff_ci
from dossier.analyses.tolerability import HARVEY_BENCHMARKS, analyse_tolerability

from .conftest import tiny_study


def _tiny():
    subjects = [{"usubjid": f"S{i}", "dose": 100.0 if i < 4 else 200.0, "randomized": True} for i in range(8)]
    aes = [
        {"usubjid": "S0", "grade": 3, "serious": True, "start_day": 10, "end_day": 12},
        {"usubjid": "S1", "grade": 2, "start_day": 1, "end_day": 60},  # persistent low grade (> 28 days)
        {"usubjid": "S1", "grade": 2, "dose_reduced": True, "start_day": 20, "end_day": 25},
        {"usubjid": "S4", "grade": 3, "dose_interrupted": True, "start_day": 5, "end_day": 9},
        {"usubjid": "S5", "grade": 4, "drug_withdrawn": True, "start_day": 30, "end_day": 31},
        {"usubjid": "S6", "grade": 1, "dose_interrupted": True, "start_day": 8, "end_day": 10},
        {"usubjid": "S7", "grade": 3, "teae": False, "start_day": -3, "end_day": 1},  # not treatment-emergent
    ]
    exposure = [{"usubjid": f"S{i}", "duration_days": 100.0, "rdi_pct": 100.0 - 5 * i, "n_reductions": 0.0,
                 "n_interruptions": 0.0} for i in range(8)]
    response = [{"usubjid": f"S{i}", "bor": "PR" if i in (0, 1, 4) else "SD", "responder": i in (0, 1, 4)}
                for i in range(8)]
    tte = [{"usubjid": f"S{i}", "paramcd": "PFS", "time": float(10 + 5 * ((3 * i) % 8)), "event": i % 2 == 0, "unit": "DAYS"}
           for i in range(8)]
    return tiny_study(subjects, aes, exposure, response=response, tte=tte)


def test_tolerability_counts_by_hand():
    res = analyse_tolerability(_tiny(), low_grade_days=28)
    a, b = res.arms
    assert (a.dose, a.n, b.dose, b.n) == (100.0, 4, 200.0, 4)
    assert a.get("severe").events == 1 and b.get("severe").events == 2  # S7's grade 3 is not a TEAE
    assert a.get("serious").events == 1
    assert a.get("reduced").events == 1 and b.get("interrupted").events == 2 and b.get("withdrawn").events == 1
    assert a.get("persistent_low_grade").events == 1 and b.get("persistent_low_grade").events == 0
    lo, hi = clopper_pearson(2, 4)
    assert b.get("severe").ci_lower == pytest.approx(lo) and b.get("severe").ci_upper == pytest.approx(hi)
    assert a.rdi_median == pytest.approx(92.5)
    # time to first modification: S4 at day 5, S6 at day 8, others censored at 100 days
    km = b.time_to_modification
    assert km.time == [0.0, 5.0, 8.0] and km.survival[-1] == pytest.approx(0.5)
    assert res.benchmarks == HARVEY_BENCHMARKS
    assert next(e for e in a.endpoints if e.endpoint == "reduced").benchmark == 0.28
    json.dumps(res.model_dump(mode="json"))


def test_persistent_low_grade_threshold_is_configurable():
    assert analyse_tolerability(_tiny(), low_grade_days=90).arms[0].get("persistent_low_grade").events == 0


def test_randomized_comparison_by_hand():
    res = analyse_randomized(_tiny(), [100.0, 200.0], proposed_dosage=100.0, pfs_paramcd="PFS")
    assert res.reference == 100.0
    (c,) = res.comparisons
    assert (c.arm, c.reference) == (200.0, 100.0)
    d, lo, hi = newcombe_diff_ci(1, 4, 2, 4)
    assert c.response.estimate == pytest.approx(d) and c.response.ci_lower == pytest.approx(lo)
    assert c.safety["severe"].estimate == pytest.approx(0.25)
    assert c.pfs_hr is not None and c.pfs_hr.hr > 0
    assert res.arms[0].pfs.n == 4


def test_example_tolerability_rises_with_dose(example):
    _, data = example
    res = analyse_tolerability(data)
    by = {a.dose: a for a in res.arms}
    assert by[480.0].get("severe").rate > by[240.0].get("severe").rate
    # dose modifications (reduction or interruption) rise with dose; reductions alone are 7/49 in both arms
    assert by[480.0].get("modified").rate > by[240.0].get("modified").rate
    assert res.severity_basis == "grade"


def test_example_randomized_240_vs_480(example):
    spec, data = example
    res = analyse_randomized(data, spec.randomized_dosages, spec.proposed_dosage, spec.filters.pfs_paramcd)
    assert [a.n for a in res.arms] == [40, 40]
    (c,) = res.comparisons
    # similar response (truth at the typical exposure: 0.48 vs 0.54), more grade >= 3 AEs at 480 mg
    assert c.response.ci_lower < 0 < c.response.ci_upper
    assert c.safety["severe"].estimate > 0.1
    assert 0.3 < c.pfs_hr.hr < 3


def test_cdisc_pilot_ae_rates_by_arm(cdisc):
    spec, data = cdisc
    tol = analyse_tolerability(data)
    doses = [a.dose for a in tol.arms]
    assert doses == [0.0, 54.0, 81.0]
    assert [a.n for a in tol.arms] == [86, 84, 84]
    assert tol.severity_basis == "severity"
    assert tol.arms[0].control
    any_ae = [a.get("any_teae").rate for a in tol.arms]
    assert any_ae[1] > any_ae[0] and any_ae[2] > any_ae[0]  # more AEs on xanomeline than placebo
    assert all(0 <= a.get("severe").rate <= 0.3 for a in tol.arms)
    rnd = analyse_randomized(data, spec.randomized_dosages, spec.proposed_dosage, spec.filters.pfs_paramcd)
    pairs = {(c.arm, c.reference) for c in rnd.comparisons}
    assert {(54.0, 0.0), (81.0, 0.0), (81.0, 54.0)} <= pairs
    hr = next(c for c in rnd.comparisons if (c.arm, c.reference) == (81.0, 0.0)).pfs_hr
    # time to first dermatologic event is shorter on 81 mg than on placebo
    assert hr.hr > 1.5 and hr.ci_lower > 1
    assert np.isfinite(hr.p_value)
