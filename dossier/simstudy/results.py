"""Results of a simulation study: operating characteristics per design x scenario, the design-comparison
table, and the tidy table (pandas, Parquet) with Monte Carlo standard errors.

Per cell (design configuration x scenario) the per-trial outcomes of all blocks are pooled in block
order and summarised by :func:`dossier.designs.simulate.summarize` (the definitions of every OC and its
MC SE are those of :mod:`dossier.designs.simulate`).  Added here:

* ``patients_at_mtd``: mean number of patients treated at the true MTD (sample SD / sqrt(N));
* ``mean_cohorts``: mean number of cohorts enrolled, the trial's duration in DLT-assessment windows;
* ``pcs_diff``: percentage of correct selection minus that of the reference design.  Both designs saw
  the same patients (common random numbers), so its MC SE is the *paired* one,
  ``SD(c_a - c_r) / sqrt(N)`` over trials; ``pcs_diff_se_independent`` is what it would be with
  independent runs, ``sqrt(se_a^2 + se_r^2)``.

OBD / timed designs (BOIN12, BF-BOIN, TITE-BOIN) are summarised by :func:`dossier.designs.obd.summarize_obd`
exactly as their own ``simulate`` does (BOIN12: correct selection of the true OBD, the best true utility at
or below the true MTD), so a cell's ``oc`` is an :class:`ObdOperatingCharacteristics` (efficacy, backfill,
duration in months); its ``mean_cohorts`` counts escalation cohorts (backfilled patients excluded) and the
comparison row adds ``mean_duration_months`` for designs with calendar time.  ``pcs_diff`` compares each
design's own correct selection (the OBD for BOIN12, the MTD otherwise) on the same trials.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from dossier.designs.obd import ObdOperatingCharacteristics, ObdOutcomes, summarize_obd
from dossier.designs.simulate import OperatingCharacteristics, TrialOutcomes, summarize
from dossier.simstudy.grid import DesignConfig, ScenarioConfig, SimulationStudySpec, Unit

#: the results record each design and scenario as the grid configured it
DesignInfo = DesignConfig
ScenarioInfo = ScenarioConfig


class CellResult(BaseModel):
    """One design configuration under one scenario."""

    design_id: str
    scenario_id: str
    # OBD type first: a JSON round trip keeps the OBD fields (an OBD OC also validates as an MTD OC)
    oc: Annotated[ObdOperatingCharacteristics | OperatingCharacteristics, Field(union_mode="left_to_right")]
    patients_at_mtd: float
    patients_at_mtd_se: float
    mean_cohorts: float
    mean_cohorts_se: float
    pcs_diff: float | None = None
    pcs_diff_se: float | None = None
    pcs_diff_se_independent: float | None = None


class ComparisonRow(BaseModel):
    """A row of the design-comparison table (percentages 0-100; ``true_mtd`` is a 1-based dose level)."""

    design_id: str
    scenario_id: str
    true_mtd: int
    pcs: float
    pcs_se: float
    no_selection_pct: float
    no_selection_pct_se: float
    patients_at_mtd: float
    patients_at_mtd_se: float
    patients_above_mtd_pct: float
    patients_above_mtd_pct_se: float
    mean_sample_size: float
    mean_sample_size_se: float
    mean_cohorts: float
    mean_cohorts_se: float
    pcs_diff: float | None = None
    pcs_diff_se: float | None = None
    pcs_diff_se_independent: float | None = None
    mean_duration_months: float | None = None  # designs with calendar time (TITE-BOIN, BF-BOIN)
    mean_duration_months_se: float | None = None


class RunStats(BaseModel):
    """How the study ran (not part of the evidence: it differs between runs with identical results)."""

    executor: str
    workers: int
    n_tasks: int
    n_units: int
    units_computed: int
    units_cached: int
    trials_computed: int
    wall_seconds: float
    task_seconds: float  # sum of the wall time spent inside tasks (on all workers)
    task_cpu_seconds: float  # sum of the CPU time of the tasks (unaffected by other load on the machine)
    driver_cpu_seconds: float  # CPU time of this process in run_study (expansion, dispatch, cache, pooling)
    trials_per_second: float


class SimulationStudyResult(BaseModel):
    """The simulation study's results: the grid, one :class:`CellResult` per design x scenario (scenario-
    major, designs in grid order) and the comparison rows in the same order."""

    name: str
    spec_sha256: str
    seed: int
    n_trials: int
    block_trials: int
    reference: str
    designs: list[DesignInfo]
    scenarios: list[ScenarioInfo]
    cells: list[CellResult]
    comparison: list[ComparisonRow]
    run: RunStats | None = Field(None, exclude=True)

    def cell(self, design_id: str, scenario_id: str) -> CellResult:
        for c in self.cells:
            if c.design_id == design_id and c.scenario_id == scenario_id:
                return c
        raise KeyError((design_id, scenario_id))

    def to_frame(self):
        """The tidy table: one row per design x scenario x metric (x dose for per-dose metrics), with
        its MC SE.  Columns: design_id, design_label, design, target, cohort_size, n_cohorts,
        scenario_id, scenario, metric, dose (1-based, <NA> for whole-trial metrics), value, mc_se,
        n_trials, seed."""
        import pandas as pd

        designs = {d.id: d for d in self.designs}
        scenarios = {s.id: s for s in self.scenarios}
        rows = []
        for c in self.cells:
            d, s, oc = designs[c.design_id], scenarios[c.scenario_id], c.oc
            base = {"design_id": d.id, "design_label": d.label, "design": d.name, "target": d.target,
                    "cohort_size": d.cohort_size, "n_cohorts": d.n_cohorts, "scenario_id": s.id,
                    "scenario": s.name}
            for metric in ("selection_pct", "mean_patients", "mean_dlt"):
                for i, (v, se) in enumerate(zip(getattr(oc, metric), oc.mc_se[metric], strict=True)):
                    rows.append({**base, "metric": metric, "dose": i + 1, "value": v, "mc_se": se})
            for metric in ("pct_correct_selection", "no_selection_pct", "mean_total_patients", "mean_total_dlt",
                           "early_stop_pct", "safety_stop_pct", "pct_patients_above_mtd", "overdose_60_pct",
                           "overdose_80_pct"):
                rows.append({**base, "metric": metric, "dose": None, "value": getattr(oc, metric),
                             "mc_se": oc.mc_se[metric]})
            rows.append({**base, "metric": "true_mtd", "dose": oc.true_mtd + 1, "value": float(oc.true_mtd + 1),
                         "mc_se": 0.0})
            rows.append({**base, "metric": "patients_at_mtd", "dose": oc.true_mtd + 1, "value": c.patients_at_mtd,
                         "mc_se": c.patients_at_mtd_se})
            rows.append({**base, "metric": "mean_cohorts", "dose": None, "value": c.mean_cohorts,
                         "mc_se": c.mean_cohorts_se})
            if isinstance(oc, ObdOperatingCharacteristics):
                per_dose = ["mean_responses"] + (["mean_backfill_patients"] if oc.mean_backfill_patients else [])
                for metric in per_dose:
                    for i, (v, se) in enumerate(zip(getattr(oc, metric), oc.mc_se[metric], strict=True)):
                        rows.append({**base, "metric": metric, "dose": i + 1, "value": v, "mc_se": se})
                for metric in ("mean_total_responses", "selection_above_mtd_pct", "patients_below_mtd",
                               "patients_above_mtd", "pct_patients_at_obd", "mean_utility_selected",
                               "mean_duration_months"):
                    if getattr(oc, metric) is not None:
                        rows.append({**base, "metric": metric, "dose": None, "value": getattr(oc, metric),
                                     "mc_se": oc.mc_se[metric]})
                if oc.true_obd is not None:
                    rows.append({**base, "metric": "true_obd", "dose": oc.true_obd + 1,
                                 "value": float(oc.true_obd + 1), "mc_se": 0.0})
            if c.pcs_diff is not None:
                rows.append({**base, "metric": "pcs_diff_vs_reference", "dose": None, "value": c.pcs_diff,
                             "mc_se": c.pcs_diff_se})
        df = pd.DataFrame(rows)
        df["dose"] = df["dose"].astype("Int64")
        df["n_trials"] = self.n_trials
        df["seed"] = self.seed
        return df

    def comparison_frame(self):
        """The design-comparison table as a DataFrame (one row per scenario x design)."""
        import pandas as pd

        labels = {d.id: d.label for d in self.designs}
        names = {s.id: s.name for s in self.scenarios}
        df = pd.DataFrame([r.model_dump() for r in self.comparison])
        df.insert(1, "design_label", df["design_id"].map(labels))
        df.insert(3, "scenario", df["scenario_id"].map(names))
        return df

    def write_parquet(self, path: str | Path) -> Path:
        """Write the tidy table to Parquet (atomically); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self.to_frame().to_parquet(tmp, index=False)
        tmp.replace(path)
        return path


