"""Operating characteristics of optimal-biological-dose (OBD) designs, with Monte Carlo SEs.

The OBD designs (BOIN12, U-BOIN, BF-BOIN, TITE-BOIN) report, besides the MTD-design figures of
:class:`~dossier.designs.simulate.OperatingCharacteristics`:

* ``selection_pct``: selection of the dose the design recommends (the OBD for BOIN12 / U-BOIN,
  the MTD for BF-BOIN / TITE-BOIN);
* ``true_obd``: the dose with the highest true utility (utility designs; ``None`` otherwise) and
  ``pct_correct_selection`` against ``true_obd`` for utility designs, ``true_mtd`` otherwise;
* ``mean_responses`` per dose (responses among all treated patients), ``mean_utility_selected``
  (true utility of the selected dose, 0 when none is selected, utility designs only);
* ``patients_below_mtd`` / ``patients_at_mtd`` / ``patients_above_mtd`` (mean numbers) and
  ``selection_above_mtd_pct``, as in Table 4 of Zhao et al. (2024);
* ``mean_duration_months`` for designs with calendar time (``None`` otherwise);
* ``pct_patients_at_obd``: mean percentage of a trial's patients treated at ``true_obd``;
* ``early_stop_pct``: trials whose *escalation* ended before ``n_cohorts`` cohorts (backfilled
  patients do not count toward the maximum);
* ``pct_patients_above_mtd``, ``overdose_60_pct``, ``overdose_80_pct`` and the other shared figures
  are defined as in :mod:`dossier.designs.simulate`.

Every figure has a Monte Carlo standard error in ``mc_se`` (binomial for percentages, SD/sqrt(N)
for means).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from dossier.designs.simulate import true_mtd_index
from dossier.designs.state import _check


class ObdOutcomes(BaseModel):
    """Per-trial results of an OBD-design simulation (arrays of shape (n_trials, n_doses) or (n_trials,))."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    n: np.ndarray              # patients treated per dose (escalation + backfill / stage 2)
    y: np.ndarray              # DLTs per dose
    r: np.ndarray              # responses per dose
    selected: np.ndarray       # 0-based dose or -1
    no_mtd: np.ndarray         # safety stop, no dose selected
    duration: np.ndarray | None = None   # months (designs with calendar time)
    n_backfill: np.ndarray | None = None  # backfill patients per dose (BF-BOIN)


class ObdOperatingCharacteristics(BaseModel):
    """Operating characteristics of an OBD / timed design under one scenario (percentages 0-100)."""

    design: str
    design_params: dict
    target: float
    p_true: list[float]
    p_resp: list[float] | None
    n_trials: int
    true_mtd: int
    true_obd: int | None
    true_utility: list[float] | None
    selection_pct: list[float]
    no_selection_pct: float
    pct_correct_selection: float
    selection_above_mtd_pct: float
    mean_patients: list[float]
    mean_dlt: list[float]
    mean_responses: list[float]
    mean_backfill_patients: list[float] | None
    mean_total_patients: float
    mean_total_dlt: float
    mean_total_responses: float
    patients_below_mtd: float
    patients_at_mtd: float
    patients_above_mtd: float
    pct_patients_above_mtd: float
    overdose_60_pct: float
    overdose_80_pct: float
    pct_patients_at_obd: float | None
    mean_utility_selected: float | None
    mean_duration_months: float | None
    early_stop_pct: float
    safety_stop_pct: float
    mc_se: dict[str, float | list[float] | None]


