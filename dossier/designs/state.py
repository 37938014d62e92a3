"""The data a design decides on, shared by the design classes and the simulation engine.

:class:`TrialState` holds the data of many trials stepping in lock-step, :class:`StepResult` one
vectorised decision, and :func:`check_probabilities` / :func:`_check` the argument checks every design
module uses.  This module sits below both :mod:`dossier.designs.base` (the design interface) and
:mod:`dossier.designs.simulate` (the engine), so that neither needs the other's internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dossier.errors import DesignError


@dataclass
class TrialState:
    """The data of ``n_trials`` trials stepping in lock-step (all arrays are modified in place).

    n, y         : (n_trials, n_doses) patients and DLTs per dose
    current      : (n_trials,) dose the last cohort was treated at
    eliminated   : (n_trials, n_doses) doses excluded for toxicity
    last_dlt     : (n_trials,) DLTs in the last cohort, last_size its size (for CRM coherence)
    """

    n: np.ndarray
    y: np.ndarray
    current: np.ndarray
    eliminated: np.ndarray
    last_dlt: np.ndarray
    last_size: np.ndarray

    @classmethod
    def empty(cls, n_trials: int, n_doses: int, start_dose: int = 0) -> TrialState:
        return cls(
            n=np.zeros((n_trials, n_doses), dtype=np.int64),
            y=np.zeros((n_trials, n_doses), dtype=np.int64),
            current=np.full(n_trials, start_dose, dtype=np.int64),
            eliminated=np.zeros((n_trials, n_doses), dtype=bool),
            last_dlt=np.zeros(n_trials, dtype=np.int64),
            last_size=np.zeros(n_trials, dtype=np.int64),
        )

    def subset(self, idx: np.ndarray) -> TrialState:
        return TrialState(
            self.n[idx], self.y[idx], self.current[idx], self.eliminated[idx], self.last_dlt[idx],
            self.last_size[idx],
        )


@dataclass
class StepResult:
    """Outcome of one vectorised decision step.

    next_dose : (n_trials,) dose for the next cohort (meaningless where ``stop``)
    stop      : (n_trials,) the trial ends now
    no_mtd    : (n_trials,) the trial ends without selecting a dose (safety stop)
    """

    next_dose: np.ndarray
    stop: np.ndarray
    no_mtd: np.ndarray




def _check(ok: bool, what: str, where: str | None = None, hint: str | None = None) -> None:
    if not ok:
        raise DesignError(what, where, hint)


def check_probabilities(p: Sequence[float], where: str, n_doses: int | None = None) -> np.ndarray:
    """Validate a vector of probabilities (one per dose)."""
    try:
        arr = np.asarray([float(v) for v in p], dtype=float)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"probabilities must be numbers: {exc}", where) from None
    _check(arr.ndim == 1 and arr.size >= 1, "need at least one probability", where)
    _check(bool(np.all((arr >= 0) & (arr <= 1))), f"probabilities must be in [0, 1], got {arr.tolist()}",
           where)
    if n_doses is not None:
        _check(arr.size == n_doses, f"need {n_doses} probabilities (one per dose), got {arr.size}", where)
    return arr
