"""3+3 (dossier/designs/three_plus_three.py): rules, closed form (Lin & Shih 2001) and simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dossier.designs import ThreePlusThree, closed_form_3plus3, make_design, simulate_trials
from dossier.designs.three_plus_three import _exact_enumeration
from dossier.errors import DesignError

SCENARIOS = [
    [0.05, 0.10, 0.20, 0.30, 0.45, 0.60],
    [0.10, 0.25, 0.40, 0.55, 0.70],
    [0.02, 0.04, 0.06, 0.08],
    [0.35, 0.50, 0.65],
]
VARIANTS = list(itertools.product([True, False], [True, False]))


@pytest.mark.parametrize("p", SCENARIOS)
@pytest.mark.parametrize("deesc,six", VARIANTS)
def test_closed_form_equals_exhaustive_enumeration(p, deesc, six):
    """Lin & Shih closed-form selection probabilities = exact walk of the decision tree."""
    cf = closed_form_3plus3(p, deescalation=deesc, top_dose_needs_six=six)
    design = ThreePlusThree(target=0.3, n_doses=len(p), deescalation=deesc, top_dose_needs_six=six)
    sel, exp_n, _ = _exact_enumeration(design, np.array(p))
    np.testing.assert_allclose(cf.selection_prob + [cf.no_selection_prob], sel, atol=1e-14)
    assert abs(sum(cf.selection_prob) + cf.no_selection_prob - 1) < 1e-12
    np.testing.assert_allclose(cf.expected_patients, exp_n)
    # and both against an enumeration written here from the published rule (not the product's step())
    ref_sel, ref_n = rulebook_enumeration(p, deescalation=deesc, top_dose_needs_six=six)
    np.testing.assert_allclose(cf.selection_prob + [cf.no_selection_prob], ref_sel, atol=1e-12)
    np.testing.assert_allclose(cf.expected_patients, ref_n, atol=1e-12)
    np.testing.assert_allclose(cf.expected_total_patients, ref_n.sum(), atol=1e-12)


def rulebook_enumeration(p, *, deescalation=True, top_dose_needs_six=True):
    """Selection probabilities (doses, then no MTD) and expected patients per dose of the 3+3 by walking the
    rule as Storer (1989) / Lin & Shih (2001) state it, cohort by cohort, with binomial branch probabilities.
    Independent of dossier's implementation (it shares no code with it)."""
    from math import comb

    D = len(p)
    sel = np.zeros(D + 1)
    exp_n = np.zeros(D)

    def pr(k, d):
        return comb(3, k) * p[d] ** k * (1 - p[d]) ** (3 - k)

    def finish(n, mtd, w):
        sel[mtd if mtd >= 0 else D] += w
        exp_n[:] += w * np.array(n, dtype=float)

    def add(n, y, d, k):
        n, y = list(n), list(y)
        n[d] += 3
        y[d] += k
        return n, y

    def exceeded(d, n, y, w):  # >= 2 DLTs at d
        if d == 0:
            return finish(n, -1, w)
        if not deescalation or n[d - 1] >= 6:
            return finish(n, d - 1, w)
        for k in range(4):  # 3 more at the dose below
            n2, y2 = add(n, y, d - 1, k)
            if y2[d - 1] <= 1:
                finish(n2, d - 1, w * pr(k, d - 1))
            else:
                exceeded(d - 1, n2, y2, w * pr(k, d - 1))

    def cleared(d, n, y, w):  # <= 1/6 or 0/3 where allowed: escalate, or the top dose is the MTD
        if d == D - 1:
            return finish(n, d, w)
        first_cohort(d + 1, n, y, w)

    def expansion(d, n, y, w):
        for k in range(4):
            n2, y2 = add(n, y, d, k)
            (exceeded if y2[d] >= 2 else cleared)(d, n2, y2, w * pr(k, d))

    def first_cohort(d, n, y, w):
        for k in range(4):
            n2, y2 = add(n, y, d, k)
            if k >= 2:
                exceeded(d, n2, y2, w * pr(k, d))
            elif k == 1 or (d == D - 1 and top_dose_needs_six):
                expansion(d, n2, y2, w * pr(k, d))
            else:
                cleared(d, n2, y2, w * pr(k, d))

    first_cohort(0, [0] * D, [0] * D, 1.0)
    return sel, exp_n


def test_rulebook_enumeration_by_hand():
    """The oracle itself on one dose (p = 0.2; see test_closed_form_by_hand_single_dose)."""
    q = 0.8
    sel, n = rulebook_enumeration([0.2])
    assert sel[0] == pytest.approx(q**3 * (q**3 + 3 * 0.2 * q**2) + 3 * 0.2 * q**2 * q**3, abs=1e-14)
    assert n[0] == pytest.approx(3 + 3 * (q**3 + 3 * 0.2 * q**2), abs=1e-14)


