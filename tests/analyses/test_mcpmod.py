"""MCP-Mod against the R package DoseFinding (numbers frozen in fixtures/dosefinding_reference.json by
fixtures/make_dosefinding_fixtures.R, whose R calls are stored beside each value in the JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dossier.analyses.mcpmod import (
    MaxTDistribution,
    analyse_mcpmod,
    contrast_test,
    fit_model,
    target_dose,
)

FIX = json.loads((Path(__file__).parent / "fixtures" / "dosefinding_reference.json").read_text())
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "dosefinding"

BIOM4 = [("linear", []), ("emax", [0.2]), ("exponential", [0.5]), ("logistic", [0.5, 0.1])]
BIOM6 = [("linear", []), ("emax", [0.2]), ("sigEmax", [0.4, 3]), ("exponential", [0.5]), ("quadratic", [-0.85]),
         ("logistic", [0.5, 0.1])]


def _biom_stats():
    b = FIX["biom_data"]
    doses, means, n = (np.array(b[k], float) for k in ("doses", "means", "n"))
    df = n.sum() - len(n)
    s2 = b["within_ss"] / df
    return doses, means, n, b["within_ss"], df, np.diag(s2 / n)


def _biom_individual():
    """Pseudo-individual data with exactly the biom dose means and within-group SS (what MCP-Mod uses)."""
    doses, means, n, within, *_ = _biom_stats()
    rng = np.random.default_rng(0)
    d_all, y_all = [], []
    per_group = within / len(doses)
    for d, m, k in zip(doses, means, n, strict=True):
        z = rng.standard_normal(int(k))
        z = (z - z.mean()) / np.sqrt(((z - z.mean()) ** 2).sum()) * np.sqrt(per_group)
        d_all += [d] * int(k)
        y_all += list(m + z)
    return np.array(d_all), np.array(y_all)


@pytest.mark.parametrize("key,cands", [("biom_mct4", BIOM4), ("biom_mct6", BIOM6)])
def test_contrasts_tstats_critical_value_match_dosefinding_mcttest(key, cands):
    ref = FIX[key]
    doses, means, n, _, df, vc = _biom_stats()
    res = contrast_test(doses, means, vc, df, cands, alpha=0.025)
    assert res.models == ref["models"]
    np.testing.assert_allclose(np.array(res.contrasts).T, np.array(ref["contMat"]), atol=1e-6)
    np.testing.assert_allclose(np.array(res.correlation), np.array(ref["corMat"]), atol=1e-6)
    np.testing.assert_allclose(res.t_statistics, ref["tStat"], atol=1e-6)
    # critical value: DoseFinding with a tight Genz-Bretz algorithm (R's default is itself only ~1e-3 exact)
    assert abs(res.critical_value - ref["critVal_precise"]) < 1e-3, (res.critical_value, ref["critVal_precise"])
    assert abs(res.critical_value - ref["critVal_default"]) < 5e-3
    np.testing.assert_allclose(res.p_values, ref["pVal_precise"], atol=1e-3)


@pytest.mark.parametrize("key,cands", [
    ("glycobrom_mct", [("emax", [0.15]), ("linear", []), ("logistic", [25, 6])]),
    ("migraine_mct", [("linear", []), ("emax", [10]), ("exponential", [100])]),
])
def test_general_approach_matches_dosefinding(key, cands):
    """type = "general" (estimates + covariance, df = Inf): glycobrom LS means and migraine logits."""
    ref = FIX[key]
    doses = np.array(ref["doses"], float)
    if key == "glycobrom_mct":
        gly = np.genfromtxt(SHARED / "glycobrom.csv", delimiter=",", names=True) if SHARED.exists() else None
        if gly is None:
            pytest.skip(f"shared DoseFinding data not found at {SHARED}")
        est, S = np.asarray(gly["fev1"], float), np.diag(np.asarray(gly["sdev"], float) ** 2)
    else:
        mig = np.genfromtxt(SHARED / "migraine.csv", delimiter=",", names=True) if SHARED.exists() else None
        if mig is None:
            pytest.skip(f"shared DoseFinding data not found at {SHARED}")
        x, n = np.asarray(mig["painfree"], float), np.asarray(mig["ntrt"], float)
        est = np.log(x / (n - x))
        S = np.diag(1 / x + 1 / (n - x))  # the saturated glm's vcov
        np.testing.assert_allclose(est, ref["mu"], atol=1e-6)
    res = contrast_test(doses, est, S, np.inf, cands)
    np.testing.assert_allclose(np.array(res.contrasts).T, np.array(ref["contMat"]), atol=1e-6)
    np.testing.assert_allclose(res.t_statistics, ref["tStat"], atol=1e-5)
    assert abs(res.critical_value - ref["critVal_precise"]) < 1e-3
    np.testing.assert_allclose(res.p_values, ref["pVal_precise"], atol=1e-4)
    R = np.linalg.cholesky(np.linalg.inv(S)).T
    if key == "glycobrom_mct":
        f = fit_model("emax", doses, est, R, bounds=np.array([[0.01, 300]]))
        np.testing.assert_allclose(list(f.params.values()), FIX["glycobrom_fit_emax"]["coefs"], rtol=1e-3, atol=1e-4)
        assert abs(f.criterion - FIX["glycobrom_fit_emax"]["gAIC"]) < 1e-3
    else:
        f = fit_model("emax", doses, est, R, bounds=np.array([[0.2, 300]]))
        np.testing.assert_allclose(list(f.params.values()), FIX["migraine_fit_emax"]["coefs"], rtol=1e-3, atol=1e-4)
        assert abs(f.rss - FIX["migraine_fit_emax"]["gRSS"]) < 1e-3


@pytest.mark.parametrize("model", ["linear", "quadratic", "emax", "exponential", "sigEmax", "logistic"])
def test_fitmod_parameters_aic_and_td_match_dosefinding(model):
    ref = FIX["biom_fit"][model]
    doses, means, n, within, *_ = _biom_stats()
    f = fit_model(model, doses, means, np.diag(np.sqrt(n)), extra_rss=within, n_obs=int(n.sum()))
    np.testing.assert_allclose(list(f.params.values()), ref["coefs"], atol=1e-3, rtol=1e-3)
    assert abs(f.rss - ref["RSS"]) < 1e-3
    assert abs(f.criterion - ref["AIC"]) < 1e-3
    td = target_dose(f, 0.3)
    if isinstance(ref["TD_0.3"], (int, float)):
        assert td is not None and abs(td - ref["TD_0.3"]) < 1e-3
    else:
        assert td is None


def test_mcpmod_selection_and_target_dose_match_dosefinding():
    ref = FIX["biom_mcpmod"]
    d, y = _biom_individual()
    res = analyse_mcpmod(d, y, "biom", candidates=BIOM6, delta=0.5, rng=np.random.default_rng(5), n_bootstrap=300)
    assert res is not None
    assert [f.model for f in res.fits] == ref["significant"]
    np.testing.assert_allclose([f.criterion for f in res.fits], ref["aic"], atol=1e-3)
    assert res.selected_model == ref["selected"]
    assert abs(res.target_dose - ref["TD"][ref["TD_names"].index(ref["selected"])]) < 1e-3
    ave = FIX["biom_mcpmod_ave"]
    np.testing.assert_allclose([res.model_weights[m] for m in ave["names"]], ave["weights"], atol=1e-3)
    # bootstrap CI brackets the estimate
    assert res.target_dose_ci_lower is not None and res.target_dose_ci_lower < res.target_dose
    assert res.within_qualification_context and res.context_notes == []


def test_max_t_distribution_univariate_and_independent_cases():
    """Closed forms: one contrast is Student t; independent normals: P(max <= q) = Phi(q)^m."""
    from scipy import stats

    d1 = MaxTDistribution(np.eye(1), 10)
    assert abs(d1.quantile(0.975) - stats.t.ppf(0.975, 10)) < 1e-6
    d3 = MaxTDistribution(np.eye(3), np.inf)
    q = 2.2
    assert abs(d3.cdf(q) - stats.norm.cdf(q) ** 3) < 2e-5


def test_binary_endpoint_flags_context_and_uses_logit_scale():
    rng = np.random.default_rng(3)
    doses = np.repeat([0.0, 54.0, 81.0], 80)
    p = np.select([doses == 0, doses == 54], [0.1, 0.25], 0.35)
    y = (rng.random(len(doses)) < p).astype(float)
    res = analyse_mcpmod(doses, y, "ae", data_type="binary", delta=0.1, rng=rng, n_bootstrap=200, kind="safety")
    assert res.scale == "logit" and res.n_doses_incl_placebo == 3
    assert not res.within_qualification_context and "fewer_than_4_doses" in res.context_notes
    assert res.dose_response_detected
    assert all(0 <= v <= 1 for v in res.curve_response)


def test_ibscovars_individual_data_if_available():
    path = SHARED / "IBScovars.csv"
    if not path.exists():
        pytest.skip(f"shared DoseFinding data not found at {path}")
    ibs = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    res = analyse_mcpmod(np.asarray(ibs["dose"], float), np.asarray(ibs["resp"], float), "ibs",
                         candidates=[("linear", []), ("emax", [0.2]), ("exponential", [2.0])], delta=0.25,
                         rng=np.random.default_rng(1), n_bootstrap=100)
    assert res.dose_response_detected
    assert res.test.p_values[res.test.models.index("emax")] < 0.01


def test_max_t_distribution_matches_scipy_genz_for_a_nonsingular_case():
    """Independent reference: scipy's Genz quasi-Monte Carlo multivariate t / normal cdf."""
    from scipy import stats

    corr = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]])
    for df in (12.0, np.inf):
        dist = MaxTDistribution(corr, df)
        for q in (2.1, 0.8, -0.5):
            if np.isfinite(df):
                ref = stats.multivariate_t(shape=corr, df=df).cdf(np.full(3, q), random_state=1, maxpts=300_000)
            else:
                ref = stats.multivariate_normal(cov=corr, abseps=1e-6, maxpts=300_000).cdf(np.full(3, q), rng=1)
            assert abs(dist.cdf(q) - ref) < 2e-4, (df, q, dist.cdf(q), ref)


