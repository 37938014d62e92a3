"""Calendar time for dose-finding simulations: patient accrual and the timing of DLTs in the window.

* Accrual (Zhao et al. 2024; bfboin R package ``get.oc.bf``): the first patient arrives at time 0;
  the gaps between arrivals are ``Uniform(0, 2 / rate)`` (``"uniform"``, the MD Anderson BF-BOIN
  Shiny app) or ``Exponential(rate)`` (``"poisson"``, a Poisson process, as written in the article).
  Both have mean ``1 / rate`` months.
* Time to DLT (Yuan et al. 2018, TITE-BOIN; Zhao et al. 2024): a Weibull distribution per dose with
  ``P(T <= W) = p`` (the DLT probability within the window ``W``) and ``P(T <= W / 2) = p / 2``
  (half of the DLTs happen in the second half of the window).  A patient's DLT time is drawn from
  the *same* uniform that decides the DLT: ``T = F^{-1}(u)``, so ``T < W`` exactly when ``u < p``.
  This keeps the common-random-numbers convention of :mod:`dossier.designs.simulate` (patient with
  uniform ``u`` has a DLT iff ``u < p``) and makes timed designs reduce to untimed ones exactly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from dossier.designs.params import DesignParams, param
from dossier.designs.state import _check


class AccrualParams(DesignParams):
    """Calendar-time options of the timed designs (BF-BOIN, TITE-BOIN); a base of their ``Params``."""

    accrual_per_month: float = param(3.0, gt=0, help="patients enrolled per month",
                                     source="TITE-BOIN get.oc.tite accrual (Yuan et al. 2018)")
    dlt_window_months: float = param(1.0, gt=0, help="DLT assessment window in months",
                                     source="TITE-BOIN get.oc.tite maxt")
    accrual: Literal["uniform", "poisson"] = param("uniform", help="accrual process: fixed intervals or Poisson",
                                                   source="TITE-BOIN get.oc.tite accrual.dist")

Accrual = Literal["uniform", "poisson"]


def check_accrual(accrual: str, rate: float, window: float) -> None:
    _check(accrual in ("uniform", "poisson"), f"accrual must be 'uniform' or 'poisson', got {accrual!r}",
           "accrual")
    _check(rate > 0, f"accrual rate must be > 0 patients per month, got {rate}", "accrual_per_month")
    _check(window > 0, f"the DLT window must be > 0 months, got {window}", "dlt_window_months")


def interarrival(rng: np.random.Generator, size: int, rate: float, accrual: str) -> np.ndarray:
    """Gaps between successive arrivals (months) for ``size`` trials."""
    if accrual == "poisson":
        return rng.exponential(1.0 / rate, size)
    return rng.uniform(0.0, 2.0 / rate, size)


def weibull_params(p: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Shape and scale with P(T <= window) = p and P(T <= window / 2) = p / 2 (p clipped to (0, 1))."""
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    shape = (np.log(-np.log1p(-p)) - np.log(-np.log1p(-p / 2))) / np.log(2.0)
    scale = window / (-np.log1p(-p)) ** (1.0 / shape)
    return shape, scale


def dlt_time(u: np.ndarray, shape: np.ndarray, scale: np.ndarray, window: float) -> np.ndarray:
    """Time of DLT for a patient with uniform ``u`` (``>= window``, i.e. no DLT, when u >= p)."""
    t = scale * (-np.log1p(-np.clip(u, 0.0, 1 - 1e-16))) ** (1.0 / shape)
    return np.minimum(t, window)
