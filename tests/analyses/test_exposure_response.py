"""Exposure-response, predictions and benefit-risk: statsmodels references, closed forms and the example
study's generator truth (examples/examplinib/generate.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special, stats

from dossier.analyses.benefit_risk import analyse_benefit_risk
from dossier.analyses.endpoints import subject_endpoints
from dossier.analyses.exposure_response import (
    analyse_exposure_response,
    exposure_table,
    fit_emax,
    fit_logistic_er,
    quartile_bins,
)
from dossier.analyses.predictions import analyse_predictions
from dossier.analyses.stats import clopper_pearson

from .conftest import tiny_study


def test_logistic_er_matches_statsmodels_glm_on_example(example):
    _, data = example
    er = analyse_exposure_response(data, "AUCSS", 240.0)
    se = subject_endpoints(data).join(exposure_table(data, "AUCSS").rename("exposure"), how="inner")
    for key in ("severe", "reduced"):
        m = er.model(key)
        ref = sm.GLM(se[key].astype(float).to_numpy(), sm.add_constant(np.log(se["exposure"].to_numpy())),
                     family=sm.families.Binomial()).fit()
        assert m.slope == pytest.approx(ref.params[1], abs=1e-8)
        assert m.slope_se == pytest.approx(ref.bse[1], abs=1e-8)
        assert m.p_value == pytest.approx(ref.pvalues[1], rel=1e-6)
        assert m.or_per_doubling == pytest.approx(math.exp(ref.params[1] * math.log(2)))


def test_logistic_er_closed_form_two_exposures():
    """Exposures 1 and e (log 0 and 1): slope = log odds ratio, intercept = logit of the low group."""
    expo = np.array([1.0] * 8 + [math.e] * 8)
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0] + [1, 1, 1, 1, 1, 0, 0, 0], float)
    m = fit_logistic_er(expo, y, "severe")
    assert m.intercept == pytest.approx(math.log(2 / 6), abs=1e-8)
    assert m.slope == pytest.approx(math.log((5 / 3) / (2 / 6)), abs=1e-8)
    assert m.slope_se == pytest.approx(math.sqrt(1 / 2 + 1 / 6 + 1 / 5 + 1 / 3), abs=1e-6)
    # model curve passes through the observed group rates
    assert m.curve_prob[0] == pytest.approx(2 / 8, abs=1e-8) and m.curve_prob[-1] == pytest.approx(5 / 8, abs=1e-8)


def test_logistic_er_with_covariate_matches_statsmodels():
    rng = np.random.default_rng(11)
    n = 300
    expo = rng.lognormal(3, 0.6, n)
    wt = rng.normal(70, 12, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-4 + 1.0 * np.log(expo) + 0.01 * (wt - 70))))).astype(float)
    m = fit_logistic_er(expo, y, "severe", covariates=pd.DataFrame({"weight_kg": wt}))
    ref = sm.GLM(y, np.column_stack([np.ones(n), np.log(expo), wt]), family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(m.fit.coef, ref.params, atol=1e-8)
    assert m.covariates == ["weight_kg"]


def test_quartile_bins_exact_cis():
    expo = np.arange(1, 21, dtype=float)
    y = (np.arange(20) % 3 == 0).astype(float)
    bins = quartile_bins(expo, y)
    assert [b.rate.n for b in bins] == [5, 5, 5, 5]
    assert sum(b.rate.events for b in bins) == int(y.sum())
    lo, hi = clopper_pearson(bins[0].rate.events, 5)
    assert bins[0].rate.ci_lower == pytest.approx(lo) and bins[0].rate.ci_upper == pytest.approx(hi)


def test_emax_fit_recovers_simulated_truth():
    """p(C) = 0.05 + 0.40 C / (5 + C) (the example generator's efficacy truth) on a wide exposure range."""
    rng = np.random.default_rng(2)
    c = np.exp(rng.uniform(np.log(0.3), np.log(150), 3000))
    y = (rng.random(3000) < 0.05 + 0.40 * c / (5 + c)).astype(float)
    m = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={240.0: 24.0})
    assert m.ec50_ci_lower < 5 < m.ec50_ci_upper
    assert m.e0 == pytest.approx(0.05, abs=0.04) and m.e0 + m.emax == pytest.approx(0.45, abs=0.04)
    assert m.fraction_of_max_at_dose["240"] == pytest.approx(24 / (m.ec50 + 24))


