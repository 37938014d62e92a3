"""Exposure-response (E-R) analyses for efficacy and safety.

Methods
- Exposure metric: the ADPP parameter chosen by ``filters.exposure_paramcd`` (e.g. steady-state AUC);
  every available metric is listed so the choice is visible.
- Logistic regression of each binary endpoint on exposure (log-transformed by default), optionally with
  covariates, fitted with statsmodels GLM (binomial, logit). Slope with 95% Wald CI and p-value, odds
  ratio per doubling of exposure, model curve with a delta-method 95% band on the logit scale.
  Hosmer-Lemeshow goodness of fit (Hosmer & Lemeshow, Applied Logistic Regression, 3rd ed., 2013).
- Observed rates by exposure quartile with exact Clopper-Pearson CIs (the quartile plot of
  pharmacometric E-R reviews; e.g. FDA clinical pharmacology reviews, Overgaard et al. CPT:PSP 2015).
- Emax model of the response probability, p(C) = E0 + Emax * C / (EC50 + C), fitted by maximum binomial
  likelihood (Holford & Sheiner, Clin Pharmacokinet 1981;6:429) where a plateau is plausible, compared
  with the logistic model by AIC; fraction of the maximal effect reached at each dosage's median exposure.
  The 95% CI of EC50 is the profile-likelihood interval {EC50: 2 (l_max - l_p(EC50)) <= chi2_1(0.95)}
  (Venzon & Moolgavkar, Appl Stat 1988;37:87; Bates & Watts, Nonlinear Regression Analysis, 1988, ch. 6):
  it follows the asymmetric likelihood of EC50 where a Wald interval does not, and a bound is reported as
  not estimable when the likelihood does not fall far enough within [min C / e^7, max C * e^7] (EC50 not
  identified beyond the exposures observed).
- Cox model of PFS on log exposure (hazard ratio per doubling) and Kaplan-Meier curves by exposure quartile.
- Continuous responses (biomarker, PD marker, target engagement): Emax / sigmoid Emax model with normal
  errors, y = E0 + Emax C^h / (EC50^h + C^h) + e, fitted by least squares as DoseFinding's ``fitMod``
  (profile least squares over EC50 (and h); Bornkamp, Pinheiro & Bretz, DoseFinding package), parameter
  covariance (J'J)^-1 RSS/df and delta-method bands as its ``vcov`` / ``predict(se.fit = TRUE)``; the 95% CI
  of EC50 is the profile-likelihood interval {EC50: n log(RSS_p(EC50) / RSS) <= chi2_1(0.95)} (Bates &
  Watts 1988, ch. 6), compared by AIC with a model linear in exposure.

Known pitfalls, flagged for the text: quartile binning hides within-bin variation and depends on the
exposure distribution; for antibodies clearance is confounded with disease burden (Dai et al.,
CPT 2020;108:1156), so a positive efficacy E-R may be partly prognostic; a single dose level confounds
exposure with patient factors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from dossier.analyses import mcpmod
from dossier.analyses.endpoints import aesi_key, response_population, subject_endpoints, time_to_event
from dossier.analyses.stats import (
    Z975,
    HazardRatio,
    KMCurve,
    LogisticFit,
    Rate,
    Result,
    cox_ph,
    kaplan_meier,
    logistic_fit,
    rate,
)
from dossier.ingest.tables import StudyData
from dossier.labels import SAFETY_ENDPOINTS, SEVERE_BY_SEVERITY

ER_ENDPOINTS: dict[str, tuple[str, str]] = {  # key -> (kind, label)
    "response": ("efficacy", "objective response"),
    "severe": ("safety", SAFETY_ENDPOINTS["severe"]),
    "modified": ("safety", SAFETY_ENDPOINTS["modified"]),
    "reduced": ("safety", SAFETY_ENDPOINTS["reduced"]),
    "withdrawn": ("safety", SAFETY_ENDPOINTS["withdrawn"]),
    "serious": ("safety", SAFETY_ENDPOINTS["serious"]),
}


class QuartileBin(Result):
    index: int
    lower: float
    upper: float
    median_exposure: float
    rate: Rate


class ExposureByDose(Result):
    dose: float
    n: int
    values: list[float]
    median: float
    p05: float
    p95: float
    geo_mean: float
    geo_cv: float | None


class LogisticER(Result):
    """A logistic E-R model of one binary endpoint."""

    endpoint: str
    kind: str
    label: str
    transform: str
    covariates: list[str]
    n: int
    events: int
    intercept: float
    slope: float
    slope_se: float
    slope_ci_lower: float
    slope_ci_upper: float
    p_value: float
    or_per_doubling: float | None
    or_per_doubling_ci_lower: float | None
    or_per_doubling_ci_upper: float | None
    fit: LogisticFit
    quartiles: list[QuartileBin]
    curve_exposure: list[float]
    curve_prob: list[float]
    curve_lower: list[float]
    curve_upper: list[float]
    hosmer_lemeshow_p: float | None
    subset: str = "all"

    def predict(self, exposure: np.ndarray, coef: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (B, m) at exposures for coefficient rows ``coef`` (B, p); covariates at their means."""
        b = np.atleast_2d(np.asarray(self.fit.coef if coef is None else coef, dtype=float))
        x = _transform(np.asarray(exposure, dtype=float), self.transform)
        eta = self.intercept_adjusted(b)[:, None] + b[:, 1:2] * x[None, :]
        return 1 / (1 + np.exp(-eta))

    def intercept_adjusted(self, b: np.ndarray) -> np.ndarray:
        """Intercept with covariates at their sample means (stored in ``covariate_means``)."""
        b = np.asarray(b, dtype=float)
        out = b[..., 0].copy()
        for j, m in enumerate(self.covariate_means):
            out = out + b[..., 2 + j] * m
        return out

    covariate_means: list[float] = []