# ---- betaMod / linlog / linInt, vcov and predict(se.fit) (DoseFinding 1.0.3, calls stored in the JSON) ----

BIOM9 = [("linear", []), ("linlog", []), ("emax", [0.2]), ("exponential", [0.5]), ("quadratic", [-0.85]),
         ("logistic", [0.5, 0.1]), ("sigEmax", [0.4, 3]), ("betaMod", [0.3, 1.2]), ("linInt", [0.5, 0.75, 1, 1])]


def test_guesstimates_of_all_models_match_dosefinding_mods():
    from dossier.analyses.mcpmod import add_args, candidate_means

    ref = FIX["biom_mods9"]
    doses = np.array(FIX["biom_data"]["doses"], float)
    assert add_args(doses) == pytest.approx((ref["scal"], ref["off"]))
    names, mu = candidate_means(BIOM9, doses)
    assert names == ref["models"]
    np.testing.assert_allclose(mu, np.array(ref["muMat"]), atol=1e-10)
    ref2 = FIX["biom_mods_addargs"]
    _, mu2 = candidate_means([("linlog", []), ("betaMod", [1, 1])], doses, scal=2, off=0.1)
    np.testing.assert_allclose(mu2, np.array(ref2["muMat"]), atol=1e-10)


def test_contrast_test_with_betamod_linlog_linint_matches_dosefinding():
    ref = FIX["biom_mct9"]
    doses, means, n, _, df, vc = _biom_stats()
    res = contrast_test(doses, means, vc, df, BIOM9)
    assert res.models == ref["models"]
    np.testing.assert_allclose(np.array(res.contrasts).T, np.array(ref["contMat"]), atol=1e-6)
    np.testing.assert_allclose(res.t_statistics, ref["tStat"], atol=1e-6)
    assert abs(res.critical_value - ref["critVal_precise"]) < 1e-3
    np.testing.assert_allclose(res.p_values, ref["pVal_precise"], atol=1e-3)


