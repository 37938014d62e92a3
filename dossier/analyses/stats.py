"""Statistical building blocks shared by the analyses (typed results, no wording).

- :func:`clopper_pearson` -- exact binomial confidence interval (Clopper & Pearson, Biometrika 1934;
  26:404-413), via beta quantiles.
- :func:`newcombe_diff_ci` -- score interval for a difference of two proportions, Newcombe's method 10
  (hybrid Wilson score; Newcombe, Stat Med 1998;17:873-890).
- :func:`kaplan_meier` -- product-limit estimator (Kaplan & Meier, JASA 1958;53:457-481) with
  Greenwood variance and log(-log) pointwise intervals (Kalbfleisch & Prentice 2002, sec. 1.3); median
  with the Brookmeyer-Crowley interval (Biometrics 1982;38:29-41) read off the log(-log) band.
- :func:`cox_ph` -- Cox proportional-hazards model (Cox, JRSS-B 1972;34:187-220) fitted with
  statsmodels ``PHReg`` (Breslow ties).
- :func:`logistic_fit` / :func:`logistic_irls_batch` -- binomial GLM with logit link by iteratively
  reweighted least squares (McCullagh & Nelder 1989, ch. 4); the batch version fits many bootstrap
  replicates (frequency weights) at once.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

Z975 = float(stats.norm.ppf(0.975))


class Result(BaseModel):
    """Base of every analysis result: JSON-serializable via ``model_dump(mode="json")``."""

    model_config = ConfigDict(frozen=False, extra="forbid")


class Rate(Result):
    """A proportion with its exact (Clopper-Pearson) confidence interval."""

    n: int
    events: int
    rate: float | None
    ci_lower: float | None
    ci_upper: float | None

    @property
    def lower(self) -> float | None:  # the names the base template macro ``m.rate`` reads
        return self.ci_lower

    @property
    def upper(self) -> float | None:
        return self.ci_upper


class Difference(Result):
    """A difference of two proportions (``arm`` minus ``reference``) with a Newcombe score interval."""

    arm: float
    reference: float
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None


class KMCurve(Result):
    """A Kaplan-Meier curve as step-function knots (time 0 first) with log(-log) 95% bands."""

    label: str
    group: float | str
    n: int
    events: int
    time: list[float]
    survival: list[float]
    ci_lower: list[float]
    ci_upper: list[float]
    at_risk: list[int]
    median: float | None
    median_ci_lower: float | None
    median_ci_upper: float | None
    last_time: float | None = None  # last follow-up time (event or censoring): where the curve ends
    #: every subject's follow-up time (event or censoring), sorted: numbers at risk at any time are counted
    #: from it (the knots carry them only at event times)
    follow_up: list[float] = []

    def at_risk_at(self, t: float) -> int | None:
        """Number of subjects still at risk (follow-up >= t) at time ``t`` (None when not recorded)."""
        if not self.follow_up:
            return None
        import bisect

        return len(self.follow_up) - bisect.bisect_left(self.follow_up, t)


class HazardRatio(Result):
    """A hazard ratio from a Cox model, with 95% Wald interval and p-value."""

    term: str
    hr: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    n: int
    events: int


def clopper_pearson(events: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact two-sided interval for a binomial proportion: beta quantiles (Clopper & Pearson 1934)."""
    if n <= 0:
        return None, None
    a = (1.0 - level) / 2.0
    lo = 0.0 if events == 0 else float(stats.beta.ppf(a, events, n - events + 1))
    hi = 1.0 if events == n else float(stats.beta.ppf(1 - a, events + 1, n - events))
    return lo, hi


def rate(events: int, n: int, level: float = 0.95) -> Rate:
    events, n = int(events), int(n)
    lo, hi = clopper_pearson(events, n, level)
    return Rate(n=n, events=events, rate=(events / n if n else None), ci_lower=lo, ci_upper=hi)


def wilson(events: int, n: int, z: float = Z975) -> tuple[float, float]:
    """Wilson score interval (Wilson, JASA 1927), the building block of Newcombe's method 10."""
    p = events / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def newcombe_diff_ci(x1: int, n1: int, x2: int, n2: int, z: float = Z975) -> tuple[float | None, float | None, float | None]:
    """p1 - p2 with Newcombe's hybrid score interval (method 10, Newcombe 1998)."""
    if n1 <= 0 or n2 <= 0:
        return None, None, None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lo, hi


