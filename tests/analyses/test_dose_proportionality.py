"""Dose proportionality: Smith et al. (2000) acceptance interval and verdicts; power-model fits vs closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dossier.analyses.dose_proportionality import acceptance_interval, analyse_dose_proportionality, verdict


def test_acceptance_interval_closed_form():
    """Smith et al. 2000 eq. 5 with θL = 0.8, θH = 1.25: r = 5 gives (0.8614, 1.1386), r = 2 (0.678, 1.322)."""
    lo, hi = acceptance_interval(5.0)
    assert lo == pytest.approx(1 + math.log(0.8) / math.log(5)) and lo == pytest.approx(0.86135, abs=5e-6)
    assert hi == pytest.approx(1.13865, abs=5e-6)
    lo2, hi2 = acceptance_interval(2.0)
    assert (lo2, hi2) == pytest.approx((0.678072, 1.321928), abs=1e-6)
    with pytest.raises(ValueError):
        acceptance_interval(1.0)


def test_verdicts():
    assert verdict(0.90, 1.10, 0.86, 1.14) == "proportional"
    assert verdict(0.50, 0.80, 0.86, 1.14) == "less than proportional"
    assert verdict(1.20, 1.40, 0.86, 1.14) == "more than proportional"
    # issue 13 item 6: a CI of 0.17-1.43 contains 1 but is not evidence of proportionality
    assert verdict(0.17, 1.43, 0.86, 1.14) == "inconclusive"
    assert verdict(0.80, 0.95, 0.86, 1.14) == "inconclusive"


def test_ols_matches_closed_form_and_t_interval():
    rng = np.random.default_rng(1)
    dose = np.repeat([25.0, 50.0, 100.0, 200.0], 6)
    y = 1.0 + 0.93 * np.log(dose) + rng.normal(0, 0.2, dose.size)
    r = analyse_dose_proportionality(dose, np.exp(y), metric="AUCIFO")
    x = np.log(dose)
    xc = x - x.mean()
    b = xc @ (y - y.mean()) / (xc @ xc)
    a = y.mean() - b * x.mean()
    s2 = ((y - a - b * x) ** 2).sum() / (len(y) - 2)
    se = math.sqrt(s2 / (xc @ xc))
    t = stats.t.ppf(0.95, len(y) - 2)
    assert r.model == "ordinary least squares" and r.df == len(y) - 2
    assert r.estimate == pytest.approx(b, rel=1e-12) and r.se == pytest.approx(se, rel=1e-12)
    assert (r.lower, r.upper) == pytest.approx((b - t * se, b + t * se), rel=1e-12)
    assert r.dose_ratio == 8.0
    assert (r.acceptance_lower, r.acceptance_upper) == pytest.approx(acceptance_interval(8.0))
    assert r.verdict == verdict(r.lower, r.upper, r.acceptance_lower, r.acceptance_upper)


def test_exactly_proportional_and_less_than_proportional():
    dose = np.repeat([10.0, 100.0], 5)
    noise = np.tile([-0.02, -0.01, 0.0, 0.01, 0.02], 2)
    assert analyse_dose_proportionality(dose, 3 * dose * np.exp(noise)).verdict == "proportional"
    assert analyse_dose_proportionality(dose, 3 * dose ** 0.5 * np.exp(noise)).verdict == "less than proportional"
    assert analyse_dose_proportionality(dose, 3 * dose ** 1.6 * np.exp(noise)).verdict == "more than proportional"


def test_crossover_mixed_model_equals_within_subject_closed_form():
    """Balanced crossover (every subject at every dose), random subject intercept by REML: the slope is the
    within-subject estimator Σ(x - x̄_i)(y - ȳ_i)/Σ(x - x̄_i)² and its SE uses σ̂² = SSE_within/(N - n - 1)."""
    rng = np.random.default_rng(7)
    n, doses = 12, np.array([25.0, 50.0, 100.0])
    subj = np.repeat(np.arange(n), 3)
    dose = np.tile(doses, n)
    y = 2.0 + rng.normal(0, 0.6, n)[subj] + 1.05 * np.log(dose) + rng.normal(0, 0.1, subj.size)
    r = analyse_dose_proportionality(dose, np.exp(y), subj, metric="CMAX")
    x = np.log(dose)
    xw = x - np.bincount(subj, x)[subj] / 3
    yw = y - np.bincount(subj, y)[subj] / 3
    b = xw @ yw / (xw @ xw)
    s2 = ((yw - b * xw) ** 2).sum() / (subj.size - n - 1)
    assert r.model.startswith("linear mixed model")
    assert r.estimate == pytest.approx(b, rel=1e-5)
    assert r.se == pytest.approx(math.sqrt(s2 / (xw @ xw)), rel=1e-4)  # REML optimiser convergence
    assert r.df == subj.size - n - 1


def test_cannot_be_assessed():
    r = analyse_dose_proportionality([100.0, 100.0, 100.0], [1.0, 2.0, 3.0])
    assert r.verdict == "cannot be assessed" and r.estimate is None
    assert str(r.reason) == "fewer than two distinct doses with AUC values"
    # zero / missing values have no logarithm and are left out
    r2 = analyse_dose_proportionality([10.0, 20.0, 20.0], [0.0, np.nan, 4.0])
    assert r2.verdict == "cannot be assessed" and r2.n == 1
