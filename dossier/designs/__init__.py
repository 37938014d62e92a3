"""Dose-escalation designs and their vectorised simulation.

Designs: 3+3 (:mod:`three_plus_three`), i3+3 (:mod:`i3plus3`), mTPI-2 and Keyboard (:mod:`mtpi2`),
BOIN (:mod:`boin`) and CRM (:mod:`crm`).  All share the :class:`~dossier.designs.base.Design`
interface; :func:`make_design` builds one by name and :func:`simulate_trials` gives its operating
characteristics.

Optimal-biological-dose and timed designs (issue 8): BOIN12 (:mod:`boin12`), U-BOIN (:mod:`uboin`),
BF-BOIN (:mod:`backfill`) and TITE-BOIN (:mod:`tite_boin`), built by :func:`make_obd_design` and simulated by
:func:`simulate_obd` (their OCs, :class:`~dossier.designs.obd.ObdOperatingCharacteristics`, add
efficacy, duration and patients below/at/above the MTD); the randomized comparison of dosages
(:mod:`randomized`) and scenarios from fitted models (:mod:`scenarios`).
"""

from __future__ import annotations

import inspect

from dossier.designs.backfill import BfBoin
from dossier.designs.base import (
    Decision,
    DecisionRow,
    DecisionTable,
    Design,
    MtdSelection,
    TransitionPathway,
)
from dossier.designs.boin import Boin
from dossier.designs.boin12 import DEFAULT_UTILITY, Boin12
from dossier.designs.crm import Crm, crm_fit, getprior
from dossier.designs.i3plus3 import I3plus3
from dossier.designs.mtpi2 import Keyboard, Mtpi2
from dossier.designs.obd import ObdOperatingCharacteristics
from dossier.designs.randomized import exact_comparison, sample_size_per_arm, simulate_comparison
from dossier.designs.scenarios import FittedScenario, scenarios_from_fit, simulate_under_fit
from dossier.designs.simulate import OperatingCharacteristics, simulate_trials
from dossier.designs.three_plus_three import ThreePlusThree, closed_form_3plus3
from dossier.designs.tite_boin import TiteBoin
from dossier.designs.uboin import UBoin
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
    return _build(DESIGNS, ALIASES, name, target=target, n_doses=n_doses, cohort_size=cohort_size,
                  n_cohorts=n_cohorts, **options)


def _build(registry: dict[str, type[Design]], aliases: dict[str, str], name: str, **kwargs) -> Design:
    """A design from a registry by name or alias; DesignError for unknown names or options."""
    key = str(name).strip().lower()
    key = aliases.get(key, key)
    if key not in registry:
        raise DesignError(f"unknown design {name!r}", "design", f"choose one of: {', '.join(registry)}")
    cls = registry[key]
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise DesignError(f"invalid option for design {key!r}: {exc}", "design options",
                          f"see the docstring of {cls.__name__}") from None


OBD_DESIGNS: dict[str, type[Design]] = {
    "boin12": Boin12,
    "uboin": UBoin,
    "bf-boin": BfBoin,
    "tite-boin": TiteBoin,
}

OBD_ALIASES = {"u-boin": "uboin", "bfboin": "bf-boin", "backfill": "bf-boin", "titeboin": "tite-boin", "tite": "tite-boin"}

#: every design, by name: the one registry (adding a design: its module, its tests and one line here)
REGISTRY: dict[str, type[Design]] = DESIGNS | OBD_DESIGNS
REGISTRY_ALIASES: dict[str, str] = ALIASES | OBD_ALIASES

#: how documents name the designs
DESIGN_LABELS = {"3+3": "3+3", "i3+3": "i3+3", "mtpi2": "mTPI-2", "keyboard": "Keyboard", "boin": "BOIN", "crm": "CRM",
                 "boin12": "BOIN12", "uboin": "U-BOIN", "bf-boin": "BF-BOIN", "tite-boin": "TITE-BOIN"}


def design_key(name: str) -> str:
    """The registry name of a design name or alias ("U-BOIN" -> "uboin"); unknown names lower-cased."""
    key = str(name).strip().lower()
    return REGISTRY_ALIASES.get(key, key)


