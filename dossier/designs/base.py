"""The interface shared by every dose-escalation design, and the typed results it returns.

Every design answers the same three questions, so that the simulation engine, the CLI and the
templates can treat all designs alike:

* :meth:`Design.decide` / :meth:`Design.next_dose` -- given the data so far (patients and DLTs per
  dose, eliminated doses) what is the dose for the next cohort, or should the trial stop?
* :meth:`Design.select_mtd` -- at the end of the trial, which dose is the MTD (with estimates)?
* :meth:`Design.decision_table` -- the rules as a table clinicians can follow.

Decisions are implemented once, vectorised over trials (:meth:`Design.step`, arrays of shape
``(n_trials, n_doses)``); the single-trial methods are thin wrappers over the vectorised code, so
what the simulation does and what the CLI ``decide`` command says can never diverge.

Dose indices are 0-based everywhere in Python; the CLI converts to 1-based dose levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from dossier.designs.params import DesignParams
from dossier.designs.simulate import simulate_outcomes, summarize
from dossier.designs.state import StepResult, TrialState, _check
from dossier.errors import DesignError
from dossier.wording import Noted

# ----------------------------------------------------------------------------------------------
# Typed results
# ----------------------------------------------------------------------------------------------


class MtdSelection(Noted):
    """The dose selected as MTD at the end of a trial, with the estimates it rests on.

    ``selected`` is a 0-based dose index or ``None`` (no dose selected: lowest dose too toxic or
    no admissible dose).  ``estimates``, ``ci_lower`` and ``ci_upper`` have one entry per dose;
    ``None`` for doses without patients.
    """

    model_config = ConfigDict(frozen=True)

    selected: int | None
    estimates: list[float | None]
    ci_lower: list[float | None]
    ci_upper: list[float | None]
    eliminated: list[bool]


class DecisionRow(BaseModel):
    """One row of an interval design's decision table (counts of DLTs among ``n`` patients)."""

    n: int
    escalate_max: int | None
    deescalate_min: int | None
    eliminate_min: int | None


class TransitionPathway(BaseModel):
    """A dose-transition pathway: the DLT counts in the next cohorts and the doses they lead to.

    ``doses[i]`` is the 0-based dose after cohort ``i`` (``None``: the trial stops).
    """

    dlts: list[int]
    doses: list[int | None]


class DecisionTable(Noted):
    """Decision rules as a table: rows by number of patients (interval designs) or pathways (CRM)."""

    design: str
    target: float
    cohort_size: int
    lambda_e: float | None = None
    lambda_d: float | None = None
    table: list[DecisionRow] = []
    pathways: list[TransitionPathway] = []
    start_dose: int | None = None


Action = Literal["escalate", "stay", "deescalate", "stop_select", "stop_no_mtd"]


class Decision(BaseModel):
    """A single-trial decision: the next dose (0-based) or a stop (``stage2``: U-BOIN's stage after it)."""

    action: Action
    next_dose: int | None
    eliminated: list[bool]
    stage2: bool | None = None


class TrialData(BaseModel):
    """One trial's data after its last cohort: what :meth:`Design.decide` decides on (0-based doses).

    ``n``, ``dlt``: patients and DLTs per dose; ``resp``: responses per dose (utility designs);
    ``both``: patients with both a response and a DLT (needed for non-additive utilities);
    ``current``: dose of the last cohort; ``eliminated``: doses eliminated so far;
    ``last_cohort_dlt`` / ``last_cohort_size``: the last cohort (CRM coherence; default: the whole
    current dose capped at one cohort); ``stage2``: U-BOIN is already in stage II.
    """

    model_config = ConfigDict(frozen=True)

    n: list[int]
    dlt: list[int]
    current: int
    resp: list[int] | None = None
    both: list[int] | None = None
    eliminated: list[bool] | None = None
    last_cohort_dlt: int | None = None
    last_cohort_size: int | None = None
    stage2: bool = False

    @classmethod
    def from_counts(cls, n_patients, n_dlt, current, eliminated=None, last_cohort_dlt=None,
                    last_cohort_size=None) -> TrialData:
        """The toxicity-only form ``decide(n_patients, n_dlt, current, ...)``; values are checked by the design."""
        return cls.model_construct(n=n_patients, dlt=n_dlt, current=current, resp=None, both=None,
                                   eliminated=eliminated, last_cohort_dlt=last_cohort_dlt,
                                   last_cohort_size=last_cohort_size, stage2=False)


