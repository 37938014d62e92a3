"""The 3+3 design, with exact (closed-form) operating characteristics.

References
----------
Storer BE (1989). Design and analysis of phase I clinical trials. Biometrics 45:925-937.
Lin Y, Shih WJ (2001). Statistical properties of the traditional algorithm-based designs for phase I
    cancer clinical trials. Biostatistics 2:203-215 (closed-form OCs of A+B designs, A = B = 3).

The algorithm (``deescalation=True``, ``top_dose_needs_six=True``, the usual textbook 3+3):

* treat 3 patients at the current dose (start: the lowest dose);
* 0/3 DLTs: escalate; 1/3: treat 3 more at the same dose; of 6, <= 1 DLT: escalate;
* >= 2 DLTs at a dose (of 3 or of 6): the dose exceeds the MTD; de-escalate to the dose below:
  if it has 6 patients it is the MTD; if it has 3, treat 3 more and it is the MTD if <= 1/6,
  otherwise it also exceeds the MTD and de-escalation continues;
* >= 2 DLTs at the lowest dose: stop, no MTD;
* escalation past the highest dose is impossible: the highest dose needs 6 patients with <= 1 DLT
  to be declared the MTD.

The MTD is the highest dose with at least 6 patients and at most 1 DLT below the lowest dose that
exceeded the MTD.  ``deescalation=False`` gives the variant without expansion at the lower dose (the
MTD is the dose below the one exceeded, whatever its sample size), and ``top_dose_needs_six=False``
declares the highest dose the MTD after 0/3 or 1/6 there.  The target DLT rate plays no part in
the rule; it is used only to define the true MTD in the OCs.  The sample size is set by the
algorithm (at most 6 per dose): ``n_cohorts`` is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from dossier.designs.base import DecisionRow, DecisionTable, Design, MtdSelection
from dossier.designs.params import DesignParams, param
from dossier.designs.state import StepResult, TrialState, _check, check_probabilities


class ThreePlusThreeParams(DesignParams):
    """Variants of the 3+3 rules (Storer 1989; Lin & Shih 2001)."""

    deescalation: bool = param(True, help="after >= 2 DLTs, treat 3 more at the next lower dose if it has only 3",
                               source="Storer 1989 (traditional 3+3 with de-escalation)")
    top_dose_needs_six: bool = param(True, help="the highest dose is declared the MTD only with 6 patients",
                                     source="Lin & Shih 2001")


class ThreePlusThree(Design):
    """The traditional 3+3 design (Storer 1989; Lin & Shih 2001); see the module docstring."""

    name = "3+3"
    label = "3+3"
    aliases = ("3plus3", "threeplusthree")
    Params = ThreePlusThreeParams

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, deescalation: bool = True, top_dose_needs_six: bool = True):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose)
        _check(self.cohort_size == 3, f"the 3+3 design treats cohorts of 3, got cohort_size={cohort_size}",
               "cohort_size", "use cohort_size=3")
        self.deescalation = bool(deescalation)
        self.top_dose_needs_six = bool(top_dose_needs_six)

    @property
    def max_cohorts(self) -> int:
        return 2 * self.n_doses  # at most 6 patients per dose

    def describe(self) -> dict:
        return super().describe() | {"deescalation": self.deescalation,
                                     "top_dose_needs_six": self.top_dose_needs_six}

    def step(self, state: TrialState) -> StepResult:
        T = state.n.shape[0]
        rows = np.arange(T)
        top = self.n_doses - 1
        state.eliminated |= np.cumsum(state.y >= 2, axis=1) > 0
        d = state.current
        nd, yd = state.n[rows, d], state.y[rows, d]
        below = np.maximum(d - 1, 0)
        n_below = state.n[rows, below]

        exceeded = yd >= 2
        no_mtd = exceeded & (d == 0)
        if self.deescalation:
            stop_exc = exceeded & (d > 0) & (n_below >= 6)
            go_down = exceeded & (d > 0) & (n_below < 6)
        else:
            stop_exc = exceeded & (d > 0)
            go_down = np.zeros(T, dtype=bool)

        expand = ~exceeded & (yd == 1) & (nd < 6)
        wants_up = ~exceeded & ~expand
        blocked = (d == top) | state.eliminated[rows, np.minimum(d + 1, top)]
        up = wants_up & ~blocked
        needs_six = self.top_dose_needs_six | (d < top)
        stay_block = wants_up & blocked & (nd < 6) & needs_six
        stop_ok = wants_up & blocked & ~stay_block

        nxt = np.where(up, d + 1, np.where(go_down, d - 1, d))
        stop = no_mtd | stop_exc | stop_ok  # stay_block: expand the dose to 6 before declaring it
        return StepResult(next_dose=nxt, stop=stop, no_mtd=no_mtd)

    def select_batch(self, state: TrialState) -> np.ndarray:
        n, y = state.n, state.y
        T, D = n.shape
        rows = np.arange(T)
        exceeded = y >= 2
        first = np.where(exceeded.any(axis=1), np.argmax(exceeded, axis=1), D)
        m = first - 1
        mm = np.maximum(m, 0)
        nm, ym = n[rows, mm], y[rows, mm]
        ok = (m >= 0) & (nm > 0) & ~((nm < 6) & (ym >= 1))
        if self.deescalation:
            ok &= ~((first < D) & (nm < 6))
        if self.top_dose_needs_six:
            ok &= ~((first == D) & (nm < 6))
        return np.where(ok, m, -1)

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> MtdSelection:
        """The MTD by the 3+3 rule; estimates are the observed DLT rates (no model)."""
        n, y = self._check_data(n_patients, n_dlt)
        state = TrialState.empty(1, self.n_doses)
        state.n[0], state.y[0] = n, y
        sel = int(self.select_batch(state)[0])
        elim = np.cumsum(y >= 2) > 0
        est = [float(y[i] / n[i]) if n[i] > 0 else None for i in range(self.n_doses)]
        if sel >= 0:
            note = ("design.select.tpt_selected", {"dose": sel + 1})
        elif elim[0]:
            note = ("design.select.tpt_lowest_toxic", {})
        else:
            note = ("design.select.tpt_incomplete", {})
        return MtdSelection(selected=sel if sel >= 0 else None, estimates=est,
                            ci_lower=[None] * self.n_doses, ci_upper=[None] * self.n_doses,
                            eliminated=[bool(v) for v in elim], note_code=note[0], note_values=note[1])

    def decision_table(self) -> DecisionTable:
        rows = [DecisionRow(n=3, escalate_max=0, deescalate_min=2, eliminate_min=2),
                DecisionRow(n=6, escalate_max=1, deescalate_min=2, eliminate_min=2)]
        return DecisionTable(design=self.name, target=self.target, cohort_size=3, table=rows,
                             note_code="design.table.three_plus_three")


class ThreePlusThreeExact(BaseModel):
    """Exact operating characteristics of the 3+3 design (probabilities 0-1, 0-based doses)."""

    p_true: list[float]
    deescalation: bool
    top_dose_needs_six: bool
    selection_prob: list[float]
    no_selection_prob: float
    expected_patients: list[float]
    expected_dlt: list[float]
    expected_total_patients: float


def _selection_closed_form(p: np.ndarray, deescalation: bool, top_needs_six: bool) -> np.ndarray:
    """P(MTD = dose i), i = 0..D-1, and P(no MTD) as the last entry (Lin & Shih 2001, A = B = 3)."""
    q = 1 - p
    D = len(p)
    p0 = q**3                       # 0/3
    p1 = 3 * p * q**2               # 1/3
    s = q**3 + 3 * p * q**2         # <= 1 DLT in 3 more patients (expansion after 0/3)
    esc = p0 + p1 * q**3            # escalate from a dose: 0/3, or 1/3 then 0/3
    top = D - 1
    if top_needs_six:  # 0/3 then <= 1/3 more, or 1/3 then 0/3
        acc_top = p0[top] * s[top] + p1[top] * q[top] ** 3
    else:
        acc_top = esc[top]
    out = np.zeros(D + 1)
    reach = np.concatenate([[1.0], np.cumprod(esc)[:-1]])  # P(escalation reaches dose k)
    out[D - 1] += reach[D - 1] * acc_top
    for k in range(D):  # dose k exceeds the MTD during escalation
        p_exc = reach[k] * ((1 - esc[k]) if k < D - 1 else (1 - acc_top))
        if not deescalation:
            out[k - 1 if k > 0 else D] += p_exc
            continue
        chain = p_exc
        for i in range(k - 1, -1, -1):
            # dose i was passed on the way up: with 6 patients (1/3 then 0/3) or with 3 (0/3)
            had6 = p1[i] * q[i] ** 3 / esc[i] if esc[i] > 0 else 0.0
            had3 = p0[i] / esc[i] if esc[i] > 0 else 0.0
            out[i] += chain * (had6 + had3 * s[i])
            chain *= had3 * (1 - s[i])
        out[D] += chain
    return out


def _exact_enumeration(design: ThreePlusThree, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact distribution over final trial states by walking the decision tree (states merged)."""
    from scipy.stats import binom

    D, c = design.n_doses, design.cohort_size
    layer = {(tuple([0] * D), tuple([0] * D), design.start_dose): 1.0}
    finals: list[tuple[np.ndarray, np.ndarray, float, int]] = []
    for k in range(design.max_cohorts):
        if not layer:
            break
        keys = list(layer)
        states, probs, doses = [], [], []
        for (n0, y0, d) in keys:
            pr = layer[(n0, y0, d)]
            for tox in range(c + 1):
                n1, y1 = np.array(n0), np.array(y0)
                n1[d] += c
                y1[d] += tox
                states.append((n1, y1, d))
                probs.append(pr * binom.pmf(tox, c, p[d]))
                doses.append(d)
        st = TrialState.empty(len(states), D)
        for i, (n1, y1, d) in enumerate(states):
            st.n[i], st.y[i], st.current[i] = n1, y1, d
        if k == design.max_cohorts - 1:
            res_stop = np.ones(len(states), dtype=bool)
            res = StepResult(st.current, res_stop, np.zeros(len(states), dtype=bool))
        else:
            res = design.step(st)
        sel = design.select_batch(st)
        layer = {}
        for i in range(len(states)):
            if res.stop[i]:
                finals.append((st.n[i], st.y[i], probs[i], -1 if res.no_mtd[i] else int(sel[i])))
            else:
                key = (tuple(st.n[i]), tuple(st.y[i]), int(res.next_dose[i]))
                layer[key] = layer.get(key, 0.0) + probs[i]
    sel_prob = np.zeros(D + 1)
    exp_n = np.zeros(D)
    exp_y = np.zeros(D)
    for n1, y1, pr, s in finals:
        sel_prob[s if s >= 0 else D] += pr
        exp_n += pr * n1
        exp_y += pr * y1
    return sel_prob, exp_n, exp_y