def design_class(name: str) -> type[Design]:
    """The class of a registered design; DesignError for unknown names."""
    key = design_key(name)
    if key not in REGISTRY:
        raise DesignError(f"unknown design {name!r}", "design", f"choose one of: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def design_parameters(name: str) -> list[str]:
    """The keyword options a design accepts beyond target, n_doses, cohort_size and n_cohorts."""
    sig = inspect.signature(design_class(name).__init__)
    return [p for p in sig.parameters if p not in ("self", "target", "n_doses", "cohort_size", "n_cohorts")]


def needs_efficacy(name: str) -> bool:
    """Whether a design needs the true efficacy probabilities to be simulated."""
    return design_class(name).needs_efficacy


def build_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 **options) -> Design:
    """Any registered design (MTD or OBD) by name; DesignError for unknown names or options."""
    return _build(REGISTRY, REGISTRY_ALIASES, name, target=target, n_doses=n_doses, cohort_size=cohort_size,
                  n_cohorts=n_cohorts, **options)


def design_from_spec(settings, n_doses: int) -> Design:
    """The design of a study spec's ``design`` section (:class:`dossier.spec.DesignSettings`), with its
    options: the one place a design is built from the spec (pipeline and escalation analysis)."""
    return build_design(settings.name, target=settings.target, n_doses=n_doses, cohort_size=settings.cohort_size,
                        n_cohorts=settings.n_cohorts, **settings.design_options())


def simulate_design(design: Design, p_true, p_resp, n_trials: int, rng):
    """Operating characteristics of any design: :func:`simulate_trials` for MTD designs,
    :func:`simulate_obd` for the OBD / timed designs (``p_resp`` is ignored by MTD designs)."""
    if design.name in OBD_DESIGNS:
        return simulate_obd(design, p_true, p_resp, n_trials, rng)
    return simulate_trials(design, p_true, n_trials, rng)


def design_label(name: str) -> str:
    """The name of a design as documents print it ("uboin" -> "U-BOIN"); unknown names upper-cased."""
    return DESIGN_LABELS.get(design_key(name), str(name).upper())


def obd_design_names() -> list[str]:
    return list(OBD_DESIGNS)


def make_obd_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                    **options) -> Design:
    """Build an OBD / timed design by name ("boin12", "uboin", "bf-boin", "tite-boin")."""
    return _build(OBD_DESIGNS, OBD_ALIASES, name, target=target, n_doses=n_doses, cohort_size=cohort_size,
                  n_cohorts=n_cohorts, **options)


def simulate_obd(design: Design, p_true, p_resp, n_trials: int, rng) -> ObdOperatingCharacteristics:
    """Operating characteristics of an OBD / timed design (``p_resp`` may be None for TITE-BOIN)."""
    if design.needs_efficacy and p_resp is None:
        raise DesignError(f"{design.name} needs the true response probabilities", "p_resp / --true-eff")
    return design.simulate(p_true, p_resp, n_trials, rng)


__all__ = [
    "DEFAULT_UTILITY", "OBD_DESIGNS", "REGISTRY", "build_design", "design_class", "design_from_spec", "design_key",
    "design_parameters", "needs_efficacy", "simulate_design", "BfBoin", "Boin", "Boin12", "Crm", "Decision", "DecisionRow",
    "DecisionTable", "Design", "DesignError", "FittedScenario", "I3plus3", "Keyboard", "Mtpi2", "MtdSelection",
    "ObdOperatingCharacteristics", "OperatingCharacteristics", "ThreePlusThree", "TiteBoin", "TransitionPathway", "UBoin",
    "closed_form_3plus3", "crm_fit", "design_label", "design_names", "exact_comparison", "getprior", "make_design",
    "make_obd_design", "obd_design_names", "sample_size_per_arm", "scenarios_from_fit", "simulate_comparison",
    "simulate_obd", "simulate_trials", "simulate_under_fit",
]

# drug-combination designs (two agents, dose-pair grids; their own decide/simulate contract):
# dossier.designs.boin_comb (Lin & Yin 2017) and dossier.designs.waterfall (Zhang & Yuan 2016)
from dossier.designs.boin_comb import BoinComb  # noqa: E402
from dossier.designs.waterfall import Waterfall  # noqa: E402

COMBINATION_DESIGNS: dict[str, type] = {"boin-comb": BoinComb, "waterfall": Waterfall}