class EmaxER(Result):
    """Emax model of a response probability on exposure, by maximum likelihood."""

    endpoint: str
    n: int
    e0: float
    emax: float
    ec50: float
    ec50_ci_lower: float | None
    ec50_ci_upper: float | None
    ec50_ci_method: str = "Wald"   # evidence written before profile-likelihood intervals
    hill: float = 1.0
    loglik: float
    aic: float
    logistic_aic: float
    fraction_of_max_at_dose: dict[str, float]
    curve_exposure: list[float]
    curve_prob: list[float]
    converged: bool


class PfsER(Result):
    paramcd: str
    hr_per_doubling: HazardRatio | None
    km_by_quartile: list[KMCurve]


class ExposureResponseResult(Result):
    metric: str
    unit: str
    available_metrics: list[str]
    transform: str
    exposure_by_dose: list[ExposureByDose]
    models: list[LogisticER]
    efficacy_above_proposed: LogisticER | None
    emax: EmaxER | None
    sigmoid_emax: EmaxER | None = None
    pfs: PfsER | None
    pitfalls: list[str]
    severity_basis: str
    omitted_endpoints: list[str] = []  # endpoints without a model: no/all events, too few patients, separation

    def model(self, endpoint: str) -> LogisticER | None:
        for m in self.models:
            if m.endpoint == endpoint:
                return m
        return None


def _transform(x: np.ndarray, transform: str) -> np.ndarray:
    return np.log(x) if transform == "log" else x


def exposure_table(data: StudyData, paramcd: str) -> pd.Series | None:
    """Exposure per subject (usubjid -> value) for one PK parameter; positive values only."""
    pk = data.pk
    if pk is None or pk.empty:
        return None
    pk = pk.assign(usubjid=pk["usubjid"].astype(str), paramcd=pk["paramcd"].astype(str))
    pk = pk[(pk["paramcd"] == paramcd) & (pk["value"].astype(float) > 0)]
    if pk.empty:
        return None
    return pk.drop_duplicates("usubjid").set_index("usubjid")["value"].astype(float)


def quartile_bins(exposure: np.ndarray, y: np.ndarray, n_bins: int = 4) -> list[QuartileBin]:
    """Observed rate per exposure quantile bin (equal counts), with Clopper-Pearson CIs."""
    edges = np.quantile(exposure, np.linspace(0, 1, n_bins + 1))
    idx = np.clip(np.searchsorted(edges, exposure, side="right") - 1, 0, n_bins - 1)
    out = []
    for k in range(n_bins):
        m = idx == k
        if not m.any():
            continue
        out.append(QuartileBin(index=k + 1, lower=float(edges[k]), upper=float(edges[k + 1]),
                               median_exposure=float(np.median(exposure[m])), rate=rate(int(y[m].sum()), int(m.sum()))))
    return out


