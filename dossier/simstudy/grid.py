"""The simulation-study grid: its spec, and its expansion into independent, reproducibly seeded tasks.

A study is a grid of *design configurations* (each design of the spec, crossed with the values of its
own ``sweep`` and of the study-wide ``sweep``) x *scenarios* (true dose-toxicity curves).  It is
expanded into **units**: one design configuration x one scenario x one block of ``block_trials``
trials.  Units are grouped into **tasks** of at least ``min_task_seconds`` of (estimated) work; a
task is what an executor runs.

Seeds (why results do not depend on how the grid is split or where a task ran)
---------------------------------------------------------------------------------
Block ``b`` of a scenario draws its uniforms from ``SeedSequence(seed, spawn_key=K + (b,))`` where
``K`` are four 32-bit words of the sha256 of the scenario's true probabilities: exactly the ``b``-th
child of ``SeedSequence(seed, spawn_key=K).spawn(...)`` (numpy's ``spawn`` appends the child's index
to the spawn key), keyed by the scenario's content rather than its position in the grid.  The seed of
a unit therefore depends only on the master seed, the scenario and the block index: not on the design
(common random numbers: every design of the grid sees the same patients in a scenario), not on the
other scenarios, the task grouping, the executor or the worker.

Patient ``i`` of trial ``t`` in a block carries ``u[i, t]`` of ``rng.random((P, block_size))``; as the
generator fills that array row by row, the first ``P1`` rows are the same for any ``P >= P1``, so
designs with different maximum sample sizes still share their first patients.

OBD / timed designs (BOIN12, BF-BOIN, TITE-BOIN) take the toxicity of their escalation patients from
these uniforms too; their other randomness (efficacy, accrual, backfilled patients) comes from a
generator seeded by the block's first spawned child, ``SeedSequence(seed, spawn_key=K + (b, 0))``
(:func:`dossier.simstudy.executors.unit_rng`), so it is as reproducible and as independent of the task
grouping and executor as the uniforms.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dossier.errors import DossierError, SpecError, format_validation_error

#: bump when the simulation engine or the unit payload changes: cached units are then recomputed
ENGINE_VERSION = "simstudy-1"

#: design settings that a sweep may vary directly; any other sweep key is a design option
DESIGN_SETTINGS = ("target", "cohort_size", "n_cohorts")

#: estimated seconds per simulated trial and *maximum* cohort (one core, single-threaded BLAS, blocks of
#: 2,500 trials, 5 doses, the machine of benchmarks/bench_study.py), on the low side (trials that stop
#: early cost less than the maximum) so that tasks carry >= min_task_seconds; used only to group units
#: into tasks, never to compute results
#: (OBD designs: simulate_unit's CPU time for 5 doses, 10 cohorts of 3, blocks of 2,500, rounded down)
COST_PER_TRIAL_COHORT = {"crm": 1.0e-6, "3+3": 0.12e-6, "boin12": 3.5e-6, "uboin": 2.5e-6, "bf-boin": 5.5e-6, "tite-boin": 3.0e-6}

DEFAULT_COST_PER_TRIAL_COHORT = 0.18e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


Probability = Annotated[float, Field(ge=0, le=1)]
SweepValues = Annotated[list[Any], Field(min_length=1)]


class StudyScenario(_Strict):
    """One true dose-toxicity (and, for OBD designs, dose-efficacy) scenario."""

    name: str = Field(min_length=1)
    true_tox: list[Probability] = Field(min_length=1, description="true DLT probability per dose")
    true_eff: list[Probability] | None = Field(
        None, description="true efficacy probability per dose (for OBD designs; not used by MTD designs)")

    @model_validator(mode="after")
    def _same_length(self) -> StudyScenario:
        if self.true_eff is not None and len(self.true_eff) != len(self.true_tox):
            raise ValueError(f"true_eff has {len(self.true_eff)} values but true_tox has {len(self.true_tox)}")
        return self


class StudyDesign(_Strict):
    """A design of the grid: any name :func:`dossier.designs.make_design` or
    :func:`dossier.designs.make_obd_design` accepts, its options, a sweep."""

    name: str = Field(min_length=1, description="design name, e.g. boin, crm, 3+3, keyboard, or an OBD / timed "
                                                "design: boin12, uboin, bf-boin, tite-boin (these need "
                                                "true_eff, "
                                                "tite-boin only for responses)")
    label: str | None = Field(None, description="shown in tables; default: the design name")
    target: float | None = Field(None, gt=0, lt=1, description="default: the study's target")
    cohort_size: int | None = Field(None, ge=1, le=12)
    n_cohorts: int | None = Field(None, ge=1, le=100)
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="keyword options of the design (0-based start_dose, p_saf, skeleton, ...)")
    sweep: dict[str, SweepValues] = Field(
        default_factory=dict, description="values to cross for this design: target, cohort_size, n_cohorts or an option")


class SimulationStudySpec(_Strict):
    """A simulation study: designs x scenarios x swept parameters, each cell simulated ``n_trials`` times."""

    name: str = Field("simulation-study", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = Field(20240801, ge=0, description="master seed; every task's seed is derived from it")
    n_trials: int = Field(10_000, ge=10, le=10_000_000, description="simulated trials per design and scenario")
    block_trials: int = Field(2500, ge=10, le=1_000_000,
                              description="trials per random-number block (part of the seeding, keep fixed)")
    target: float = Field(0.30, gt=0, lt=1, description="target DLT rate (default of every design)")
    cohort_size: int = Field(3, ge=1, le=12)
    n_cohorts: int = Field(10, ge=1, le=100)
    sweep: dict[str, SweepValues] = Field(default_factory=dict,
                                          description="values crossed with every design (sensitivity sweep)")
    designs: list[StudyDesign] = Field(min_length=1)
    scenarios: list[StudyScenario] = Field(min_length=1)
    reference: str | None = Field(None, description="design id for paired differences (default: the first)")
    min_task_seconds: float = Field(0.2, gt=0, le=600, description="group units into tasks of at least this work")
    trials_per_task: int | None = Field(None, ge=1, description="group by trial count instead (overrides the cost model)")

    @model_validator(mode="after")
    def _unique_scenarios(self) -> SimulationStudySpec:
        ids = [slug(s.name) for s in self.scenarios]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"scenario names must be distinct (after lower-casing and replacing punctuation "
                             f"by _): {', '.join(dup)}")
        return self

    @model_validator(mode="after")
    def _designs_build(self) -> SimulationStudySpec:
        # unknown designs, options or sweep values fail when the spec is loaded (as a SpecError naming
        # simulation_study.designs[i]), also when this model is embedded in the study spec; the grid is
        # counted first, so a huge sweep is refused before any configuration is built
        check_grid_size(self)
        expand_designs(self)
        return self

    def sha256(self) -> str:
        """Hash of everything that determines the results (not how the work is split into tasks)."""
        data = self.model_dump(mode="json", exclude={"min_task_seconds", "trials_per_task"})
        return hashlib.sha256(canonical_json(data).encode()).hexdigest()


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


def parse_study_spec(data: Any, source: str = "<simulation_study>") -> SimulationStudySpec:
    """Validate a grid (a mapping) into a :class:`SimulationStudySpec`; errors are :class:`SpecError`."""
    if not isinstance(data, dict):
        raise SpecError("the simulation study must be a YAML mapping", where=source,
                        hint="give keys such as `designs:`, `scenarios:`, `n_trials:`")
    try:
        spec = SimulationStudySpec.model_validate(data)
    except ValidationError as err:
        e = format_validation_error(err, source)
        raise SpecError(e.what.replace("the study spec", "the simulation study"), e.where, e.hint) from None
    return spec


def load_study_spec(path: str | Path) -> SimulationStudySpec:
    """A simulation study from a YAML file: a standalone grid, or any YAML with a ``simulation_study:`` key
    (e.g. a full study spec)."""
    from dossier.yamlio import read_yaml

    path = Path(path)
    data = read_yaml(path, "file", "pass a grid YAML or a study spec with a simulation_study section")
    if isinstance(data, dict) and "simulation_study" in data:
        if data["simulation_study"] is None:
            raise SpecError("the spec has an empty simulation_study section", where=f"{path}: simulation_study",
                            hint="add designs: and scenarios: under simulation_study")
        return parse_study_spec(data["simulation_study"], f"{path}: simulation_study")
    return parse_study_spec(data, str(path))


# ----------------------------------------------------------------------------------------------
# Expansion
# ----------------------------------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256_of(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def slug(text: str) -> str:
    """An identifier safe in evidence ids, file names and HTML: lower case, [a-z0-9_-]."""
    s = re.sub(r"[^a-z0-9-]+", "_", str(text).strip().lower()).strip("_")
    return s or "x"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else canonical_json(value) if isinstance(value, list | dict) \
        else str(value)


class DesignConfig(BaseModel):
    """One column of the comparison: a design with all settings fixed (also its record in the results)."""

    id: str
    label: str
    name: str
    target: float
    cohort_size: int
    n_cohorts: int
    options: dict[str, Any]
    swept: dict[str, Any] = Field(default_factory=dict)

    def make_kwargs(self, n_doses: int) -> dict[str, Any]:
        return self.settings() | {"n_doses": n_doses}

    def build(self, n_doses: int):
        return build_design(self.make_kwargs(n_doses))

    def settings(self) -> dict[str, Any]:
        """Everything that determines the design's behaviour (hashed into each unit's key)."""
        return {"name": self.name, "target": self.target, "cohort_size": self.cohort_size,
                "n_cohorts": self.n_cohorts, "options": self.options}


class ScenarioConfig(BaseModel):
    """One true scenario (also its record in the results)."""

    id: str
    name: str
    true_tox: list[float]
    true_eff: list[float] | None = None

    def stream_key(self) -> tuple[int, ...]:
        """Four 32-bit words of the sha256 of the true probabilities (not the name): the scenario's key
        in the seed tree."""
        digest = hashlib.sha256(canonical_json({"true_tox": self.true_tox, "true_eff": self.true_eff}).encode())
        raw = digest.digest()[:16]
        return tuple(int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4))


@dataclass
class Unit:
    """One design configuration x one scenario x one block of trials: the finest cacheable piece of work."""

    design: int  # index into the expanded design configurations
    scenario: int  # index into the scenarios
    block: int
    first_trial: int
    size: int
    hash: str
    est_seconds: float


@dataclass
class Task:
    """Units run together by one executor call; ``payload`` is self-contained and picklable."""

    hash: str
    units: list[Unit]
    payload: dict[str, Any]

    @property
    def n_trials(self) -> int:
        return sum(u.size for u in self.units)


def build_design(kwargs: dict[str, Any]):
    """``make_design(**kwargs)`` memoised per process: building a design can cost milliseconds (decision
    boundaries), and a worker builds the same few designs for every task.  Designs are not modified by
    simulation, so sharing one object is safe."""
    return _build_design(canonical_json(kwargs))


@functools.lru_cache(maxsize=512)
def _build_design(key: str):
    from dossier.designs import design_from_spec

    kw = json.loads(key)
    return design_from_spec(kw, kw["n_doses"])


#: the most design configurations (each design x its swept combinations) a study may hold, and the most
#: configuration x scenario cells; both are counted before the grid is expanded
MAX_DESIGN_CONFIGURATIONS = 1_000
MAX_GRID_CELLS = 20_000


def count_configurations(spec: SimulationStudySpec) -> int:
    """The number of design configurations the grid expands to, from the sweep sizes alone."""
    return sum(math.prod(len(v) for v in {**spec.sweep, **d.sweep}.values()) for d in spec.designs)


def check_grid_size(spec: SimulationStudySpec) -> None:
    """Refuse (SpecError) a grid above :data:`MAX_DESIGN_CONFIGURATIONS` / :data:`MAX_GRID_CELLS`."""
    n = count_configurations(spec)
    cells = n * len(spec.scenarios)
    if n > MAX_DESIGN_CONFIGURATIONS or cells > MAX_GRID_CELLS:
        raise SpecError(f"the simulation study expands to {n:,} design configurations x {len(spec.scenarios)} "
                        f"scenarios = {cells:,} cells; at most {MAX_DESIGN_CONFIGURATIONS:,} configurations and "
                        f"{MAX_GRID_CELLS:,} cells are simulated", "simulation_study.sweep",
                        "sweep fewer values (each sweep key multiplies the grid), or split the study")


def expand_designs(spec: SimulationStudySpec) -> list[DesignConfig]:
    """Every design crossed with its own sweep and the study-wide sweep, validated by building it."""
    from dossier.designs import needs_efficacy

    configs: list[DesignConfig] = []
    for i, d in enumerate(spec.designs):
        where = f"simulation_study.designs[{i}] ({d.name})"
        sweep = {**spec.sweep, **d.sweep}
        keys = list(sweep)
        for combo in itertools.product(*(sweep[k] for k in keys)):
            swept = dict(zip(keys, combo, strict=True))
            settings = {"target": d.target if d.target is not None else spec.target,
                        "cohort_size": d.cohort_size if d.cohort_size is not None else spec.cohort_size,
                        "n_cohorts": d.n_cohorts if d.n_cohorts is not None else spec.n_cohorts}
            options = dict(d.options)
            for k, v in swept.items():
                if k in DESIGN_SETTINGS:
                    settings[k] = v
                else:
                    options[k] = v
            base = d.label or d.name
            label = base + (" (" + ", ".join(f"{k}={_fmt(v)}" for k, v in swept.items()) + ")" if swept else "")
            cid = slug(base) + "".join(f"_{slug(k)}_{slug(_fmt(v))}" for k, v in swept.items())
            cfg = DesignConfig(id=cid, label=label, name=d.name, target=float(settings["target"]),
                               cohort_size=settings["cohort_size"], n_cohorts=settings["n_cohorts"],
                               options=options, swept=swept)
            for s in spec.scenarios:
                if needs_efficacy(d.name) and s.true_eff is None:
                    raise SpecError(f"design {d.name!r} needs the true efficacy probabilities, but scenario "
                                    f"{s.name!r} has no true_eff", where,
                                    "add true_eff (one probability per dose) to every scenario")
                try:
                    cfg.build(len(s.true_tox))
                except DossierError as err:
                    raise SpecError(f"{err.what} (scenario {s.name!r}{', ' + label if swept else ''})", where,
                                    err.hint) from None
                except (TypeError, ValueError) as err:
                    raise SpecError(f"invalid setting for design {d.name!r}: {err}", where,
                                    "check the sweep values and options") from None
            configs.append(cfg)
    ids = [c.id for c in configs]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise SpecError(f"two design configurations share the id {', '.join(dup)}", "simulation_study.designs",
                        "give the designs distinct labels")
    if spec.reference is not None and spec.reference not in ids:
        raise SpecError(f"reference design {spec.reference!r} is not in the grid", "simulation_study.reference",
                        f"choose one of: {', '.join(ids)}")
    return configs


def expand_scenarios(spec: SimulationStudySpec) -> list[ScenarioConfig]:
    return [ScenarioConfig(id=slug(s.name), name=s.name, true_tox=list(s.true_tox),
                           true_eff=None if s.true_eff is None else list(s.true_eff)) for s in spec.scenarios]


def cost_per_trial(cfg: DesignConfig) -> float:
    from dossier.designs import design_key

    key = design_key(cfg.name)
    return COST_PER_TRIAL_COHORT.get(key, DEFAULT_COST_PER_TRIAL_COHORT) * cfg.n_cohorts


def unit_key(spec: SimulationStudySpec, cfg: DesignConfig, sc: ScenarioConfig, block: int, size: int) -> dict:
    """What determines a unit's result (its hash is the cache key)."""
    from dossier import __version__

    return {"engine": ENGINE_VERSION, "version": __version__, "design": cfg.settings(),
            "true_tox": sc.true_tox, "true_eff": sc.true_eff, "seed": spec.seed,
            "block_trials": spec.block_trials, "block": block, "size": size}