@pytest.mark.parametrize("model", ["linear", "linlog", "quadratic", "linInt", "emax", "exponential", "sigEmax",
                                   "logistic", "betaMod"])
def test_fitmod_vcov_and_predict_se_match_dosefinding(model):
    ref = FIX["biom_fit_vcov"][model]
    doses, means, n, within, *_ = _biom_stats()
    f = fit_model(model, doses, means, np.diag(np.sqrt(n)), extra_rss=within, n_obs=int(n.sum()))
    np.testing.assert_allclose(list(f.params.values()), ref["coefs"], atol=1e-3, rtol=1e-3)
    assert list(f.params) == ref["names"]
    assert abs(f.criterion - ref["AIC"]) < 1e-3 and f.df == ref["df"]
    np.testing.assert_allclose(np.array(f.covariance), np.array(ref["vcov"]), rtol=2e-3, atol=1e-4)
    for kind, key in (("ls-means", "lsmeans"), ("effect-curve", "effect")):
        fit, se = f.predict(np.array(ref["doseSeq"]), kind=kind)
        np.testing.assert_allclose(fit, ref[f"pred_{key}"], atol=1e-4)
        np.testing.assert_allclose(se, ref[f"se_{key}"], rtol=2e-3, atol=1e-5)
    td = target_dose(f, 0.3)
    if isinstance(ref["TD_0.3"], (int, float)):
        assert td is not None and abs(td - ref["TD_0.3"]) < 1e-3
    else:
        assert td is None


