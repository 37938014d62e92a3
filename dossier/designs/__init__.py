"""Dose-finding designs, one contract for all of them, and their vectorised simulation.

Every design is a :class:`~dossier.designs.base.Design` that declares

* its parameters once, as a typed model ``Params`` (:mod:`dossier.designs.params`: defaults, bounds, help
  text, published source) -- the study spec's ``design`` keys and the CLI flags are generated from these;
* its capabilities: ``needs_efficacy``, ``uses_calendar_time``, ``selects`` ("MTD" or "OBD"), and its
  ``label`` and ``aliases``;

and answers through one signature each: ``decide(TrialData)`` (the next dose or a stop),
``select_mtd`` (the MTD at the end, with estimates), ``simulate(Scenario, n_trials, rng)`` (operating
characteristics) with ``outcomes`` / ``summarize`` underneath, and ``decision_table``.

:data:`REGISTRY` maps names to classes (adding a design: its module, its tests and one line there);
:func:`design_from_spec` is the one place a design is built from settings (pipeline, escalation analysis,
simulation studies, CLI).  MTD designs: 3+3, i3+3, mTPI-2, Keyboard, BOIN, CRM; OBD and timed designs:
BOIN12, U-BOIN, BF-BOIN, TITE-BOIN; also the randomized comparison of dosages (:mod:`randomized`) and
scenarios from fitted models (:mod:`scenarios`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dossier.errors import DesignError

if TYPE_CHECKING:  # the modules the registry and the exports below import on first use (import graph, types)
    from dossier.designs import (  # noqa: F401
        backfill,
        base,
        boin,
        boin12,
        crm,
        i3plus3,
        mtpi2,
        obd,
        params,
        randomized,
        scenarios,
        simulate,
        three_plus_three,
        tite_boin,
        uboin,
    )
    from dossier.designs.base import Design
    from dossier.designs.obd import ObdOperatingCharacteristics

#: every design, by name, and where its class lives: the one registry (adding a design: its module, its tests and
#: one line here).  A design's module is imported when the design is first looked up, so that ``dossier decide
#: --design boin`` loads BOIN's code and not every design's (issue 16: start-up <= 0.4 s)
_DESIGN_MODULES: dict[str, tuple[str, str]] = {
    "3+3": ("three_plus_three", "ThreePlusThree"),
    "i3+3": ("i3plus3", "I3plus3"),
    "mtpi2": ("mtpi2", "Mtpi2"),
    "keyboard": ("mtpi2", "Keyboard"),
    "boin": ("boin", "Boin"),
    "crm": ("crm", "Crm"),
    "boin12": ("boin12", "Boin12"),
    "uboin": ("uboin", "UBoin"),
    "bf-boin": ("backfill", "BfBoin"),
    "tite-boin": ("tite_boin", "TiteBoin"),
}

#: the names this package exports, by the module defining them (imported on first access, PEP 562)
_EXPORTS: dict[str, str] = {
    **{cls: mod for mod, cls in _DESIGN_MODULES.values()},
    **dict.fromkeys(("Decision", "DecisionRow", "DecisionTable", "Design", "MtdSelection", "Scenario",
                     "TransitionPathway", "TrialData"), "base"),
    "DEFAULT_UTILITY": "boin12", "crm_fit": "crm", "getprior": "crm", "ObdOperatingCharacteristics": "obd",
    "DesignParams": "params", "validate_options": "params", "exact_comparison": "randomized",
    "sample_size_per_arm": "randomized", "simulate_comparison": "randomized", "FittedScenario": "scenarios",
    "scenarios_from_fit": "scenarios", "simulate_under_fit": "scenarios", "OperatingCharacteristics": "simulate",
    "simulate_trials": "simulate", "closed_form_3plus3": "three_plus_three",
}

#: the views of the registry by capability (derived, never edited by hand): computed on first access, which
#: imports every design
_VIEWS = ("DESIGNS", "OBD_DESIGNS", "REGISTRY_ALIASES", "ALIASES", "OBD_ALIASES", "DESIGN_LABELS")


def _load(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"dossier.designs.{module}"), name)


class _Registry(Mapping):
    """Name -> design class; the names are known up front, a class is imported when it is looked up."""

    def __init__(self, modules: dict[str, tuple[str, str]]):
        self._modules = modules

    def __getitem__(self, key: str) -> type[Design]:
        return _load(*self._modules[key])

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __repr__(self) -> str:
        return f"REGISTRY({', '.join(self._modules)})"


REGISTRY: Mapping[str, type[Design]] = _Registry(_DESIGN_MODULES)

#: settings every design takes, set by the spec's / CLI's own keys (not design options)
COMMON_SETTINGS = ("target", "n_doses", "cohort_size", "n_cohorts")


def _is_mtd_design(cls: type[Design]) -> bool:
    return cls.selects == "MTD" and not cls.needs_efficacy and not cls.uses_calendar_time


def _views() -> dict[str, Any]:
    designs = {k: c for k, c in REGISTRY.items() if _is_mtd_design(c)}
    obd = {k: c for k, c in REGISTRY.items() if not _is_mtd_design(c)}
    aliases = {a: k for k, c in REGISTRY.items() for a in c.aliases}
    return {"DESIGNS": designs, "OBD_DESIGNS": obd, "REGISTRY_ALIASES": aliases,
            "ALIASES": {a: k for a, k in aliases.items() if k in designs},
            "OBD_ALIASES": {a: k for a, k in aliases.items() if k in obd},
            "DESIGN_LABELS": {k: c.label or k for k, c in REGISTRY.items()}}


def design_names() -> list[str]:
    return list(__getattr__("DESIGNS"))


def obd_design_names() -> list[str]:
    return list(__getattr__("OBD_DESIGNS"))


def design_key(name: str) -> str:
    """The registry name of a design name or alias ("U-BOIN" -> "uboin"); unknown names lower-cased."""
    key = str(name).strip().lower()
    if key in REGISTRY:  # a registry name (no alias is one): no design needs to be imported
        return key
    return __getattr__("REGISTRY_ALIASES").get(key, key)


def design_class(name: str, registry: dict[str, type[Design]] | None = None) -> type[Design]:
    """The class of a registered design; DesignError for unknown names."""
    registry = REGISTRY if registry is None else registry
    key = design_key(name)
    if key not in registry:
        raise DesignError(f"unknown design {name!r}", "design", f"choose one of: {', '.join(registry)}")
    return registry[key]


def design_parameters(name: str) -> list[str]:
    """The keyword options a design accepts beyond target, n_doses, cohort_size and n_cohorts (its ``Params``)."""
    return list(design_class(name).Params.model_fields)


def needs_efficacy(name: str) -> bool:
    """Whether a design needs the true efficacy probabilities to be simulated (declared by its class)."""
    cls = REGISTRY.get(design_key(name))
    return cls is not None and cls.needs_efficacy


def build_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 registry: dict[str, type[Design]] | None = None, where: str = "design options",
                 **options) -> Design:
    """Any registered design by name, its options checked against the design's ``Params`` model
    (:func:`~dossier.designs.params.validate_options`); DesignError for unknown names or bad options."""
    from dossier.designs.params import validate_options

    cls = design_class(name, registry)
    typed = validate_options(cls, options, where)
    return cls(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts, **typed)


def make_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                **options) -> Design:
    """An MTD design by name ("3+3", "i3+3", "mtpi2", "keyboard", "boin", "crm"); see :func:`build_design`."""
    return build_design(name, target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                        registry=__getattr__("DESIGNS"), **options)


def make_obd_design(name: str, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                    **options) -> Design:
    """An OBD / timed design by name ("boin12", "uboin", "bf-boin", "tite-boin"); see :func:`build_design`."""
    return build_design(name, target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                        registry=__getattr__("OBD_DESIGNS"), **options)


def design_from_spec(settings: Any, n_doses: int, where: str = "design") -> Design:
    """The design of a spec: the one place a design is built from settings (the pipeline, the escalation
    analysis, simulation studies and the CLI).

    ``settings`` is the study spec's ``design`` section (:class:`dossier.spec.DesignSettings`, whose
    ``design_options()`` gives the options), a simulation-study design configuration (``.options``) or a
    mapping with ``name``, ``target``, ``cohort_size``, ``n_cohorts`` and ``options``.  Options are the
    design's Python keywords (0-based dose indices)."""
    if isinstance(settings, Mapping):
        get = settings.get
    else:
        def get(key, default=None):
            return getattr(settings, key, default)
    if hasattr(settings, "design_options"):
        options = settings.design_options()
    else:
        options = dict(get("options") or {})
    return build_design(get("name"), target=get("target"), n_doses=n_doses, cohort_size=get("cohort_size", 3),
                        n_cohorts=get("n_cohorts", 10), where=where, **options)