class LockstepCounts(BaseModel):
    """Per-trial counts after :func:`lockstep_trials` (arrays (n_trials, n_doses) unless noted)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    n: np.ndarray
    y_tox: np.ndarray
    y_eff: np.ndarray
    y_both: np.ndarray
    eliminated: np.ndarray
    no_selection: np.ndarray   # (n_trials,)
    state: np.ndarray          # the design's own state array


def lockstep_trials(design, p_tox: np.ndarray, p_eff_given_tox: np.ndarray, p_eff_given_none: np.ndarray,
                    n_trials: int, rng: np.random.Generator, uniforms: np.ndarray | None, state: np.ndarray,
                    record: list | None = None) -> LockstepCounts:
    """The cohort loop shared by the utility designs (BOIN12, U-BOIN), vectorised over trials.

    Cohort k of a trial treats patients k*c .. k*c+c-1 at its current dose: toxicity from ``uniforms`` (common
    random numbers; drawn from ``rng`` when None), efficacy from a second uniform against P(response | DLT)
    or P(response | no DLT) of the dose.  After each cohort ``design._decide(n, y_tox, y_eff, y_both,
    eliminated, state, dose, rng)`` returns (next dose, finish, no selection) for the active trials and
    updates their ``eliminated`` and ``state`` rows in place.  Every trial finishes after ``n_cohorts``.
    ``record`` (optional list) receives the dose assigned to each continuing trial after each cohort and
    whether that dose was eliminated at the time (for tests / audits)."""
    T, D, c, K = int(n_trials), design.n_doses, design.cohort_size, design.n_cohorts
    U = rng.random((T, K * c)) if uniforms is None else np.asarray(uniforms, float)
    _check(U.shape[0] == T and U.shape[1] >= K * c, "uniforms must be (n_trials, >= max_patients)", "uniforms")
    V = rng.random((T, K * c))
    n, yT, yE, y11 = (np.zeros((T, D), np.int64) for _ in range(4))
    elim = np.zeros((T, D), bool)
    d = np.full(T, design.start_dose, np.int64)
    active = np.ones(T, bool)
    no_sel = np.zeros(T, bool)
    for k in range(K):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        dd = d[idx]
        tox = U[idx, k * c:(k + 1) * c] < p_tox[dd][:, None]
        eff = V[idx, k * c:(k + 1) * c] < np.where(tox, p_eff_given_tox[dd][:, None], p_eff_given_none[dd][:, None])
        n[idx, dd] += c
        yT[idx, dd] += tox.sum(axis=1)
        yE[idx, dd] += eff.sum(axis=1)
        y11[idx, dd] += (tox & eff).sum(axis=1)
        el, st = elim[idx], state[idx]
        nxt, fin, no = design._decide(n[idx], yT[idx], yE[idx], y11[idx], el, st, dd, rng)
        elim[idx], state[idx] = el, st
        no_sel[idx] = no
        fin = fin | (k == K - 1)
        active[idx[fin]] = False
        d[idx] = np.where(fin, dd, nxt)
        if record is not None:
            go = idx[~fin]
            record.append({"trial": go, "dose": d[go].copy(), "eliminated": elim[go, d[go]].copy()})
    return LockstepCounts(n=n, y_tox=yT, y_eff=yE, y_both=y11, eliminated=elim, no_selection=no_sel, state=state)


def gumbel_cells(p_tox: Sequence[float], p_eff: Sequence[float], association: float = 0.0) -> np.ndarray:
    """Joint outcome probabilities per dose, columns (efficacy without toxicity, efficacy with toxicity, neither,
    toxicity without efficacy) -- the order of the utilities -- from the Gumbel model with association psi
    (Murtaugh & Fisher 1990): pi(e, t) = q^e (1-q)^(1-e) p^t (1-p)^(1-t) + (-1)^(e+t) q(1-q)p(1-p) tanh(psi/2).
    The marginals are p (toxicity) and q (efficacy) for every psi; every cell is non-negative."""
    p = np.asarray(p_tox, float)
    q = np.asarray(p_eff, float)
    k = q * (1 - q) * p * (1 - p) * np.tanh(float(association) / 2)
    out = np.stack([q * (1 - p) - k, q * p + k, (1 - q) * (1 - p) + k, (1 - q) * p - k], axis=1)
    return np.clip(out, 0.0, 1.0)


def conditional_efficacy(p_tox: np.ndarray, p_eff: np.ndarray, association: float) -> tuple[np.ndarray, np.ndarray]:
    """P(response | DLT) and P(response | no DLT) per dose under the Gumbel model (:func:`gumbel_cells`); both
    equal the marginal response rate when psi = 0."""
    p, q = np.asarray(p_tox, float), np.asarray(p_eff, float)
    cells = gumbel_cells(p, q, association)
    pe_tox = np.where(p > 0, cells[:, 1] / np.where(p > 0, p, 1), q)
    pe_none = np.where(p < 1, cells[:, 0] / np.where(p < 1, 1 - p, 1), q)
    return pe_tox, pe_none


def obd_decision(current: int, next_dose: int | None, eliminated, finish: bool, no_selection: bool,
                 stage2: bool | None = None):
    """A :class:`~dossier.designs.base.Decision` from a utility design's (next dose, finish, no selection)."""
    from dossier.designs.base import Decision

    elim = [bool(v) for v in eliminated]
    if finish:
        return Decision(action="stop_no_mtd" if no_selection else "stop_select", next_dose=None, eliminated=elim,
                        stage2=stage2)
    action = "escalate" if next_dose > current else "deescalate" if next_dose < current else "stay"
    return Decision(action=action, next_dose=int(next_dose), eliminated=elim, stage2=stage2)


def isotonic_mtd(design, n_patients: Sequence[int], n_dlt: Sequence[int]):
    """The MTD of a utility design's data for the escalation summary: BOIN's ``select.mtd`` at the
    design's target (isotonic estimates, Liu & Yuan 2015), which is the toxicity part of BOIN12's and
    U-BOIN's rules; the OBD itself needs the efficacy data (``select_obd``)."""
    from dossier.designs.boin import Boin

    sel = Boin(target=design.target, n_doses=design.n_doses).select_mtd(n_patients, n_dlt)
    inner = {"code": sel.note_code, "values": sel.note_values}
    return sel.model_copy(update={"note_code": "design.select.mtd_by_boin",
                                  "note_values": {"design": design.name, "inner": inner}})