def difference(x1: int, n1: int, x2: int, n2: int, arm: float, reference: float) -> Difference:
    d, lo, hi = newcombe_diff_ci(int(x1), int(n1), int(x2), int(n2))
    return Difference(arm=arm, reference=reference, estimate=d, ci_lower=lo, ci_upper=hi)


# ----------------------------------------------------------------------------------------------
# Survival
# ----------------------------------------------------------------------------------------------

def kaplan_meier(time: np.ndarray, event: np.ndarray, label: str = "", group: float | str = "") -> KMCurve:
    """Kaplan-Meier estimate with Greenwood variance and log(-log) 95% pointwise bands."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    ok = np.isfinite(time)
    time, event = time[ok], event[ok]
    n = len(time)
    ts = np.unique(time[event])
    s, var_sum = 1.0, 0.0
    out_t, out_s, out_lo, out_hi, out_r = [0.0], [1.0], [1.0], [1.0], [n]
    for t in ts:
        r = int((time >= t).sum())
        d = int(((time == t) & event).sum())
        s *= 1 - d / r
        if r > d:
            var_sum += d / (r * (r - d))
        lo, hi = _loglog_band(s, var_sum)
        out_t.append(float(t))
        out_s.append(float(s))
        out_lo.append(lo)
        out_hi.append(hi)
        out_r.append(r)
    med = _first_below(out_t, out_s)
    # Brookmeyer-Crowley via the band: the CI of the median is where the band crosses 0.5
    med_lo = _first_below(out_t, out_lo)
    med_hi = _first_below(out_t, out_hi)
    return KMCurve(label=label, group=group, n=n, events=int(event.sum()), time=out_t, survival=out_s,
                   ci_lower=out_lo, ci_upper=out_hi, at_risk=out_r, median=med, median_ci_lower=med_lo,
                   median_ci_upper=med_hi, last_time=float(time.max()) if n else None,
                   follow_up=[float(v) for v in np.sort(time)])


def _loglog_band(s: float, greenwood_sum: float) -> tuple[float, float]:
    if s <= 0.0:
        return 0.0, 0.0
    if s >= 1.0 or greenwood_sum <= 0:
        return s, s
    se = math.sqrt(greenwood_sum) / abs(math.log(s))
    lo = s ** math.exp(Z975 * se)
    hi = s ** math.exp(-Z975 * se)
    return float(lo), float(hi)


def _first_below(t: list[float], s: list[float], level: float = 0.5) -> float | None:
    """Smallest time at which the step function is at or below ``level`` (None if never)."""
    for ti, si in zip(t, s, strict=True):
        if si <= level + 1e-12:
            return float(ti)
    return None


def km_at(curve: KMCurve, t: float) -> float:
    """Survival probability of a KM curve at time ``t`` (right-continuous step function)."""
    idx = int(np.searchsorted(np.asarray(curve.time), t, side="right")) - 1
    return curve.survival[max(idx, 0)]


def cox_ph(time: np.ndarray, event: np.ndarray, covariates: pd.DataFrame, term: str) -> HazardRatio:
    """Hazard ratio of ``term`` from a Cox model on ``covariates`` (statsmodels PHReg, Breslow ties)."""
    from statsmodels.duration.hazard_regression import PHReg

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    X = covariates.astype(float)
    n, ev = len(time), int(event.sum())
    if ev == 0 or n < 3 or X[term].std() == 0:
        return HazardRatio(term=term, hr=None, ci_lower=None, ci_upper=None, p_value=None, n=n, events=ev)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = PHReg(time, X.to_numpy(), status=event.astype(int), ties="breslow").fit(disp=False)
    j = list(X.columns).index(term)
    b, se = float(res.params[j]), float(res.bse[j])
    converged = bool(getattr(res, "mle_retvals", {}).get("converged", True))
    if not (converged and math.isfinite(b) and math.isfinite(se) and abs(b) < 20):  # monotone likelihood
        return HazardRatio(term=term, hr=None, ci_lower=None, ci_upper=None, p_value=None, n=n, events=ev)
    p = float(2 * stats.norm.sf(abs(b / se))) if se > 0 else None
    return HazardRatio(term=term, hr=math.exp(b), ci_lower=math.exp(b - Z975 * se),
                       ci_upper=math.exp(b + Z975 * se), p_value=p, n=n, events=ev)


# ----------------------------------------------------------------------------------------------
# Logistic regression
# ----------------------------------------------------------------------------------------------

def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logistic_irls_batch(X: np.ndarray, y: np.ndarray, weights: np.ndarray, n_iter: int = 50,
                        tol: float = 1e-10, ridge: float = 1e-8) -> np.ndarray:
    """Maximum-likelihood logistic coefficients for many weight vectors at once.

    ``X`` is (n, p), ``y`` (n,), ``weights`` (B, n) frequency weights (a bootstrap replicate is a
    vector of resampling counts). Newton-Raphson / IRLS (McCullagh & Nelder 1989) vectorised over
    replicates; a tiny ridge keeps separated replicates finite (their slope is then very large,
    which percentile intervals tolerate). Returns (B, p).
    """
    B, p = weights.shape[0], X.shape[1]
    # centre and scale the non-constant columns: Newton from zero then converges in a few steps
    X = np.asarray(X, dtype=float)
    const = np.all(X == X[:1], axis=0)
    loc = np.where(const, 0.0, X.mean(axis=0))
    scale = np.where(const, 1.0, X.std(axis=0) + 1e-300)
    Xs = (X - loc) / scale
    XX = np.einsum("ni,nj->nij", Xs, Xs).reshape(len(Xs), p * p)
    beta = np.zeros((B, p))
    eye = np.eye(p) * ridge
    for _ in range(n_iter):
        mu = _expit(beta @ Xs.T)  # (B, n)
        w = weights * mu * (1 - mu)
        grad = (weights * (y[None, :] - mu)) @ Xs - ridge * beta
        H = (w @ XX).reshape(B, p, p) + eye
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        beta = beta + np.clip(step, -10, 10)
        if np.max(np.abs(step)) < tol:
            break
    # back to the original columns: eta = sum_j b_j (x_j - loc_j) / scale_j
    coef = beta / scale
    coef[:, const] = beta[:, const] - (coef * np.where(const, 0.0, loc)).sum(axis=1, keepdims=True)
    return coef


class LogisticFit(Result):
    """A fitted logistic regression: coefficients, covariance, fit statistics."""

    terms: list[str]
    coef: list[float]
    se: list[float]
    cov: list[list[float]]
    n: int
    events: int
    loglik: float
    aic: float
    converged: bool


def logistic_fit(X: pd.DataFrame, y: np.ndarray) -> LogisticFit:
    """Logistic regression with statsmodels GLM (Binomial, logit link); ``X`` includes the intercept."""
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
    model = sm.GLM(y, X.astype(float), family=sm.families.Binomial())
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model.fit()
        separated = any("separation" in str(w.message).lower() for w in caught)
        cov = np.asarray(res.cov_params())
        coef = np.asarray(res.params)
        converged = (bool(getattr(res, "converged", True)) and bool(np.all(np.isfinite(cov))) and not separated
                     and bool(np.all(np.abs(coef) < 30)))
        llf, aic = float(res.llf), float(res.aic)
    except Exception:  # perfect separation and the like: fall back to the ridge-stabilised IRLS
        coef = logistic_irls_batch(X.to_numpy(float), y, np.ones((1, len(y))))[0]
        cov = np.full((len(coef), len(coef)), np.nan)
        mu = _expit(X.to_numpy(float) @ coef)
        llf = float(np.sum(y * np.log(mu) + (1 - y) * np.log(1 - mu)))
        aic, converged = -2 * llf + 2 * len(coef), False
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return LogisticFit(terms=list(X.columns), coef=[float(c) for c in coef], se=[float(s) for s in se],
                       cov=[[float(c) for c in row] for row in cov], n=len(y), events=int(y.sum()),
                       loglik=llf, aic=aic, converged=converged)
