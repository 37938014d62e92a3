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

import numpy as np
from pydantic import BaseModel
from scipy import special  # not scipy.stats: norm.ppf is ndtri, ~1 s less to import

from dossier.designs.base import (
    DecisionTable,
    Design,
    MtdSelection,
    StepResult,
    TransitionPathway,
    TrialState,
    _check,
    check_probabilities,
    unique_rows,
)

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


class Crm(Design):
    """Bayesian CRM (O'Quigley et al. 1990; Cheung 2011) with dfcrm conventions (module docstring).

    Options: ``skeleton`` (default: ``getprior(0.05, target, ceil(n_doses / 2), n_doses)``),
    ``model`` ("empiric" or "logistic"), ``intcpt`` (3), ``prior_sd`` (sqrt(1.34)), ``restrict``
    (True: no skipping, coherent escalation), ``stop_cutoff`` / ``stop_min_n`` (optional safety stop),
    ``n_grid`` (quadrature points, 401).
    """

    name = "crm"
    sim_chunk = 50_000
    step_on_subset = True  # the posterior is the costly part: only for running trials

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, skeleton: Sequence[float] | None = None, model: str = "empiric",
                 intcpt: float = 3.0, prior_sd: float = DFCRM_PRIOR_SD, restrict: bool = True,
                 stop_cutoff: float | None = None, stop_min_n: int = 3, n_grid: int = 401):
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
                                     "n_grid": self.n_grid}

    # --- estimation ---------------------------------------------------------------------------
    def _recommend_batch(self, n: np.ndarray, y: np.ndarray,
                         with_overdose: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Recommended dose per trial (and Pr(p_1 > target | data) if asked).

        Trials in lock-step share few distinct data sets (n, y), so the posterior is computed once
        per distinct data set and broadcast back.
        """
        uniq, inv = unique_rows(np.concatenate([n, y], axis=1))
        D = self.n_doses
        w = self._grid.posterior(uniq[:, :D].astype(float), uniq[:, D:].astype(float))
        est = w @ self._grid.beta
        rec = recommend(self._grid.ptox(est), self.target)[inv]
        if not with_overdose:
            return rec, None
        p_over = (w @ (self._grid.p_grid[0] > self.target).astype(float))[inv]
        return rec, p_over

    def fit(self, n_patients: Sequence[int], n_dlt: Sequence[int], conf_level: float = 0.90) -> CrmFit:
        """Posterior of beta from per-dose counts, as dfcrm ``crm()`` (fine grid, 4001 points)."""
        n, y = self._check_data(n_patients, n_dlt)
        g = self._fine
        w = g.posterior(n[None, :].astype(float), y[None, :].astype(float))[0]
        est = float(w @ g.beta)
        var = float(w @ (g.beta - est) ** 2)
        crit = special.ndtri(0.5 + conf_level / 2)
        ptox = g.ptox(np.array([est]))[0]
        lower = g.ptox(np.array([est + crit * math.sqrt(var)]))[0]
        upper = g.ptox(np.array([est - crit * math.sqrt(var)]))[0]
        mtd = int(recommend(ptox[None, :], self.target)[0])
        return CrmFit(model=self.model, skeleton=self.skeleton, target=self.target, estimate=est,
                      post_var=var, prior_var=self.prior_sd**2, ptox=ptox.tolist(),
                      ptox_lower=lower.tolist(), ptox_upper=upper.tolist(), conf_level=conf_level, mtd=mtd)

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
        no_mtd = np.zeros(len(d), dtype=bool)
        if self.stop_cutoff is not None:
            no_mtd = (state.n[:, 0] >= self.stop_min_n) & (p_over > self.stop_cutoff)
        return StepResult(next_dose=rec, stop=no_mtd, no_mtd=no_mtd)

    def select_batch(self, state: TrialState) -> np.ndarray:
        return self._recommend_batch(state.n, state.y)[0]

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> MtdSelection:
        """dfcrm's recommended dose with the plug-in estimates and their 90% intervals."""
        f = self.fit(n_patients, n_dlt)
        return MtdSelection(selected=f.mtd, estimates=f.ptox, ci_lower=f.ptox_lower, ci_upper=f.ptox_upper,
                            eliminated=[False] * self.n_doses,
                            note=f"CRM ({self.model}): posterior mean of beta {f.estimate:.4f}; "
                                 "estimates are the model at the posterior mean (dfcrm ptox)")

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
                             note="dose-transition pathways for the first 2 cohorts from the start dose")


def crm_fit(skeleton: Sequence[float], target: float, tox: Sequence[int], level: Sequence[int], *,
            model: str = "empiric", intcpt: float = 3.0, prior_sd: float = DFCRM_PRIOR_SD,
            conf_level: float = 0.90) -> CrmFit:
    """dfcrm ``crm(prior=skeleton, target, tox, level)`` with patient-level data.

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
    design = Crm(target=target, n_doses=len(sk), skeleton=sk, model=model, intcpt=intcpt, prior_sd=prior_sd)
    n = np.bincount(lev.astype(int), minlength=len(sk))
    y = np.bincount(lev.astype(int), weights=tox_a, minlength=len(sk)).astype(int)
    return design.fit(n, y, conf_level=conf_level)
