"""Vectorised simulation of dose-escalation trials and their operating characteristics (OCs).

All simulated trials step in lock-step: the state is a set of numpy arrays of shape
``(n_trials, n_doses)`` and each design decides for all still-running trials at once
(:meth:`Design.step`); the only Python loop is over cohorts.  The engine knows a design only through
:class:`SteppingDesign` (what it calls), not through the design classes built on it.

Common random numbers: patient ``i`` (0-based order of enrolment) of trial ``t`` carries the uniform
``uniforms[t, i]`` and has a DLT at dose ``d`` iff ``uniforms[t, i] < p_true[d]``.  Passing the same
``uniforms`` to several designs makes them see the same patients, which removes most of the Monte
Carlo noise from their differences.  Without ``uniforms`` they are drawn from ``rng`` chunk by chunk
(reproducible for a given seed).

Definitions used in :class:`OperatingCharacteristics`
----------------------------------------------------
* ``true_mtd``: the dose whose true DLT probability is closest to the target (ties: the lower dose).
* "above the MTD": doses with a higher index than ``true_mtd``.
* ``pct_patients_above_mtd``: mean over trials of the percentage of the trial's patients treated
  above the MTD.  ``overdose_60_pct`` / ``overdose_80_pct``: percentage of trials in which at least
  60% / 80% of the trial's patients were treated above the MTD.  (BOIN::get.oc reports a similar
  "risk of overdosing" only when a dose equals the target exactly, counts doses with p > target and
  compares with 0.6 x the *maximum* sample size, strictly; our definition follows the issue and
  works for every scenario.)
* ``early_stop_pct``: trials that ended before enrolling the maximum sample size (for any reason);
  ``safety_stop_pct``: trials stopped early for toxicity with no dose selected.
* Every percentage and mean has a Monte Carlo standard error in ``mc_se`` (binomial SE
  sqrt(p(100 - p) / N) for percentages, sample SD / sqrt(N) for means).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from dossier.designs.state import StepResult, TrialState, _check, check_probabilities


class SteppingDesign(Protocol):
    """What the engine needs of a design (:class:`~dossier.designs.base.Design` provides it)."""

    name: str
    target: float
    n_doses: int
    cohort_size: int
    start_dose: int

    @property
    def max_cohorts(self) -> int: ...

    @property
    def max_patients(self) -> int: ...

    def step(self, state: TrialState) -> StepResult: ...

    def select_batch(self, state: TrialState) -> np.ndarray: ...

    def decide(self, data, *counts, **options): ...

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]): ...

    def describe(self) -> dict: ...


class OperatingCharacteristics(BaseModel):
    """Operating characteristics of a design under one scenario (percentages 0-100, 0-based doses)."""

    design: str
    design_params: dict
    target: float
    p_true: list[float]
    n_trials: int
    true_mtd: int
    selection_pct: list[float]
    no_selection_pct: float
    pct_correct_selection: float
    mean_patients: list[float]
    mean_dlt: list[float]
    mean_total_patients: float
    mean_total_dlt: float
    early_stop_pct: float
    safety_stop_pct: float
    pct_patients_above_mtd: float
    overdose_60_pct: float
    overdose_80_pct: float
    mc_se: dict[str, float | list[float]]


class TrialOutcomes(BaseModel, arbitrary_types_allowed=True):
    """Per-trial results (arrays); kept for tests and for pooling chunks."""

    n: np.ndarray
    y: np.ndarray
    selected: np.ndarray
    no_mtd: np.ndarray


def run_trials(design: SteppingDesign, p_true: np.ndarray, uniforms: np.ndarray,
               progress: Callable[[int], None] | None = None) -> TrialOutcomes:
    """Run ``len(uniforms)`` trials in lock-step; the core of :func:`simulate_trials`.

    Every cohort has ``design.cohort_size`` patients, so at cohort ``k`` every running trial has
    enrolled exactly ``k * cohort_size`` patients and the next patients' uniforms are one column
    slice of ``uniforms``.  Designs whose decisions are cheap decide for all trials (stopped trials
    are masked, their data no longer change); designs with ``step_on_subset`` (CRM) decide only
    for the running trials.
    """
    n_trials = uniforms.shape[0]
    c = design.cohort_size
    rows = np.arange(n_trials)
    state = TrialState.empty(n_trials, design.n_doses, design.start_dose)
    active = np.ones(n_trials, dtype=bool)
    no_mtd = np.zeros(n_trials, dtype=bool)
    subset = getattr(design, "step_on_subset", False)
    for k in range(design.max_cohorts):
        if not active.any():
            break
        d = state.current
        pd = np.where(active, p_true[d], -1.0)  # stopped trials enrol nobody: no DLT possible
        tox = np.zeros(n_trials, dtype=np.int64)
        for j in range(k * c, (k + 1) * c):
            tox += uniforms[:, j] < pd
        state.n[rows, d] += c * active
        state.y[rows, d] += tox
        state.last_dlt[:] = np.where(active, tox, state.last_dlt)
        state.last_size[:] = np.where(active, c, state.last_size)
        if progress is not None:
            progress(1)
        if k == design.max_cohorts - 1:
            break  # sample size exhausted: no further decision (as BOIN::get.oc)
        if subset:
            idx = np.flatnonzero(active)
            sub = state.subset(idx)
            res = design.step(sub)
            state.eliminated[idx] = sub.eliminated
            stop = np.zeros(n_trials, dtype=bool)
            stop[idx] = res.stop
            nxt = state.current.copy()
            nxt[idx] = res.next_dose
            safety = np.zeros(n_trials, dtype=bool)
            safety[idx] = res.no_mtd
        else:
            res = design.step(state)
            stop, nxt, safety = res.stop & active, res.next_dose, res.no_mtd
        no_mtd |= stop & safety
        active &= ~stop
        state.current[:] = np.where(active, nxt, state.current)
    selected = design.select_batch(state)
    selected = np.where(no_mtd, -1, selected)
    return TrialOutcomes(n=state.n, y=state.y, selected=selected, no_mtd=no_mtd)


def run_trials_loop(design: SteppingDesign, p_true: Sequence[float], uniforms: np.ndarray) -> TrialOutcomes:
    """Reference implementation: one trial at a time through the single-trial API (slow).

    Used to check the vectorised engine (identical results for identical uniforms) and as the
    baseline of the benchmark.
    """
    p = np.asarray(p_true, dtype=float)
    n_trials = uniforms.shape[0]
    D, c = design.n_doses, design.cohort_size
    N = np.zeros((n_trials, D), dtype=np.int64)
    Y = np.zeros((n_trials, D), dtype=np.int64)
    sel = np.full(n_trials, -1, dtype=np.int64)
    no_mtd = np.zeros(n_trials, dtype=bool)
    for t in range(n_trials):
        n = np.zeros(D, dtype=np.int64)
        y = np.zeros(D, dtype=np.int64)
        elim = np.zeros(D, dtype=bool)
        d = design.start_dose
        stop_no = False
        for k in range(design.max_cohorts):
            u = uniforms[t, k * c:(k + 1) * c]
            tox = int(np.sum(u < p[d]))
            n[d] += c
            y[d] += tox
            if k == design.max_cohorts - 1:
                break
            dec = design.decide(n, y, d, elim, last_cohort_dlt=tox, last_cohort_size=c)
            elim = np.asarray(dec.eliminated, dtype=bool)
            if dec.next_dose is None:
                stop_no = dec.action == "stop_no_mtd"
                break
            d = dec.next_dose
        N[t], Y[t] = n, y
        no_mtd[t] = stop_no
        if not stop_no:
            s = design.select_mtd(n, y).selected
            sel[t] = -1 if s is None else s
    return TrialOutcomes(n=N, y=Y, selected=sel, no_mtd=no_mtd)


def true_mtd_index(p_true: Sequence[float], target: float) -> int:
    """The dose whose true DLT probability is closest to the target (ties: the lower dose)."""
    p = np.asarray(p_true, dtype=float)
    return int(np.argmin(np.abs(p - target)))


def summarize(design: SteppingDesign, p_true: Sequence[float], out: TrialOutcomes) -> OperatingCharacteristics:
    """Operating characteristics and their Monte Carlo standard errors from per-trial outcomes."""
    p = np.asarray(p_true, dtype=float)
    T = out.n.shape[0]
    D = design.n_doses
    mtd = true_mtd_index(p, design.target)

    def pct(mask: np.ndarray) -> tuple[float, float]:
        m = float(np.mean(mask)) * 100
        return m, float(np.sqrt(m * (100 - m) / T))

    def mean(x: np.ndarray) -> tuple[float, float]:
        x = np.asarray(x, dtype=float)
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(T)) if T > 1 else 0.0

    sel = [pct(out.selected == d) for d in range(D)]
    none = pct(out.selected < 0)
    pts = [mean(out.n[:, d]) for d in range(D)]
    dlt = [mean(out.y[:, d]) for d in range(D)]
    total = out.n.sum(axis=1)
    tot_n = mean(total)
    tot_y = mean(out.y.sum(axis=1))
    early = pct(total < design.max_patients)
    safety = pct(out.no_mtd)
    above = out.n[:, mtd + 1:].sum(axis=1)
    frac_above = np.where(total > 0, above / np.maximum(total, 1), 0.0)
    pct_above = mean(100 * frac_above)
    od60 = pct(frac_above >= 0.6 - 1e-12)
    od80 = pct(frac_above >= 0.8 - 1e-12)

    return OperatingCharacteristics(
        design=design.name, design_params=design.describe(), target=design.target,
        p_true=[float(v) for v in p], n_trials=T, true_mtd=mtd,
        selection_pct=[s[0] for s in sel], no_selection_pct=none[0],
        pct_correct_selection=sel[mtd][0],
        mean_patients=[s[0] for s in pts], mean_dlt=[s[0] for s in dlt],
        mean_total_patients=tot_n[0], mean_total_dlt=tot_y[0],
        early_stop_pct=early[0], safety_stop_pct=safety[0], pct_patients_above_mtd=pct_above[0],
        overdose_60_pct=od60[0], overdose_80_pct=od80[0],
        mc_se={
            "selection_pct": [s[1] for s in sel], "no_selection_pct": none[1],
            "pct_correct_selection": sel[mtd][1],
            "mean_patients": [s[1] for s in pts], "mean_dlt": [s[1] for s in dlt],
            "mean_total_patients": tot_n[1], "mean_total_dlt": tot_y[1],
            "early_stop_pct": early[1], "safety_stop_pct": safety[1],
            "pct_patients_above_mtd": pct_above[1], "overdose_60_pct": od60[1], "overdose_80_pct": od80[1],
        },
    )


def simulate_outcomes(design: SteppingDesign, p_true: Sequence[float], n_trials: int, rng: np.random.Generator,
                      uniforms: np.ndarray | None = None, chunk_size: int | None = None,
                      progress: Callable[[int], None] | None = None) -> TrialOutcomes:
    """Per-trial outcomes of ``n_trials`` simulated trials (see :func:`simulate_trials`)."""
    p = check_probabilities(p_true, "p_true", design.n_doses)
    _check(isinstance(n_trials, int | np.integer) and n_trials >= 1,
           f"n_trials must be a positive integer, got {n_trials}", "n_trials")
    P = design.max_patients
    if uniforms is not None:
        uniforms = np.asarray(uniforms, dtype=float)
        _check(uniforms.ndim == 2 and uniforms.shape[0] == n_trials and uniforms.shape[1] >= P,
               f"uniforms must have shape ({n_trials}, >= {P}), got {uniforms.shape}", "uniforms",
               "draw rng.random((n_trials, max_patients)) once and share it between designs")
    chunk = int(chunk_size or getattr(design, "sim_chunk", 50_000))
    parts = []
    for start in range(0, n_trials, chunk):
        stop = min(n_trials, start + chunk)
        u = uniforms[start:stop, :P] if uniforms is not None else rng.random((stop - start, P))
        parts.append(run_trials(design, p, u, progress))
    if len(parts) == 1:
        return parts[0]
    return TrialOutcomes(n=np.concatenate([o.n for o in parts]), y=np.concatenate([o.y for o in parts]),
                         selected=np.concatenate([o.selected for o in parts]),
                         no_mtd=np.concatenate([o.no_mtd for o in parts]))


def simulate_trials(design: SteppingDesign, p_true: Sequence[float], n_trials: int, rng: np.random.Generator,
                    uniforms: np.ndarray | None = None, *, chunk_size: int | None = None,
                    progress: Callable[[int], None] | None = None) -> OperatingCharacteristics:
    """Simulate ``n_trials`` trials of ``design`` when the true DLT probabilities are ``p_true``.

    ``rng`` draws one uniform per patient slot unless ``uniforms`` (shape
    ``(n_trials, >= design.max_patients)``) is given: common random numbers across designs.
    ``progress`` (optional) is called with 1 after each simulated cohort of each chunk of trials.
    """
    out = simulate_outcomes(design, p_true, n_trials, rng, uniforms, chunk_size, progress)
    return summarize(design, p_true, out)


def progress_steps(design: SteppingDesign, n_trials: int, chunk_size: int | None = None) -> int:
    """Upper bound on the number of ``progress`` calls of :func:`simulate_trials` (for a progress bar)."""
    chunk = int(chunk_size or getattr(design, "sim_chunk", 50_000))
    return -(-n_trials // chunk) * design.max_cohorts
