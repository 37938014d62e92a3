"""TITE-BOIN (dossier/designs/tite_boin.py) against Yuan et al. (2018) and its BOIN limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.designs import Boin
from dossier.designs.simulate import run_trials
from dossier.designs.tite_boin import TiteBoin, tite_estimate


def test_table1_escalation_needs_stft_2_15():
    """Yuan et al. (2018) Table 1 (target 0.2): 9 patients, 1 DLT, 4 pending -> escalate iff STFT >= 2.15
    (the trial example: follow-up 75, 60, 45, 30 of 90 days, STFT 2.33, escalated)."""
    d = TiteBoin(target=0.2, n_doses=5)
    assert d.escalation_stft(9, 1, 4) == pytest.approx(2.15, abs=0.005)
    assert d.tite_action(9, 1, 4, (75 + 60 + 45 + 30) / 90) == 1
    assert d.tite_action(9, 1, 4, 2.0) == 0


def test_no_pending_is_the_observed_rate():
    np.testing.assert_allclose(tite_estimate([6, 9], [1, 3], [0, 0], [0, 0], 0.3), [1 / 6, 1 / 3])


@pytest.mark.parametrize("n_earlystop", [100, 9])
@pytest.mark.parametrize("p", [[0.05, 0.15, 0.30, 0.45, 0.60], [0.35, 0.5, 0.6, 0.7, 0.8]])
def test_complete_data_is_boin(p, n_earlystop):
    """Limit: with every DLT assessment complete before the next patient arrives (window 1e-9 month)
    TITE-BOIN is BOIN, trial by trial with common random numbers."""
    U = np.random.default_rng(4).random((2000, 30))
    boin = run_trials(Boin(target=0.3, n_doses=5, n_earlystop=n_earlystop), np.asarray(p), U)
    tite = TiteBoin(target=0.3, n_doses=5, dlt_window_months=1e-9, accrual_per_month=1,
                    n_earlystop=n_earlystop).simulate_outcomes(p, 2000, np.random.default_rng(1), U)
    np.testing.assert_array_equal(tite.n, boin.n)
    np.testing.assert_array_equal(tite.y, boin.y)
    np.testing.assert_array_equal(tite.selected, boin.selected)
    np.testing.assert_array_equal(tite.no_mtd, boin.no_mtd)


def test_late_onset_speeds_up_but_keeps_accuracy():
    """With a 3-month window and 2 patients a month TITE-BOIN takes ~half the time of waiting for
    complete data (BF-BOIN without backfill is BOIN with waiting), selecting the MTD about as often."""
    from dossier.designs.backfill import BfBoin

    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    tite = TiteBoin(target=0.3, n_doses=5, dlt_window_months=3, accrual_per_month=2).simulate(
        p, None, 3000, np.random.default_rng(1))
    wait = BfBoin(target=0.3, n_doses=5, dlt_window_months=3, accrual_per_month=2).simulate(
        p, [0] * 5, 3000, np.random.default_rng(1))
    assert tite.mean_duration_months < 0.7 * wait.mean_duration_months
    assert abs(tite.selection_pct[2] - wait.selection_pct[2]) < 8


@settings(max_examples=20, deadline=None)
@given(p=st.lists(st.floats(0, 0.9), min_size=2, max_size=5), seed=st.integers(0, 2**16),
       window=st.floats(0.1, 6), rate=st.floats(0.3, 10), accrual=st.sampled_from(["uniform", "poisson"]))
def test_tite_properties(p, seed, window, rate, accrual):
    D = len(p)
    d = TiteBoin(target=0.3, n_doses=D, n_cohorts=6, dlt_window_months=window, accrual_per_month=rate,
                 accrual=accrual)
    rec: list = []
    out = d.simulate_outcomes(p, 150, np.random.default_rng(seed), record=rec)
    assert all(not r["eliminated"].any() for r in rec)   # never assigned to an eliminated dose
    assert np.all(out.n % 3 == 0) and np.all(out.n.sum(axis=1) <= d.max_patients)
    assert np.all(out.y <= out.n)
    assert np.all(out.duration > 0)
    assert np.all(out.selected[out.no_mtd] == -1)
    has = out.selected >= 0
    assert np.all(out.n[np.flatnonzero(has), out.selected[has]] > 0)  # a selected dose was used
