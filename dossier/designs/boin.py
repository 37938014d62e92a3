"""BOIN: the Bayesian optimal interval design.

References
----------
Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
    J R Stat Soc Ser C 64:507-523 (boundaries lambda_e, lambda_d).
Yuan Y, Hess KR, Hilsenbeck SG, Gilbert MR (2016). Bayesian optimal interval design: a simple and
    well-performing design for phase I oncology trials. Clin Cancer Res 22:4291-4301.
Yan F, Zhang L, Zhou Y, Pan H, Liu S, Yuan Y (2020). BOIN: an R package for designing single-agent
    and drug-combination dose-finding trials using Bayesian optimal interval designs.
    J Stat Softw 94(13) -- get.boundary(), get.oc() and select.mtd(), whose conventions we follow.
"""

from __future__ import annotations

import math

import numpy as np

from dossier.designs.base import Scenario
from dossier.designs.interval import IntervalDesign, IntervalParams, elimination_boundary
from dossier.designs.params import DesignParams, param
from dossier.designs.simulate import TrialOutcomes
from dossier.designs.state import TrialState, _check, check_probabilities


class BoinCoreParams(DesignParams):
    """BOIN's boundaries and conduct options taken by every BOIN-based design."""

    p_saf: float | None = param(None, gt=0, lt=1, help="highest sub-therapeutic DLT rate (0.6 x target)",
                                source="BOIN get.boundary p.saf (Liu & Yuan 2015)")
    p_tox: float | None = param(None, gt=0, lt=1, help="lowest overly toxic DLT rate (1.4 x target)",
                                source="BOIN get.boundary p.tox (Liu & Yuan 2015)")
    cutoff_eli: float = IntervalParams.model_fields["cutoff_eli"]
    n_earlystop: int = IntervalParams.model_fields["n_earlystop"]
    bound_mtd: bool = IntervalParams.model_fields["bound_mtd"]


class BoinParams(BoinCoreParams):
    """BOIN's options (BOIN::get.boundary / get.oc / select.mtd)."""

    extrasafe: bool = IntervalParams.model_fields["extrasafe"]
    offset: float = IntervalParams.model_fields["offset"]
    titration: bool = param(False, help="accelerated titration: one patient per dose from the lowest dose until "
                            "the first DLT, then cohorts (simulation)", source="BOIN get.oc titration")


def boin_lambdas(target: float, p_saf: float, p_tox: float) -> tuple[float, float]:
    """Escalation and de-escalation boundaries (Liu & Yuan 2015, eq. for lambda_e, lambda_d)."""
    lambda_e = math.log((1 - p_saf) / (1 - target)) / math.log(target * (1 - p_saf) / (p_saf * (1 - target)))
    lambda_d = math.log((1 - target) / (1 - p_tox)) / math.log(p_tox * (1 - target) / (target * (1 - p_tox)))
    return lambda_e, lambda_d