class Scenario(BaseModel):
    """The truth a simulation draws from: DLT probability per dose and, for designs that need it, the
    response probability per dose."""

    model_config = ConfigDict(frozen=True)

    p_tox: list[float]
    p_eff: list[float] | None = None


# ----------------------------------------------------------------------------------------------
# Isotonic regression, vectorised over trials
# ----------------------------------------------------------------------------------------------


def isotonic_batch(x: np.ndarray, w: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of each row of ``x``, over the columns in ``use``.

    Uses the max-min formula ``iso_i = max_{j<=i} min_{k>=i} Av(j..k)`` (Barlow et al. 1972),
    which equals the pool-adjacent-violators solution, evaluated on all O(D^2) blocks at once so
    that thousands of trials are fitted without a Python loop over trials.  Columns outside
    ``use`` carry zero weight and are skipped; their output is NaN.
    """
    x = np.asarray(x, dtype=float)
    w = np.where(use, np.asarray(w, dtype=float), 0.0)
    xw = np.where(use, x, 0.0) * w
    n_rows, d = x.shape
    cw = np.concatenate([np.zeros((n_rows, 1)), np.cumsum(w, axis=1)], axis=1)
    cxw = np.concatenate([np.zeros((n_rows, 1)), np.cumsum(xw, axis=1)], axis=1)
    # best[:, j, i] = min over k >= i of the mean of block j..k (for i >= j), -inf otherwise
    best = np.full((n_rows, d, d), -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(d):
            sw = cw[:, j + 1:] - cw[:, j:j + 1]
            mean = np.where(sw > 0, (cxw[:, j + 1:] - cxw[:, j:j + 1]) / sw, np.nan)  # blocks j..k
            suffix_min = np.fmin.accumulate(mean[:, ::-1], axis=1)[:, ::-1]       # min over k >= i
            best[:, j, j:] = np.where(np.isnan(suffix_min), -np.inf, suffix_min)
    out = best.max(axis=1)
    return np.where(use & np.isfinite(out), out, np.nan)


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an integer matrix and the index of each row's distinct row (by lexsort;
    much faster than ``np.unique(axis=0)`` for many short rows)."""
    if len(a) == 0:
        return a, np.zeros(0, dtype=np.int64)
    order = np.lexsort(a.T[::-1])
    s = a[order]
    new = np.empty(len(a), dtype=bool)
    new[0] = True
    new[1:] = (s[1:] != s[:-1]).any(axis=1)
    inv = np.empty(len(a), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return s[new], inv


def pava(x: Sequence[float], w: Sequence[float] | None = None) -> np.ndarray:
    """Pool-adjacent-violators algorithm for one sequence, as written in BOIN::select.mtd (reference)."""
    x = np.asarray(x, dtype=float).copy()
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    n = len(x)
    if n <= 1:
        return x
    level = np.arange(n)
    while True:
        viol = np.flatnonzero(np.diff(x) < 0)
        if len(viol) == 0:
            return x
        i = viol[0]
        pooled = (level == level[i]) | (level == level[i + 1])
        x[pooled] = np.sum(x[pooled] * w[pooled]) / np.sum(w[pooled])
        level[pooled] = level[i]


# ----------------------------------------------------------------------------------------------
# The design interface
# ----------------------------------------------------------------------------------------------


class LazyTables:
    """Decision tables built when first used, not in the constructor: the attributes named in ``_lazy_tables``
    are set by ``_build_tables(self.max_patients)`` on first access.  Validating a spec builds its designs
    without simulating them, and some tables need scipy (issue 16: ``build --check`` <= 1 s)."""

    _lazy_tables: ClassVar[tuple[str, ...]] = ()

    def __getattr__(self, name: str):  # only called for attributes not set
        if name in type(self)._lazy_tables and "n_cohorts" in self.__dict__:
            self._build_tables(self.max_patients)
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class Design:
    """Base class of all dose-escalation designs.

    Subclasses implement :meth:`step` (one decision for many trials at once),
    :meth:`select_batch` (final selection for many trials) and :meth:`select_mtd` (with estimates),
    and :meth:`decision_table`.  Parameters are set once in the constructor (scikit-learn style).
    """

    name: str = "design"
    #: how documents name the design, and other names the registry accepts for it
    label: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: the typed parameters of the constructor beyond target, n_doses, cohort_size and n_cohorts
    Params: ClassVar[type[DesignParams]] = DesignParams
    #: capabilities, declared once per design (the registry, the spec, the CLI and simulation studies
    #: read them): the design needs the true efficacy probabilities to simulate; it simulates calendar
    #: time (accrual, DLT window); it selects the MTD or the optimal biological dose (OBD)
    needs_efficacy: bool = False
    uses_calendar_time: bool = False
    selects: str = "MTD"

    @property
    def selects_obd(self) -> bool:
        return self.selects == "OBD"

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0):
        _check(0.0 < target < 1.0, f"target must be in (0, 1), got {target}", "target",
               "give the target DLT rate as a proportion, e.g. 0.3")
        _check(isinstance(n_doses, int | np.integer) and n_doses >= 1,
               f"n_doses must be a positive integer, got {n_doses}", "n_doses")
        _check(isinstance(cohort_size, int | np.integer) and cohort_size >= 1,
               f"cohort_size must be a positive integer, got {cohort_size}", "cohort_size")
        _check(isinstance(n_cohorts, int | np.integer) and n_cohorts >= 1,
               f"n_cohorts must be a positive integer, got {n_cohorts}", "n_cohorts")
        _check(0 <= start_dose < n_doses, f"start_dose must be a dose index in 0..{n_doses - 1}, "
               f"got {start_dose}", "start_dose", "start_dose is 0-based in Python, 1-based on the CLI")
        self.target = float(target)
        self.n_doses = int(n_doses)
        self.cohort_size = int(cohort_size)
        self.n_cohorts = int(n_cohorts)
        self.start_dose = int(start_dose)

    # --- sizes used by the engine -------------------------------------------------------------
    @property
    def max_cohorts(self) -> int:
        """Largest number of cohorts a trial can enrol."""
        return self.n_cohorts

    @property
    def max_patients(self) -> int:
        return self.max_cohorts * self.cohort_size

    # --- vectorised API (implemented by subclasses) -------------------------------------------
    def step(self, state: TrialState) -> StepResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def select_batch(self, state: TrialState) -> np.ndarray:  # pragma: no cover - abstract
        """Final selection for each trial: 0-based dose or -1 (no dose selected)."""
        raise NotImplementedError

    # --- single-trial API ---------------------------------------------------------------------
    def decide(self, data: TrialData | Sequence[int], *counts, **options) -> Decision:
        """The decision after the last cohort for one trial's data (:class:`TrialData`).

        The toxicity-only form ``decide(n_patients, n_dlt, current, eliminated=None, last_cohort_dlt=None,
        last_cohort_size=None)`` is accepted too (:meth:`TrialData.from_counts`)."""
        if not isinstance(data, TrialData):
            data = TrialData.from_counts(data, *counts, **options)
        return self._decide_trial(data)

    def _decide_trial(self, data: TrialData) -> Decision:
        """Toxicity-only designs: one step of the vectorised rule on a one-trial state."""
        current = data.current
        state = self._single_state(data.n, data.dlt, current, data.eliminated, data.last_cohort_dlt,
                                   data.last_cohort_size)
        res = self.step(state)
        elim = [bool(v) for v in state.eliminated[0]]
        if res.stop[0]:
            if res.no_mtd[0]:
                return Decision(action="stop_no_mtd", next_dose=None, eliminated=elim)
            return Decision(action="stop_select", next_dose=None, eliminated=elim)
        nxt = int(res.next_dose[0])
        action: Action = "escalate" if nxt > current else "deescalate" if nxt < current else "stay"
        return Decision(action=action, next_dose=nxt, eliminated=elim)

    def next_dose(self, n_patients: Sequence[int], n_dlt: Sequence[int], current: int,
                  eliminated: Sequence[bool] | None = None, last_cohort_dlt: int | None = None,
                  last_cohort_size: int | None = None) -> int | None:
        """The 0-based dose for the next cohort, or ``None`` if the trial stops."""
        return self.decide(n_patients, n_dlt, current, eliminated, last_cohort_dlt,
                           last_cohort_size).next_dose

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> MtdSelection:
        raise NotImplementedError  # pragma: no cover

    # --- simulation: one signature for every design ---------------------------------------------
    def simulate(self, scenario: Scenario | Sequence[float], *args, uniforms: np.ndarray | None = None,
                 **kwargs) -> Any:
        """Operating characteristics of ``n_trials`` simulated trials: ``simulate(scenario, n_trials, rng)``.

        ``uniforms`` (shape ``(n_trials, >= max_patients)``) are the toxicity uniforms of the patients
        (common random numbers across designs).  MTD designs return
        :class:`~dossier.designs.simulate.OperatingCharacteristics`, OBD / timed designs
        :class:`~dossier.designs.obd.ObdOperatingCharacteristics`.  The form
        ``simulate(p_true, p_resp, n_trials, rng[, uniforms])`` of the OBD designs is accepted too."""
        if not isinstance(scenario, Scenario):   # the (p_true, p_resp, n_trials, rng[, uniforms]) form
            p_resp, *args = args
            scenario = Scenario.model_construct(p_tox=list(scenario), p_eff=None if p_resp is None else list(p_resp))
        n_trials, rng, *rest = args
        if rest:
            uniforms = rest[0]
        self.check_scenario(scenario)
        return self.summarize(scenario, self.outcomes(scenario, n_trials, rng, uniforms, **kwargs))

    def check_scenario(self, scenario: Scenario) -> None:
        """The scenario has what the design needs (the efficacy curve for designs that need efficacy)."""
        if self.needs_efficacy and scenario.p_eff is None:
            raise DesignError(f"{self.name} needs the true response probabilities", "p_resp / --true-eff")

    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None, **kwargs):
        """Per-trial outcomes of ``n_trials`` simulated trials (the vectorised engine for MTD designs)."""
        return simulate_outcomes(self, scenario.p_tox, n_trials, rng, uniforms, **kwargs)

    def summarize(self, scenario: Scenario, outcomes) -> Any:
        """Operating characteristics of per-trial outcomes."""
        return summarize(self, scenario.p_tox, outcomes)

    def decision_table(self) -> DecisionTable:
        raise NotImplementedError  # pragma: no cover

    def describe(self) -> dict:
        """Parameters of the design as plain data (for evidence bundles and JSON output)."""
        return {"design": self.name, "target": self.target, "n_doses": self.n_doses,
                "cohort_size": self.cohort_size, "n_cohorts": self.n_cohorts,
                "start_dose": self.start_dose}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "design")
        return f"{type(self).__name__}({args})"

    # --- helpers ------------------------------------------------------------------------------
    def _check_data(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        n = np.asarray(n_patients)
        y = np.asarray(n_dlt)
        _check(n.shape == (self.n_doses,) and y.shape == (self.n_doses,),
               f"need one count per dose ({self.n_doses} doses), got {n.size} patient counts and "
               f"{y.size} DLT counts", "n_patients/n_dlt")
        _check(np.all(np.equal(np.mod(n, 1), 0)) and np.all(np.equal(np.mod(y, 1), 0)),
               "patient and DLT counts must be whole numbers", "n_patients/n_dlt")
        n = n.astype(np.int64)
        y = y.astype(np.int64)
        _check(bool(np.all(n >= 0) and np.all(y >= 0) and np.all(y <= n)),
               "counts must satisfy 0 <= DLTs <= patients at every dose", "n_patients/n_dlt",
               f"patients={n.tolist()}, DLTs={y.tolist()}")
        return n, y

    def _single_state(self, n_patients, n_dlt, current, eliminated, last_cohort_dlt, last_cohort_size):
        n, y = self._check_data(n_patients, n_dlt)
        _check(0 <= int(current) < self.n_doses, f"current dose {current} is not a dose index "
               f"0..{self.n_doses - 1}", "current")
        _check(n[int(current)] > 0, "no patient has been treated at the current dose", "current",
               "the current dose is the dose of the last cohort")
        state = TrialState.empty(1, self.n_doses, int(current))
        state.n[0] = n
        state.y[0] = y
        if eliminated is not None:
            el = np.asarray(eliminated, dtype=bool)
            _check(el.shape == (self.n_doses,), "eliminated needs one flag per dose", "eliminated")
            state.eliminated[0] = el
        size = self.cohort_size if last_cohort_size is None else int(last_cohort_size)
        state.last_size[0] = min(size, int(n[int(current)]))
        state.last_dlt[0] = min(int(y[int(current)]), state.last_size[0]) if last_cohort_dlt is None \
            else int(last_cohort_dlt)
        return state
