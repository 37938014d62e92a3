"""BOIN12 (dossier/designs/boin12.py) against Lin et al. (2020) and the authors' simulation code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from dossier.designs import Boin
from dossier.designs.boin12 import (
    DEFAULT_UTILITY,
    Boin12,
    error_minimising_boundaries,
    true_utility,
    umbrella_fit,
)
from dossier.errors import DesignError

DATA = Path(__file__).parent / "data"


def test_published_default_utilities():
    """Lin et al. (2020): u = 100 (efficacy, no toxicity), 60 (both), 40 (neither), 0 (toxicity only)."""
    assert DEFAULT_UTILITY == {"eff_no_tox": 100.0, "eff_tox": 60.0, "no_eff_no_tox": 40.0, "no_eff_tox": 0.0}
    d = Boin12(n_doses=5)
    assert d.target == 0.35 and d.eff_lower == 0.25
    assert d.benchmark == pytest.approx(70.5)  # u_bar = 41, u_b = 41 + (100 - 41) / 2


def test_rds_table3():
    """Table 3 of Lin et al. (2020) (phi_T 0.35, phi_E 0.25), values as checked in escalation's
    test-boin12_rds.R: RDS by (patients, DLTs, responses); None where the combination is not admissible."""
    rows = {(r.n, r.n_tox, r.n_eff): r.rds for r in Boin12(n_doses=5).rds_table((0, 3, 6, 9))}
    expected = {(0, 0, 0): 60, (3, 0, 3): 91, (6, 1, 5): 87, (6, 5, 1): None, (9, 0, 8): 99, (9, 2, 3): 32.5,
                (9, 5, 5): 32.5, (9, 3, 1): 7, (9, 4, 0): None, (9, 6, 9): None}
    for key, rds in expected.items():
        assert rows[key] == rds, f"RDS{key}: {rows[key]} != Table 3 {rds}"
    other = {(r.n, r.n_tox, r.n_eff): r.rds for r in Boin12(
        n_doses=5, utility={"eff_no_tox": 100, "eff_tox": 70, "no_eff_no_tox": 30, "no_eff_tox": 0}).rds_table()}
    assert other[(0, 0, 0)] != 60 and other[(3, 0, 3)] != 91  # other utilities, other ranks


def test_rds_table_needs_additive_utilities():
    d = Boin12(n_doses=5, utility={"eff_no_tox": 100, "eff_tox": 55, "no_eff_no_tox": 50, "no_eff_tox": 0})
    with pytest.raises(DesignError):
        d.rds_table()


@pytest.mark.parametrize("target", [0.2, 0.25, 0.3, 0.35])
def test_error_minimising_boundaries_equal_boin(target):
    """The authors' numerical search gives BOIN::get.boundary's floor(lambda_e n) / ceil(lambda_d n)."""
    esc, de = error_minimising_boundaries(target, 0.6 * target, 1.4 * target, 30)
    b_esc, b_de, _ = Boin(target=target, n_doses=3).tables(30)
    n = np.arange(3, 31, 3)
    np.testing.assert_array_equal(esc[n], b_esc[n])
    np.testing.assert_array_equal(np.minimum(de[n], 10**6), np.minimum(np.ceil(Boin(target=target, n_doses=3)
                                  .lambda_d * n).astype(int), 10**6))
    assert b_de is not None


def _qp_umbrella(y, w, mode):
    D = len(y)
    cons = [{"type": "ineq", "fun": (lambda x, j=j: x[j + 1] - x[j])} for j in range(mode)]
    cons += [{"type": "ineq", "fun": (lambda x, j=j: x[j] - x[j + 1])} for j in range(mode, D - 1)]
    res = minimize(lambda x: np.sum(w * (x - y) ** 2), y.copy(), constraints=cons, method="SLSQP",
                   options={"ftol": 1e-14, "maxiter": 500})
    return res.x


def test_umbrella_fit_is_the_least_squares_unimodal_fit():
    """Closed form check: equals a constrained least-squares solution (SLSQP) for random data, and the
    R Iso::ufit values recorded for y = (.1, .5, .2, .9, .3), w = (3.5, 6.5, 3.5, 9.5, 3.5)."""
    rng = np.random.default_rng(5)
    y = rng.random((10, 5))
    w = rng.integers(1, 12, (10, 5)) + 0.5
    for mode in range(5):
        fit = umbrella_fit(y, w, mode)
        for i in range(len(y)):
            np.testing.assert_allclose(fit[i], _qp_umbrella(y[i], w[i], mode), atol=2e-5)
    y0, w0 = np.array([[0.1, 0.5, 0.2, 0.9, 0.3]]), np.array([[3.5, 6.5, 3.5, 9.5, 3.5]])
    np.testing.assert_allclose(umbrella_fit(y0, w0, 0)[0], [0.5587, 0.5587, 0.5587, 0.5587, 0.3], atol=1e-4)
    np.testing.assert_allclose(umbrella_fit(y0, w0, 1)[0], [0.1, 0.64103, 0.64103, 0.64103, 0.3], atol=1e-4)
    np.testing.assert_allclose(umbrella_fit(y0, w0, 3)[0], [0.1, 0.395, 0.395, 0.9, 0.3], atol=1e-4)


def test_decision_table():
    tab = Boin12(n_doses=5).decision_table()
    row3 = next(r for r in tab.table if r.n == 3)
    assert (row3.escalate_max, row3.deescalate_min, row3.eliminate_min) == (0, 2, 3)
    assert tab.lambda_e == pytest.approx(0.2763, abs=1e-4) and tab.lambda_d == pytest.approx(0.4190, abs=1e-4)


def test_decisions():
    d = Boin12(n_doses=5)
    # 2/3 DLT at dose 2 (>= de-escalation boundary): go down
    nxt, _ = d.decide_obd([3, 3, 0, 0, 0], [0, 2, 0, 0, 0], [1, 2, 0, 0, 0], current=1)
    assert nxt == 0
    # 0/3 DLT, 3/3 responses at dose 1: the untried dose 2 (prior desirability) loses to dose 1
    nxt, _ = d.decide_obd([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], [3, 0, 0, 0, 0], current=0)
    assert nxt == 0
    # 0/3 DLT, no response: the untried higher dose is more desirable
    nxt, _ = d.decide_obd([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], current=0)
    assert nxt == 1
    # 3/3 DLT at the lowest dose: eliminated, the trial stops
    nxt, el = d.decide_obd([3, 0, 0, 0, 0], [3, 0, 0, 0, 0], [0, 0, 0, 0, 0], current=0)
    assert nxt is None and all(el)
    with pytest.raises(DesignError):
        d.decide([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], 0)


def test_select_obd():
    d = Boin12(n_doses=4)
    sel = d.select_obd([6, 9, 9, 6], [0, 1, 2, 3], [1, 5, 6, 3])
    assert sel.mtd is not None and sel.selected is not None and sel.selected <= sel.mtd
    assert sel.utility[sel.selected] == max(u for i, u in enumerate(sel.utility) if u is not None and i <= sel.mtd)


REF = json.loads((DATA / "boin12_r_reference.json").read_text())


@pytest.mark.parametrize("scenario", range(len(REF)), ids=["rising", "plateau", "low-efficacy"])
def test_matches_authors_code_within_monte_carlo_error(scenario):
    """Reference: the authors' BOIN12 simulation code (Lin et al. 2020, as packaged in
    phase12designs::oc_boin12; R 4 with Iso 0.0-18.1), 20,000 (rising) and 4,000 trials, frozen in
    data/boin12_r_reference.json (phi_T 0.35, phi_E 0.25, 10 cohorts of 3, u = 100/60/40/0).
    Two-sample z (pooled proportion) for each selection %, and for patients per dose."""
    ref = REF[scenario]
    N = 10_000
    d = Boin12(n_doses=5, strict_selection=False)
    oc = d.simulate(ref["p_tox"], ref["p_eff"], N, np.random.default_rng(100 + scenario))
    R = ref["n_trials"]
    bad = []
    ours_all = oc.selection_pct + [oc.no_selection_pct]
    ref_all = ref["selection_pct"] + [ref["no_selection_pct"]]
    for k, (a, b) in enumerate(zip(ours_all, ref_all, strict=True)):
        pbar = (a * N + b * R) / (N + R)
        se = np.sqrt(max(pbar * (100 - pbar), 1e-9) * (1 / N + 1 / R))
        z = (a - b) / se
        print(f"scenario {scenario} selection[{k}]: ours {a:.2f} vs R {b:.2f}, z = {z:+.2f}")
        if abs(z) > 3:
            bad.append((k, a, b, z))
    for k, (a, b) in enumerate(zip(oc.mean_patients, ref["mean_patients"], strict=True)):
        se = oc.mc_se["mean_patients"][k] * np.sqrt(1 + N / R)
        z = (a - b) / se
        print(f"scenario {scenario} patients[{k}]: ours {a:.2f} vs R {b:.2f}, z = {z:+.2f}")
        if abs(z) > 3:
            bad.append(("patients", k, a, b, z))
    assert not bad, bad


def test_strict_selection_only_moves_trials_to_no_selection():
    p, q = REF[2]["p_tox"], REF[2]["p_eff"]
    U = np.random.default_rng(0).random((3000, 30))
    a = Boin12(n_doses=5).simulate_outcomes(p, q, 3000, np.random.default_rng(1), uniforms=U)
    b = Boin12(n_doses=5, strict_selection=False).simulate_outcomes(p, q, 3000, np.random.default_rng(1), uniforms=U)
    differ = a.selected != b.selected
    assert differ.any()
    assert np.all(a.selected[differ] == -1)
    np.testing.assert_array_equal(a.n, b.n)


def test_true_utility_and_obd():
    u = true_utility([0.05, 0.1, 0.15, 0.3, 0.45], [0.1, 0.25, 0.45, 0.5, 0.55])
    np.testing.assert_allclose(u, 60 * np.array([0.1, 0.25, 0.45, 0.5, 0.55])
                               + 40 * (1 - np.array([0.05, 0.1, 0.15, 0.3, 0.45])))
    oc = Boin12(n_doses=5).simulate([0.05, 0.1, 0.15, 0.3, 0.45], [0.1, 0.25, 0.45, 0.5, 0.55], 300,
                                    np.random.default_rng(3))
    assert oc.true_obd == 2 and oc.pct_correct_selection == oc.selection_pct[2]
    assert oc.mean_utility_selected is not None and oc.mc_se["mean_utility_selected"] >= 0


@settings(max_examples=25, deadline=None)
@given(p=st.lists(st.floats(0, 0.8), min_size=2, max_size=5), seed=st.integers(0, 2**16),
       qe=st.floats(0, 1))
def test_boin12_properties(p, seed, qe):
    """Patients conserved (whole cohorts, at most the maximum), DLTs/responses <= patients, a selected
    dose has been treated, no patient beyond a dose eliminated for toxicity at the lowest dose."""
    D = len(p)
    d = Boin12(n_doses=D, n_cohorts=8)
    rec: list = []
    out = d.simulate_outcomes(p, [qe] * D, 150, np.random.default_rng(seed), record=rec)
    assert all(not r["eliminated"].any() for r in rec)   # never assigned to an eliminated dose
    assert np.all(out.n % 3 == 0) and np.all(out.n.sum(axis=1) <= d.max_patients)
    assert np.all(out.y <= out.n) and np.all(out.r <= out.n)
    sel = out.selected
    has = sel >= 0
    assert np.all(out.n[np.flatnonzero(has), sel[has]] > 0)
    assert np.all(sel[out.no_mtd] == -1)
