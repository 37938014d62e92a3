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

from dossier.designs.base import _check
from dossier.designs.interval import IntervalDesign, elimination_boundary


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
    see :mod:`dossier.designs.interval`).
    """

    name = "boin"

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 extrasafe: bool = False, offset: float = 0.05):
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
                                     "lambda_e": self.lambda_e, "lambda_d": self.lambda_d}