@pytest.mark.parametrize("key,model,bounds,scal", [
    ("glycobrom_fit_vcov", "emax", [[0.01, 300]], None),
    ("glycobrom_fit_betamod", "betaMod", None, 150.0),
    ("migraine_fit_vcov", "emax", [[0.2, 300]], None),
])
def test_general_fit_vcov_matches_dosefinding(key, model, bounds, scal):
    ref = FIX[key]
    if not SHARED.exists():
        pytest.skip(f"shared DoseFinding data not found at {SHARED}")
    if key.startswith("glycobrom"):
        gly = np.genfromtxt(SHARED / "glycobrom.csv", delimiter=",", names=True)
        doses, est, S = np.asarray(gly["dose"], float), np.asarray(gly["fev1"], float), np.diag(gly["sdev"] ** 2)
    else:
        mig = np.genfromtxt(SHARED / "migraine.csv", delimiter=",", names=True)
        x, nn = np.asarray(mig["painfree"], float), np.asarray(mig["ntrt"], float)
        doses, est, S = np.asarray(mig["dose"], float), np.log(x / (nn - x)), np.diag(1 / x + 1 / (nn - x))
    R = np.linalg.cholesky(np.linalg.inv(S)).T
    f = fit_model(model, doses, est, R, bounds=None if bounds is None else np.array(bounds), scal=scal)
    np.testing.assert_allclose(list(f.params.values()), ref["coefs"], rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(np.array(f.covariance), np.array(ref["vcov"]), rtol=5e-3, atol=1e-6)
    fit, se = f.predict(np.array(ref["doseSeq"]))
    np.testing.assert_allclose(fit, ref["pred_lsmeans"], atol=1e-4)
    np.testing.assert_allclose(se, ref["se_lsmeans"], rtol=5e-3, atol=1e-6)


# ---- ANCOVA (DoseFinding addCovars = ~gender) on IBScovars ---------------------------------------------

IBS_CANDS = [("emax", [0.2]), ("linInt", [0.25, 1, 1, 1]), ("linear", [])]


def _ibs():
    path = SHARED / "IBScovars.csv"
    if not path.exists():
        pytest.skip(f"shared DoseFinding data not found at {path}")
    ibs = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    gender = np.char.strip(np.asarray(ibs["gender"]).astype(str), '"')
    return np.asarray(ibs["dose"], float), np.asarray(ibs["resp"], float), gender


def test_ancova_contrast_test_matches_dosefinding_addcovars():
    from dossier.analyses.mcpmod import ancova_dose_estimates, covariate_design

    ref = FIX["ibs_mct_covars"]
    dose, resp, gender = _ibs()
    Z, names, center = covariate_design({"gender": gender}, len(dose))
    assert names == ["gender2"] and center == [0.5]
    anc = ancova_dose_estimates(dose, resp, Z, center)
    np.testing.assert_allclose(anc.coef, ref["lm_coef"][:5], atol=1e-10)
    np.testing.assert_allclose(anc.coef_cov, np.array(ref["lm_vcov"])[:5, :5], atol=1e-12)
    res = contrast_test(np.unique(dose), anc.coef, anc.coef_cov, anc.df, IBS_CANDS)
    assert res.models == ref["models"] and anc.df == ref["df"]
    np.testing.assert_allclose(res.t_statistics, ref["tStat"], atol=1e-6)
    assert abs(res.critical_value - ref["critVal_precise"]) < 1e-3
    np.testing.assert_allclose(res.p_values, ref["pVal_precise"], atol=1e-3)


@pytest.mark.parametrize("model", ["linear", "emax", "sigEmax", "linInt", "betaMod"])
def test_ancova_fits_match_dosefinding_fitmod_addcovars(model):
    from dossier.analyses.mcpmod import covariate_design

    ref = FIX["ibs_fit_covars"][model]
    dose, resp, gender = _ibs()
    Z, names, center = covariate_design({"gender": gender}, len(dose))
    f = fit_model(model, dose, resp, None, n_obs=len(dose), covariates=Z, covariate_names=names,
                  covariate_center=center)
    coefs = list(f.params.values()) + list(f.covariate_coefs.values())
    np.testing.assert_allclose(coefs, ref["coefs"], rtol=2e-3, atol=2e-4)
    assert list(f.params) + list(f.covariate_coefs) == ref["names"]
    assert abs(f.rss - ref["RSS"]) < 1e-4 and f.df == ref["df"] and abs(f.criterion - ref["AIC"]) < 1e-3
    np.testing.assert_allclose(np.array(f.covariance), np.array(ref["vcov"]), rtol=5e-3, atol=1e-6)
    fit, se = f.predict(np.array([0, 1, 2.5, 4.0]))
    np.testing.assert_allclose(fit, ref["pred_lsmeans"], atol=1e-4)
    np.testing.assert_allclose(se, ref["se_lsmeans"], rtol=5e-3, atol=1e-6)
    td = target_dose(f, 0.25)
    if isinstance(ref["TD_0.25"], (int, float)):
        assert td is not None and abs(td - ref["TD_0.25"]) < 2e-3
    else:
        assert td is None


def test_mcpmod_with_covariates_matches_dosefinding_mcpmod():
    ref = FIX["ibs_mcpmod_covars"]
    dose, resp, gender = _ibs()
    res = analyse_mcpmod(dose, resp, "ibs", candidates=IBS_CANDS, delta=0.25, covariates={"gender": gender},
                         rng=np.random.default_rng(2), n_bootstrap=100)
    assert res.covariates == ["gender2"]
    assert [f.model for f in res.fits] == ref["significant"]
    np.testing.assert_allclose([f.criterion for f in res.fits], ref["aic"], atol=1e-3)
    assert res.selected_model == ref["selected"]
    assert abs(res.target_dose - ref["TD"][ref["TD_names"].index(ref["selected"])]) < 2e-3
    # dose groups are LS-means; without the covariate they would be the raw means
    raw = np.array([resp[dose == d].mean() for d in np.unique(dose)])
    assert not np.allclose([g.estimate for g in res.groups], raw, atol=1e-6)


# ---- continuous Emax exposure-response (fitMod / nls / profile likelihood on a seeded R dataset) ----------

def _er_data():
    er = np.genfromtxt(Path(__file__).parent / "fixtures" / "er_continuous_dosefinding.csv", delimiter=",",
                       names=True)
    return np.asarray(er["conc"], float), np.asarray(er["pd"], float)


def test_continuous_emax_er_matches_dosefinding_nls_and_profile_ci():
    from dossier.analyses.exposure_response import fit_emax_continuous

    ref = FIX["er_continuous_emax"]
    c, y = _er_data()
    r = fit_emax_continuous(c, y, "pd", dose_medians={10.0: 8.0})
    assert r is not None and r.model == "emax" and r.n == 80
    np.testing.assert_allclose([r.e0, r.emax, r.ec50], ref["coefs"], rtol=1e-4)
    np.testing.assert_allclose([r.e0, r.emax, r.ec50], ref["nls_coefs"], rtol=1e-4)
    np.testing.assert_allclose(np.array(r.covariance), np.array(ref["vcov"]), rtol=1e-3)
    np.testing.assert_allclose(np.array(r.covariance), np.array(ref["nls_vcov"]), rtol=1e-3)
    assert abs(r.aic - ref["AIC"]) < 1e-4 and r.df == ref["df"]
    assert abs(r.residual_sd - np.sqrt(ref["RSS"] / ref["df"])) < 1e-8
    np.testing.assert_allclose([r.ec50_ci_lower, r.ec50_ci_upper], ref["profile_ci"], rtol=1e-5)
    assert r.ec50_ci_lower < r.ec50 < r.ec50_ci_upper
    assert r.fraction_of_max_at_dose["10"] == pytest.approx(8.0 / (r.ec50 + 8.0))
    # the curve band is the DoseFinding predict(se.fit = TRUE) band at the curve's exposures
    from dossier.analyses.mcpmod import fit_model

    f = fit_model("emax", c, y, None, n_obs=len(y))
    fit, se = f.predict(np.array(ref["doseSeq"]))
    np.testing.assert_allclose(fit, ref["pred"], rtol=1e-5)
    np.testing.assert_allclose(se, ref["se"], rtol=1e-3)


def test_continuous_sigmoid_emax_er_matches_dosefinding():
    from dossier.analyses.exposure_response import fit_emax_continuous

    ref = FIX["er_continuous_sigemax"]
    c, y = _er_data()
    r = fit_emax_continuous(c, y, "pd", sigmoid=True)
    np.testing.assert_allclose([r.e0, r.emax, r.ec50, r.hill], ref["coefs"], rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(np.array(r.covariance), np.array(ref["vcov"]), rtol=5e-3, atol=1e-6)
    assert abs(r.aic - ref["AIC"]) < 1e-3
    assert fit_emax_continuous(c[:8], y[:8], "pd") is None


def test_mcpmod_on_dosefinding_example_candidate_set_with_linint():
    """DoseFinding's own MCPMod example: Mods(linear = NULL, emax = c(0.05, 0.2), linInt = c(1, 1, 1, 1))."""
    ref = FIX["biom_mcpmod_example"]
    d, y = _biom_individual()
    cands = [("linear", []), ("emax", [0.05]), ("emax", [0.2]), ("linInt", [1, 1, 1, 1])]
    res = analyse_mcpmod(d, y, "biom", candidates=cands, delta=0.5)
    assert res.test.models == ref["models"]
    np.testing.assert_allclose(res.test.t_statistics, ref["tStat"], atol=1e-6)
    np.testing.assert_allclose(res.test.p_values, ref["pVal_precise"], atol=1e-3)
    assert [f.model for f in res.fits] == ref["significant"] and res.selected_model == ref["selected"]
    np.testing.assert_allclose([f.criterion for f in res.fits], ref["aic"], atol=1e-3)
    assert abs(res.target_dose - ref["TD"][ref["TD_names"].index(ref["selected"])]) < 1e-3


def test_user_mistakes_are_dossier_errors():
    from dossier.analyses.mcpmod import add_args, candidate_means
    from dossier.errors import DossierError

    doses = np.array([0.0, 1, 2, 4])
    with pytest.raises(DossierError, match="scal"):
        add_args(doses, scal=3.0)
    with pytest.raises(DossierError, match="linInt"):
        candidate_means([("linInt", [1, 1])], doses)
    with pytest.raises(DossierError, match="unknown"):
        candidate_means([("hill", [1])], doses)
    y = np.tile([0.0, 1.0], 20)
    with pytest.raises(DossierError, match="covariates"):
        analyse_mcpmod(np.repeat(doses, 10), y, "ae", data_type="binary", covariates={"sex": y})