# ----------------------------------------------------------------------------------------------
# Aggregation of streamed unit outcomes
# ----------------------------------------------------------------------------------------------


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    n = len(x)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def summarize_obd_cell(design, true_tox: list[float], true_eff: list[float] | None, out: ObdOutcomes
                       ) -> tuple[ObdOperatingCharacteristics, int]:
    """The OCs of an OBD / timed design as its own ``simulate`` summarises them, and the dose whose
    selection is correct (the true OBD for the utility designs BOIN12 and U-BOIN, the true MTD otherwise)."""
    if design.selects_obd:
        oc = design.summarize_outcomes(true_tox, true_eff, out)
        return oc, oc.true_obd
    p = np.asarray(true_tox, dtype=float)
    oc = summarize_obd(design, p, None if true_eff is None else np.asarray(true_eff, dtype=float), out)
    return oc, oc.true_mtd


class Aggregator:
    """Collects unit outcomes as they arrive (any order).  As soon as every unit of a scenario is in,
    its cells are pooled (blocks in order), summarised and the per-trial arrays dropped: pooling
    overlaps the simulation of later scenarios, and memory holds only the scenarios in flight."""

    def __init__(self, spec: SimulationStudySpec, designs: list[DesignConfig], scenarios: list[ScenarioConfig],
                 units: list[Unit]):
        self.spec, self.designs, self.scenarios = spec, designs, scenarios
        self.by_hash = {u.hash: u for u in units}
        self.expected = [0] * len(scenarios)
        for u in units:
            self.expected[u.scenario] += 1
        self.received = [0] * len(scenarios)
        self.parts: dict[tuple[int, int], dict[int, dict[str, np.ndarray]]] = {}
        self.done: dict[int, tuple[list[CellResult], list[ComparisonRow]]] = {}
        self.ref_index = 0 if spec.reference is None else [d.id for d in designs].index(spec.reference)

    def add(self, unit_hash: str, arrays: dict[str, np.ndarray]) -> None:
        u = self.by_hash[unit_hash]
        if u.scenario in self.done or u.block in self.parts.get((u.design, u.scenario), {}):
            return  # delivered twice: identical by construction
        blocks = self.parts.setdefault((u.design, u.scenario), {})
        blocks[u.block] = arrays
        self.received[u.scenario] += 1
        if self.received[u.scenario] == self.expected[u.scenario]:
            self.done[u.scenario] = self._finish_scenario(u.scenario)
            for di in range(len(self.designs)):
                self.parts.pop((di, u.scenario), None)

    def missing(self) -> list[str]:
        return [u.hash for u in self.by_hash.values() if u.scenario not in self.done
                and u.block not in self.parts.get((u.design, u.scenario), {})]

    def _outcomes(self, key: tuple[int, int]) -> TrialOutcomes | ObdOutcomes:
        blocks = self.parts[key]
        order = sorted(blocks)
        cat = {k: np.concatenate([blocks[b][k] for b in order]) for k in blocks[order[0]]}
        if "r" in cat:  # an OBD / timed design
            return ObdOutcomes(
                n=cat["n"].astype(np.int64), y=cat["y"].astype(np.int64), r=cat["r"].astype(np.int64),
                selected=cat["selected"].astype(np.int64), no_mtd=cat["no_mtd"].astype(bool),
                duration=cat["duration"].astype(float) if "duration" in cat else None,
                n_backfill=cat["n_backfill"].astype(np.int64) if "n_backfill" in cat else None)
        return TrialOutcomes(n=cat["n"].astype(np.int64), y=cat["y"].astype(np.int64),
                             selected=cat["selected"].astype(np.int64), no_mtd=cat["no_mtd"].astype(bool))

    def _finish_scenario(self, si: int) -> tuple[list[CellResult], list[ComparisonRow]]:
        sc = self.scenarios[si]
        ref_index = self.ref_index
        cells: list[CellResult] = []
        rows: list[ComparisonRow] = []
        correct: dict[int, np.ndarray] = {}
        partial: list[tuple[int, CellResult]] = []
        for di, cfg in enumerate(self.designs):
            design = cfg.build(len(sc.true_tox))
            out = self._outcomes((di, si))
            if isinstance(out, ObdOutcomes):
                oc, correct_dose = summarize_obd_cell(design, sc.true_tox, sc.true_eff, out)
                escalation = out.n if out.n_backfill is None else out.n - out.n_backfill
                cohorts = _mean_se(escalation.sum(axis=1) / design.cohort_size)
            else:
                oc = summarize(design, sc.true_tox, out)
                correct_dose = oc.true_mtd
                cohorts = _mean_se(out.n.sum(axis=1) / design.cohort_size)
            at_mtd = _mean_se(out.n[:, oc.true_mtd])
            correct[di] = 100.0 * (out.selected == correct_dose)
            partial.append((di, CellResult(design_id=cfg.id, scenario_id=sc.id, oc=oc,
                                           patients_at_mtd=at_mtd[0], patients_at_mtd_se=at_mtd[1],
                                           mean_cohorts=cohorts[0], mean_cohorts_se=cohorts[1])))
        ref_se = partial[ref_index][1].oc.mc_se["pct_correct_selection"]
        for di, cell in partial:
            diff = _mean_se(correct[di] - correct[ref_index])
            cell.pcs_diff, cell.pcs_diff_se = diff
            cell.pcs_diff_se_independent = float(math.hypot(cell.oc.mc_se["pct_correct_selection"], ref_se))
            oc = cell.oc
            cells.append(cell)
            rows.append(ComparisonRow(
                design_id=cell.design_id, scenario_id=sc.id, true_mtd=oc.true_mtd + 1,
                pcs=oc.pct_correct_selection, pcs_se=oc.mc_se["pct_correct_selection"],
                no_selection_pct=oc.no_selection_pct, no_selection_pct_se=oc.mc_se["no_selection_pct"],
                patients_at_mtd=cell.patients_at_mtd, patients_at_mtd_se=cell.patients_at_mtd_se,
                patients_above_mtd_pct=oc.pct_patients_above_mtd,
                patients_above_mtd_pct_se=oc.mc_se["pct_patients_above_mtd"],
                mean_sample_size=oc.mean_total_patients, mean_sample_size_se=oc.mc_se["mean_total_patients"],
                mean_cohorts=cell.mean_cohorts, mean_cohorts_se=cell.mean_cohorts_se,
                pcs_diff=cell.pcs_diff, pcs_diff_se=cell.pcs_diff_se,
                pcs_diff_se_independent=cell.pcs_diff_se_independent,
                mean_duration_months=getattr(oc, "mean_duration_months", None),
                mean_duration_months_se=(oc.mc_se.get("mean_duration_months")
                                         if getattr(oc, "mean_duration_months", None) is not None else None)))
        return cells, rows

    def finish(self) -> SimulationStudyResult:
        spec = self.spec
        missing = [sc.name for si, sc in enumerate(self.scenarios) if si not in self.done]
        if missing:  # an executor that returned fewer outputs than tasks: a bug, not a user error
            raise RuntimeError(f"scenarios without all results: {', '.join(missing)}")
        cells = [c for si in range(len(self.scenarios)) for c in self.done[si][0]]
        rows = [r for si in range(len(self.scenarios)) for r in self.done[si][1]]
        return SimulationStudyResult(
            name=spec.name, spec_sha256=spec.sha256(), seed=spec.seed, n_trials=spec.n_trials,
            block_trials=spec.block_trials, reference=self.designs[self.ref_index].id,
            designs=list(self.designs), scenarios=list(self.scenarios),
            cells=cells, comparison=rows)