def summarize_obd(design, p_true: Sequence[float], p_resp: Sequence[float] | None, out: ObdOutcomes,
                  utility: Sequence[float] | None = None, select_obd: bool = False,
                  max_patients: int | None = None, obd: int | None = None) -> ObdOperatingCharacteristics:
    """OCs and MC SEs from per-trial outcomes.

    ``utility``: true utility per dose (for ``mean_utility_selected``); ``obd``: the true OBD
    (default: the dose with the highest true utility).  ``select_obd``: the design recommends an OBD,
    so ``pct_correct_selection`` is the selection of ``obd`` (else of the true MTD).
    """
    p = np.asarray(p_true, dtype=float)
    T, D = out.n.shape
    mtd = true_mtd_index(p, design.target)
    u = None if utility is None else np.asarray(utility, dtype=float)
    if obd is None and u is not None:
        obd = int(np.argmax(u))

    def pct(mask):
        m = float(np.mean(mask)) * 100
        return m, float(np.sqrt(m * (100 - m) / T))

    def mean(x):
        x = np.asarray(x, dtype=float)
        return float(x.mean()), (float(x.std(ddof=1) / np.sqrt(T)) if T > 1 else 0.0)

    sel = [pct(out.selected == d) for d in range(D)]
    none = pct(out.selected < 0)
    correct_dose = obd if (select_obd and obd is not None) else mtd
    above_sel = pct(out.selected > mtd)
    pts = [mean(out.n[:, d]) for d in range(D)]
    dlt = [mean(out.y[:, d]) for d in range(D)]
    rsp = [mean(out.r[:, d]) for d in range(D)]
    total = out.n.sum(axis=1)
    tot_n, tot_y, tot_r = mean(total), mean(out.y.sum(axis=1)), mean(out.r.sum(axis=1))
    below, at, above = (mean(out.n[:, :mtd].sum(axis=1)), mean(out.n[:, mtd]),
                        mean(out.n[:, mtd + 1:].sum(axis=1)))
    frac_above = np.where(total > 0, out.n[:, mtd + 1:].sum(axis=1) / np.maximum(total, 1), 0.0)
    pct_above = mean(100 * frac_above)
    od60 = pct(frac_above >= 0.6 - 1e-12)
    od80 = pct(frac_above >= 0.8 - 1e-12)
    at_obd = None
    util_sel = None
    if obd is not None:
        at_obd = mean(100 * np.where(total > 0, out.n[:, obd] / np.maximum(total, 1), 0.0))
        util_sel = mean(np.where(out.selected >= 0, u[np.maximum(out.selected, 0)], 0.0))
    dur = None if out.duration is None else mean(out.duration)
    bf = None if out.n_backfill is None else [mean(out.n_backfill[:, d]) for d in range(D)]
    maxp = max_patients if max_patients is not None else design.max_patients
    # early stop: the escalation ended before its maximum (backfill patients do not count toward it)
    escalation_total = total if out.n_backfill is None else total - out.n_backfill.sum(axis=1)
    early = pct(escalation_total < maxp)
    safety = pct(out.no_mtd)

    def first(x):
        return None if x is None else x[0]

    def second(x):
        return None if x is None else x[1]

    return ObdOperatingCharacteristics(
        design=design.name, design_params=design.describe(), target=design.target,
        p_true=[float(v) for v in p], p_resp=None if p_resp is None else [float(v) for v in p_resp],
        n_trials=T, true_mtd=mtd, true_obd=obd, true_utility=None if u is None else [float(v) for v in u],
        selection_pct=[s[0] for s in sel], no_selection_pct=none[0],
        pct_correct_selection=sel[correct_dose][0], selection_above_mtd_pct=above_sel[0],
        mean_patients=[s[0] for s in pts], mean_dlt=[s[0] for s in dlt], mean_responses=[s[0] for s in rsp],
        mean_backfill_patients=None if bf is None else [s[0] for s in bf],
        mean_total_patients=tot_n[0], mean_total_dlt=tot_y[0], mean_total_responses=tot_r[0],
        patients_below_mtd=below[0], patients_at_mtd=at[0], patients_above_mtd=above[0],
        pct_patients_above_mtd=pct_above[0], overdose_60_pct=od60[0], overdose_80_pct=od80[0],
        pct_patients_at_obd=first(at_obd),
        mean_utility_selected=first(util_sel), mean_duration_months=first(dur),
        early_stop_pct=early[0], safety_stop_pct=safety[0],
        mc_se={
            "selection_pct": [s[1] for s in sel], "no_selection_pct": none[1],
            "pct_correct_selection": sel[correct_dose][1], "selection_above_mtd_pct": above_sel[1],
            "mean_patients": [s[1] for s in pts], "mean_dlt": [s[1] for s in dlt],
            "mean_responses": [s[1] for s in rsp],
            "mean_backfill_patients": None if bf is None else [s[1] for s in bf],
            "mean_total_patients": tot_n[1], "mean_total_dlt": tot_y[1], "mean_total_responses": tot_r[1],
            "patients_below_mtd": below[1], "patients_at_mtd": at[1], "patients_above_mtd": above[1],
            "pct_patients_above_mtd": pct_above[1], "overdose_60_pct": od60[1], "overdose_80_pct": od80[1],
            "pct_patients_at_obd": second(at_obd),
            "mean_utility_selected": second(util_sel), "mean_duration_months": second(dur),
            "early_stop_pct": early[1], "safety_stop_pct": safety[1],
        },
    )