def simulate_design(design: Design, p_true, p_resp, n_trials: int, rng):
    """Operating characteristics of any design under true DLT (and response) probabilities:
    ``design.simulate(Scenario(p_tox=p_true, p_eff=p_resp), n_trials, rng)``."""
    from dossier.designs.base import Scenario

    if p_resp is not None and not design.needs_efficacy and not design.uses_calendar_time:
        p_resp = None  # MTD designs do not use efficacy
    return design.simulate(Scenario(p_tox=list(p_true), p_eff=None if p_resp is None else list(p_resp)),
                           n_trials, rng)


def design_label(name: str) -> str:
    """The name of a design as documents print it ("uboin" -> "U-BOIN"); unknown names upper-cased."""
    key = design_key(name)
    return (REGISTRY[key].label or key) if key in REGISTRY else str(name).upper()


def simulate_obd(design: Design, p_true, p_resp, n_trials: int, rng) -> ObdOperatingCharacteristics:
    """Operating characteristics of an OBD / timed design (``p_resp`` may be None for TITE-BOIN)."""
    return design.simulate(p_true, p_resp, n_trials, rng)


__all__ = [
    "DEFAULT_UTILITY", "OBD_DESIGNS", "REGISTRY", "build_design", "design_class", "design_from_spec", "design_key",
    "design_parameters", "needs_efficacy", "simulate_design", "BfBoin", "Boin", "Boin12", "Crm", "Decision", "DecisionRow",
    "DecisionTable", "Design", "DesignError", "DesignParams", "FittedScenario", "I3plus3", "Keyboard", "Mtpi2",
    "MtdSelection", "ObdOperatingCharacteristics", "OperatingCharacteristics", "Scenario", "ThreePlusThree", "TiteBoin",
    "TransitionPathway", "TrialData", "UBoin", "closed_form_3plus3", "crm_fit", "design_label", "design_names",
    "exact_comparison", "getprior", "make_design", "make_obd_design", "obd_design_names", "sample_size_per_arm",
    "scenarios_from_fit", "simulate_comparison", "simulate_obd", "simulate_trials", "simulate_under_fit",
]

# drug-combination designs (two agents, dose-pair grids; their own decide/simulate contract):
# dossier.designs.boin_comb (Lin & Yin 2017) and dossier.designs.waterfall (Zhang & Yuan 2016)
def __getattr__(name: str):
    """The exported names (classes, functions, the registry's views) are loaded on first use (PEP 562): the
    quick commands (``decide``, ``boundaries``) load only the design they run.  ``COMBINATION_DESIGNS``
    (dossier.designs.combination) likewise."""
    if name in _EXPORTS:
        value = _load(_EXPORTS[name], name)
    elif name in _VIEWS:
        views = _views()
        globals().update(views)
        return views[name]
    elif name == "COMBINATION_DESIGNS":
        from dossier.designs.combination import COMB_DESIGNS

        value = COMB_DESIGNS
    else:
        raise AttributeError(f"module 'dossier.designs' has no attribute {name!r}")
    globals()[name] = value
    return value