def hosmer_lemeshow(y: np.ndarray, p: np.ndarray, groups: int = 10) -> float | None:
    """Hosmer-Lemeshow goodness-of-fit p-value (deciles of risk, chi-square on g-2 df)."""
    g = min(groups, len(y) // 5)
    if g < 3:
        return None
    order = np.argsort(p, kind="stable")
    chi = 0.0
    for part in np.array_split(order, g):
        o, e, n = y[part].sum(), p[part].sum(), len(part)
        pbar = e / n
        if 0 < pbar < 1:
            chi += (o - e) ** 2 / (n * pbar * (1 - pbar))
    return float(stats.chi2.sf(chi, g - 2))


def fit_logistic_er(exposure: np.ndarray, y: np.ndarray, endpoint: str, transform: str = "log",
                    covariates: pd.DataFrame | None = None, subset: str = "all",
                    severity_basis: str = "grade") -> LogisticER | None:
    """Logistic regression of ``y`` on (log) exposure (+ covariates), with quartiles and model curve."""
    exposure = np.asarray(exposure, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) < 5 or y.sum() == 0 or y.sum() == len(y) or np.ptp(exposure) == 0:
        return None
    x = _transform(exposure, transform)
    X = pd.DataFrame({"const": 1.0, "exposure": x})
    cov_names: list[str] = []
    cov_means: list[float] = []
    if covariates is not None and covariates.shape[1]:
        for c in covariates.columns:
            X[c] = covariates[c].to_numpy(float)
            cov_names.append(str(c))
            cov_means.append(float(covariates[c].astype(float).mean()))
    fit = logistic_fit(X, y)
    if not fit.converged or not math.isfinite(fit.se[1]) or fit.se[1] > 50:
        return None  # (quasi-)complete separation: no finite maximum-likelihood slope
    b, se = fit.coef[1], fit.se[1]
    lo, hi = b - Z975 * se, b + Z975 * se
    p = float(2 * stats.norm.sf(abs(b / se))) if se > 0 and math.isfinite(se) else float("nan")
    kind, label = ER_ENDPOINTS.get(endpoint, ("safety", endpoint))
    if endpoint == "severe" and severity_basis == "severity":
        label = SEVERE_BY_SEVERITY
    ln2 = math.log(2)
    orp = (math.exp(b * ln2), math.exp(lo * ln2), math.exp(hi * ln2)) if transform == "log" else (None, None, None)
    grid = (np.exp(np.linspace(np.log(exposure.min()), np.log(exposure.max()), 60)) if transform == "log"
            else np.linspace(exposure.min(), exposure.max(), 60))
    gx = _transform(grid, transform)
    coef = np.asarray(fit.coef)
    cov = np.asarray(fit.cov)
    a0 = coef[0] + sum(coef[2 + j] * m for j, m in enumerate(cov_means))
    # delta method on the linear predictor at covariate means
    L = np.column_stack([np.ones_like(gx), gx] + [np.full_like(gx, m) for m in cov_means])
    eta = L @ coef
    se_eta = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", L, cov, L), 0, None))
    prob = 1 / (1 + np.exp(-eta))
    lo_c = 1 / (1 + np.exp(-(eta - Z975 * se_eta)))
    hi_c = 1 / (1 + np.exp(-(eta + Z975 * se_eta)))
    phat = 1 / (1 + np.exp(-(X.to_numpy(float) @ coef)))
    return LogisticER(endpoint=endpoint, kind=kind, label=label, transform=transform, covariates=cov_names,
                      n=len(y), events=int(y.sum()), intercept=float(a0), slope=b, slope_se=se,
                      slope_ci_lower=lo, slope_ci_upper=hi, p_value=p, or_per_doubling=orp[0],
                      or_per_doubling_ci_lower=orp[1], or_per_doubling_ci_upper=orp[2], fit=fit,
                      quartiles=quartile_bins(exposure, y), curve_exposure=grid.tolist(), curve_prob=prob.tolist(),
                      curve_lower=lo_c.tolist(), curve_upper=hi_c.tolist(), hosmer_lemeshow_p=hosmer_lemeshow(y, phat),
                      covariate_means=cov_means, subset=subset)


def _emax_negll(theta: np.ndarray, c: np.ndarray, y: np.ndarray) -> float:
    e0, emax, ec50 = _emax_params(theta)
    h = _hill(theta)
    ch = c ** h
    p = np.clip(e0 + emax * ch / (ec50 ** h + ch), 1e-12, 1 - 1e-12)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _emax_params(theta: np.ndarray) -> tuple[float, float, float]:
    # E0 in (0,1); E0 + Emax in (0,1): Emax may be negative (declining response)
    e0 = float(special.expit(theta[0]))
    top = float(special.expit(theta[1]))
    return e0, top - e0, math.exp(float(np.clip(theta[2], -40.0, 40.0)))


def _hill(theta: np.ndarray) -> float:
    # Hill coefficient of the sigmoid Emax model, kept within [0.3, 10] (DoseFinding-like bounds)
    return 1.0 if len(theta) < 4 else float(np.clip(math.exp(float(np.clip(theta[3], -5.0, 5.0))), 0.3, 10.0))


def fit_emax(exposure: np.ndarray, y: np.ndarray, endpoint: str, logistic_aic: float,
             dose_medians: dict[float, float], sigmoid: bool = False) -> EmaxER | None:
    """Maximum-likelihood Emax (or sigmoid Emax, ``sigmoid=True``) model of a binary endpoint on exposure
    (multi-start Nelder-Mead); p(C) = E0 + Emax C^h / (EC50^h + C^h), h = 1 for the Emax model."""
    c = np.asarray(exposure, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) < 10 or y.sum() == 0 or y.sum() == len(y):
        return None
    pbar = min(max(y.mean(), 0.02), 0.98)
    best = None
    for q in (0.05, 0.25, 0.5, 0.75):
        ec = float(np.quantile(c, q))
        for lo_p in (0.5 * pbar, pbar * 0.9):
            hi_p = min(0.97, pbar * 1.2)
            start = np.array([math.log(lo_p / (1 - lo_p)), math.log(hi_p / (1 - hi_p)), math.log(ec)]
                             + ([0.0] if sigmoid else []))
            res = optimize.minimize(_emax_negll, start, args=(c, y), method="Nelder-Mead",
                                    options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
            if best is None or res.fun < best.fun:
                best = res
    assert best is not None
    e0, emax, ec50 = _emax_params(best.x)
    h = _hill(best.x)
    # the interval is reported for the Emax model; the sigmoid model is a sensitivity fit (Hill, EC50, AIC)
    lo, hi = (None, None) if sigmoid else profile_ci_ec50(best.x, float(best.fun), c, y)
    ll = -float(best.fun)
    grid = np.exp(np.linspace(np.log(c.min()), np.log(c.max()), 60))
    k = 4 if sigmoid else 3
    return EmaxER(endpoint=endpoint, n=len(y), e0=e0, emax=emax, ec50=ec50, ec50_ci_lower=lo, ec50_ci_upper=hi,
                  ec50_ci_method="not computed" if sigmoid else "profile likelihood",
                  hill=h, loglik=ll, aic=-2 * ll + 2 * k, logistic_aic=logistic_aic,
                  fraction_of_max_at_dose={f"{d:g}": float(m ** h / (ec50 ** h + m ** h)) for d, m in dose_medians.items()},
                  curve_exposure=grid.tolist(), curve_prob=(e0 + emax * grid ** h / (ec50 ** h + grid ** h)).tolist(),
                  converged=bool(best.success))


def profile_ci_ec50(theta_hat: np.ndarray, negll_hat: float, c: np.ndarray, y: np.ndarray,
                    level: float = 0.95) -> tuple[float | None, float | None]:
    """Profile-likelihood CI of EC50 (see the module docstring): for each fixed log EC50 the other
    parameters are re-fitted (Nelder-Mead, warm-started from the neighbouring point); each bound is the
    root of 2 (l_max - l_p) - chi2_1(level), bracketed by steps in log EC50 that start at 0.1 and grow by
    1.6 (the profile rises monotonically away from the maximum in the usual case) and refined by Brent's
    method; ``None`` when no crossing lies within 7 log units beyond the observed exposures."""
    crit = stats.chi2.ppf(level, 1) / 2.0
    others = [i for i in range(len(theta_hat)) if i != 2]
    cache: dict[float, np.ndarray] = {}

    def excess(t: float, start: np.ndarray) -> float:
        def f(o: np.ndarray) -> float:
            th = np.array(theta_hat, dtype=float)
            th[others] = o
            th[2] = t
            return _emax_negll(th, c, y)

        res = optimize.minimize(f, start, method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
        cache[t] = res.x
        return float(min(res.fun, f(start)) - negll_hat - crit)

    t_hat = float(theta_hat[2])
    limits = (math.log(float(c.min())) - 7.0, math.log(float(c.max())) + 7.0)
    bounds: list[float | None] = []
    for direction, limit in ((-1.0, limits[0]), (1.0, limits[1])):
        prev_t, start = t_hat, np.asarray(theta_hat, dtype=float)[others]
        bound, step = None, 0.1
        while abs(prev_t - t_hat) < abs(limit - t_hat) + 1e-9:
            t = prev_t + direction * step
            step *= 1.6
            if excess(t, start) > 0:
                lo_t, hi_t = sorted((prev_t, t))
                bound = optimize.brentq(lambda v, s0=start: excess(v, s0), lo_t, hi_t, xtol=1e-6)
                break
            prev_t, start = t, cache[t]
        bounds.append(None if bound is None else math.exp(bound))
    return bounds[0], bounds[1]


class ContinuousEmaxER(Result):
    """Emax (or sigmoid Emax) model of a continuous response on exposure, normal errors."""

    endpoint: str
    model: str  # emax / sigEmax
    n: int
    e0: float
    emax: float
    ec50: float
    hill: float = 1.0
    standard_errors: dict[str, float | None]
    covariance: list[list[float]] | None
    ec50_ci_lower: float | None
    ec50_ci_upper: float | None
    ec50_ci_method: str = "profile likelihood"
    residual_sd: float
    df: float
    aic: float
    linear_aic: float
    fraction_of_max_at_dose: dict[str, float]
    curve_exposure: list[float]
    curve_response: list[float]
    curve_lower: list[float]
    curve_upper: list[float]


def _profile_ci_ec50_normal(c: np.ndarray, y: np.ndarray, ec50: float, rss: float,
                            level: float = 0.95) -> tuple[float | None, float | None]:
    """Profile-likelihood interval of EC50 for the normal Emax model (see the module docstring): the
    profile RSS is evaluated on a log grid out to 7 log units beyond the observed exposures and each
    crossing of n log(RSS_p / RSS) = chi2_1(level) is refined by Brent's method; None when none lies there."""
    n = len(y)
    crit = float(stats.chi2.ppf(level, 1))
    prob = mcpmod._Problem(c, y, None, np.ones((n, 1)), None)

    def excess(t: np.ndarray) -> np.ndarray:
        return n * np.log(prob.profile("emax", np.exp(np.atleast_1d(t))[:, None]) / rss) - crit

    t_hat = math.log(ec50)
    out: list[float | None] = []
    for limit in (math.log(float(c[c > 0].min())) - 7.0, math.log(float(c.max())) + 7.0):
        ts = np.linspace(t_hat, limit, 400)
        ex = excess(ts)
        above = np.nonzero(ex > 0)[0]
        if not len(above):
            out.append(None)
            continue
        i = int(above[0])
        a, b = sorted((ts[i - 1], ts[i]))
        out.append(math.exp(optimize.brentq(lambda t: float(excess(t)[0]), a, b, xtol=1e-12)))
    return out[0], out[1]


def fit_emax_continuous(exposure: np.ndarray, y: np.ndarray, endpoint: str, sigmoid: bool = False,
                        dose_medians: dict[float, float] | None = None, level: float = 0.95
                        ) -> ContinuousEmaxER | None:
    """Emax (``sigmoid=True``: sigmoid Emax) model of a continuous response on exposure by least squares
    (DoseFinding ``fitMod`` with its default bounds: EC50 in [0.001, 1.5] x the highest exposure, Hill in
    [0.5, 10]); see the module docstring. None with fewer than 10 subjects or fewer than 4 distinct
    exposures (the model has 3-4 parameters)."""
    c = np.asarray(exposure, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(c) & np.isfinite(y)
    c, y = c[ok], y[ok]
    if len(y) < 10 or len(np.unique(c)) < 4:
        return None
    model = "sigEmax" if sigmoid else "emax"
    fit = mcpmod.fit_model(model, c, y, None, n_obs=len(y))
    lin = mcpmod.fit_model("linear", c, y, None, n_obs=len(y))
    p = list(fit.params.values())
    e0, emax, ec50 = p[0], p[1], p[2]
    h = p[3] if sigmoid else 1.0
    lo, hi = (None, None) if sigmoid else _profile_ci_ec50_normal(c, y, ec50, fit.rss, level)
    grid = np.linspace(0.0, float(c.max()), 60)
    mean, se = fit.predict(grid)
    q = float(stats.t.ppf(0.5 + level / 2, fit.df))
    band = (mean - q * se, mean + q * se) if se is not None else (np.full_like(mean, np.nan),) * 2
    se_named = fit.standard_errors
    names = {"e0": "e0", "eMax": "emax", "ed50": "ec50", "h": "hill"}
    return ContinuousEmaxER(
        endpoint=endpoint, model=model, n=len(y), e0=e0, emax=emax, ec50=ec50, hill=h,
        standard_errors={names[k]: v for k, v in se_named.items()}, covariance=fit.covariance,
        ec50_ci_lower=lo, ec50_ci_upper=hi, ec50_ci_method="not computed" if sigmoid else "profile likelihood",
        residual_sd=math.sqrt(fit.rss / fit.df), df=float(fit.df), aic=fit.criterion, linear_aic=lin.criterion,
        fraction_of_max_at_dose={f"{d:g}": float(m ** h / (ec50 ** h + m ** h))
                                 for d, m in (dose_medians or {}).items()},
        curve_exposure=grid.tolist(), curve_response=mean.tolist(),
        curve_lower=[float(v) for v in band[0]], curve_upper=[float(v) for v in band[1]])


def analyse_exposure_response(data: StudyData, exposure_paramcd: str = "AUCSS", proposed_dosage: float | None = None,
                              pfs_paramcd: str | None = "PFS", transform: str = "log",
                              covariates: list[str] | None = None, modality: str = "small_molecule",
                              low_grade_days: int = 28, aesi_terms: list[str] | tuple[str, ...] = ()
                              ) -> ExposureResponseResult | None:
    """All E-R analyses of the study; ``None`` when there are no PK data for the chosen metric.

    Safety endpoints: those of ``ER_ENDPOINTS`` plus any TEAE of each adverse event of special interest."""
    expo = exposure_table(data, exposure_paramcd)
    if expo is None:
        return None
    pk = data.pk
    available = sorted(pk["paramcd"].astype(str).unique().tolist())
    unit_vals = pk.loc[pk["paramcd"].astype(str) == exposure_paramcd, "unit"].astype(str)
    unit = unit_vals.iloc[0] if len(unit_vals) else ""
    se = subject_endpoints(data, low_grade_days, aesi_terms)
    has_ae, basis = bool(se.attrs.get("has_adverse_events")), str(se.attrs.get("severity_basis", "none"))
    se = se.join(expo.rename("exposure"), how="inner")
    se = se[se["dose"].astype(float) > 0]
    by_dose: list[ExposureByDose] = []
    for d, g in se.groupby("dose"):
        v = g["exposure"].to_numpy(float)
        lv = np.log(v)
        by_dose.append(ExposureByDose(dose=float(d), n=len(v), values=[float(x) for x in v], median=float(np.median(v)),
                                      p05=float(np.quantile(v, 0.05)), p95=float(np.quantile(v, 0.95)),
                                      geo_mean=float(np.exp(lv.mean())),
                                      geo_cv=float(math.sqrt(math.exp(lv.var(ddof=1)) - 1)) if len(v) > 1 else None))
    covs = None
    cov_cols = list(covariates or [])
    models: list[LogisticER] = []
    omitted: list[str] = []

    def cov_frame(g: pd.DataFrame) -> pd.DataFrame | None:
        if not cov_cols:
            return None
        out = pd.DataFrame(index=g.index)
        for c in cov_cols:
            col = g[c]
            out[c] = (col.astype(str) == sorted(col.astype(str).unique())[-1]).astype(float) if col.dtype == object \
                or str(col.dtype).startswith("string") else col.astype(float)
        return out

    eff = response_population(se)  # efficacy-evaluable subjects with a response record
    if len(eff):
        covs = cov_frame(eff)
        m = fit_logistic_er(eff["exposure"].to_numpy(), eff["responder"].to_numpy(), "response", transform, covs)
        if m:
            models.append(m)
        else:
            omitted.append("response")
    saf = se[se["safety"].astype(bool)] if has_ae else se.iloc[0:0]
    for key in [*ER_ENDPOINTS, *(aesi_key(t) for t in aesi_terms)]:
        if key == "response" or saf.empty:
            continue
        known = saf.dropna(subset=[key])  # unknown values (and not-collected measures) are left out, never 0
        if known.empty:
            omitted.append(key)
            continue
        m = fit_logistic_er(known["exposure"].to_numpy(), known[key].to_numpy(float), key, transform,
                            cov_frame(known), severity_basis=basis)
        if m:
            models.append(m)
        else:
            omitted.append(key)
    above = None
    emax = sig = None
    dose_medians = {b.dose: b.median for b in by_dose}
    if len(eff) and proposed_dosage is not None:
        sub = eff[eff["dose"].astype(float) >= float(proposed_dosage)]
        above = fit_logistic_er(sub["exposure"].to_numpy(), sub["responder"].to_numpy(), "response", transform,
                                subset=f"dose >= {float(proposed_dosage):g}")
    eff_model = next((m for m in models if m.endpoint == "response"), None)
    if eff_model is not None:
        emax = fit_emax(eff["exposure"].to_numpy(), eff["responder"].to_numpy(), "response", eff_model.fit.aic,
                        dose_medians)
        sig = fit_emax(eff["exposure"].to_numpy(), eff["responder"].to_numpy(), "response", eff_model.fit.aic,
                       dose_medians, sigmoid=True)
    pfs = None
    tte = time_to_event(data, pfs_paramcd)
    if tte is not None:
        t = tte.join(se[["exposure"]], how="inner").dropna(subset=["time"])
        if len(t) >= 8:
            x = pd.DataFrame({"log2_exposure": np.log2(t["exposure"].to_numpy(float))})
            hr = cox_ph(t["time"].to_numpy(float), t["event"].astype(bool).to_numpy(), x, "log2_exposure")
            edges = np.quantile(t["exposure"], [0, 0.25, 0.5, 0.75, 1])
            q = np.clip(np.searchsorted(edges, t["exposure"].to_numpy(float), side="right") - 1, 0, 3)
            kms = [kaplan_meier(t["time"].to_numpy(float)[q == k], t["event"].astype(bool).to_numpy()[q == k],
                                label=f"Q{k + 1}", group=f"Q{k + 1}") for k in range(4) if (q == k).any()]
            pfs = PfsER(paramcd=str(t["paramcd"].iloc[0]), hr_per_doubling=hr, km_by_quartile=kms)
    pitfalls = ["quartile_binning"]
    if modality in ("antibody", "adc"):
        pitfalls.append("clearance_confounding")
    if len(by_dose) < 2:
        pitfalls.append("single_dose_level")
    if len(se) < 40:
        pitfalls.append("small_sample")
    return ExposureResponseResult(metric=exposure_paramcd, unit=unit, available_metrics=available, transform=transform,
                                  exposure_by_dose=by_dose, models=models, efficacy_above_proposed=above, emax=emax,
                                  sigmoid_emax=sig,
                                  pfs=pfs, pitfalls=pitfalls, severity_basis=basis, omitted_endpoints=omitted)