def expand_units(spec: SimulationStudySpec, designs: list[DesignConfig] | None = None,
                 scenarios: list[ScenarioConfig] | None = None) -> list[Unit]:
    """All units of the grid in canonical order: scenario, block, design (units that share random
    numbers are adjacent, so a task usually draws them once)."""
    designs = expand_designs(spec) if designs is None else designs
    scenarios = expand_scenarios(spec) if scenarios is None else scenarios
    n_blocks = -(-spec.n_trials // spec.block_trials)
    units = []
    for si, sc in enumerate(scenarios):
        for b in range(n_blocks):
            first = b * spec.block_trials
            size = min(spec.block_trials, spec.n_trials - first)
            for di, cfg in enumerate(designs):
                h = sha256_of(unit_key(spec, cfg, sc, b, size))
                units.append(Unit(di, si, b, first, size, h, size * cost_per_trial(cfg)))
    return units


def unit_seed(seed: int, scenario: ScenarioConfig, block: int) -> tuple[int, tuple[int, ...]]:
    """(entropy, spawn_key) of a block's SeedSequence: the ``block``-th spawned child of the scenario's
    sequence ``SeedSequence(seed, spawn_key=scenario.stream_key())``."""
    return int(seed), scenario.stream_key() + (int(block),)


def group_units(units: list[Unit], min_task_seconds: float = 0.2, trials_per_task: int | None = None) -> list[list[Unit]]:
    """Consecutive units grouped so each group carries >= ``min_task_seconds`` of estimated work
    (or >= ``trials_per_task`` trials); the last group may be smaller."""
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    work = 0.0
    for u in units:
        current.append(u)
        work += u.size if trials_per_task else u.est_seconds
        if work >= (trials_per_task or min_task_seconds):
            groups.append(current)
            current, work = [], 0.0
    if current:
        groups.append(current)
    return groups


def make_tasks(spec: SimulationStudySpec, units: list[Unit], designs: list[DesignConfig],
               scenarios: list[ScenarioConfig]) -> list[Task]:
    """Group units into tasks with self-contained payloads (plain data: design settings, true
    probabilities, seeds), keyed by the hash of their units."""
    tasks = []
    for group in group_units(units, spec.min_task_seconds, spec.trials_per_task):
        h = hashlib.sha256("".join(u.hash for u in group).encode()).hexdigest()
        payload = {"task": h, "units": []}
        for u in group:
            sc = scenarios[u.scenario]
            cfg = designs[u.design]
            entropy, key = unit_seed(spec.seed, sc, u.block)
            payload["units"].append({
                "hash": u.hash, "design": cfg.make_kwargs(len(sc.true_tox)), "true_tox": sc.true_tox,
                "true_eff": sc.true_eff, "entropy": entropy, "spawn_key": key, "size": u.size,
            })
        tasks.append(Task(h, group, payload))
    return tasks
