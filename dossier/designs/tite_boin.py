"""TITE-BOIN: time-to-event BOIN for late-onset toxicity (Yuan, Lin, Li, Nie & Warren 2018).

Reference
---------
Yuan Y, Lin R, Li D, Nie L, Warren KE (2018). Time-to-event Bayesian optimal interval design to
accelerate phase I trials. Clin Cancer Res 24(20):4921-4930.

Rules implemented
-----------------
* Patients arrive continuously (:mod:`dossier.designs.accrual`); the dose of a cohort is decided when
  its first patient arrives, from the data at the current dose at that moment.
* Pending patients (in the DLT window, no DLT yet) are handled by the single mean imputation: with
  ``y`` DLTs, ``c`` patients who completed the window without DLT, ``m`` pending patients followed
  for ``t_i`` and STFT = sum(t_i) / W (standardized total follow-up time), each pending patient
  contributes ``(1 - t_i / W) * pi / (1 - pi)`` DLTs, where ``pi / (1 - pi) = (alpha0 + y) /
  (beta0 + c)`` is the posterior odds from the completed patients under a Beta(alpha0, beta0) prior
  with alpha0 = target / 2 and beta0 = 1 - target / 2 (prior mean target / 2, one patient).  The
  estimate ``p = (y + (m - STFT) * (alpha0 + y) / (beta0 + c)) / n`` is compared with BOIN's
  lambda_e / lambda_d.  This reproduces Table 1 of the article (target 0.2: with 9 patients, 1 DLT and
  4 pending, escalate once STFT >= 2.15).
* Accrual is suspended (arriving patients are turned away) while more than ``max_pending_ratio``
  (0.5) of the patients at the current dose are pending, or while no patient at it has data.
* Elimination as BOIN with the DLTs observed so far among all patients treated at the dose
  (Pr(p > target | y, n) > 0.95, n >= 3); the lowest dose eliminated stops the trial.
* The trial ends after ``n_cohorts`` cohorts (every patient is then followed to the end of the
  window, and the MTD is selected as BOIN::select.mtd) or by BOIN's ``n_earlystop`` rule.
* Duration: from the first arrival to the end of the last patient's assessment.

With all DLT data complete at every decision (a window shorter than the gap between arrivals)
TITE-BOIN is BOIN; with common random numbers the trials are identical (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dossier.designs.accrual import AccrualParams, check_accrual, dlt_time, interarrival, weibull_params
from dossier.designs.base import Scenario
from dossier.designs.boin import Boin, BoinCoreParams
from dossier.designs.obd import ObdOperatingCharacteristics, ObdOutcomes, summarize_obd
from dossier.designs.params import param
from dossier.designs.state import TrialState, _check, check_probabilities


def tite_estimate(n, y, n_pending, stft, target: float) -> np.ndarray:
    """Single-mean-imputation DLT rate of TITE-BOIN (Yuan et al. 2018) for arrays of dose data."""
    n = np.asarray(n, float)
    y = np.asarray(y, float)
    m = np.asarray(n_pending, float)
    s = np.asarray(stft, float)
    c = n - y - m
    a0, b0 = target / 2, 1 - target / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (y + (m - s) * (a0 + y) / (b0 + c)) / np.maximum(n, 1), 0.0)


class TiteBoinParams(BoinCoreParams, AccrualParams):
    """TITE-BOIN's options (Yuan et al. 2018) beyond BOIN's."""

    max_pending_ratio: float = param(0.5, ge=0, lt=1, help="suspend enrolment when more than this fraction "
                                     "of the patients at the dose are pending", source="TITE-BOIN get.oc.tite "
                                     "(Yuan et al. 2018: at most 50% pending)")


class TiteBoin(Boin):
    """TITE-BOIN (Yuan et al. 2018); see the module docstring."""

    name = "tite-boin"
    label = "TITE-BOIN"
    aliases = ("titeboin", "tite")
    Params = TiteBoinParams
    uses_calendar_time = True

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 accrual_per_month: float = 3.0, dlt_window_months: float = 1.0, accrual: str = "uniform",
                 max_pending_ratio: float = 0.5):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose, p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli,
                         n_earlystop=n_earlystop, bound_mtd=bound_mtd)
        check_accrual(accrual, accrual_per_month, dlt_window_months)
        _check(0 <= max_pending_ratio < 1, f"max_pending_ratio must be in [0, 1), got {max_pending_ratio}",
               "max_pending_ratio")
        self.accrual_per_month = float(accrual_per_month)
        self.dlt_window_months = float(dlt_window_months)
        self.accrual = accrual
        self.max_pending_ratio = float(max_pending_ratio)

    def describe(self) -> dict:
        return super().describe() | {"accrual_per_month": self.accrual_per_month,
                                     "dlt_window_months": self.dlt_window_months, "accrual": self.accrual,
                                     "max_pending_ratio": self.max_pending_ratio}

    def tite_action(self, n, y, n_pending, stft) -> np.ndarray:
        """-1 de-escalate, 0 stay, +1 escalate for the current dose's data (vectorised)."""
        p = tite_estimate(n, y, n_pending, stft, self.target)
        return np.where(p <= self.lambda_e, 1, np.where(p >= self.lambda_d, -1, 0))

    def escalation_stft(self, n: int, y: int, n_pending: int) -> float | None:
        """Smallest STFT at which the dose is escalated (None: never; 0: always), for decision tables."""
        grid = np.linspace(0, n_pending, 100_001)
        ok = self.tite_action(n, y, n_pending, grid) == 1
        return None if not ok.any() else float(grid[np.argmax(ok)])

    # --- simulation -------------------------------------------------------------------------------
    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None, record: list | None = None) -> ObdOutcomes:
        """Per-trial outcomes; ``scenario.p_eff`` (optional) only adds responses (drawn independently of
        toxicity, after the trial: they do not influence the design)."""
        out = self.simulate_outcomes(scenario.p_tox, n_trials, rng, uniforms, record)
        if scenario.p_eff is not None:
            q = check_probabilities(scenario.p_eff, "p_resp", self.n_doses)
            out.r = rng.binomial(out.n, q[None, :])
        return out

    def summarize(self, scenario: Scenario, outcomes: ObdOutcomes) -> ObdOperatingCharacteristics:
        return summarize_obd(self, scenario.p_tox, scenario.p_eff, outcomes)

    def simulate_outcomes(self, p_true: Sequence[float], n_trials: int, rng: np.random.Generator,
                          uniforms: np.ndarray | None = None, record: list | None = None) -> ObdOutcomes:
        """Lock-step over trials: one iteration per cohort, and within it per arrival while suspended.
        ``record`` (optional list) receives each dose assignment and whether the dose was eliminated."""
        D, c, K = self.n_doses, self.cohort_size, self.n_cohorts
        p = check_probabilities(p_true, "p_true", D)
        T, P = int(n_trials), self.max_patients
        U = rng.random((T, P)) if uniforms is None else np.asarray(uniforms, float)
        _check(U.shape[0] == T and U.shape[1] >= P, "uniforms must be (n_trials, >= max_patients)", "uniforms")
        W = self.dlt_window_months
        shape, scale = weibull_params(p, W)
        esc_t, de_t, eli_t = self.tables()
        enter = np.full((T, P), np.inf)
        dose = np.full((T, P), -1, np.int64)
        tox = np.zeros((T, P), bool)
        t_dlt = np.full((T, P), np.inf)       # time from entry to DLT (inf: none)
        d = np.full(T, self.start_dose, np.int64)
        elim = np.zeros((T, D), bool)
        active = np.ones(T, bool)
        no_mtd = np.zeros(T, bool)
        clock = np.zeros(T)                    # arrival time of the next patient
        j = 0
        for k in range(K):
            if k > 0:
                # decide the dose for cohort k at the arrival of its first patient (suspend if needed)
                waiting = active.copy()
                while waiting.any():
                    idx = np.flatnonzero(waiting)
                    t = clock[idx]
                    dd = d[idx]
                    on = dose[idx, :j] == dd[:, None]
                    fu = t[:, None] - enter[idx, :j]
                    seen_dlt = on & (t_dlt[idx, :j] <= fu)
                    done = on & (seen_dlt | (fu >= W))
                    pend = on & ~done
                    n_d = on.sum(axis=1)
                    y_d = seen_dlt.sum(axis=1)
                    m_d = pend.sum(axis=1)
                    stft = np.where(pend, np.minimum(fu, W), 0).sum(axis=1) / W
                    # elimination with the DLTs seen so far at every dose (BOIN rule)
                    n_all = np.zeros((idx.size, D), np.int64)
                    y_all = np.zeros((idx.size, D), np.int64)
                    dv = dose[idx, :j]
                    for dl in range(D):
                        n_all[:, dl] = (dv == dl).sum(axis=1)
                        y_all[:, dl] = (seen_dlt & (dv == dl) | ((dv == dl) & (t_dlt[idx, :j] <= fu))).sum(axis=1)
                    hit = y_all >= eli_t[n_all]
                    el = elim[idx] | (np.cumsum(hit, axis=1) > 0)
                    elim[idx] = el
                    r = np.arange(idx.size)
                    lowest = el[:, 0]
                    cur_el = el[r, dd]
                    suspend = (m_d > self.max_pending_ratio * n_d) | (n_d == m_d)
                    act = self.tite_action(n_d, y_d, m_d, stft)
                    top = D - 1
                    blocked = (dd == top) | el[r, np.minimum(dd + 1, top)]
                    nxt = np.where((act == 1) & ~blocked, dd + 1, dd)
                    nxt = np.where((act == -1) & (dd > 0), dd - 1, nxt)
                    first_el = np.where(el.any(axis=1), np.argmax(el, axis=1), D)
                    nxt = np.where(cur_el, first_el - 1, nxt)
                    stay_like = (act == 0) | ((act == -1) & (dd == 0)) | ((act == 1) & blocked)
                    converge = ~cur_el & stay_like & (n_d >= self.n_earlystop)
                    decided = lowest | cur_el | ~suspend | converge
                    # a de-escalation or elimination never waits for pending data
                    decided |= (act == -1)
                    stop_no = lowest
                    fin = decided & (stop_no | converge)
                    go = decided & ~fin
                    no_mtd[idx[stop_no]] = True
                    active[idx[fin]] = False
                    d[idx[go]] = np.maximum(nxt[go], 0)
                    if record is not None:
                        g = idx[go]
                        record.append({"trial": g, "dose": d[g].copy(), "eliminated": elim[g, d[g]].copy()})
                    still = idx[~decided]
                    waiting[:] = False
                    waiting[still] = True
                    clock[still] += interarrival(rng, still.size, self.accrual_per_month, self.accrual)
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            # enrol cohort k at dose d
            for i in range(c):
                if i > 0:
                    clock[idx] += interarrival(rng, idx.size, self.accrual_per_month, self.accrual)
                u = U[idx, j]
                dd = d[idx]
                ev = u < p[dd]
                enter[idx, j] = clock[idx]
                dose[idx, j] = dd
                tox[idx, j] = ev
                t_dlt[idx, j] = np.where(ev, dlt_time(u, shape[dd], scale[dd], W), np.inf)
                j += 1
            if k < K - 1:
                clock[idx] += interarrival(rng, idx.size, self.accrual_per_month, self.accrual)
            else:
                active[idx] = False
        n = np.zeros((T, D), np.int64)
        y = np.zeros((T, D), np.int64)
        for dl in range(D):
            n[:, dl] = (dose == dl).sum(axis=1)
            y[:, dl] = ((dose == dl) & tox).sum(axis=1)
        st = TrialState.empty(T, D)
        st.n[:], st.y[:] = n, y
        sel = np.where(no_mtd, -1, self.select_batch(st))
        finish = np.where(np.isfinite(enter), enter + np.minimum(t_dlt, W), 0.0).max(axis=1)
        return ObdOutcomes(n=n, y=y, r=np.zeros_like(n), selected=sel, no_mtd=no_mtd, duration=finish)
