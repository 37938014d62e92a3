"""CRM: the continual reassessment method (one-parameter Bayesian model), dfcrm conventions.

References
----------
O'Quigley J, Pepe M, Fisher L (1990). Continual reassessment method: a practical design for phase 1
    clinical trials in cancer. Biometrics 46:33-48.
Cheung YK (2011). Dose Finding by the Continual Reassessment Method. Chapman & Hall/CRC.
Lee SM, Cheung YK (2009). Model calibration in the continual reassessment method.
    Clin Trials 6:227-238 (skeleton by indifference intervals: :func:`getprior`).
Cheung YK. dfcrm: Dose-finding by the continual reassessment method, R package -- ``crm()``,
    ``crmsim()`` and ``getprior()``, whose conventions we follow:

* working models (``skeleton`` = the prior guesses p_k, "prior" in dfcrm):
  empiric  F(d_k, beta) = p_k ** exp(beta);
  logistic logit F(d_k, beta) = intcpt + exp(beta) * x_k with x_k = logit(p_k) - intcpt (intcpt 3);
* prior beta ~ N(0, prior_sd^2) with dfcrm's default prior_sd = sqrt(1.34) for both models;
* beta is estimated by its posterior mean; the estimated DLT probabilities ``ptox`` are the model
  evaluated at the posterior mean of beta (a plug-in, *not* the posterior mean of the DLT
  probability), and the 90% interval is the model evaluated at mean -/+ z * posterior SD of beta;
* recommended dose: the highest dose if every ptox <= target, the lowest if every ptox >= target,
  otherwise the dose with ptox closest to the target (ties: the lower dose);
* in trials (``crmsim`` with ``restrict=TRUE``) the next dose never skips an untried higher dose
  (at most current + 1) and does not escalate right after a cohort whose DLT rate is >= target
  (coherence); the final MTD is the unrestricted recommendation on all data.

dfcrm integrates numerically with ``integrate()`` over the real line; we integrate by the
trapezoidal rule on a fixed grid of beta (+/- 8 prior SDs, shared by all simulated trials), which is
deterministic and agrees with adaptive quadrature to better than 1e-6 (see tests).  Optional
safety stop (not in dfcrm, off by default): stop with no MTD when Pr(p_1 > target | data) >
``stop_cutoff`` with at least ``stop_min_n`` patients at the lowest dose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product
from typing import Literal

import numpy as np
from pydantic import BaseModel

from dossier.designs.base import DecisionTable, Design, MtdSelection, TransitionPathway, unique_rows
from dossier.designs.params import DesignParams, param
from dossier.designs.state import StepResult, TrialState, _check, check_probabilities

DFCRM_PRIOR_SD = math.sqrt(1.34)


def getprior(halfwidth: float, target: float, nu: int, nlevel: int, model: str = "empiric",
             intcpt: float = 3.0) -> list[float]:
    """Skeleton with indifference intervals target -/+ halfwidth (Lee & Cheung 2009; dfcrm ``getprior``).

    ``nu`` is the prior guess of the MTD as a **1-based** dose level, as in dfcrm.
    """
    _check(0 < halfwidth < min(target, 1 - target), f"halfwidth must be in (0, min(target, 1 - target)), "
           f"got {halfwidth}", "halfwidth")
    _check(0 < target < 1, f"target must be in (0, 1), got {target}", "target")
    _check(1 <= nu <= nlevel, f"nu must be a dose level in 1..{nlevel}, got {nu}", "nu",
           "nu is 1-based, as in dfcrm")
    _check(model in ("empiric", "logistic"), f"unknown model {model!r}", "model", "empiric or logistic")
    k0 = nu - 1
    x = np.full(nlevel, np.nan)
    lo, hi = target - halfwidth, target + halfwidth
    if model == "empiric":
        x[k0] = target
        for k in range(k0, 0, -1):
            b = math.log(math.log(hi) / math.log(x[k]))
            x[k - 1] = math.exp(math.log(lo) / math.exp(b))
        for k in range(k0, nlevel - 1):
            b = math.log(math.log(lo) / math.log(x[k]))
            x[k + 1] = math.exp(math.log(hi) / math.exp(b))
        return [float(v) for v in x]
    x[k0] = math.log(target / (1 - target)) - intcpt
    logit_hi = math.log(hi / (1 - hi)) - intcpt
    logit_lo = math.log(lo / (1 - lo)) - intcpt
    for k in range(k0, 0, -1):
        b = math.log(logit_hi / x[k])
        x[k - 1] = logit_lo / math.exp(b)
    for k in range(k0, nlevel - 1):
        b = math.log(logit_lo / x[k])
        x[k + 1] = logit_hi / math.exp(b)
    return [float(v) for v in 1 / (1 + np.exp(-intcpt - x))]


class CrmFit(BaseModel):
    """Result of fitting the CRM to one trial's data (0-based doses), as dfcrm ``crm()``."""

    model: str
    skeleton: list[float]
    target: float
    estimate: float          # posterior mean of beta
    post_var: float          # posterior variance of beta
    prior_var: float
    ptox: list[float]        # model at the posterior mean of beta
    ptox_lower: list[float]
    ptox_upper: list[float]
    conf_level: float
    mtd: int                 # recommended dose (0-based), unrestricted
    method: str = "bayes"    # "mle": estimate is the MLE of beta


