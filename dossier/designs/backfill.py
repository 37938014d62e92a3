"""BF-BOIN: the Bayesian optimal interval design with backfilling (Zhao, Yuan, Korn & Freidlin 2024).

Reference
---------
Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I dose-escalation trials
using Bayesian optimal interval design (BOIN). Clin Cancer Res 30(4):673-679.
Implementations read: the MD Anderson BF-BOIN Shiny app as re-implemented in the bfboin R package
(Magirr & Zhang, ``get.oc.bf``) and the simFastBOIN vignette "Backfilling with the BF-BOIN and BE-BOIN
designs" (which documents the points the article leaves open).

Rules implemented
-----------------
* **Escalation** is BOIN (:class:`~dossier.designs.boin.Boin`) with fully staggered cohorts: the
  next cohort opens when the first patient arrives after every patient of the current cohort has
  completed the DLT window (a DLT completes the assessment at its time).  The decision uses all
  *completed* patients of the dose, backfilled ones included.
* **Backfilling**: a patient arriving while the escalation waits is treated at the highest dose
  below the current dose that (a) is not eliminated, (b) has fewer than ``n_cap`` patients,
  (c) has at least one response observed at it or below (``response_rule="at_or_below"``, the
  default, simFastBOIN's reading) or at that dose itself (``"dose"``, bfboin) -- a response is
  observed at the end of the patient's window -- and (d) is *safe*: its completed data have a DLT
  rate below the de-escalation boundary, or the data pooled with the next higher dose do; a dose
  that is not safe closes with all doses above it.  Otherwise the patient is turned away (not
  enrolled).  ``n_cap`` counts the dose's evaluated escalation patients plus its backfilled ones
  (bfboin allows one more: ``<= n.cap``).
* **Conflicts** (Table 2 of the article): when a lower, backfilled dose calls for a more cautious
  decision than the current dose (current: escalate but a lower dose not; or current: stay / de-escalate
  / eliminate and a lower dose de-escalate / eliminate), the decision uses the data pooled from the
  highest conflicting dose ``b*`` up to the current dose: escalate if the pooled rate is <= lambda_e,
  stay if between, otherwise de-escalate to the highest dose ``k`` in b*..d whose data pooled from
  b* to k are below lambda_d (below b* if none).
* **Stopping**: after ``n_cohorts`` escalation cohorts; when the decision is to stay (or a
  de-escalation / escalation that cannot be carried out) and ``n_earlystop`` patients, backfilled
  ones included, have been treated at the current dose; when the lowest dose is eliminated.
  Backfilling ends when the last escalation patient is enrolled; patients still in their window at
  the end are followed to its end and counted (treated patients; their data enter the MTD selection).
* **Duration**: from the first arrival until the last treated patient (escalation or backfill) has
  completed the DLT window.  (The end of the last escalation cohort's assessment, bfboin's ``max.t``,
  is kept in ``last_escalation_duration``; it is 0.3 month shorter for BF-BOIN in Table 4's scenario,
  |z| = 8 against the published 14.3 months, while the full duration gives 14.2, |z| = 2.6.)
* **MTD selection**: BOIN::select.mtd on all patients (escalation + backfill).  (bfboin drops the
  backfill patients still pending at the end from the counts and the selection; we keep them:
  they were treated, and PMDA asks for OCs that include the backfill cohorts.)

``stay_on_1_of_3`` (bfboin's ``three.plus.three``): 1 DLT in the first 3 patients of the current
dose means *stay* rather than de-escalate (for target 0.25, lambda_d = 0.298 < 1/3).  **Table 4 of
Zhao et al. (2024) was computed with this rule, for BF-BOIN and for BOIN** (the simFastBOIN
vignette reproduces Table 4 with it): with it our plain BOIN gives 56.1% MTD selection and 11.4 /
8.0 / 4.7 patients below / at / above the MTD (Table 4: 56.7%, 11.4 / 8.0 / 4.6); without it
(standard BOIN::get.oc) 54.4% and 13.2 / 7.7 / 3.9.  That rule, not accrual or DLT-window timing
(which cannot change a design without backfill), explains the gap found earlier.

Table 4 (scenario 3) also decides the two readings left open by the article: with the response
rule "at or below" every BF-BOIN figure is within |z| <= 2.6 of Table 4 (40,000 trials vs an assumed
10,000 published), with bfboin's "at that dose" rule patients below / at the MTD and the sample size
are off by |z| ~ 4; and the published duration is the full duration (above).

Common random numbers: the ``i``-th *escalation* patient of a trial uses ``uniforms[t, i]`` for
the DLT, exactly as in :func:`dossier.designs.simulate.simulate_trials`, so with no response at any
dose (no backfill) every trial equals the BOIN trial on the same uniforms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from dossier.designs.accrual import AccrualParams, check_accrual, dlt_time, interarrival, weibull_params
from dossier.designs.base import Scenario
from dossier.designs.boin import Boin, BoinCoreParams
from dossier.designs.obd import ObdOperatingCharacteristics, ObdOutcomes, summarize_obd
from dossier.designs.params import param
from dossier.designs.state import StepResult, TrialState, _check, check_probabilities

ESC, STAY, DE, ELIM = 0, 1, 2, 3


class BfBoinParams(BoinCoreParams, AccrualParams):
    """BF-BOIN's options (Zhao et al. 2024) beyond BOIN's."""

    n_cap: int = param(12, ge=1, help="most backfill patients per dose", source="Zhao et al. 2024 (BF-BOIN)")
    response_rule: Literal["at_or_below", "dose"] = param(
        "at_or_below", help="backfill doses below the current dose once a response is seen at or below it "
        "('at_or_below') or at the dose itself ('dose')", source="Zhao et al. 2024 (BF-BOIN)")
    stay_on_1_of_3: bool = param(False, help="1 DLT of 3 means stay (Table 4 of Zhao et al.)",
                                 source="Zhao et al. 2024, Table 4")


class BfBoin(Boin):
    """BF-BOIN (Zhao et al. 2024): BOIN escalation with backfilling of cleared doses (see module doc)."""

    name = "bf-boin"
    label = "BF-BOIN"
    aliases = ("bfboin", "backfill")
    Params = BfBoinParams
    needs_efficacy = True
    uses_calendar_time = True

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 n_cap: int = 12, accrual_per_month: float = 3.0, dlt_window_months: float = 1.0,
                 accrual: str = "uniform", response_rule: str = "at_or_below", stay_on_1_of_3: bool = False):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose, p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli,
                         n_earlystop=n_earlystop, bound_mtd=bound_mtd)
        check_accrual(accrual, accrual_per_month, dlt_window_months)
        _check(int(n_cap) >= 1, f"n_cap must be >= 1, got {n_cap}", "n_cap")
        _check(response_rule in ("dose", "at_or_below"),
               f"response_rule must be 'dose' or 'at_or_below', got {response_rule!r}", "response_rule")
        _check(not stay_on_1_of_3 or self.cohort_size == 3, "stay_on_1_of_3 needs cohorts of 3",
               "stay_on_1_of_3")
        self.n_cap = int(n_cap)
        self.accrual_per_month = float(accrual_per_month)
        self.dlt_window_months = float(dlt_window_months)
        self.accrual = accrual
        self.response_rule = response_rule
        self.stay_on_1_of_3 = bool(stay_on_1_of_3)
        self.tables(self.max_patients + self.n_doses * (self.n_cap + 1))

    def describe(self) -> dict:
        return super().describe() | {
            "n_cap": self.n_cap, "accrual_per_month": self.accrual_per_month,
            "dlt_window_months": self.dlt_window_months, "accrual": self.accrual,
            "response_rule": self.response_rule, "stay_on_1_of_3": self.stay_on_1_of_3}

    # --- decisions ------------------------------------------------------------------------------
    def _codes(self, N: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """BOIN decision of every dose from its own data: ESC / STAY / DE / ELIM (untreated: ESC)."""
        esc_t, de_t, eli_t = self.tables(int(N.max(initial=0)))
        code = np.where(Y >= de_t[N], DE, STAY)
        code = np.where(Y >= eli_t[N], ELIM, code)
        return np.where(Y <= esc_t[N], ESC, code)

    def pooled_step(self, N: np.ndarray, Y: np.ndarray, d: np.ndarray, elim: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Escalation decision with backfill data and the conflict rules (Table 2 of Zhao et al.).

        ``N``/``Y``: completed patients / DLTs per dose (escalation + backfill), ``d`` current dose,
        ``elim`` eliminated doses (updated in place).  Returns (next dose, stop, no_mtd).
        """
        m, D = N.shape
        rows = np.arange(m)
        cols = np.arange(D)[None, :]
        esc_t, de_t, eli_t = self.tables(int(N.sum(axis=1).max(initial=0)))
        top = D - 1
        code = self._codes(N, Y)
        Nd, Yd = N[rows, d], Y[rows, d]
        cur = code[rows, d]
        if self.stay_on_1_of_3:
            cur = np.where((Nd == 3) & (Yd == 1), STAY, cur)
        lower = cols < d[:, None]
        all_esc = np.all((code == ESC) | ~lower, axis=1)
        all_se = np.all((code <= STAY) | ~lower, axis=1)
        elim |= (cur == ELIM)[:, None] & (cols >= d[:, None])

        can_up = (d < top) & ~elim[rows, np.minimum(d + 1, top)]
        up = np.where(can_up, d + 1, d)
        nxt = d.copy()
        stop_no = np.zeros(m, dtype=bool)
        # the plain BOIN decision (no conflict)
        nxt = np.where(cur == ESC, up, nxt)
        nxt = np.where(((cur == DE) | (cur == ELIM)) & (d > 0), d - 1, nxt)
        stop_no |= (cur == ELIM) & (d == 0)
        conflict = (d > 0) & np.where(cur == ESC, ~all_esc, ~all_se & (cur >= STAY))
        if conflict.any():
            idx = np.flatnonzero(conflict)
            c_code, c_low, c_d = code[idx], lower[idx], d[idx]
            bad = np.where((cur[idx] == ESC)[:, None], c_code != ESC, c_code >= DE) & c_low
            bstar = D - 1 - np.argmax(bad[:, ::-1], axis=1)  # highest conflicting lower dose
            span = (cols >= bstar[:, None]) & (cols <= c_d[:, None])
            cn = np.cumsum(np.where(span, N[idx], 0), axis=1)
            cy = np.cumsum(np.where(span, Y[idx], 0), axis=1)
            r = np.arange(len(idx))
            npool, ypool = cn[r, c_d], cy[r, c_d]
            p_up = ypool <= esc_t[npool]
            p_down = (ypool >= de_t[npool]) & ~p_up
            safe = span & (cy < de_t[cn])
            any_safe = safe.any(axis=1)
            hi_safe = D - 1 - np.argmax(safe[:, ::-1], axis=1)
            below = bstar - 1
            lowest_elim = (below < 0) & (Y[idx, 0] >= eli_t[N[idx, 0]])
            down_to = np.where(any_safe, hi_safe, np.maximum(below, 0))
            res = np.where(p_up, up[idx], np.where(p_down, down_to, c_d))
            nxt[idx] = res
            s_no = p_down & ~any_safe & lowest_elim
            stop_no[idx] = s_no
            elim[idx[s_no]] = True
        # never stay on or move to an eliminated dose
        first_el = np.where(elim.any(axis=1), np.argmax(elim, axis=1), D)
        stop_no |= first_el == 0
        nxt = np.minimum(nxt, first_el - 1)
        stay = (nxt == d) & ~stop_no
        converge = stay & (Nd >= self.n_earlystop)
        return np.maximum(nxt, 0), stop_no | converge, stop_no

    def step(self, state: TrialState) -> StepResult:
        """Single-step decision on (n, y) that include completed backfill patients (CLI ``decide``)."""
        nxt, stop, no = self.pooled_step(state.n, state.y, state.current, state.eliminated)
        return StepResult(next_dose=nxt, stop=stop, no_mtd=no)

    # --- simulation -----------------------------------------------------------------------------
    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None, record: list | None = None) -> ObdOutcomes:
        return self.simulate_outcomes(scenario.p_tox, scenario.p_eff, n_trials, rng, uniforms, record)

    def summarize(self, scenario: Scenario, outcomes: ObdOutcomes) -> ObdOperatingCharacteristics:
        return summarize_obd(self, scenario.p_tox, scenario.p_eff, outcomes)

    def simulate_outcomes(self, p_true: Sequence[float], p_resp: Sequence[float], n_trials: int,
                          rng: np.random.Generator, uniforms: np.ndarray | None = None,
                          record: list | None = None) -> ObdOutcomes:
        """Simulate ``n_trials`` BF-BOIN trials in lock-step, one arriving patient per iteration.

        ``record`` (a list, optional) receives one dict of arrays per backfill assignment step
        (trial, dose, current escalation dose, the completed data of the dose and the next one,
        elimination flag) -- for tests and audits of the backfill rules.
        """
        self._record = record
        D, c, K = self.n_doses, self.cohort_size, self.n_cohorts
        p = check_probabilities(p_true, "p_true", D)
        q = check_probabilities(p_resp, "p_resp", D)
        T = int(n_trials)
        P = self.max_patients
        if uniforms is None:
            uniforms = rng.random((T, P))
        _check(uniforms.shape[0] == T and uniforms.shape[1] >= P, "uniforms must be (n_trials, >= max_patients)",
               "uniforms")
        resp_u = rng.random((T, P))
        W = self.dlt_window_months
        shape, scale = weibull_params(p, W)
        # a backfilled dose has >= one evaluated escalation cohort, so it takes < n_cap - cohort_size more
        S = max(1, self.n_cap - c)

        n = np.zeros((T, D), np.int64)        # completed escalation patients
        y = np.zeros((T, D), np.int64)
        n_all = np.zeros((T, D), np.int64)    # every treated patient (eventual outcome)
        y_all = np.zeros((T, D), np.int64)
        r_all = np.zeros((T, D), np.int64)
        bf_cnt = np.zeros((T, D), np.int64)
        bf_end = np.full((T, D, S), np.inf)
        bf_ev = np.zeros((T, D, S), dtype=bool)
        first_resp = np.full((T, D), np.inf)
        elim = np.zeros((T, D), dtype=bool)
        d = np.full(T, self.start_dose, np.int64)
        k = np.zeros(T, np.int64)             # escalation cohorts evaluated
        pos = np.zeros(T, np.int64)
        cend = np.zeros((T, c))
        cev = np.zeros((T, c), dtype=bool)
        clock = np.zeros(T)
        t_end = np.zeros(T)
        active = np.ones(T, dtype=bool)
        no_mtd = np.zeros(T, dtype=bool)

        def enrol(idx: np.ndarray, dose: np.ndarray, u: np.ndarray, ur: np.ndarray):
            ev = u < p[dose]
            comp = clock[idx] + np.where(ev, dlt_time(u, shape[dose], scale[dose], W), W)
            resp = ur < q[dose]
            n_all[idx, dose] += 1
            y_all[idx, dose] += ev
            r_all[idx, dose] += resp
            fr = np.where(resp, clock[idx] + W, np.inf)
            first_resp[idx, dose] = np.minimum(first_resp[idx, dose], fr)
            return ev, comp

        while active.any():
            act = np.flatnonzero(active)
            ready_mask = pos[act] == c
            waiting = act[ready_mask]
            # (1) evaluate a completed cohort when a patient arrives after its assessment
            done = waiting[clock[waiting] > cend[waiting].max(axis=1)]
            if done.size:
                nd = d[done]
                n[done, nd] += c
                y[done, nd] += cev[done].sum(axis=1)
                completed = bf_end[done] < clock[done, None, None]
                N = n[done] + completed.sum(axis=2)
                Y = y[done] + (completed & bf_ev[done]).sum(axis=2)
                el = elim[done]
                nxt, stop, no = self.pooled_step(N, Y, nd, el)
                elim[done] = el
                k[done] += 1
                fin = stop | (k[done] >= K)
                no_mtd[done] = no
                t_end[done] = cend[done].max(axis=1)
                active[done[fin]] = False
                cont = done[~fin]
                d[cont] = nxt[~fin]
                if record is not None:
                    record.append({"escalation": True, "trial": cont, "dose": d[cont].copy(),
                                   "eliminated": elim[cont, d[cont]].copy()})
                pos[cont] = 0
            # (2) backfill a patient arriving while the cohort is in its window
            bwait = waiting[(clock[waiting] <= cend[waiting].max(axis=1)) & (d[waiting] > 0)]
            if bwait.size:
                self._backfill(bwait, clock, n, y, d, cend, cev, bf_end, bf_ev, bf_cnt, first_resp, elim,
                               rng, enrol)
            # (3) enrol into the open escalation cohort
            esc = np.flatnonzero(active & (pos < c))
            if esc.size:
                j = k[esc] * c + pos[esc]
                u = uniforms[esc, j]
                ev, comp = enrol(esc, d[esc], u, resp_u[esc, j])
                cend[esc, pos[esc]] = comp
                cev[esc, pos[esc]] = ev
                pos[esc] += 1
                # the last escalation patient: backfilling ends; the trial ends after the window
                last = esc[(pos[esc] == c) & (k[esc] == K - 1)]
                if last.size:
                    ld = d[last]
                    n[last, ld] += c
                    y[last, ld] += cev[last].sum(axis=1)
                    t_end[last] = cend[last].max(axis=1)
                    active[last] = False
            act = np.flatnonzero(active)
            clock[act] += interarrival(rng, act.size, self.accrual_per_month, self.accrual)

        selected = self._select_distinct_rows(n_all, y_all)
        selected = np.where(no_mtd, -1, selected)
        dur_all = np.maximum(t_end, np.where(np.isfinite(bf_end), bf_end, 0).max(axis=(1, 2)))
        self.last_escalation_duration = t_end
        return ObdOutcomes(n=n_all, y=y_all, r=r_all, selected=selected, no_mtd=no_mtd, duration=dur_all,
                           n_backfill=bf_cnt)

    def _select_distinct_rows(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        st = TrialState.empty(n.shape[0], self.n_doses)
        st.n[:], st.y[:] = n, y
        return self.select_batch(st)

    def _backfill(self, idx, clock, n, y, d, cend, cev, bf_end, bf_ev, bf_cnt, first_resp, elim, rng, enrol):
        D = self.n_doses
        cols = np.arange(D)[None, :]
        # cheap pre-filter: some dose below the current one must have shown a response
        seen = (np.where(cols < d[idx, None], first_resp[idx], np.inf).min(axis=1) < clock[idx])
        idx = idx[seen]
        if idx.size == 0:
            return
        t = clock[idx]
        dd = d[idx]
        completed = bf_end[idx] < t[:, None, None]
        N = n[idx] + completed.sum(axis=2)
        Y = y[idx] + (completed & bf_ev[idx]).sum(axis=2)
        cur_done = cend[idx] < t[:, None]
        r = np.arange(len(idx))
        N[r, dd] += cur_done.sum(axis=1)
        Y[r, dd] += (cur_done & cev[idx]).sum(axis=1)
        _, de_t, _ = self.tables(int(N.max(initial=0)) * 2)
        lower = cols < dd[:, None]
        N1 = np.concatenate([N[:, 1:], np.zeros((len(idx), 1), np.int64)], axis=1)
        Y1 = np.concatenate([Y[:, 1:], np.zeros((len(idx), 1), np.int64)], axis=1)
        safe = (Y < de_t[N]) | ((Y + Y1) < de_t[N + N1])
        safe = np.cumprod(safe | ~lower, axis=1).astype(bool)  # an unsafe dose closes those above it
        fr = first_resp[idx]
        if self.response_rule == "at_or_below":
            fr = np.minimum.accumulate(fr, axis=1)
        open_ = lower & safe & (fr < t[:, None]) & ~elim[idx] & (n[idx] + bf_cnt[idx] < self.n_cap)
        has = open_.any(axis=1)
        if not has.any():
            return
        sub = idx[has]
        dose = D - 1 - np.argmax(open_[has][:, ::-1], axis=1)
        if getattr(self, "_record", None) is not None:
            rr = np.flatnonzero(has)
            self._record.append({
                "trial": sub.copy(), "dose": dose.copy(), "current": dd[has].copy(),
                "n": N[rr, dose], "y": Y[rr, dose], "n_next": N[rr, dose + 1], "y_next": Y[rr, dose + 1],
                "eliminated": elim[sub, dose].copy(), "n_cap_used": (n[sub, dose] + bf_cnt[sub, dose])})
        u = rng.random(sub.size)
        ur = rng.random(sub.size)
        ev, comp = enrol(sub, dose, u, ur)
        slot = bf_cnt[sub, dose]
        bf_end[sub, dose, slot] = comp
        bf_ev[sub, dose, slot] = ev
        bf_cnt[sub, dose] += 1