def test_closed_form_by_hand_single_dose():
    """One dose, p = 0.2: P(MTD) = (0/3 then <= 1/3) + (1/3 then 0/3); E[n] = 3 + 3 (always expanded)."""
    p, q = 0.2, 0.8
    cf = closed_form_3plus3([p])
    s = q**3 + 3 * p * q**2
    assert cf.selection_prob[0] == pytest.approx(q**3 * s + 3 * p * q**2 * q**3, abs=1e-12)
    assert cf.expected_patients[0] == pytest.approx(3 + 3 * (q**3 + 3 * p * q**2), abs=1e-12)


def test_closed_form_extremes():
    cf = closed_form_3plus3([0.0, 0.0, 0.0])
    assert cf.selection_prob == [0.0, 0.0, 1.0] and cf.expected_patients == [3.0, 3.0, 6.0]
    cf = closed_form_3plus3([1.0, 1.0])
    assert cf.no_selection_prob == 1.0 and cf.expected_patients == [3.0, 0.0]


@pytest.mark.parametrize("p", SCENARIOS[:3])
def test_simulation_agrees_with_closed_form(p):
    """Simulated selection % and mean patients within 3 Monte Carlo SE of the exact values.

    20,000 trials: the MC SE of a 50% selection is 0.35 points; of a mean of ~5 patients ~0.02.
    """
    n_sim = 20_000
    d = make_design("3+3", target=0.3, n_doses=len(p))
    oc = simulate_trials(d, p, n_sim, np.random.default_rng(33))
    cf = closed_form_3plus3(p)
    exact = 100 * np.array(cf.selection_prob + [cf.no_selection_prob])
    sim = np.array(oc.selection_pct + [oc.no_selection_pct])
    se = np.sqrt(exact * (100 - exact) / n_sim)
    for k in range(len(exact)):
        z = 0.0 if se[k] == 0 else (sim[k] - exact[k]) / se[k]
        assert abs(z) <= 3, f"selection % dose {k + 1}: sim {sim[k]:.2f} exact {exact[k]:.2f} z={z:.2f}"
    for k, (m, e, s) in enumerate(zip(oc.mean_patients, cf.expected_patients, oc.mc_se["mean_patients"],
                                      strict=True)):
        z = 0.0 if s == 0 else (m - e) / s
        assert abs(z) <= 3, f"mean patients dose {k + 1}: sim {m:.3f} exact {e:.3f} z={z:.2f}"


def test_rules():
    d = ThreePlusThree(target=0.3, n_doses=3)
    assert d.next_dose([3, 0, 0], [0, 0, 0], 0) == 1                 # 0/3: escalate
    assert d.next_dose([3, 0, 0], [1, 0, 0], 0) == 0                 # 1/3: 3 more
    assert d.next_dose([6, 0, 0], [1, 0, 0], 0) == 1                 # 1/6: escalate
    assert d.decide([3, 0, 0], [2, 0, 0], 0).action == "stop_no_mtd"  # 2/3 at dose 1
    assert d.next_dose([3, 3, 0], [0, 2, 0], 1) == 0                 # expand dose 1 to 6
    dec = d.decide([6, 3, 0], [0, 2, 0], 1)                          # dose 1 already has 6
    assert dec.action == "stop_select" and d.select_mtd([6, 3, 0], [0, 2, 0]).selected == 0
    assert d.decide([6, 3, 0], [1, 2, 0], 0).action == "stop_select"  # 1/6 after expansion
    assert d.select_mtd([6, 3, 0], [1, 2, 0]).selected == 0
    assert d.next_dose([3, 3, 3], [0, 0, 0], 2) == 2                 # top dose needs 6
    assert d.decide([3, 3, 6], [0, 0, 1], 2).action == "stop_select"
    assert d.select_mtd([3, 3, 6], [0, 0, 1]).selected == 2
    assert d.select_mtd([3, 3, 0], [0, 1, 0]).selected is None       # incomplete
    loose = ThreePlusThree(target=0.3, n_doses=2, deescalation=False, top_dose_needs_six=False)
    assert loose.decide([3, 3], [0, 0], 1).action == "stop_select"
    assert loose.select_mtd([3, 3], [0, 2]).selected == 0


def test_cohort_size_must_be_three():
    with pytest.raises(DesignError):
        make_design("3+3", target=0.3, n_doses=4, cohort_size=2)