class Boin(IntervalDesign):
    """BOIN design (Liu & Yuan 2015; Yuan et al. 2016), as implemented by the BOIN R package.

    Escalate if the observed DLT rate at the current dose is <= lambda_e, de-escalate if >= lambda_d,
    otherwise stay, where lambda_e and lambda_d minimise the probability of an incorrect decision
    between the hypotheses p = target, p = p_saf (default 0.6 x target) and p = p_tox (1.4 x target).
    On counts: escalate if y <= floor(lambda_e n), de-escalate if y >= ceil(lambda_d n)
    (get.boundary()).  Doses with n >= 3 and Pr(p > target | data) > ``cutoff_eli`` under a Beta(1, 1)
    prior are eliminated with all higher doses; the trial stops with no MTD when the lowest dose is
    eliminated.  Optional stop when ``n_earlystop`` patients are on the current dose (default 100:
    off).  ``bound_mtd=True`` restricts the MTD to doses whose isotonic estimate is below lambda_d.
    ``extrasafe=True`` adds get.oc's stricter stop at the lowest dose (cutoff ``cutoff_eli - offset``,
    see :mod:`dossier.designs.interval`).  ``titration=True`` simulates get.oc's accelerated titration
    (one patient per dose from dose 1 until the first DLT; :meth:`_titration_trials`); the decision rules
    after each cohort (:meth:`decide`) are unchanged by it.
    """

    name = "boin"
    label = "BOIN"
    Params = BoinParams

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 extrasafe: bool = False, offset: float = 0.05, titration: bool = False):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose, cutoff_eli=cutoff_eli, n_earlystop=n_earlystop,
                         bound_mtd=bound_mtd, extrasafe=extrasafe, offset=offset)
        p_saf = 0.6 * self.target if p_saf is None else float(p_saf)
        p_tox = 1.4 * self.target if p_tox is None else float(p_tox)
        # the same checks as BOIN::get.boundary / get.oc
        _check(0.05 <= self.target <= 0.6, f"the BOIN target must be in [0.05, 0.6], got {self.target}",
               "target")
        _check(0 < p_saf and self.target - p_saf >= 0.1 * self.target,
               f"p_saf ({p_saf}) must be below the target by at least 10% of the target", "p_saf",
               "the default is 0.6 x target")
        _check(p_tox < 1 and p_tox - self.target >= 0.1 * self.target,
               f"p_tox ({p_tox}) must be above the target by at least 10% of the target", "p_tox",
               "the default is 1.4 x target")
        self.p_saf = p_saf
        self.p_tox = p_tox
        self.lambda_e, self.lambda_d = boin_lambdas(self.target, p_saf, p_tox)
        self.titration = bool(titration) and self.cohort_size > 1  # get.oc: no titration with cohorts of 1
        if self.titration:
            _check(self.start_dose == 0, "titration starts at the lowest dose", "start_dose/titration",
                   "as BOIN get.oc: titration treats one patient per dose from dose 1")
            _check(self.max_patients >= self.n_doses + self.cohort_size - 1,
                   "the sample size is too small for titration over every dose", "n_cohorts/titration")
        self.tables()  # build the decision table once, up front

    def _boundaries(self, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = np.arange(n_max + 1)
        esc = np.floor(self.lambda_e * n).astype(np.int64)
        de = np.ceil(self.lambda_d * n).astype(np.int64)
        eli = elimination_boundary(self.target, n_max, self.cutoff_eli)
        return esc, de, eli

    def _table_extras(self) -> dict:
        return {"lambda_e": self.lambda_e, "lambda_d": self.lambda_d}

    def describe(self) -> dict:
        return super().describe() | {"p_saf": self.p_saf, "p_tox": self.p_tox,
                                     "lambda_e": self.lambda_e, "lambda_d": self.lambda_d} | (
            {"titration": True} if getattr(self, "titration", False) else {})  # only when on: outputs unchanged

    # --- simulation with accelerated titration (BOIN::get.oc titration = TRUE) ------------------------
    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None, **kwargs):
        if not getattr(self, "titration", False):
            return super().outcomes(scenario, n_trials, rng, uniforms, **kwargs)
        p = check_probabilities(scenario.p_tox, "p_true", self.n_doses)
        T, P = int(n_trials), self.max_patients
        U = rng.random((T, P)) if uniforms is None else np.asarray(uniforms, float)
        _check(U.shape[0] == T and U.shape[1] >= P, f"uniforms must have shape ({T}, >= {P})", "uniforms")
        return self._titration_trials(p, U[:, :P])

    def _titration_trials(self, p: np.ndarray, U: np.ndarray) -> TrialOutcomes:
        """Trials with BOIN::get.oc's accelerated titration, in lock-step.

        Titration treats one patient at each dose from the lowest until the first DLT (every dose when
        none occurs); the dose of the first DLT (or the highest dose) is then completed to a cohort and
        the trial goes on in cohorts under the usual rules.  Titration patients count toward the sample
        size; the cohort that reaches it is cut to the remaining patients and ends the trial (get.oc).
        Patient i of a trial carries the uniform ``U[:, i]`` (common random numbers)."""
        T, D, c, P = U.shape[0], self.n_doses, self.cohort_size, U.shape[1]
        rows = np.arange(T)
        z = U[:, :D] < p[None, :]
        hit = z.any(axis=1)
        d = np.where(hit, np.argmax(z, axis=1), D - 1)
        state = TrialState.empty(T, D, 0)
        state.n[:] = np.arange(D)[None, :] <= d[:, None]
        state.y[rows, d] = hit
        used = d + 1
        done = (U[rows[:, None], used[:, None] + np.arange(c - 1)[None, :]] < p[d][:, None]).sum(axis=1)
        state.n[rows, d] += c - 1
        state.y[rows, d] += done
        used = used + c - 1
        state.current[:] = d
        active = np.ones(T, dtype=bool)
        no_mtd = np.zeros(T, dtype=bool)
        for k in range(self.n_cohorts):
            if k > 0:  # a cohort at the current dose; the one that reaches the sample size ends the trial
                cur = state.current
                size = np.where(active, np.minimum(c, P - used), 0)
                slots = np.minimum(used[:, None] + np.arange(c)[None, :], P - 1)
                tox = ((U[rows[:, None], slots] < p[cur][:, None]) & (np.arange(c)[None, :] < size[:, None])).sum(1)
                state.n[rows, cur] += size
                state.y[rows, cur] += tox
                ended = active & (used + c >= P)
                used = used + size
                active &= ~ended
            if not active.any():
                break
            res = self.step(state)
            stop = res.stop & active
            no_mtd |= stop & res.no_mtd
            active &= ~stop
            state.current[:] = np.where(active, res.next_dose, state.current)
        selected = np.where(no_mtd, -1, self.select_batch(state))
        return TrialOutcomes(n=state.n, y=state.y, selected=selected, no_mtd=no_mtd)
