"""Dose-escalation designs and their vectorised simulation.

Designs: 3+3 (:mod:`three_plus_three`), i3+3 (:mod:`i3plus3`), mTPI-2 and Keyboard (:mod:`mtpi2`),
BOIN (:mod:`boin`) and CRM (:mod:`crm`).  All share the :class:`~dossier.designs.base.Design`
interface; :func:`make_design` builds one by name and :func:`simulate_trials` gives its operating
characteristics.
"""

from __future__ import annotations

from dossier.designs.base import (
    Decision,
    DecisionRow,
    DecisionTable,
    Design,
    MtdSelection,
    TransitionPathway,
)
from dossier.designs.boin import Boin
from dossier.designs.crm import Crm, crm_fit, getprior
from dossier.designs.i3plus3 import I3plus3
from dossier.designs.mtpi2 import Keyboard, Mtpi2
from dossier.designs.simulate import OperatingCharacteristics, simulate_trials
from dossier.designs.three_plus_three import ThreePlusThree, closed_form_3plus3
from dossier.errors import DesignError

DESIGNS: dict[str, type[Design]] = {
    "3+3": ThreePlusThree,
    "i3+3": I3plus3,
    "mtpi2": Mtpi2,
    "keyboard": Keyboard,
    "boin": Boin,
    "crm": Crm,
}

ALIASES = {"3plus3": "3+3", "threeplusthree": "3+3", "i3plus3": "i3+3", "mtpi-2": "mtpi2"}


def design_names() -> list[str]:
    return list(DESIGNS)


def make_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                **options) -> Design:
    """Build a design by name ("3+3", "i3+3", "mtpi2", "keyboard", "boin", "crm").

    ``options`` are passed to the design's constructor (e.g. ``p_saf`` for BOIN, ``skeleton`` and
    ``model`` for CRM).  Unknown names or options raise :class:`~dossier.errors.DesignError`.
    """
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in DESIGNS:
        raise DesignError(f"unknown design {name!r}", "design", f"choose one of: {', '.join(DESIGNS)}")
    cls = DESIGNS[key]
    try:
        return cls(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts, **options)
    except TypeError as exc:
        raise DesignError(f"invalid option for design {key!r}: {exc}", "design options",
                          f"see the docstring of {cls.__name__}") from None


__all__ = [
    "Boin", "Crm", "Decision", "DecisionRow", "DecisionTable", "Design", "DesignError", "I3plus3",
    "Keyboard", "Mtpi2", "MtdSelection", "OperatingCharacteristics", "ThreePlusThree",
    "TransitionPathway", "closed_form_3plus3", "crm_fit", "design_names", "getprior", "make_design",
    "simulate_trials",
]