class _Model:
    """The working model on a grid of beta values (shared by fits and simulations)."""

    def __init__(self, skeleton: np.ndarray, model: str, intcpt: float, prior_sd: float, n_grid: int,
                 width: float = 8.0):
        self.skeleton = skeleton
        self.model = model
        self.intcpt = intcpt
        self.prior_sd = prior_sd
        self.beta = np.linspace(-width * prior_sd, width * prior_sd, n_grid)
        h = self.beta[1] - self.beta[0]
        trap = np.full(n_grid, h)
        trap[[0, -1]] = h / 2
        self.log_weight = np.log(trap) - 0.5 * (self.beta / prior_sd) ** 2
        self.logp, self.log1mp = self.log_probs(self.beta)   # (D, G)
        self.p_grid = np.exp(self.logp)

    def dosescaled(self) -> np.ndarray:
        if self.model == "empiric":
            return self.skeleton
        return np.log(self.skeleton / (1 - self.skeleton)) - self.intcpt

    def log_probs(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.dosescaled()[:, None]
        eb = np.exp(np.asarray(beta, dtype=float))[None, :]
        if self.model == "empiric":
            logp = eb * np.log(x)
            return logp, np.log(-np.expm1(logp))
        z = self.intcpt + eb * x
        return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)

    def ptox(self, beta: np.ndarray) -> np.ndarray:
        """DLT probabilities at each beta: shape (len(beta), D)."""
        return np.exp(self.log_probs(np.atleast_1d(beta))[0]).T

    def posterior(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Normalised quadrature weights of the posterior of beta, shape (T, G)."""
        ll = y @ self.logp + (n - y) @ self.log1mp + self.log_weight
        ll -= ll.max(axis=1, keepdims=True)
        w = np.exp(ll)
        w /= w.sum(axis=1, keepdims=True)
        return w


def recommend(ptox: np.ndarray, target: float) -> np.ndarray:
    """dfcrm's recommended dose from plug-in DLT probabilities, shape (T, D) -> (T,)."""
    D = ptox.shape[1]
    closest = np.argmin(np.abs(ptox - target), axis=1)
    rec = np.where(np.all(ptox <= target, axis=1), D - 1, closest)
    return np.where(np.all(ptox >= target, axis=1) & ~np.all(ptox <= target, axis=1), 0, rec)


#: dfcrm's integration range of beta for the posterior mean and the MLE search (crm(): -10..10)
DFCRM_BETA_RANGE = 10.0
#: dfcrm's "flat" prior SD, used when every patient so far had a DLT (two-stage trials) and for the MLE's variance
DFCRM_FLAT_SD = 500.0


class _Likelihood:
    """The log-likelihood of beta on dfcrm's range [-10, 10] (fine grid), for the MLE (``method="mle"``) and
    for dfcrm's posterior mean under the flat prior N(0, 500^2).

    dfcrm's ``crm()`` computes the posterior mean as the integral of beta x posterior over [-10, 10] divided
    by the integral of the posterior over the whole line; with prior SD 500 the tails matter, and are added in
    closed form with the likelihood at the ends (it is flat there: 1 beyond -10 when every patient had a DLT,
    1 beyond +10 when none had, 0 otherwise).
    """

    def __init__(self, model: _Model, n_grid: int = 4001):
        self.model = model
        self.beta = np.linspace(-DFCRM_BETA_RANGE, DFCRM_BETA_RANGE, n_grid)
        h = self.beta[1] - self.beta[0]
        self.trap = np.full(n_grid, h)
        self.trap[[0, -1]] = h / 2
        self.logp, self.log1mp = model.log_probs(self.beta)

    def loglik(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(T, G) log-likelihood of each data row at each grid beta."""
        return y @ self.logp + (n - y) @ self.log1mp

    def loglik_at(self, n: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Log-likelihood of row t at beta[t]."""
        logp, log1mp = self.model.log_probs(beta)
        return np.sum(y * logp.T + (n - y) * log1mp.T, axis=1)

    def mle(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The maximiser over [-10, 10] (dfcrm: optimize(lcrm, c(-10, 10))): grid argmax, then golden-section
        search in the neighbouring grid cells to 1e-9."""
        i = np.argmax(self.loglik(n, y), axis=1)
        step = self.beta[1] - self.beta[0]
        lo = np.maximum(self.beta[i] - step, -DFCRM_BETA_RANGE)
        hi = np.minimum(self.beta[i] + step, DFCRM_BETA_RANGE)
        g = (math.sqrt(5) - 1) / 2
        while np.max(hi - lo) > 1e-9:
            a, b = hi - g * (hi - lo), lo + g * (hi - lo)
            left = self.loglik_at(n, y, a) >= self.loglik_at(n, y, b)
            hi, lo = np.where(left, b, hi), np.where(left, lo, a)
        return (lo + hi) / 2

    def flat_moments(self, n: np.ndarray, y: np.ndarray, scale: float = DFCRM_FLAT_SD) -> tuple[np.ndarray, np.ndarray]:
        """dfcrm's posterior mean and second moment of beta under N(0, scale^2), with crm()'s ranges: the mean is
        the integral of beta x posterior over [-10, 10] over the integral of the posterior over the real line;
        the second moment (for the MLE's variance) integrates beta^2 x posterior over [-100, 100] and divides by
        the posterior over [-10, 10].  Outside [-10, 10] the likelihood is evaluated on a grid to +/-100 and
        taken as constant beyond (it is flat there)."""
        ll = self.loglik(n, y) - 0.5 * (self.beta / scale) ** 2
        outer = [self.loglik_outer(n, y, side) - 0.5 * (self._outer[side] / scale) ** 2 for side in (0, 1)]
        top = np.maximum(ll.max(axis=1), np.maximum(outer[0].max(axis=1), outer[1].max(axis=1)))[:, None]
        w = np.exp(ll - top) * self.trap
        wo = [np.exp(o - top) * self._outer_trap for o in outer]
        inner = w.sum(axis=1)
        from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

        far = scale * math.sqrt(2 * math.pi) * special.ndtr(-100.0 / scale) / math.exp(-0.5 * (100.0 / scale) ** 2)
        den = inner + wo[0].sum(axis=1) + wo[1].sum(axis=1) + far * (np.exp(outer[0][:, 0] - top[:, 0])
                                                                      + np.exp(outer[1][:, -1] - top[:, 0]))
        e2 = (w @ self.beta**2 + wo[0] @ self._outer[0] ** 2 + wo[1] @ self._outer[1] ** 2) / inner
        return (w @ self.beta) / den, e2

    @property
    def _outer(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.linspace(-100.0, -DFCRM_BETA_RANGE, 1801), np.linspace(DFCRM_BETA_RANGE, 100.0, 1801))

    @property
    def _outer_trap(self) -> np.ndarray:
        a = self._outer[0]
        t = np.full(a.size, a[1] - a[0])
        t[[0, -1]] /= 2
        return t

    def loglik_outer(self, n: np.ndarray, y: np.ndarray, side: int) -> np.ndarray:
        """(T, G) log-likelihood on the grid of [-100, -10] (side 0) or [10, 100] (side 1)."""
        logp, log1mp = self.model.log_probs(self._outer[side])
        return y @ logp + (n - y) @ log1mp


class CrmParams(DesignParams):
    """The CRM's options, as dfcrm's ``crm()`` / ``crmsim()`` arguments."""

    skeleton: list[float] | None = param(None, help="prior guesses of the DLT rates, one per dose "
                                         "(default getprior(0.05, target, ceil(n_doses / 2), n_doses))",
                                         source="dfcrm crm prior; getprior (Lee & Cheung 2009)")
    model: Literal["empiric", "logistic"] = param("empiric", help="working model", source="dfcrm crm model")
    intcpt: float = param(3.0, help="intercept of the logistic model", source="dfcrm crm intcpt")
    prior_sd: float = param(DFCRM_PRIOR_SD, gt=0, help="prior SD of beta (sqrt(1.34))", source="dfcrm crm scale")
    restrict: bool = param(True, help="no skipping of untried doses, no escalation after a toxic cohort",
                           source="dfcrm crmsim restrict")
    stop_cutoff: float | None = param(None, ge=0.5, lt=1, help="stop with no MTD when Pr(p_1 > target) exceeds "
                                      "this (off by default; not in dfcrm)", source="dossier safety stop")
    stop_min_n: int = param(3, ge=1, help="patients at the lowest dose before the safety stop applies",
                            source="dossier safety stop")
    method: Literal["bayes", "mle"] = param("bayes", help="estimate beta by its posterior mean or by maximum "
                                            "likelihood (mle needs an initial_design)", source="dfcrm crm method")
    initial_design: list[int] | None = param(
        None, dose_index=True, help="two-stage CRM: the dose of each cohort until the first DLT, then the model "
        "(the last dose is kept if the list ends first)", source="dfcrm crmsim x0 (two-stage design)")
    conf_level: float = param(0.90, gt=0, lt=1, help="level of the probability intervals of the estimates",
                              source="dfcrm crm conf.level")
    n_grid: int = param(401, ge=51, help="quadrature points of the posterior of beta in simulations",
                        source="dossier (numerical)")


class Crm(Design):
    """Bayesian CRM (O'Quigley et al. 1990; Cheung 2011) with dfcrm conventions (module docstring).

    Options: ``skeleton`` (default: ``getprior(0.05, target, ceil(n_doses / 2), n_doses)``),
    ``model`` ("empiric" or "logistic"), ``intcpt`` (3), ``prior_sd`` (sqrt(1.34)), ``restrict``
    (True: no skipping, coherent escalation), ``stop_cutoff`` / ``stop_min_n`` (optional safety stop),
    ``method`` ("bayes": posterior mean; "mle": maximum likelihood on [-10, 10], dfcrm ``method``),
    ``initial_design`` (two-stage CRM, dfcrm crmsim's ``x0``: the dose of each cohort while no DLT has been
    seen, then the model; while every patient has had a DLT dfcrm estimates beta under a flat N(0, 500^2)
    prior, and the MLE CRM selects with that estimate when the MLE does not exist), ``conf_level`` (0.90),
    ``n_grid`` (quadrature points, 401).  The full parameter list is :class:`CrmParams`.
    """

    name = "crm"
    label = "CRM"
    Params = CrmParams
    sim_chunk = 50_000
    step_on_subset = True  # the posterior is the costly part: only for running trials

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, skeleton: Sequence[float] | None = None, model: str = "empiric",
                 intcpt: float = 3.0, prior_sd: float = DFCRM_PRIOR_SD, restrict: bool = True,
                 stop_cutoff: float | None = None, stop_min_n: int = 3, method: str = "bayes",
                 initial_design: Sequence[int] | None = None, conf_level: float = 0.90, n_grid: int = 401):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose)
        _check(model in ("empiric", "logistic"), f"unknown CRM model {model!r}", "model",
               "use 'empiric' (power) or 'logistic'")
        if skeleton is None:
            skeleton = getprior(min(0.05, self.target / 2), self.target, math.ceil(n_doses / 2), n_doses)
        sk = check_probabilities(skeleton, "skeleton", self.n_doses)
        _check(bool(np.all((sk > 0) & (sk < 1))) and bool(np.all(np.diff(sk) > 0)),
               f"the skeleton must be strictly increasing within (0, 1), got {sk.tolist()}", "skeleton",
               "calibrate one with getprior(halfwidth, target, nu, nlevel)")
        _check(prior_sd > 0, f"prior_sd must be positive, got {prior_sd}", "prior_sd")
        if model == "logistic":
            _check(bool(np.all(np.log(sk / (1 - sk)) - intcpt < 0)),
                   "intercept of the logistic model is too small: scaled doses must be < 0", "intcpt",
                   "as dfcrm: every skeleton value must be below 1 / (1 + exp(-intcpt))")
        _check(stop_cutoff is None or 0.5 <= stop_cutoff < 1, "stop_cutoff must be in [0.5, 1) or None",
               "stop_cutoff")
        _check(n_grid >= 51, "n_grid must be >= 51", "n_grid")
        _check(0 < conf_level < 1, f"conf_level must be in (0, 1), got {conf_level}", "conf_level", "e.g. 0.9")
        _check(method in ("bayes", "mle"), f"unknown CRM method {method!r}", "method", "bayes or mle (dfcrm)")
        _check(method == "bayes" or initial_design is not None, "the likelihood CRM needs an initial design",
               "initial_design", "as dfcrm ('Require an initial design for mle-CRM'): give the dose of each cohort "
               "until the first DLT, e.g. initial_design: [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]")
        if initial_design is not None:
            x0 = [int(v) for v in initial_design]
            _check(1 <= len(x0) <= n_cohorts and all(0 <= v < n_doses for v in x0)
                   and all(b >= a for a, b in zip(x0, x0[1:], strict=False)),
                   f"initial_design needs 1..{n_cohorts} non-decreasing dose indices in 0..{n_doses - 1}, got {x0}",
                   "initial_design", "one dose per cohort, 1-based in the spec and on the CLI")
            self.start_dose = x0[0]
        self.conf_level = float(conf_level)
        self.method = method
        self.initial_design = None if initial_design is None else x0
        self.skeleton = [float(v) for v in sk]
        self.model = model
        self.intcpt = float(intcpt)
        self.prior_sd = float(prior_sd)
        self.restrict = bool(restrict)
        self.stop_cutoff = stop_cutoff
        self.stop_min_n = int(stop_min_n)
        self.n_grid = int(n_grid)
        self._grid = _Model(sk, model, self.intcpt, self.prior_sd, self.n_grid)
        self._fine_model: _Model | None = None
        self._lik = _Likelihood(self._grid) if (method == "mle" or initial_design is not None) else None

    @property
    def _fine(self) -> _Model:
        """A finer grid (4001 points) for single fits reported to users."""
        if self._fine_model is None:
            self._fine_model = _Model(np.array(self.skeleton), self.model, self.intcpt, self.prior_sd, 4001)
        return self._fine_model

    def describe(self) -> dict:
        return super().describe() | {"skeleton": self.skeleton, "model": self.model, "intcpt": self.intcpt,
                                     "prior_sd": self.prior_sd, "restrict": self.restrict,
                                     "stop_cutoff": self.stop_cutoff, "stop_min_n": self.stop_min_n,
                                     "n_grid": self.n_grid} | (
            {} if self.initial_design is None and self.method == "bayes"   # listed only when used: outputs unchanged
            else {"method": self.method, "initial_design": self.initial_design})

    # --- estimation ---------------------------------------------------------------------------
    def _two_stage_estimate(self, n: np.ndarray, y: np.ndarray, bayes: np.ndarray, final: bool) -> np.ndarray:
        """dfcrm's estimate of beta in a two-stage / likelihood CRM (crmsim with an initial design x0).

        During the trial, when every patient so far had a DLT, dfcrm uses the posterior mean under the flat
        prior N(0, 500^2); otherwise the method's estimate (posterior mean or MLE).  At the end, the MLE
        CRM falls back to that flat-prior mean when the MLE does not exist (no DLT, or only DLTs)."""
        tot_n, tot_y = n.sum(axis=1), y.sum(axis=1)
        all_dlt = (tot_y == tot_n) & (tot_n > 0)
        flat = all_dlt if not final else np.zeros_like(all_dlt)
        if self.method == "mle":
            flat = (tot_y == 0) | all_dlt
            est = np.where(flat, 0.0, bayes)
            ok = ~flat
            if ok.any():
                est[ok] = self._lik.mle(n[ok], y[ok])
        else:
            est = bayes.copy()
        if flat.any():
            est[flat] = self._lik.flat_moments(n[flat], y[flat])[0]
        return est

    def _recommend_batch(self, n: np.ndarray, y: np.ndarray,
                         with_overdose: bool = False, final: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Recommended dose per trial (and Pr(p_1 > target | data) if asked).

        Trials in lock-step share few distinct data sets (n, y), so the posterior is computed once
        per distinct data set and broadcast back.
        """
        uniq, inv = unique_rows(np.concatenate([n, y], axis=1))
        D = self.n_doses
        un, uy = uniq[:, :D].astype(float), uniq[:, D:].astype(float)
        w = self._grid.posterior(un, uy)
        est = w @ self._grid.beta
        if self._lik is not None:
            est = self._two_stage_estimate(un, uy, est, final)
        rec = recommend(self._grid.ptox(est), self.target)[inv]
        if not with_overdose:
            return rec, None
        p_over = (w @ (self._grid.p_grid[0] > self.target).astype(float))[inv]
        return rec, p_over

    def fit(self, n_patients: Sequence[int], n_dlt: Sequence[int], conf_level: float | None = None) -> CrmFit:
        """Posterior of beta from per-dose counts, as dfcrm ``crm()`` (fine grid, 4001 points); the intervals
        at ``conf_level`` (default: the design's ``conf_level``, 0.90 as dfcrm)."""
        conf_level = self.conf_level if conf_level is None else conf_level
        n, y = self._check_data(n_patients, n_dlt)
        g = self._fine
        if self.method == "mle":
            est, var = self._mle_fit(n, y)
        else:
            w = g.posterior(n[None, :].astype(float), y[None, :].astype(float))[0]
            est = float(w @ g.beta)
            var = float(w @ (g.beta - est) ** 2)
        from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

        crit = special.ndtri(0.5 + conf_level / 2)
        ptox = g.ptox(np.array([est]))[0]
        lower = g.ptox(np.array([est + crit * math.sqrt(var)]))[0]
        upper = g.ptox(np.array([est - crit * math.sqrt(var)]))[0]
        mtd = int(recommend(ptox[None, :], self.target)[0])
        return CrmFit(model=self.model, skeleton=self.skeleton, target=self.target, estimate=est,
                      post_var=var, prior_var=self.prior_sd**2, ptox=ptox.tolist(),
                      ptox_lower=lower.tolist(), ptox_upper=upper.tolist(), conf_level=conf_level, mtd=mtd,
                      method=self.method)

    def _mle_fit(self, n: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """dfcrm crm(method="mle"): the MLE of beta on [-10, 10] and its "variance" e2 - mle^2, with e2 the second
        moment under the flat prior N(0, 500^2).  Where the MLE does not exist (no DLT or only DLTs) dfcrm's
        simulations use the flat-prior posterior mean instead, and so do we."""
        nf, yf = n[None, :].astype(float), y[None, :].astype(float)
        mean, e2 = (float(v[0]) for v in self._lik.flat_moments(nf, yf))
        exists = 0 < y.sum() < n.sum()
        est = float(self._lik.mle(nf, yf)[0]) if exists else mean
        return est, max(e2 - est**2, 0.0)

    # --- decisions ----------------------------------------------------------------------------
    def step(self, state: TrialState) -> StepResult:
        rec, p_over = self._recommend_batch(state.n, state.y, with_overdose=self.stop_cutoff is not None)
        d = state.current
        if self.restrict:
            coherent_block = state.last_dlt >= self.target * np.maximum(state.last_size, 1)
            rec = np.minimum(rec, np.where(coherent_block, d, d + 1))
        # doses flagged as eliminated (by the caller) are never assigned
        elim = state.eliminated
        first_elim = np.where(elim.any(axis=1), np.argmax(elim, axis=1), self.n_doses)
        rec = np.maximum(np.minimum(rec, first_elim - 1), 0)
        if self.initial_design is not None:
            # stage 1 (dfcrm x0): follow the initial design while no patient has had a DLT
            stage1 = state.y.sum(axis=1) == 0
            k = np.minimum(state.n.sum(axis=1) // self.cohort_size, len(self.initial_design) - 1)
            rec = np.where(stage1, np.asarray(self.initial_design)[k], rec)
        no_mtd = np.zeros(len(d), dtype=bool)
        if self.stop_cutoff is not None:
            no_mtd = (state.n[:, 0] >= self.stop_min_n) & (p_over > self.stop_cutoff)
        return StepResult(next_dose=rec, stop=no_mtd, no_mtd=no_mtd)

    def select_batch(self, state: TrialState) -> np.ndarray:
        return self._recommend_batch(state.n, state.y, final=True)[0]

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> MtdSelection:
        """dfcrm's recommended dose with the plug-in estimates and their 90% intervals."""
        f = self.fit(n_patients, n_dlt)
        return MtdSelection(selected=f.mtd, estimates=f.ptox, ci_lower=f.ptox_lower, ci_upper=f.ptox_upper,
                            eliminated=[False] * self.n_doses,
                            note_code="design.select.crm", note_values={"model": self.model, "beta": f.estimate})

    def pathways(self, n_patients: Sequence[int] | None = None, n_dlt: Sequence[int] | None = None,
                 current: int | None = None, n_future: int = 2) -> list[TransitionPathway]:
        """Dose-transition pathways for the next ``n_future`` cohorts (all DLT outcomes).

        Without data the pathways start at the start dose; otherwise the first future cohort is
        treated at the dose recommended after the data (``current`` = dose of the last cohort).
        """
        c = self.cohort_size
        if n_patients is None:
            n0 = np.zeros(self.n_doses, dtype=np.int64)
            y0 = np.zeros(self.n_doses, dtype=np.int64)
            first = self.start_dose
        else:
            n0, y0 = self._check_data(n_patients, n_dlt)
            _check(current is not None, "give the current dose with the data", "current")
            first = self.next_dose(n0, y0, int(current))
            if first is None:
                return []
        out = []
        for dlts in product(range(c + 1), repeat=n_future):
            n, y = n0.copy(), y0.copy()
            dose: int | None = first
            doses: list[int | None] = []
            for k in dlts:
                if dose is None:
                    doses.append(None)
                    continue
                n[dose] += c
                y[dose] += k
                dose = self.next_dose(n, y, dose, last_cohort_dlt=k, last_cohort_size=c)
                doses.append(dose)
            out.append(TransitionPathway(dlts=list(dlts), doses=doses))
        return out

    def decision_table(self) -> DecisionTable:
        return DecisionTable(design=self.name, target=self.target, cohort_size=self.cohort_size,
                             pathways=self.pathways(), start_dose=self.start_dose,
                             note_code="design.table.crm_pathways", note_values={"cohorts": 2})


def crm_fit(skeleton: Sequence[float], target: float, tox: Sequence[int], level: Sequence[int], *,
            model: str = "empiric", intcpt: float = 3.0, prior_sd: float = DFCRM_PRIOR_SD,
            conf_level: float = 0.90, method: str = "bayes") -> CrmFit:
    """dfcrm ``crm(prior=skeleton, target, tox, level, method, model, intcpt, scale, conf.level)`` with
    patient-level data.

    ``level`` holds **0-based** dose indices (dfcrm's levels minus 1); ``tox`` is 0/1 per patient.
    """
    sk = check_probabilities(skeleton, "skeleton")
    tox_a = np.asarray(tox)
    lev = np.asarray(level)
    _check(tox_a.shape == lev.shape and tox_a.ndim == 1, "tox and level must have the same length",
           "tox/level")
    _check(bool(np.all(np.isin(tox_a, (0, 1)))), "tox must be 0 or 1 for every patient", "tox")
    _check(bool(np.all((lev >= 0) & (lev < len(sk)) & (np.mod(lev, 1) == 0))),
           f"levels must be dose indices 0..{len(sk) - 1}", "level")
    n = np.bincount(lev.astype(int), minlength=len(sk))
    y = np.bincount(lev.astype(int), weights=tox_a, minlength=len(sk)).astype(int)
    _check(method == "bayes" or 0 < y.sum() < n.sum(), "the MLE does not exist without both DLTs and non-DLTs",
           "method", "as dfcrm crm(method='mle'): 'mle does not exist!'; use method='bayes'")
    # a fit does not depend on the initial design, which the likelihood CRM needs only to run a trial
    design = Crm(target=target, n_doses=len(sk), skeleton=sk, model=model, intcpt=intcpt, prior_sd=prior_sd,
                 method=method, initial_design=None if method == "bayes" else [0])
    return design.fit(n, y, conf_level=conf_level)
