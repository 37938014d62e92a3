"""Dose-response by MCP-Mod: multiple comparison procedure and modelling.

References
- Bretz F, Pinheiro JC, Branson M. Combining multiple comparisons and modeling techniques in
  dose-response studies. Biometrics 2005;61:738-748 (optimal contrasts, multiple contrast test, MCP-Mod).
- Pinheiro J, Bornkamp B, Glimm E, Bretz F. Model-based dose finding under model uncertainty using
  general parametric models. Stat Med 2014;33:1646-1661 (the "general" approach: estimates mu_hat with
  covariance S, e.g. logit-scale estimates of a binary endpoint).
- EMA CHMP qualification opinion of MCP-Mod (EMA/CHMP/SAWP/757052/2013): context of use includes
  phase II dose finding with a placebo arm and at least 4 dose levels including placebo (flagged here).
- Bretz F, Genz A, Hothorn LA. On the numerical availability of multiple comparison procedures.
  Biometrical J 2001;43:645-656 (multivariate-t probabilities of the max statistic by spherical-radial
  integration -- used here with randomized quasi-Monte Carlo over directions, which also handles the
  singular correlation matrices that arise with more candidate models than dose groups minus one).

The implementation follows the R package DoseFinding (Bornkamp, Pinheiro, Bretz; ``Mods``,
``optContr``, ``MCTtest``, ``fitMod``, ``vcov``, ``predict``, ``TD``, ``MCPMod``) so that its numbers can be
reproduced: the nine model functions (linear, linlog, quadratic, linInt, emax, exponential, sigEmax,
logistic, betaMod; betaMod's ``scal`` and linlog's ``off`` fixed, defaults 1.2 x and 0.01 x the highest
dose; linInt interpolating at the doses) and their guesstimate parameterisation (``getLinPars``),
optimal contrasts ``optC``, the default bounds ``defBnds``, the profile least-squares fit over a grid
followed by a local search (here a vectorised pattern search: Torczon, SIAM J Optim 1997;7:1-25), AIC
(normal) and generalized AIC (general) model selection, the closed-form target doses of ``calcTD``, the
parameter covariance of ``vcov.DRMod`` and the delta-method standard errors of ``predict(se.fit = TRUE)``,
and covariate adjustment (``addCovars``: ANCOVA dose coefficients in the test, covariates in the fits).
Tested against DoseFinding 1.0.3 outputs frozen in tests/analyses/fixtures (R calls stored beside them).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import optimize, special, stats
from scipy.stats import qmc

from dossier.analyses.stats import Result
from dossier.errors import DossierError

MODELS = ("linear", "linlog", "quadratic", "linInt", "emax", "exponential", "sigEmax", "logistic", "betaMod")
LINEAR_MODELS = ("linear", "linlog", "quadratic", "linInt")  # linear in their parameters (fitted by QR)
NONLINEAR_DIM = {"emax": 1, "exponential": 1, "sigEmax": 2, "logistic": 2, "betaMod": 2}
PARAM_NAMES = {
    "linear": ["e0", "delta"], "linlog": ["e0", "delta"], "quadratic": ["e0", "b1", "b2"],
    "emax": ["e0", "eMax", "ed50"], "exponential": ["e0", "e1", "delta"], "sigEmax": ["e0", "eMax", "ed50", "h"],
    "logistic": ["e0", "eMax", "ed50", "delta"], "betaMod": ["e0", "eMax", "delta1", "delta2"],
}  # linInt: one parameter per node, "d<node>"


def add_args(doses: np.ndarray, scal: float | None = None, off: float | None = None) -> tuple[float, float]:
    """The fixed parameters of betaMod (``scal``) and linlog (``off``), DoseFinding ``getAddArgs``:
    defaults 1.2 x and 0.01 x the highest dose; ``scal`` must not be below the highest dose."""
    dmax = float(np.max(doses))
    scal = 1.2 * dmax if scal is None else float(scal)
    off = 0.01 * dmax if off is None else float(off)
    if scal < dmax:
        raise DossierError(f"betaMod scale parameter scal = {scal:g} is below the highest dose {dmax:g}",
                           "mcpmod scal", "use scal >= the highest dose (DoseFinding default: 1.2 x highest dose)")
    if off <= 0:
        raise DossierError(f"linlog offset off = {off:g} must be positive", "mcpmod off",
                           "DoseFinding's default is 0.01 x the highest dose")
    return scal, off


def param_names(model: str, nodes: np.ndarray | None = None) -> list[str]:
    if model == "linInt":
        return [f"d{float(x):g}" for x in np.asarray(nodes, float)]
    return PARAM_NAMES[model]


def _xlogx(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def _beta_shape(x: np.ndarray, d1, d2) -> np.ndarray:
    """Standardized beta model on x = dose / scal in [0, 1]: x^d1 (1 - x)^d2, scaled to maximum 1."""
    log_max = _xlogx(d1) + _xlogx(d2) - _xlogx(np.asarray(d1) + np.asarray(d2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return x ** d1 * (1 - x) ** d2 / np.exp(log_max)


def _log0(x: np.ndarray) -> np.ndarray:
    """log x with 0 for x = 0 (DoseFinding's ``lg2`` in the gradients)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), 0.0)


def linear_design(model: str, d: np.ndarray, off: float | None = None, nodes: np.ndarray | None = None) -> np.ndarray:
    """Design matrix of a model that is linear in its parameters (also its gradient), rows = doses."""
    d = np.asarray(d, dtype=float)
    one = np.ones_like(d)
    if model == "linear":
        return np.column_stack([one, d])
    if model == "linlog":
        return np.column_stack([one, np.log(d + off)])
    if model == "quadratic":
        return np.column_stack([one, d, d * d])
    if model == "linInt":  # hat functions at the nodes (order-2 B-splines, DoseFinding ``linIntGrad``)
        nodes = np.asarray(nodes, dtype=float)
        return np.column_stack([np.interp(d, nodes, np.eye(len(nodes))[j]) for j in range(len(nodes))])
    raise ValueError(model)


def model_response(model: str, d: np.ndarray, p, scal: float | None = None, off: float | None = None,
                   nodes: np.ndarray | None = None) -> np.ndarray:
    """Mean response of a dose-response model at doses ``d`` for full parameters ``p`` (DoseFinding
    ``drmodels``; betaMod needs ``scal``, linlog ``off``, linInt the interpolation ``nodes``)."""
    d = np.asarray(d, dtype=float)
    if model == "linear":
        return p[0] + p[1] * d
    if model == "linlog":
        return p[0] + p[1] * np.log(d + off)
    if model == "quadratic":
        return p[0] + p[1] * d + p[2] * d * d
    if model == "linInt":
        return np.interp(d, np.asarray(nodes, float), np.asarray(p, float))
    if model == "emax":
        return p[0] + p[1] * d / (p[2] + d)
    if model == "exponential":
        return p[0] + p[1] * (np.exp(d / p[2]) - 1)
    if model == "sigEmax":
        with np.errstate(divide="ignore", over="ignore"):
            return p[0] + p[1] / (1 + (p[2] / np.where(d > 0, d, 1e-300)) ** p[3])
    if model == "logistic":
        return p[0] + p[1] / (1 + np.exp((p[2] - d) / p[3]))
    if model == "betaMod":
        return p[0] + p[1] * _beta_shape(d / scal, p[2], p[3])
    raise ValueError(f"unknown dose-response model {model!r}")


def gradient(model: str, d: np.ndarray, p, scal: float | None = None, off: float | None = None,
             nodes: np.ndarray | None = None) -> np.ndarray:
    """Gradient of the mean response in the full parameters, (len(d), p) (DoseFinding ``*Grad``)."""
    d = np.asarray(d, dtype=float)
    if model in LINEAR_MODELS:
        return linear_design(model, d, off, nodes)
    one = np.ones_like(d)
    if model == "emax":
        return np.column_stack([one, d / (p[2] + d), -p[1] * d / (p[2] + d) ** 2])
    if model == "exponential":
        e = np.exp(d / p[2])
        return np.column_stack([one, e - 1, -e * d * p[1] / p[2] ** 2])
    if model == "sigEmax":
        with np.errstate(divide="ignore", over="ignore"):
            g1 = 1 / (1 + (p[2] / np.where(d > 0, d, 1e-300)) ** p[3])
        a = 1 / (1 + (d / p[2]) ** p[3])
        return np.column_stack([one, g1, -(p[3] * p[1] / p[2]) * g1 * a, p[1] * _log0(d / p[2]) * g1 * a])
    if model == "logistic":
        den = 1 + np.exp((p[2] - d) / p[3])
        return np.column_stack([one, 1 / den, -p[1] * (den - 1) / (p[3] * den ** 2),
                                p[1] * (den - 1) * (p[2] - d) / (p[3] ** 2 * den ** 2)])
    if model == "betaMod":
        x = d / scal
        if np.any(x > 1):
            raise ValueError("doses cannot be larger than scal in the betaMod model")
        g1 = _beta_shape(x, p[2], p[3])
        ls = _log0(p[2] + p[3])
        return np.column_stack([one, g1, g1 * p[1] * (_log0(x) + ls - _log0(p[2])),
                                g1 * p[1] * (_log0(1 - x) + ls - _log0(p[3]))])
    raise ValueError(f"unknown dose-response model {model!r}")


def standardized(model: str, d: np.ndarray, nl: np.ndarray, scal: float | None = None) -> np.ndarray:
    """DoseFinding ``getStandDR``: the model with e0 = 0 and eMax (or e1) = 1. ``nl`` may be (G, dim).

    Returns (len(d), G) when ``nl`` is 2-D, else (len(d),).
    """
    d = np.asarray(d, dtype=float)[:, None]
    nl = np.asarray(nl, dtype=float)
    flat = nl.ndim <= 1 and NONLINEAR_DIM[model] == 1 or nl.ndim == 1 and NONLINEAR_DIM[model] == 2
    nl2 = nl.reshape(-1, NONLINEAR_DIM[model])
    a = nl2[:, 0][None, :]
    if model == "emax":
        out = d / (a + d)
    elif model == "exponential":
        out = np.exp(d / a) - 1
    elif model == "sigEmax":
        h = nl2[:, 1][None, :]
        with np.errstate(divide="ignore", over="ignore"):
            out = 1 / (1 + (a / np.where(d > 0, d, 1e-300)) ** h)
    elif model == "logistic":
        delta = nl2[:, 1][None, :]
        out = 1 / (1 + np.exp((a - d) / delta))
    elif model == "betaMod":
        out = _beta_shape(d / scal, a, nl2[:, 1][None, :])
    else:
        raise ValueError(model)
    return out[:, 0] if flat else out


def guesstimate_params(model: str, guess: list[float], doses: np.ndarray, plac_eff: float = 0.0,
                       max_eff: float = 1.0, off: float | None = None) -> list[float]:
    """Full parameters of a candidate shape from its guesstimate (DoseFinding ``getLinPars``): the
    shape rises from ``plac_eff`` by ``max_eff`` over the dose range (betaMod: at its maximum;
    linInt: ``guess`` holds the relative effects at the active doses, scaled by the largest in size)."""
    dmax = float(np.max(doses))
    if model == "linear":
        return [plac_eff, max_eff / dmax]
    if model == "linlog":
        e1 = max_eff / (math.log(dmax + off) - math.log(off))
        return [plac_eff - e1 * math.log(off), e1]
    if model == "quadratic":
        g = guess[0]
        dm = 1 / (-2 * g)
        b1 = max_eff / (dm + g * dm * dm)
        return [plac_eff, b1, g * b1]
    if model == "emax":
        return [plac_eff, max_eff * (guess[0] + dmax) / dmax, guess[0]]
    if model == "exponential":
        return [plac_eff, max_eff / (math.exp(dmax / guess[0]) - 1), guess[0]]
    if model == "logistic":
        ed50, delta = guess
        f = lambda x: 1 / (1 + math.exp((ed50 - x) / delta))  # noqa: E731
        emax = max_eff / (f(dmax) - f(0))
        return [plac_eff - emax * f(0), emax, ed50, delta]
    if model == "sigEmax":
        ed50, h = guess
        return [plac_eff, max_eff * (ed50 ** h + dmax ** h) / dmax ** h, ed50, h]
    if model == "betaMod":
        return [plac_eff, max_eff, guess[0], guess[1]]
    if model == "linInt":
        g = np.asarray(guess, dtype=float)
        if len(g) != len(doses) - 1:
            raise DossierError(f"linInt needs one guesstimate per active dose ({len(doses) - 1}), got {len(g)}",
                               "mcpmod candidates", "give the expected relative effect at each active dose")
        top = g[int(np.argmax(np.abs(g)))]
        return [plac_eff] + list(plac_eff + max_eff * g / top)
    raise ValueError(model)


def default_bounds(model: str, max_dose: float) -> np.ndarray:
    """DoseFinding ``defBnds``: bounds of the nonlinear parameters, rows = parameters."""
    m = max_dose
    return {
        "emax": np.array([[0.001 * m, 1.5 * m]]),
        "exponential": np.array([[0.1 * m, 2 * m]]),
        "logistic": np.array([[0.001 * m, 1.5 * m], [0.01 * m, 0.5 * m]]),
        "sigEmax": np.array([[0.001 * m, 1.5 * m], [0.5, 10.0]]),
        "betaMod": np.array([[0.05, 4.0], [0.05, 4.0]]),
    }[model]


def default_candidates(doses: np.ndarray) -> list[tuple[str, list[float]]]:
    """A default candidate set spanning linear, concave, sigmoid and convex shapes (guesstimates
    scaled to the highest dose, in the spirit of Pinheiro et al. 2014 and DoseFinding's examples)."""
    m = float(np.max(doses))
    return [("linear", []), ("emax", [0.2 * m]), ("sigEmax", [0.4 * m, 3.0]), ("exponential", [0.5 * m]),
            ("quadratic", [-0.85 / m]), ("logistic", [0.5 * m, 0.1 * m])]


def candidate_means(candidates: list[tuple[str, list[float]]], doses: np.ndarray, scal: float | None = None,
                    off: float | None = None) -> tuple[list[str], np.ndarray]:
    """Names (DoseFinding's: a number appended when a model class appears more than once) and mean
    responses (len(doses), M) of the standardized candidate shapes (DoseFinding ``Mods`` / ``getResp``)."""
    doses = np.asarray(doses, dtype=float)
    scal, off = add_args(doses, scal, off)
    counts: dict[str, int] = {}
    for model, _ in candidates:
        counts[model] = counts.get(model, 0) + 1
    seen: dict[str, int] = {}
    names, cols = [], []
    for model, guess in candidates:
        if model not in MODELS:
            raise DossierError(f"unknown dose-response model {model!r}", "mcpmod candidates",
                               f"use one of {', '.join(MODELS)}")
        mu = model_response(model, doses, guesstimate_params(model, guess, doses, off=off), scal=scal, off=off,
                            nodes=doses)
        seen[model] = seen.get(model, 0) + 1
        names.append(model if counts[model] == 1 else f"{model}{seen[model]}")
        cols.append(mu)
    return names, np.column_stack(cols)


# ----------------------------------------------------------------------------------------------
# Optimal contrasts and the multiple contrast test
# ----------------------------------------------------------------------------------------------

def optimal_contrast(mu: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Optimal contrast for shape ``mu`` under covariance ``S`` (DoseFinding ``optC``; Bretz et al. 2005;
    Pinheiro et al. 2014 eq. 5): c ~ S^-1 (mu - mu_bar), mu_bar the S^-1-weighted mean, unit length."""
    Sinv = np.linalg.inv(S)
    aux = Sinv.sum(axis=1)
    mn = float(np.sum(mu * aux) / np.sum(aux))
    val = Sinv @ (mu - mn)
    val = val - val.sum()
    return val / np.sqrt(np.sum(val ** 2))


@functools.lru_cache(maxsize=16)
def _sphere_directions(r: int, m: int = 14, seed: int = 20050705) -> np.ndarray:
    """Scrambled Sobol points mapped to directions on the unit sphere in R^r (with antithetics); cached
    per dimension (they do not depend on the data)."""
    if r == 1:
        return np.array([[1.0], [-1.0]])
    u = qmc.Sobol(d=r, scramble=True, seed=seed).random_base2(m)
    z = stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    out = np.vstack([z, -z])
    out.flags.writeable = False
    return out


_RHO_STEP = 0.0025
_RHO_GRID = np.arange(24002) * _RHO_STEP


@functools.lru_cache(maxsize=64)
def _rho_cdf_table(r: int, df: float) -> np.ndarray:
    """Cdf of the radius rho at ``_RHO_GRID``: rho^2 ~ chi2_r (df = inf) or rho^2 / r ~ F(r, df)."""
    x2 = np.square(_RHO_GRID)
    if not math.isfinite(df) or df <= 0:
        out = special.gammainc(r / 2, x2 / 2)
    else:
        out = special.betainc(r / 2, df / 2, x2 / (x2 + df))
    out.flags.writeable = False
    return out


class MaxTDistribution:
    """Distribution of max_j T_j for T ~ multivariate t (df; df = inf: normal) with correlation ``corr``.

    Spherical-radial decomposition (Bretz, Genz & Hothorn 2001): T = rho * A u with corr = A A^T,
    u uniform on the unit sphere of the rank of ``corr`` and rho^2 / r ~ F(r, df) (chi2_r when df = inf),
    so P(max_j T_j <= q) = E_u[ P(rho * max_j (A u)_j <= q) ], integrated over u by randomized QMC
    (2^14 scrambled Sobol directions and their antithetics, fixed seed). Works for singular ``corr``;
    deterministic. The radial cdf is tabulated (step 0.0025, interpolation error < 1e-6).
    """

    def __init__(self, corr: np.ndarray, df: float, two_sided: bool = False):
        w, V = np.linalg.eigh(np.asarray(corr, dtype=float))
        keep = w > 1e-10 * max(w.max(), 1.0)
        A = V[:, keep] * np.sqrt(w[keep])
        self.r = int(keep.sum())
        self.df = float(df) if df is not None else math.inf
        proj = A @ _sphere_directions(self.r).T  # (m, N): the maximum over contrasts runs along rows (fast)
        m = np.abs(proj).max(axis=0) if two_sided else proj.max(axis=0)
        self._n = len(m)
        self._inv_pos = 1.0 / m[m > 0]  # directions along which the maximum can exceed q > 0
        self._inv_neg = 1.0 / m[m < 0]
        self._F = _rho_cdf_table(self.r, self.df if math.isfinite(self.df) else math.inf)

    def _G(self, x: np.ndarray) -> np.ndarray:
        """Radial cdf by linear interpolation in the uniform table (index arithmetic: no search)."""
        t = np.minimum(x * (1.0 / _RHO_STEP), len(self._F) - 1.000001)
        i = t.astype(np.intp)
        F = self._F
        return F[i] + (t - i) * (F[i + 1] - F[i])

    def cdf(self, q: float | np.ndarray) -> float | np.ndarray:
        qa = np.atleast_1d(np.asarray(q, dtype=float))
        out = np.empty(len(qa))
        for i, qi in enumerate(qa):
            if qi >= 0:  # max <= q fails only where m > 0 and rho > q / m
                out[i] = 1.0 - np.sum(1.0 - self._G(qi * self._inv_pos)) / self._n
            else:  # needs m < 0 and rho >= q / m
                out[i] = np.sum(1.0 - self._G(qi * self._inv_neg)) / self._n
        return float(out[0]) if np.ndim(q) == 0 else out

    def quantile(self, p: float) -> float:
        lo, hi = 0.0, 1.0
        while self.cdf(hi) < p:
            lo, hi = hi, hi * 2
        return float(optimize.brentq(lambda q: self.cdf(q) - p, lo, hi, xtol=1e-8))


@functools.lru_cache(maxsize=256)
def _max_t_cached(corr_bytes: bytes, m: int, df: float, alpha: float) -> tuple[MaxTDistribution, float]:
    dist = MaxTDistribution(np.frombuffer(corr_bytes).reshape(m, m), df)
    return dist, dist.quantile(1 - alpha)


def max_t(corr: np.ndarray, df: float, alpha: float) -> tuple[MaxTDistribution, float]:
    """The max-t distribution of a contrast correlation and its 1 - alpha quantile (the critical value),
    cached by (correlation rounded to 1e-12, df, alpha): they depend on the design, not the responses."""
    c = np.ascontiguousarray(np.round(np.asarray(corr, dtype=float), 12))
    return _max_t_cached(c.tobytes(), c.shape[0], float(df), float(alpha))


class ContrastTest(Result):
    """The multiple contrast test: one optimal contrast per candidate model."""

    doses: list[float]
    models: list[str]
    contrasts: list[list[float]]  # one list per model (length = number of doses)
    correlation: list[list[float]]
    t_statistics: list[float]
    p_values: list[float]
    critical_value: float
    df: float | None
    alpha: float
    significant: list[str]


def contrast_test(doses: np.ndarray, est: np.ndarray, vc: np.ndarray, df: float,
                  candidates: list[tuple[str, list[float]]], alpha: float = 0.025, scal: float | None = None,
                  off: float | None = None) -> ContrastTest:
    """MCTtest: t statistics of the optimal contrasts, multiplicity-adjusted p-values and critical value.

    ``scal`` / ``off`` are the fixed parameters of betaMod / linlog candidates (see :func:`add_args`);
    linInt candidates interpolate at ``doses``.
    """
    doses = np.asarray(doses, dtype=float)
    all_names, mu = candidate_means(candidates, doses, scal, off)
    keep = np.ptp(mu, axis=0) > 0
    names = [n for n, k in zip(all_names, keep, strict=True) if k]
    C = np.column_stack([optimal_contrast(mu[:, j], vc) for j in np.nonzero(keep)[0]])
    cov = C.T @ vc @ C
    den = np.sqrt(np.diag(cov))
    t = (est @ C) / den
    corr = cov / np.outer(den, den)
    dist, crit = max_t(corr, df, alpha)
    pvals = (1.0 - dist.cdf(t)).tolist()
    sig = [n for n, p in zip(names, pvals, strict=True) if p < alpha]
    return ContrastTest(doses=[float(d) for d in doses], models=names, contrasts=C.T.tolist(),
                        correlation=corr.tolist(), t_statistics=t.tolist(), p_values=pvals, critical_value=crit,
                        df=None if not math.isfinite(df) else float(df), alpha=alpha, significant=sig)


# ----------------------------------------------------------------------------------------------
# Model fitting (DoseFinding fitMod: profile least squares, grid then local optimisation)
# ----------------------------------------------------------------------------------------------

class ModelFit(Result):
    """A fitted dose-response model (DoseFinding ``DRMod``): parameters, (generalized) RSS, AIC and the
    approximate covariance of the parameters (``vcov``), in the order dose-response parameters then
    covariate coefficients."""

    model: str
    params: dict[str, float]  # dose-response parameters
    rss: float  # normal: residual sum of squares incl. within-group SS; general: generalized RSS
    criterion: float  # AIC (normal) or generalized AIC (general)
    df: float | None
    covariance: list[list[float]] | None = None  # None: singular information matrix (DoseFinding: NA)
    covariate_coefs: dict[str, float] = {}
    covariate_center: list[float] = []  # ls-means row of the covariate columns (mean; factor: 1/levels)
    scal: float | None = None  # betaMod
    off: float | None = None  # linlog
    nodes: list[float] | None = None  # linInt

    @property
    def standard_errors(self) -> dict[str, float | None]:
        names = list(self.params) + list(self.covariate_coefs)
        if self.covariance is None:
            return dict.fromkeys(names)
        return dict(zip(names, np.sqrt(np.diag(np.asarray(self.covariance))).tolist(), strict=True))

    def response(self, d: np.ndarray) -> np.ndarray:
        return model_response(self.model, d, list(self.params.values()), self.scal, self.off, self.nodes)

    def _grad(self, d: np.ndarray) -> np.ndarray:
        return gradient(self.model, np.atleast_1d(np.asarray(d, float)), list(self.params.values()),
                        self.scal, self.off, self.nodes)

    def predict(self, d: np.ndarray, kind: str = "ls-means") -> tuple[np.ndarray, np.ndarray | None]:
        """Prediction and its delta-method standard error at doses ``d`` (DoseFinding ``predict.DRMod``
        with ``se.fit = TRUE``): ``kind = "ls-means"`` (covariates at their ``covariate_center``) or
        ``"effect-curve"`` (f(d) - f(0)). The standard error is None when the covariance is singular."""
        d = np.atleast_1d(np.asarray(d, float))
        p = len(self.params)
        if kind == "ls-means":
            gam = np.array(list(self.covariate_coefs.values()), float)
            cen = np.asarray(self.covariate_center, float)
            fit = self.response(d) + (float(cen @ gam) if len(gam) else 0.0)
            J = np.column_stack([self._grad(d), np.tile(cen, (len(d), 1))]) if len(gam) else self._grad(d)
            cov = None if self.covariance is None else np.asarray(self.covariance)
        elif kind == "effect-curve":
            fit = self.response(d) - self.response(np.zeros(1))[0]
            J = self._grad(d) - self._grad(np.zeros(1))
            cov = None if self.covariance is None else np.asarray(self.covariance)[:p, :p]
        else:
            raise ValueError(f"unknown prediction type {kind!r}")
        if cov is None:
            return fit, None
        return fit, np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", J, cov, J), 0.0))


def _grid(model: str, bnds: np.ndarray, n1: int = 30, n2: int = 144) -> np.ndarray:
    """DoseFinding ``getGrid``: midpoints (1-D) or a Fibonacci lattice (2-D) over the bounds."""
    if NONLINEAR_DIM[model] == 1:
        k = np.arange(1, n1 + 1)
        return ((2 * k - 1) / (2 * n1) * (bnds[0, 1] - bnds[0, 0]) + bnds[0, 0])[:, None]
    glp = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765, 10946, 17711, 28657]
    i = min(j for j, g in enumerate(glp) if g >= max(n2, 5))
    N = glp[i]
    k = np.arange(1, N + 1)
    mat = np.column_stack([(k - 0.5) / N, ((glp[i - 1] * k - 0.5) / N) % 1])
    mat[:, 0] = mat[:, 0] * (bnds[0, 1] - bnds[0, 0]) + bnds[0, 0]
    mat[:, 1] = mat[:, 1] * (bnds[1, 1] - bnds[1, 0]) + bnds[1, 0]
    return mat


class _Problem:
    """Least squares min ||R (y - f(d) - N beta)||^2 with nuisance columns N (intercept, covariates);
    R is None (identity: individual data) or a weight matrix (R'R = W: group sizes or S^-1)."""

    def __init__(self, doses: np.ndarray, y: np.ndarray, R: np.ndarray | None, nuisance: np.ndarray,
                 scal: float | None):
        self.doses, self.R, self.scal = doses, R, scal
        self.Q = np.linalg.qr(self.w(nuisance))[0]
        self.ry = self.resid(self.w(y))
        self.yy = float(self.ry @ self.ry)

    def w(self, v: np.ndarray) -> np.ndarray:
        return v if self.R is None else self.R @ v

    def resid(self, v: np.ndarray) -> np.ndarray:
        return v - self.Q @ (self.Q.T @ v)

    def profile(self, model: str, nl: np.ndarray) -> np.ndarray:
        """Residual SS with the linear parameters profiled out, at nonlinear parameters ``nl`` (G, dim)."""
        Z = self.resid(self.w(standardized(model, self.doses, np.atleast_2d(nl), self.scal)))
        cross = self.ry @ Z
        zz = np.sum(Z * Z, axis=0)
        out = self.yy - cross * cross / np.where(zz > 0, zz, np.nan)  # constant shapes: nan, no warning
        return np.where(np.isfinite(out), out, np.inf)


def _local_min(f: Callable[[np.ndarray], np.ndarray], start: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               rel_tol: float = 1e-10) -> np.ndarray:
    """Bound-constrained local minimum by a vectorised pattern (grid) search: a stencil around the
    incumbent (1-D: 33 points, 2-D: 9 x 9) is evaluated at once; the incumbent moves to the best stencil
    point, the step shrinks (1-D: 16-fold, 2-D: 4-fold) when the incumbent is best and doubles when the best point is on the stencil's edge
    (a generalized pattern search, Torczon, SIAM J Optim 1997;7:1-25). Deterministic."""
    dim = len(start)
    axis = np.linspace(-1.0, 1.0, 9 if dim > 1 else 33)
    shrink = 4.0 if dim > 1 else 16.0
    offs = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), -1).reshape(-1, dim)
    edge = np.any(np.abs(offs) == 1.0, axis=1)
    width = hi - lo
    h = width / (12.0 if dim > 1 else 30.0)
    x = np.clip(np.asarray(start, float), lo, hi)
    fx = float(f(x[None, :])[0])
    for _ in range(2000):
        if np.all(h <= rel_tol * width):
            break
        pts = np.clip(x + offs * h, lo, hi)
        vals = f(pts)
        j = int(np.argmin(vals))
        if vals[j] < fx and not np.array_equal(pts[j], x):
            x, fx = pts[j], float(vals[j])
            if edge[j]:
                h = np.minimum(2 * h, width)
        else:
            h = h / shrink
    return x


def fit_model(model: str, doses: np.ndarray, est: np.ndarray, R: np.ndarray | None, bounds: np.ndarray | None = None,
              extra_rss: float = 0.0, n_obs: int | None = None, df: float | None = None, scal: float | None = None,
              off: float | None = None, covariates: np.ndarray | None = None,
              covariate_names: list[str] | None = None, covariate_center: list[float] | None = None) -> ModelFit:
    """Fit one model by (generalized) least squares with weight matrix R'R (DoseFinding ``fitMod``).

    Normal data on group means: ``R = diag(sqrt(n))``, ``extra_rss`` the within-group sum of squares,
    ``n_obs`` the number of patients (AIC of DoseFinding ``logLik.DRMod``). Normal data with covariates
    (ANCOVA, DoseFinding ``addCovars``): ``doses`` / ``est`` per patient, ``R = None``, ``covariates`` the
    (n, q) covariate columns without intercept. General data: ``R = chol(S^-1)`` (upper), criterion =
    gRSS + 2 * number of parameters (DoseFinding ``gAIC``). Nonlinear parameters by profile least
    squares: DoseFinding's grid (``getGrid``; 1-D bounds then narrowed to the best grid cell) followed by
    a local search. The covariance is DoseFinding's ``vcov.DRMod``: (J'WJ)^-1 RSS/df (normal) or
    (J'S^-1J)^-1 (general), J the gradient of the mean in the parameters at the fitted values.
    """
    doses = np.asarray(doses, float)
    est = np.asarray(est, float)
    scal, off = add_args(doses, scal, off)
    nodes = np.unique(doses) if model == "linInt" else None
    Zc = np.zeros((len(doses), 0)) if covariates is None else np.asarray(covariates, float).reshape(len(doses), -1)
    w = (lambda v: v) if R is None else (lambda v: R @ v)  # noqa: E731
    if model in LINEAR_MODELS:
        X = np.column_stack([linear_design(model, doses, off, nodes), Zc])
        lin = np.linalg.lstsq(w(X), w(est), rcond=None)[0]
        q = X.shape[1] - Zc.shape[1]
        par, gam = lin[:q], lin[q:]
        r = w(est - X @ lin)
    else:
        bnds = default_bounds(model, doses.max()) if bounds is None else np.atleast_2d(np.asarray(bounds, float))
        prob = _Problem(doses, est, R, np.column_stack([np.ones_like(doses), Zc]), scal)
        grid = _grid(model, bnds)
        start = grid[int(np.argmin(prob.profile(model, grid)))]
        lo, hi = bnds[:, 0].copy(), bnds[:, 1].copy()
        if NONLINEAR_DIM[model] == 1:  # DoseFinding narrows the bounds to the best grid cell
            dif = (hi[0] - lo[0]) / len(grid)
            lo[0], hi[0] = max(start[0] - 1.1 * dif, lo[0]), min(start[0] + 1.1 * dif, hi[0])
        nl = _local_min(lambda x: prob.profile(model, x), start, lo, hi)
        X = np.column_stack([np.ones_like(doses), standardized(model, doses, nl[None, :], scal)[:, 0], Zc])
        lin = np.linalg.lstsq(w(X), w(est), rcond=None)[0]
        par, gam = np.concatenate([lin[:2], nl]), lin[2:]
        r = w(est - X @ lin)
    rss_total = float(r @ r) + extra_rss
    k = len(par) + len(gam)
    if n_obs is not None:
        sig2 = rss_total / n_obs
        ll = -n_obs / 2 * (math.log(2 * math.pi) + 1 + math.log(sig2))
        crit = -2 * ll + 2 * (k + 1)
        dfv = float(n_obs - k)
        scale = rss_total / dfv if dfv > 0 else math.nan
    else:
        crit = rss_total + 2 * k
        dfv = df
        scale = 1.0
    J = w(np.column_stack([gradient(model, doses, par, scal, off, nodes), Zc]))
    try:
        info = J.T @ J
        cov = np.linalg.inv(info) * scale if np.linalg.cond(info) < 1e14 else None
    except np.linalg.LinAlgError:
        cov = None
    names = covariate_names or [f"x{j + 1}" for j in range(len(gam))]
    return ModelFit(model=model, params=dict(zip(param_names(model, nodes), [float(x) for x in par], strict=True)),
                    rss=rss_total, criterion=crit, df=dfv,
                    covariance=None if cov is None or not np.all(np.isfinite(cov)) else cov.tolist(),
                    covariate_coefs=dict(zip(names, [float(g) for g in gam], strict=True)),
                    covariate_center=[float(c) for c in (covariate_center or [0.0] * len(gam))],
                    scal=scal if model == "betaMod" else None, off=off if model == "linlog" else None,
                    nodes=None if nodes is None else nodes.tolist())


def target_dose(fit: ModelFit, delta: float) -> float | None:
    """Smallest dose with f(d) - f(0) >= delta (DoseFinding ``calcTD``, continuous, increasing)."""
    cf = list(fit.params.values())
    m = fit.model
    if m == "linear":
        td = delta / cf[1]
        return td if td > 0 else None
    if m == "linlog":
        td = fit.off * math.exp(delta / cf[1]) - fit.off
        return td if td > 0 else None
    if m == "quadratic":
        disc = 4 * cf[2] * delta + cf[1] ** 2
        if disc < 0:
            return None
        d1 = -(math.sqrt(disc) + cf[1]) / (2 * cf[2])
        d2 = (math.sqrt(disc) - cf[1]) / (2 * cf[2])
        pos = [x for x in (d1, d2) if x > 0]
        return min(pos) if pos else None
    if m == "emax":
        return None if delta > cf[1] else delta * cf[2] / (cf[1] - delta)
    if m == "sigEmax":
        return None if delta > cf[1] else (delta * cf[2] ** cf[3] / (cf[1] - delta)) ** (1 / cf[3])
    if m == "exponential":
        return None if delta / cf[1] < 0 else cf[2] * math.log(delta / cf[1] + 1)
    if m == "logistic":
        if delta > cf[1] * (1 - 1 / (1 + math.exp(cf[2] / cf[3]))):
            return None
        t = math.exp(cf[2] / cf[3])
        num = t * cf[1] - delta * t - delta
        den = cf[1] + delta * t + delta
        return cf[2] - cf[3] * math.log(num / den)
    if m == "betaMod":  # rising limb: root of eMax * shape(d / scal) = delta below the mode
        if delta > cf[1]:
            return None
        mode = cf[2] / (cf[2] + cf[3]) * fit.scal
        g = lambda d: float(cf[1] * _beta_shape(d / fit.scal, cf[2], cf[3]) - delta)  # noqa: E731
        return float(optimize.brentq(g, 0.0, mode, xtol=1e-12))
    if m == "linInt":
        below = np.asarray(cf) < cf[0] + delta
        if below.all():
            return None
        i = int(np.argmin(below)) - 1  # last node before the first at or above f(0) + delta
        nodes = fit.nodes
        td = nodes[i] + (cf[0] + delta - cf[i]) / (cf[i + 1] - cf[i]) * (nodes[i + 1] - nodes[i])
        return td if td > 0 else None
    raise ValueError(m)


def target_dose_numeric(fn: Callable[[np.ndarray], np.ndarray], delta: float, max_dose: float) -> float | None:
    """Smallest dose in [0, max_dose] with fn(d) - fn(0) >= delta (any link), by grid then bisection."""
    grid = np.linspace(0, max_dose, 2001)
    eff = fn(grid) - fn(np.array([0.0]))[0]
    hit = np.nonzero(eff >= delta)[0]
    if not len(hit):
        return None
    i = int(hit[0])
    if i == 0:
        return 0.0
    g = lambda d: float(fn(np.array([d]))[0] - fn(np.array([0.0]))[0] - delta)  # noqa: E731
    return float(optimize.brentq(g, grid[i - 1], grid[i], xtol=1e-10))


# ----------------------------------------------------------------------------------------------
# Vectorised fits for the bootstrap (dense grid over the nonlinear parameters)
# ----------------------------------------------------------------------------------------------

def _fit_batch(model: str, doses: np.ndarray, Y: np.ndarray, R: np.ndarray, bounds: np.ndarray | None,
               scal: float | None = None, off: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fits of ``model`` to many estimate vectors ``Y`` (B, k) at once.

    Nonlinear parameters are taken from a dense grid (1-D: 400 log-spaced points, 2-D: 1597-point
    Fibonacci lattice), linear parameters by exact profile least squares. Returns (params (B, p), rss (B,)).
    """
    B = Y.shape[0]
    if model in LINEAR_MODELS:
        RX = R @ linear_design(model, doses, off, doses)
        par = np.linalg.lstsq(RX, (Y @ R.T).T, rcond=None)[0].T
        res = Y @ R.T - par @ RX.T
        return par, np.sum(res * res, axis=1)
    bnds = default_bounds(model, doses.max()) if bounds is None else np.atleast_2d(bounds)
    if NONLINEAR_DIM[model] == 1:
        grid = np.geomspace(bnds[0, 0], bnds[0, 1], 400)[:, None]
    else:
        grid = _grid(model, bnds, n2=1597)
    F = standardized(model, doses, grid, scal)  # (k, G)
    RY = Y @ R.T  # (B, k)
    R1 = R @ np.ones(len(doses))
    RF = R @ F  # (k, G)
    # two-parameter LS (intercept + slope on F) for every (replicate, grid point)
    a11 = R1 @ R1
    a12 = R1 @ RF  # (G,)
    a22 = np.sum(RF * RF, axis=0)
    b1 = RY @ R1  # (B,)
    b2 = RY @ RF  # (B, G)
    det = a11 * a22 - a12 * a12
    ok = det > 1e-12 * a11 * np.maximum(a22, 1e-300)  # grid points whose shape is not constant over doses
    det = np.where(ok, det, 1.0)
    slope = (a11 * b2 - a12 * b1[:, None]) / det
    inter = (b1[:, None] - a12 * slope) / a11
    rss = np.sum(RY * RY, axis=1)[:, None] - inter * b1[:, None] - slope * b2
    rss = np.where(ok[None, :] & np.isfinite(rss), rss, np.inf)
    j = np.argmin(rss, axis=1)
    idx = np.arange(B)
    par = np.column_stack([inter[idx, j], slope[idx, j], grid[j]])
    return par, rss[idx, j]


def _batch_response(model: str, d: np.ndarray, par: np.ndarray, scal: float | None, off: float | None,
                    nodes: np.ndarray) -> np.ndarray:
    """Mean responses (B, len(d)) for parameter rows ``par`` (B, p)."""
    if model in LINEAR_MODELS:
        return par @ linear_design(model, d, off, nodes).T
    return model_response(model, d[None, :], [par[:, i:i + 1] for i in range(par.shape[1])], scal, off)


# ----------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------

def covariate_design(covariates: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, list[str], list[float]]:
    """Covariate columns as R's ``model.matrix`` builds them: numbers as they are, other values as a
    factor (levels sorted) with treatment contrasts; and the LS-means row (DoseFinding ``predict``
    ``ls-means``: the mean of a number, 1/levels for each factor column)."""
    cols, names, center = [], [], []
    for name, values in covariates.items():
        v = np.asarray(values)
        if len(v) != n:
            raise DossierError(f"covariate {name!r} has {len(v)} values for {n} subjects", "mcpmod covariates",
                               "give one value per subject")
        if v.dtype.kind in "biuf":
            x = v.astype(float)
            if not np.all(np.isfinite(x)):
                raise DossierError(f"covariate {name!r} has missing values", "mcpmod covariates",
                                   "impute or drop the subjects before the analysis")
            cols.append(x)
            names.append(name)
            center.append(float(x.mean()))
            continue
        levels = sorted({str(x) for x in v})
        sv = np.array([str(x) for x in v])
        for lev in levels[1:]:
            cols.append((sv == lev).astype(float))
            names.append(f"{name}{lev}")
            center.append(1.0 / len(levels))
    return np.column_stack(cols) if cols else np.zeros((n, 0)), names, center


class _Ancova(NamedTuple):
    coef: np.ndarray
    coef_cov: np.ndarray
    ls_means: np.ndarray
    ls_cov: np.ndarray
    df: float


def ancova_dose_estimates(doses: np.ndarray, y: np.ndarray, Z: np.ndarray, center: list[float]) -> _Ancova:
    """The ANCOVA ``lm(y ~ factor(dose) + covariates - 1)``: dose coefficients and their covariance (what
    DoseFinding's ``MCTtest`` tests with ``addCovars``), and the LS-means at the covariate ``center``."""
    ud = np.unique(doses)
    X = np.column_stack([(doses == d).astype(float) for d in ud] + [Z])
    beta, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < X.shape[1]:
        raise DossierError("the covariates are collinear with dose or with each other", "mcpmod covariates",
                           "drop covariates that are constant or determined by the dose group")
    r = y - X @ beta
    df = float(len(y) - rank)
    V = np.linalg.inv(X.T @ X) * float(r @ r) / df
    k = len(ud)
    L = np.column_stack([np.eye(k), np.tile(np.asarray(center, float), (k, 1))])
    return _Ancova(coef=beta[:k], coef_cov=V[:k, :k], ls_means=L @ beta, ls_cov=L @ V @ L.T, df=df)


class DoseGroup(Result):
    dose: float
    n: int
    estimate: float  # mean (normal) or logit of the response rate (binary)
    se: float
    events: int | None = None
    rate: float | None = None


class MCPModResult(Result):
    """MCP-Mod for one endpoint."""

    endpoint: str
    kind: str  # efficacy / safety
    data_type: str  # normal / binary
    scale: str  # identity / logit
    groups: list[DoseGroup]
    candidates: list[dict]
    test: ContrastTest
    dose_response_detected: bool
    fits: list[ModelFit]
    selection: str  # AIC / aveAIC
    selected_model: str | None
    model_weights: dict[str, float]
    delta: float | None
    delta_scale: str
    target_dose: float | None
    target_dose_ci_lower: float | None
    target_dose_ci_upper: float | None
    target_dose_reached_fraction: float | None
    n_bootstrap: int
    curve_dose: list[float]
    curve_response: list[float]
    curve_lower: list[float]
    curve_upper: list[float]
    continuity_correction: bool
    n_doses_incl_placebo: int
    has_placebo: bool
    within_qualification_context: bool
    context_notes: list[str]
    covariates: list[str] = []  # covariate columns of the ANCOVA (continuous endpoints)


def _prepare(doses: np.ndarray, y: np.ndarray, data_type: str):
    doses = np.asarray(doses, float)
    y = np.asarray(y, float)
    ud = np.unique(doses)
    groups = []
    if data_type == "normal":
        means = np.array([y[doses == d].mean() for d in ud])
        n = np.array([(doses == d).sum() for d in ud], dtype=float)
        within = float(sum(((y[doses == d] - y[doses == d].mean()) ** 2).sum() for d in ud))
        dfe = float(len(y) - len(ud))
        s2 = within / dfe
        vc = np.diag(s2 / n)
        R = np.diag(np.sqrt(n))
        for d, m, k in zip(ud, means, n, strict=True):
            groups.append(DoseGroup(dose=float(d), n=int(k), estimate=float(m), se=float(math.sqrt(s2 / k))))
        return ud, means, vc, dfe, R, within, len(y), groups, False
    x = np.array([y[doses == d].sum() for d in ud])
    n = np.array([(doses == d).sum() for d in ud], dtype=float)
    cc = bool(np.any((x == 0) | (x == n)))
    xa, na = (x + 0.5, n + 1.0) if cc else (x, n)
    mu = np.log(xa / (na - xa))
    var = 1 / xa + 1 / (na - xa)
    for d, m, k, e, v in zip(ud, mu, n, x, var, strict=True):
        groups.append(DoseGroup(dose=float(d), n=int(k), estimate=float(m), se=float(math.sqrt(v)), events=int(e),
                                rate=float(e / k)))
    vc = np.diag(var)
    R = np.diag(1 / np.sqrt(var))  # chol(S^-1) for diagonal S
    return ud, mu, vc, math.inf, R, 0.0, None, groups, cc


def _bootstrap_curves(fits: list[ModelFit], ud: np.ndarray, Y: np.ndarray, R: np.ndarray, n_obs: int | None,
                      within: float, link: Callable, grid: np.ndarray, selection: str) -> np.ndarray:
    """Dose-response curves (B, G) of the replicates ``Y``: every model refitted, then selected (AIC) or
    averaged (aveAIC) within each replicate."""
    crits, resps = [], []
    for f in fits:
        par, rss = _fit_batch(f.model, ud, Y, R, None, f.scal, f.off)
        p = par.shape[1]
        crits.append(n_obs * np.log((rss + within) / n_obs) + 2 * (p + 1) if n_obs is not None else rss + 2 * p)
        resps.append(link(_batch_response(f.model, grid, par, f.scal, f.off, ud)))
    C, G = np.stack(crits), np.stack(resps)  # (M, B), (M, B, G)
    if selection == "aveAIC":
        wb = np.exp(-0.5 * (C - C.min(axis=0)))
        return np.einsum("mb,mbg->bg", wb / wb.sum(axis=0), G)
    return G[np.argmin(C, axis=0), np.arange(Y.shape[0])]


def _bootstrap_target_dose_ci(boot: np.ndarray, grid: np.ndarray, delta: float
                              ) -> tuple[float | None, float | None, float]:
    """Percentile CI of the target dose over bootstrap curves (crossing by linear interpolation between
    grid points; replicates that never reach ``delta`` count as above the dose range) and the fraction
    of replicates that reach it."""
    eff = boot - boot[:, :1]
    hit = eff >= delta
    any_hit = hit.any(axis=1)
    first = np.argmax(hit, axis=1)
    tds = np.full(len(boot), np.inf)
    for b in np.nonzero(any_hit)[0]:
        i = first[b]
        if i == 0:
            tds[b] = 0.0
        else:
            e0, e1 = eff[b, i - 1], eff[b, i]
            tds[b] = grid[i - 1] + (delta - e0) / (e1 - e0) * (grid[i] - grid[i - 1])
    reached = float(any_hit.mean())
    if reached == 0:
        return None, None, reached
    qlo, qhi = np.quantile(tds, [0.025, 0.975], method="inverted_cdf")
    return (float(qlo) if np.isfinite(qlo) else None), (float(qhi) if np.isfinite(qhi) else None), reached


def analyse_mcpmod(doses: np.ndarray, y: np.ndarray, endpoint: str, data_type: str = "normal",
                   candidates: list[tuple[str, list[float]]] | None = None, delta: float | None = None,
                   alpha: float = 0.025, selection: str = "AIC", rng: np.random.Generator | None = None,
                   n_bootstrap: int = 500, kind: str = "efficacy", covariates: dict[str, np.ndarray] | None = None,
                   scal: float | None = None, off: float | None = None) -> MCPModResult | None:
    """MCP-Mod on subject-level data (``y`` continuous, or 0/1 for a binary endpoint).

    Binary endpoints are analysed on the logit scale with the "general" approach of Pinheiro et al.
    (2014): per-dose logit estimates with their (diagonal) asymptotic covariance; an empirical-logit
    continuity correction (+0.5) is applied to all groups when any group has 0% or 100% events. The
    target dose of a binary endpoint uses ``delta`` on the probability scale. The target-dose CI is a
    parametric bootstrap (estimates redrawn from N(mu_hat, S)), refitting the significant models and
    reselecting by AIC in each replicate (bootstrap model selection; cf. DoseFinding ``maFitMod``).

    Continuous endpoints may be adjusted for ``covariates`` (name -> one value per subject; numbers enter
    linearly, anything else as a factor with treatment contrasts), as DoseFinding's ``addCovars``: the
    contrast test uses the dose coefficients of the ANCOVA ``y ~ factor(dose) + covariates - 1`` and
    their covariance, the models are fitted to the subjects' data with the covariates, and dose groups
    and curves are LS-means (covariates at their means, factor levels equally weighted). The bootstrap
    then redraws the LS-means from their estimated covariance and refits by generalized least squares.
    ``scal`` and ``off`` are the fixed parameters of betaMod and linlog (defaults as DoseFinding).
    """
    doses = np.asarray(doses, float)
    ud = np.unique(doses)
    if len(ud) < 3:
        return None
    if candidates is None:
        candidates = default_candidates(ud)
    ud, est, vc, dfe, R, within, n_obs, groups, cc = _prepare(doses, y, data_type)
    if not np.all(np.isfinite(vc)) or np.any(np.diag(vc) <= 0):
        return None
    cov_names: list[str] = []
    if covariates and data_type != "normal":
        raise DossierError(f"covariates given for the {data_type} endpoint {endpoint!r}", "mcpmod covariates",
                           "covariate adjustment is available for continuous (normal) endpoints only")
    if covariates:
        Zc, cov_names, center = covariate_design(covariates, len(doses))
        anc = ancova_dose_estimates(doses, np.asarray(y, float), Zc, center)
        est, vc, dfe = anc.coef, anc.coef_cov, anc.df
        groups = [DoseGroup(dose=float(d), n=int(np.sum(doses == d)), estimate=float(m), se=float(math.sqrt(v)))
                  for d, m, v in zip(ud, anc.ls_means, np.diag(anc.ls_cov), strict=True)]
    test = contrast_test(ud, est, vc, dfe, candidates, alpha, scal, off)
    sig_models = list(dict.fromkeys(m.rstrip("0123456789") for m in test.significant))
    if cov_names:
        fits = [fit_model(m, doses, np.asarray(y, float), None, n_obs=len(doses), scal=scal, off=off, covariates=Zc,
                          covariate_names=cov_names, covariate_center=center) for m in sig_models]
        # bootstrap on the LS-means with their covariance (generalized least squares)
        est, vc = anc.ls_means, anc.ls_cov
        R = np.linalg.cholesky(np.linalg.inv(vc)).T
        n_obs, within = None, 0.0
    else:
        fits = [fit_model(m, ud, est, R, extra_rss=within, n_obs=n_obs, df=dfe, scal=scal, off=off)
                for m in sig_models]
    weights: dict[str, float] = {}
    selected = None
    if fits:
        crit = np.array([f.criterion for f in fits])
        w = np.exp(-0.5 * (crit - crit.min()))
        weights = {f.model: float(x) for f, x in zip(fits, w / w.sum(), strict=True)}
        selected = fits[int(np.argmin(crit))].model
    link = (lambda v: v) if data_type == "normal" else special.expit
    grid = np.linspace(0, ud.max(), 101)

    def curve(fitlist: list[ModelFit], wts: dict[str, float]) -> np.ndarray:
        if selection == "aveAIC":
            return sum(wts[f.model] * link(f.predict(grid)[0]) for f in fitlist)
        best = min(fitlist, key=lambda f: f.criterion)
        return link(best.predict(grid)[0])

    td = lo = hi = reached = None
    curve_resp: list[float] = []
    band_lo: list[float] = []
    band_hi: list[float] = []
    if fits:
        curve_resp = curve(fits, weights).tolist()
        best = min(fits, key=lambda f: f.criterion)
        if delta is not None:
            if data_type == "normal" and selection == "AIC":
                td = target_dose(best, delta)
            else:
                td = target_dose_numeric(lambda d: np.interp(d, grid, np.asarray(curve_resp)), delta, ud.max())
        if rng is not None and n_bootstrap > 0:
            Y = rng.multivariate_normal(est, vc, size=n_bootstrap)
            boot = _bootstrap_curves(fits, ud, Y, R, n_obs, within, link, grid, selection)
            band_lo = np.quantile(boot, 0.025, axis=0).tolist()
            band_hi = np.quantile(boot, 0.975, axis=0).tolist()
            if delta is not None:
                lo, hi, reached = _bootstrap_target_dose_ci(boot, grid, delta)
    has_placebo = bool(ud.min() == 0)
    notes = []
    if len(ud) < 4:
        notes.append("fewer_than_4_doses")
    if not has_placebo:
        notes.append("no_placebo")
    if cc:
        notes.append("continuity_correction")
    return MCPModResult(
        endpoint=endpoint, kind=kind, data_type=data_type, scale="identity" if data_type == "normal" else "logit",
        groups=groups, candidates=[{"model": m, "guesstimate": [float(g) for g in gs]} for m, gs in candidates],
        test=test, dose_response_detected=bool(test.significant), fits=fits, selection=selection,
        selected_model=selected, model_weights=weights, delta=delta,
        delta_scale="response" if data_type == "normal" else "probability", target_dose=td,
        target_dose_ci_lower=lo, target_dose_ci_upper=hi, target_dose_reached_fraction=reached,
        n_bootstrap=n_bootstrap if (fits and rng is not None) else 0, curve_dose=grid.tolist() if fits else [],
        curve_response=curve_resp, curve_lower=band_lo, curve_upper=band_hi, continuity_correction=cc,
        n_doses_incl_placebo=len(ud), has_placebo=has_placebo,
        within_qualification_context=has_placebo and len(ud) >= 4, context_notes=notes, covariates=cov_names)
