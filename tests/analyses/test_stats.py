"""Building blocks against closed forms, hand computation and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from dossier.analyses.stats import (
    clopper_pearson,
    cox_ph,
    kaplan_meier,
    km_at,
    logistic_fit,
    logistic_irls_batch,
    newcombe_diff_ci,
    rate,
)


@pytest.mark.parametrize("x,n", [(0, 10), (3, 10), (10, 10), (15, 40), (1, 1)])
def test_clopper_pearson_matches_beta_quantiles(x, n):
    """Closed form (Clopper & Pearson 1934): lower = Beta(a/2; x, n-x+1), upper = Beta(1-a/2; x+1, n-x)."""
    lo, hi = clopper_pearson(x, n)
    exp_lo = 0.0 if x == 0 else stats.beta.ppf(0.025, x, n - x + 1)
    exp_hi = 1.0 if x == n else stats.beta.ppf(0.975, x + 1, n - x)
    assert lo == pytest.approx(exp_lo, abs=1e-12) and hi == pytest.approx(exp_hi, abs=1e-12)
    # defining property: the binomial tail at the bounds equals alpha/2
    if 0 < x:
        assert stats.binom.sf(x - 1, n, lo) == pytest.approx(0.025, abs=1e-9)
    if x < n:
        assert stats.binom.cdf(x, n, hi) == pytest.approx(0.025, abs=1e-9)


def test_clopper_pearson_known_value():
    # 0/10 upper bound is 1 - 0.025^(1/10)
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** 0.1, abs=1e-12)
    r = rate(15, 40)
    assert r.rate == 0.375 and r.ci_lower < 0.375 < r.ci_upper


def test_newcombe_method10_published_example():
    """Newcombe (1998) Table II example (56/70 vs 48/80): difference 0.2, 95% CI 0.0524 to 0.3339."""
    d, lo, hi = newcombe_diff_ci(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=1e-4) and hi == pytest.approx(0.3339, abs=1e-4)


def test_kaplan_meier_by_hand():
    # times 1,2,2,3+,4,5+ ; events at 1 (r=6), 2 (two events, r=5), 4 (r=2)
    t = np.array([1, 2, 2, 3, 4, 5.0])
    e = np.array([1, 1, 1, 0, 1, 0], bool)
    km = kaplan_meier(t, e)
    s1 = 5 / 6
    s2 = s1 * 3 / 5
    s4 = s2 * 1 / 2
    assert km.time == [0.0, 1.0, 2.0, 4.0]
    np.testing.assert_allclose(km.survival, [1, s1, s2, s4])
    assert km.at_risk == [6, 6, 5, 2]
    assert km.median == 2.0  # first time S <= 0.5
    assert km.last_time == 5.0  # the curve runs to the last (censored) follow-up
    assert km_at(km, 3.5) == pytest.approx(s2)
    # Greenwood variance at t=2: S^2 * (1/(6*5) + 2/(5*3)); log(-log) band
    v = 1 / 30 + 2 / 15
    se = math.sqrt(v) / abs(math.log(s2))
    assert km.ci_lower[2] == pytest.approx(s2 ** math.exp(1.959963984540054 * se))
    assert km.ci_upper[2] == pytest.approx(s2 ** math.exp(-1.959963984540054 * se))


def test_cox_matches_statsmodels_and_two_group_exponential():
    rng = np.random.default_rng(4)
    n = 300
    g = np.repeat([0.0, 1.0], n // 2)
    t = rng.exponential(1 / np.where(g == 1, 2.0, 1.0))
    c = rng.uniform(0, 2, n)
    time, event = np.minimum(t, c), t <= c
    hr = cox_ph(time, event, pd.DataFrame({"arm": g}), "arm")
    from statsmodels.duration.hazard_regression import PHReg

    ref = PHReg(time, g[:, None], status=event.astype(int), ties="breslow").fit()
    assert math.log(hr.hr) == pytest.approx(ref.params[0], abs=1e-10)
    assert hr.p_value == pytest.approx(ref.pvalues[0], rel=1e-6)
    assert hr.ci_lower < 2.0 < hr.ci_upper  # true HR 2


def test_logistic_fit_matches_statsmodels_glm_and_batch_irls():
    rng = np.random.default_rng(7)
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-(-0.5 + 1.2 * x)))).astype(float)
    X = pd.DataFrame({"const": 1.0, "x": x})
    fit = logistic_fit(X, y)
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(fit.coef, ref.params, atol=1e-8)
    np.testing.assert_allclose(fit.se, ref.bse, atol=1e-8)
    assert fit.aic == pytest.approx(ref.aic)
    # batch IRLS with unit weights and with integer frequency weights == row duplication
    b = logistic_irls_batch(X.to_numpy(), y, np.ones((1, 200)))[0]
    np.testing.assert_allclose(b, ref.params, atol=1e-7)
    w = rng.integers(0, 3, 200).astype(float)
    bw = logistic_irls_batch(X.to_numpy(), y, w[None, :])[0]
    rep = np.repeat(np.arange(200), w.astype(int))
    ref_w = sm.GLM(y[rep], X.to_numpy()[rep], family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(bw, ref_w.params, atol=1e-7)


def test_logistic_closed_form_two_exposure_levels():
    """With a binary covariate the MLE is closed form: intercept = logit(p0), slope = log odds ratio."""
    x = np.array([0.0] * 10 + [1.0] * 10)
    y = np.array([1] * 2 + [0] * 8 + [1] * 6 + [0] * 4, float)
    fit = logistic_fit(pd.DataFrame({"const": 1.0, "x": x}), y)
    assert fit.coef[0] == pytest.approx(math.log(2 / 8), abs=1e-8)
    assert fit.coef[1] == pytest.approx(math.log((6 / 4) / (2 / 8)), abs=1e-8)
    assert fit.se[1] == pytest.approx(math.sqrt(1 / 2 + 1 / 8 + 1 / 6 + 1 / 4), abs=1e-6)