def closed_form_3plus3(p_true: Sequence[float], *, deescalation: bool = True,
                       top_dose_needs_six: bool = True) -> ThreePlusThreeExact:
    """Exact OCs of the 3+3 design under true DLT probabilities ``p_true`` (no simulation).

    Selection probabilities come from the closed-form expressions of Lin & Shih (2001) for the
    A+B design with A = B = 3 (with or without de-escalation); expected patients and DLTs per dose
    from an exhaustive walk of the decision tree, which also reproduces the selection probabilities
    (checked in the tests).
    """
    p = check_probabilities(p_true, "p_true")
    design = ThreePlusThree(target=0.3, n_doses=len(p), deescalation=deescalation,
                            top_dose_needs_six=top_dose_needs_six)
    sel = _selection_closed_form(p, deescalation, top_dose_needs_six)
    _, exp_n, exp_y = _exact_enumeration(design, p)
    return ThreePlusThreeExact(
        p_true=[float(v) for v in p], deescalation=deescalation, top_dose_needs_six=top_dose_needs_six,
        selection_prob=[float(v) for v in sel[:-1]], no_selection_prob=float(sel[-1]),
        expected_patients=[float(v) for v in exp_n], expected_dlt=[float(v) for v in exp_y],
        expected_total_patients=float(exp_n.sum()),
    )