def _theta(m) -> np.ndarray:
    return np.array([special.logit(m.e0), special.logit(m.e0 + m.emax), np.log(m.ec50)])


def _profile_deviance(m, c, y, ec50: float) -> float:
    """2 (l_max - l_p(EC50)) re-fitted here from several starts (independent of profile_ci_ec50)."""
    from scipy import optimize

    from dossier.analyses.exposure_response import _emax_negll

    best = np.inf
    for start in ([special.logit(m.e0), special.logit(m.e0 + m.emax)], [-2.0, 0.0], [-1.0, -0.5]):
        res = optimize.minimize(lambda o: _emax_negll(np.array([o[0], o[1], np.log(ec50)]), c, y), start,
                                method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 8000})
        best = min(best, res.fun)
    return 2 * (best + m.loglik)


def test_emax_profile_likelihood_ci_solves_the_likelihood_ratio_equation():
    """At each bound the profile deviance equals chi2_1(0.95) = 3.841; inside it is smaller."""
    rng = np.random.default_rng(7)
    c = np.exp(rng.uniform(np.log(0.3), np.log(150), 240))
    y = (rng.random(240) < 0.05 + 0.40 * c / (5 + c)).astype(float)
    m = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={})
    assert m.ec50_ci_method == "profile likelihood"
    crit = stats.chi2.ppf(0.95, 1)
    for bound in (m.ec50_ci_lower, m.ec50_ci_upper):
        assert _profile_deviance(m, c, y, bound) == pytest.approx(crit, abs=2e-3)
    assert _profile_deviance(m, c, y, np.sqrt(m.ec50_ci_lower * m.ec50)) < crit
    assert m.ec50_ci_lower < m.ec50 < m.ec50_ci_upper


def test_emax_profile_ci_close_to_wald_in_large_samples():
    """With 3000 patients the log-likelihood of log EC50 is nearly quadratic: the profile interval is close
    to the Wald interval from the observed information (numerical Hessian)."""
    from dossier.analyses.exposure_response import _emax_negll

    rng = np.random.default_rng(2)
    c = np.exp(rng.uniform(np.log(0.3), np.log(150), 3000))
    y = (rng.random(3000) < 0.05 + 0.40 * c / (5 + c)).astype(float)
    m = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={})
    th, h = _theta(m), 1e-4
    hess = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h, np.eye(3)[j] * h
            f = lambda t: _emax_negll(t, c, y)  # noqa: E731
            hess[i, j] = (f(th + ei + ej) - f(th + ei - ej) - f(th - ei + ej) + f(th - ei - ej)) / (4 * h * h)
    se = np.sqrt(np.linalg.inv(hess)[2, 2])
    wald = np.exp(th[2] - 1.959964 * se), np.exp(th[2] + 1.959964 * se)
    assert np.log(m.ec50_ci_lower) == pytest.approx(np.log(wald[0]), abs=0.15 * 2 * 1.96 * se)
    assert np.log(m.ec50_ci_upper) == pytest.approx(np.log(wald[1]), abs=0.15 * 2 * 1.96 * se)


def test_emax_profile_ci_not_estimable_without_exposure_response():
    rng = np.random.default_rng(2)
    c = np.exp(rng.uniform(0, 3, 150))
    y = (rng.random(150) < 0.3).astype(float)
    m = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={})
    assert m.ec50_ci_lower is None and m.ec50_ci_upper is None


def test_example_truth_flat_efficacy_above_plateau_and_positive_safety(example):
    """Generator truth: ORR sigmoid Emax in AUC (EC50 = exposure of 150 mg, Hill 4) -> nearly flat from
    240 mg up; dose reduction and discontinuation logistic in log AUC with slopes 1.6 and 1.3 (95% CIs
    must cover them)."""
    spec, data = example
    er = analyse_exposure_response(data, spec.filters.exposure_paramcd, spec.proposed_dosage)
    above = er.efficacy_above_proposed
    # true logit slope over the 240-960 mg exposures is ~0.2 per log unit (logit 0.48 -> 0.55 over a
    # 4-fold range): the CI covers it and 0
    assert above.slope_ci_lower < 0 < above.slope_ci_upper
    assert above.slope_ci_lower < 0.2 < above.slope_ci_upper
    # ... while over all doses response rises with exposure (60 -> 240 mg: ORR ~6% -> 48%)
    assert er.model("response").slope_ci_lower > 0
    for key, truth in (("reduced", 1.6), ("withdrawn", 1.3)):
        m = er.model(key)
        assert m.slope_ci_lower < truth < m.slope_ci_upper, (key, m.slope, m.slope_ci_lower, m.slope_ci_upper)
    assert er.model("reduced").slope_ci_lower > 0
    assert er.model("severe").slope_ci_lower > 0 and er.model("modified").slope_ci_lower > 0
    assert "quartile_binning" in er.pitfalls and "clearance_confounding" not in er.pitfalls
    assert er.pfs is not None and len(er.pfs.km_by_quartile) == 4
    assert [b.dose for b in er.exposure_by_dose] == spec.doses.levels
    # exposure roughly dose-proportional
    med = {b.dose: b.median for b in er.exposure_by_dose}
    assert med[480.0] / med[240.0] == pytest.approx(2, rel=0.25)
    json.dumps(er.model_dump(mode="json"))


