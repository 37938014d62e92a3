"""Randomized dosage comparison (dossier/designs/randomized.py): exact enumeration vs simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dossier.designs.randomized import (
    exact_comparison,
    sample_size_per_arm,
    select_dosage,
    simulate_comparison,
)


def test_two_arm_closed_form():
    """Pick-the-winner, ties to the lower dosage: P(select high) = P(R_high > R_low) (binomial sum)."""
    n, q = 25, (0.25, 0.40)
    k = np.arange(n + 1)
    p_high = sum(stats.binom.pmf(r, n, q[0]) * stats.binom.sf(r, n, q[1]) for r in k)
    ex = exact_comparison(q, n)
    assert ex.selection_pct[1] == pytest.approx(100 * p_high, abs=1e-9)
    assert ex.correct_arm == 1 and ex.pct_correct_selection == ex.selection_pct[1]


@pytest.mark.parametrize("case", [
    dict(p_resp=[0.3, 0.45], n_per_arm=30),
    dict(p_resp=[0.3, 0.45, 0.5], n_per_arm=20, margin=0.05),
    dict(p_resp=[0.3, 0.45, 0.5], n_per_arm=30, margin=0.05, p_tox=[0.1, 0.2, 0.3], tox_limit=0.25),
])
def test_simulation_matches_exact(case):
    ex = exact_comparison(**case)
    sim = simulate_comparison(rng=np.random.default_rng(9), n_trials=40_000, **case)
    for a, (e, s, se) in enumerate(zip(ex.selection_pct, sim.selection_pct, sim.mc_se["selection_pct"], strict=True)):
        z = (s - e) / max(se, 1e-9)
        print(f"arm {a}: simulated {s:.2f} vs exact {e:.2f}, z = {z:+.2f}")
        assert abs(z) <= 3
    assert sum(ex.selection_pct) + ex.no_selection_pct == pytest.approx(100)


def test_sample_size_per_arm():
    n = sample_size_per_arm([0.3, 0.45], 80)
    # independent oracle: the better arm (0.45) is selected when it has strictly more responses (ties go to the
    # lower dosage): P = sum_{a < b} Bin(a; n, 0.3) Bin(b; n, 0.45), summed here with math.comb; the sample size
    # is the smallest n with P >= 80% at n, n + 1 and n + 2 (the documented guard against the saw-tooth)
    from math import comb

    def p_correct(m: int) -> float:
        pa = [comb(m, a) * 0.3**a * 0.7 ** (m - a) for a in range(m + 1)]
        pb = [comb(m, b) * 0.45**b * 0.55 ** (m - b) for b in range(m + 1)]
        return 100 * sum(pa[a] * pb[b] for a in range(m + 1) for b in range(a + 1, m + 1))

    smallest = next(k for k in range(1, 200) if all(p_correct(m) >= 80 for m in (k, k + 1, k + 2)))
    assert n == smallest == 21
    assert exact_comparison([0.3, 0.45], n).pct_correct_selection == pytest.approx(p_correct(n), abs=1e-9)
    # a larger difference needs fewer patients
    assert sample_size_per_arm([0.3, 0.55], 80) < n


def test_rule():
    resp = np.array([[6, 7], [6, 9], [3, 3]])
    np.testing.assert_array_equal(select_dosage(resp, 20, margin=0.1), [0, 1, 0])
    np.testing.assert_array_equal(select_dosage(resp, 20, tox=np.array([[9, 0], [0, 0], [9, 9]]), tox_limit=0.3),
                                  [1, 1, -1])