def test_no_pk_gives_none():
    d = tiny_study([{"usubjid": "A", "dose": 1.0}])
    assert analyse_exposure_response(d, "AUCSS") is None


def test_predictions_and_benefit_risk_on_example(example):
    spec, data = example
    er = analyse_exposure_response(data, "AUCSS", 240.0)
    p1, draws = analyse_predictions(data, er, spec.doses.levels, 240.0, np.random.default_rng(1), n_bootstrap=400)
    p2, _ = analyse_predictions(data, er, spec.doses.levels, 240.0, np.random.default_rng(1), n_bootstrap=400)
    assert p1.model_dump() == p2.model_dump()  # deterministic for a seed
    at = {d.dose: d for d in p1.dosages}
    for dose in (240.0, 480.0):
        for e in at[dose].endpoints:
            assert e.ci_lower <= e.estimate <= e.ci_upper
    # predicted ORR at 240/480 within sampling error of the observed randomized rates (18/40, 20/40)
    for dose, events in ((240.0, 18), (480.0, 20)):
        r = at[dose].get("response")
        lo, hi = clopper_pearson(events, 40)
        assert lo < r.estimate < hi
    diff = {(d.dose, d.endpoint): d for d in p1.differences}
    assert diff[(480.0, "severe")].ci_lower > 0 and diff[(480.0, "modified")].ci_lower > 0
    # the lower doses lose response (truth: ORR ~20% at 120 mg vs ~48% at 240 mg)
    assert diff[(120.0, "response")].ci_upper < 0 and diff[(60.0, "response")].ci_upper < 0
    # mean over the exposure distribution (not at the median exposure)
    m = er.model("severe")
    assert at[480.0].get("severe").estimate != pytest.approx(float(m.predict(np.array([at[480.0].exposure_median]))[0, 0]),
                                                             abs=1e-6)
    br = analyse_benefit_risk(p1, draws, 240.0)
    assert br.recommended_dose == 240.0 and br.agrees_with_proposal
    assert not next(u for u in br.dosages if u.dose == 60.0).candidate  # 3 patients: not a candidate
    assert sum(u.prob_best for u in br.dosages) == pytest.approx(1.0)
    assert br.robust_efficacy_weight_min <= 0.5 <= br.robust_efficacy_weight_max
    drv = [d for d in br.drivers if d.dose == 480.0 and d.source == "model"]
    assert {d.endpoint for d in drv} == {"response", "severe", "modified"}
    # sensitivity: with only efficacy weight the utilities order follows predicted ORR
    assert len(br.sensitivity) == 17


def test_lognormal_prediction_method(example):
    spec, data = example
    er = analyse_exposure_response(data, "AUCSS", 240.0)
    p, _ = analyse_predictions(data, er, [240.0, 480.0], 240.0, np.random.default_rng(3), n_bootstrap=200,
                               method="lognormal")
    assert p.method == "lognormal"
    assert p.dosages[1].exposure_median == pytest.approx(2 * p.dosages[0].exposure_median)


def test_sigmoid_emax_fit_recovers_hill_coefficient():
    rng = np.random.default_rng(8)
    c = np.exp(rng.uniform(np.log(0.5), np.log(100), 4000))
    y = (rng.random(4000) < 0.1 + 0.6 * c ** 2.5 / (8 ** 2.5 + c ** 2.5)).astype(float)
    m = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={}, sigmoid=True)
    plain = fit_emax(c, y, "response", logistic_aic=np.inf, dose_medians={})
    assert m.hill == pytest.approx(2.5, rel=0.3) and m.ec50 == pytest.approx(8, rel=0.15)
    assert m.aic < plain.aic  # the Hill coefficient is needed
