"""Interval designs: decisions read from a table of DLT counts by number of patients at the dose.

BOIN, i3+3, mTPI-2 and Keyboard all reduce to one table: with ``n`` patients at the current dose
and ``y`` of them with a DLT, escalate if ``y <= escalate_max[n]``, de-escalate if
``y >= deescalate_min[n]``, otherwise stay; eliminate the dose and all higher doses if
``y >= eliminate_min[n]``.  The trial logic around the table follows BOIN::get.oc (Liu & Yuan
2015; Yan et al. 2020, J Stat Softw 94(13)) so that all interval designs are simulated the same way:

* after each cohort the current dose is checked for elimination; if the lowest dose is
  eliminated the trial stops and no dose is selected;
* escalation never skips a dose and never enters an eliminated dose (the dose is kept instead);
* at the lowest dose a de-escalation decision keeps the dose; at the highest an escalation keeps it;
* optional convergence stop: when ``n_earlystop`` patients have been treated at the current dose
  and the decision is to stay (or cannot be carried out), the trial stops and selects the MTD;
* optional extra-safe stop (BOIN / Keyboard ``extrasafe = TRUE``): when the lowest dose is the current
  dose, has n >= 3 and Pr(p_1 > target | data) > ``cutoff_eli - offset`` the trial stops with no MTD
  (checked, as get.oc does, only where the elimination rule has a boundary at that n), and
  :meth:`IntervalDesign.select_mtd` selects no dose when the final data at dose 1 meet that rule.

The MTD is selected with BOIN::select.mtd's conventions (see :meth:`IntervalDesign.select_mtd`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dossier.designs.base import (
    DecisionRow,
    DecisionTable,
    Design,
    MtdSelection,
    isotonic_batch,
    pava,
    unique_rows,
)
from dossier.designs.betafn import BinaryPowers, beta_sf_first_above, betaincinv
from dossier.designs.params import DesignParams, param
from dossier.designs.state import StepResult, TrialState, _check

NEVER = 10**9  # sentinel for "this rule never applies at this n"


class IntervalParams(DesignParams):
    """Trial-conduct options shared by the interval designs (BOIN::get.oc's conventions)."""

    cutoff_eli: float = param(0.95, ge=0.5, lt=1.0, help="dose elimination cutoff: Pr(p > target | data)",
                              source="BOIN get.oc cutoff.eli (Liu & Yuan 2015)")
    n_earlystop: int = param(100, ge=1, help="stop when this many patients are on the current dose",
                             source="BOIN get.oc n.earlystop")
    bound_mtd: bool = param(False, help="the MTD's isotonic estimate must be below lambda_d",
                            source="BOIN select.mtd boundMTD")
    extrasafe: bool = param(False, help="stricter stop at the lowest dose (cutoff cutoff_eli - offset)",
                            source="BOIN get.oc extrasafe")
    offset: float = param(0.05, gt=0, lt=0.5, help="offset of the extrasafe cutoff", source="BOIN get.oc offset")


class EquivalenceParams(IntervalParams):
    """Options of the equivalence-interval designs (i3+3, mTPI-2, Keyboard)."""

    ei_lower: float | None = param(None, gt=0, lt=1, help="lower end of the equivalence interval (target - 0.05)",
                                   source="Keyboard get.oc.kb marginL; i3+3 / mTPI-2 EI")
    ei_upper: float | None = param(None, gt=0, lt=1, help="upper end of the equivalence interval (target + 0.05)",
                                   source="Keyboard get.oc.kb marginR; i3+3 / mTPI-2 EI")


def elimination_boundary(target: float, n_max: int, cutoff: float = 0.95, min_n: int = 3,
                         a: float = 1.0, b: float = 1.0) -> np.ndarray:
    """Smallest y with Pr(p > target | y of n) > cutoff under a Beta(a, b) prior, for n = 0..n_max.

    ``NEVER`` where no y qualifies or n < min_n (BOIN's rule: Beta(1,1) prior, at least 3 patients).
    With integer prior parameters the posterior tail is a binomial sum, compared with the cutoff exactly
    (:func:`dossier.designs.betafn.beta_sf_exceeds`, DLMF 8.17.5); other priors use scipy's incomplete beta.
    """
    out = np.full(n_max + 1, NEVER, dtype=np.int64)
    exact = a == int(a) >= 1 and b == int(b) >= 1
    powers = BinaryPowers(target) if exact else None
    for n in range(max(min_n, 1), n_max + 1):
        if exact:  # as get.boundary: y = 0 never eliminates
            y = beta_sf_first_above(target, n, cutoff, int(a), int(b), y_min=1, powers=powers)
            if y is not None:
                out[n] = y
            continue
        from scipy import special

        y = np.arange(1, n + 1)
        hits = np.flatnonzero(special.betaincc(y + a, n - y + b, target) > cutoff)
        if hits.size:
            out[n] = y[hits[0]]
    return out


class IntervalDesign(Design):
    """A design whose decisions are a table of DLT counts by number of patients at the dose."""

    name = "interval"
    Params = IntervalParams

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, cutoff_eli: float = 0.95, n_earlystop: int = 100,
                 bound_mtd: bool = False, extrasafe: bool = False, offset: float = 0.05):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose)
        _check(0.5 <= cutoff_eli < 1.0, f"cutoff_eli must be in [0.5, 1), got {cutoff_eli}", "cutoff_eli",
               "the recommended value is 0.95")
        _check(int(n_earlystop) >= 1, f"n_earlystop must be >= 1, got {n_earlystop}", "n_earlystop")
        _check(0 < offset < 0.5, f"offset must be in (0, 0.5), got {offset}", "offset",
               "BOIN's default is 0.05; a larger offset stops earlier")
        self.cutoff_eli = float(cutoff_eli)
        self.n_earlystop = int(n_earlystop)
        self.bound_mtd = bool(bound_mtd)
        self.extrasafe = bool(extrasafe)
        self.offset = float(offset)
        self._tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._stop: np.ndarray | None = None

    # --- the table ----------------------------------------------------------------------------
    def _boundaries(self, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(escalate_max, deescalate_min, eliminate_min) for n = 0..n_max; -1 / NEVER where n/a."""
        raise NotImplementedError  # pragma: no cover

    def tables(self, n_max: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        need = max(self.max_patients, n_max or 0)
        if self._tables is None or len(self._tables[0]) <= need:
            esc, de, eli = self._boundaries(need)
            de = np.minimum(de, eli)  # BOIN get.boundary: de-escalate whenever the dose is eliminated
            esc[0], de[0], eli[0] = -1, NEVER, NEVER
            self._tables = (esc, de, eli)
        return self._tables

    def stop_boundary(self, n_max: int | None = None) -> np.ndarray:
        """Extra-safe stopping boundary at the lowest dose (BOIN get.boundary's ``stop_boundary``):
        smallest y with Pr(p_1 > target | y of n) > cutoff_eli - offset, for n = 0..n_max (n >= 3)."""
        need = max(self.max_patients, n_max or 0)
        if self._stop is None or len(self._stop) <= need:
            self._stop = elimination_boundary(self.target, need, self.cutoff_eli - self.offset)
        return self._stop

    def _extrasafe_stop(self, n1: np.ndarray, y1: np.ndarray) -> np.ndarray:
        """Trials whose data at the lowest dose meet the extra-safe rule (all False when it is off)."""
        if not self.extrasafe:
            return np.zeros(n1.shape, dtype=bool)
        return y1 >= self.stop_boundary(int(n1.max(initial=0)))[n1]

    def decision_table(self) -> DecisionTable:
        esc, de, eli = self.tables()
        rows = []
        for n in range(1, self.max_patients + 1):
            rows.append(DecisionRow(
                n=n,
                escalate_max=int(esc[n]) if esc[n] >= 0 else None,
                deescalate_min=int(de[n]) if de[n] <= n else None,
                eliminate_min=int(eli[n]) if eli[n] <= n else None,
            ))
        return DecisionTable(design=self.name, target=self.target, cohort_size=self.cohort_size,
                             table=rows, **self._table_extras())

    def _table_extras(self) -> dict:
        return {}

    # --- decisions ----------------------------------------------------------------------------
    def step(self, state: TrialState) -> StepResult:
        n_trials = state.n.shape[0]
        rows = np.arange(n_trials)
        d = state.current
        nd = state.n[rows, d]
        yd = state.y[rows, d]
        esc_t, de_t, eli_t = self.tables(int(nd.max(initial=0)))
        top = self.n_doses - 1

        elim_now = yd >= eli_t[nd]
        cols = np.arange(self.n_doses)
        state.eliminated |= elim_now[:, None] & (cols[None, :] >= d[:, None])
        safety = elim_now & (d == 0)
        # get.oc checks extrasafe only where the elimination rule has a boundary at this n
        safety |= (d == 0) & (eli_t[nd] < NEVER) & self._extrasafe_stop(nd, yd)

        esc = yd <= esc_t[nd]
        de = (yd >= de_t[nd]) & ~esc
        blocked = (d == top) | state.eliminated[rows, np.minimum(d + 1, top)]
        converge = (nd >= self.n_earlystop) & ((~esc & ~de) | ((d == 0) & de) | (blocked & esc))

        nxt = d.copy()
        nxt = np.where(esc & ~blocked, d + 1, nxt)
        nxt = np.where(de & (d > 0), d - 1, nxt)
        stop = safety | converge
        return StepResult(next_dose=nxt, stop=stop, no_mtd=safety)

    # --- MTD selection (BOIN::select.mtd conventions) -----------------------------------------
    def _final_elimination(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Doses eliminated by the data at the end: the first dose meeting the rule and all above."""
        _, _, eli_t = self.tables(int(n.max(initial=0)))
        hit = y >= eli_t[n]
        return np.cumsum(hit, axis=1) > 0

    def _isotonic_estimates(self, n: np.ndarray, y: np.ndarray, use: np.ndarray) -> np.ndarray:
        """PAVA of Beta(0.05, 0.05) posterior means weighted by inverse posterior variance."""
        nf = n.astype(float)
        yf = y.astype(float)
        phat = (yf + 0.05) / (nf + 0.1)
        var = (yf + 0.05) * (nf - yf + 0.05) / ((nf + 0.1) ** 2 * (nf + 0.1 + 1))
        return isotonic_batch(phat, 1.0 / var, use)

    def select_batch(self, state: TrialState) -> np.ndarray:
        # many trials end with the same data: select once per distinct (n, y)
        uniq, inv = unique_rows(np.concatenate([state.n, state.y], axis=1))
        D = self.n_doses
        return self._select_distinct(uniq[:, :D], uniq[:, D:])[inv]

    def _select_distinct(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        elim = self._final_elimination(n, y)
        adm = (n > 0) & ~elim
        iso = self._isotonic_estimates(n, y, adm)
        # BOIN adds (1..m) * 1e-10 over the m admissible doses to break ties: among pooled doses the
        # lowest is chosen above the target and the highest below it.
        rank = np.cumsum(adm, axis=1)
        dist = np.abs(iso + rank * 1e-10 - self.target)
        if self.bound_mtd:
            lam_d = getattr(self, "lambda_d", np.inf)
            dist = np.where(iso + rank * 1e-10 < lam_d, dist, np.nan)
        dist = np.where(adm, dist, np.inf)
        dist = np.where(np.isnan(dist), np.inf, dist)
        sel = np.argmin(dist, axis=1)  # first minimum, as R's stable sort(...)$ix[1]
        none = elim[:, 0] | ~adm.any(axis=1) | ~np.isfinite(dist.min(axis=1)) | self._extrasafe_stop(n[:, 0], y[:, 0])
        return np.where(none, -1, sel)

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]) -> MtdSelection:
        """Select the MTD as BOIN::select.mtd (Liu & Yuan 2015; Yan et al. 2020).

        * Doses are eliminated from the final data: the first dose with n >= 3 and
          Pr(p > target | data) > ``cutoff_eli`` under Beta(1, 1), and every dose above it.
          No dose is selected if the lowest dose is eliminated.
        * Isotonic estimates: posterior means under Beta(0.05, 0.05), (y + 0.05) / (n + 0.1),
          pooled by PAVA with weights 1 / posterior variance over the doses treated and not eliminated.
        * The MTD is the dose whose estimate is closest to the target.  Ties: BOIN adds
          (1, 2, ..., m) x 1e-10 to the m estimates before taking the first minimum, so among pooled
          doses the highest is chosen when the estimate is below the target and the lowest when it
          is above; between two distinct estimates equally far from the target the lower dose wins.
        * Reported estimates (``estimates``) are the PAVA estimates over *all* treated doses, and the
          95% intervals are the PAVA-smoothed Beta(y + 0.05, n - y + 0.05) 2.5% and 97.5% quantiles,
          as printed by select.mtd (BOIN indexes the interval by dose level rather than by treated
          dose, which differs only when an untreated dose lies below a treated one; we index by
          treated dose).
        """
        n, y = self._check_data(n_patients, n_dlt)
        state = TrialState.empty(1, self.n_doses)
        state.n[0], state.y[0] = n, y
        sel = int(self.select_batch(state)[0])
        elim = self._final_elimination(n[None, :], y[None, :])[0]
        trt = n > 0
        est: list[float | None] = [None] * self.n_doses
        lo: list[float | None] = [None] * self.n_doses
        hi: list[float | None] = [None] * self.n_doses
        if trt.any():
            nt, yt = n[trt].astype(float), y[trt].astype(float)
            a, b = yt + 0.05, nt - yt + 0.05
            wt = 1.0 / (a * b / ((nt + 0.1) ** 2 * (nt + 0.1 + 1)))
            p_all = pava(a / (nt + 0.1), wt)
            ci_l = pava([betaincinv(ai, bi, 0.025) for ai, bi in zip(a, b, strict=True)], wt)
            ci_u = pava([betaincinv(ai, bi, 0.975) for ai, bi in zip(a, b, strict=True)], wt)
            for k, i in enumerate(np.flatnonzero(trt)):
                est[i], lo[i], hi[i] = float(p_all[k]), float(ci_l[k]), float(ci_u[k])
        if sel >= 0:
            note = ("design.select.interval_selected", {"dose": sel + 1, "target": self.target})
        elif elim[0] or self._extrasafe_stop(n[:1], y[:1])[0]:
            note = ("design.select.lowest_eliminated", {})
        else:
            note = ("design.select.none_admissible", {})
        return MtdSelection(selected=sel if sel >= 0 else None, estimates=est, ci_lower=lo, ci_upper=hi,
                            eliminated=[bool(v) for v in elim], note_code=note[0], note_values=note[1])

    def describe(self) -> dict:
        out = super().describe() | {"cutoff_eli": self.cutoff_eli, "n_earlystop": self.n_earlystop,
                                    "bound_mtd": self.bound_mtd}
        if self.extrasafe:  # only when on, so that the parameters of existing designs are unchanged
            out |= {"extrasafe": True, "offset": self.offset}
        return out


class EquivalenceIntervalDesign(IntervalDesign):
    """An interval design defined by an equivalence interval [ei_lower, ei_upper] around the target
    (default target +/- 0.05): i3+3 (Liu, Wang & Ji 2020), mTPI-2 (Guo et al. 2017) and Keyboard
    (Yan, Mandrekar & Yuan 2017). Subclasses implement ``_boundaries``."""

    Params = EquivalenceParams

    def __init__(self, *, target: float, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, ei_lower: float | None = None, ei_upper: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 extrasafe: bool = False, offset: float = 0.05):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose, cutoff_eli=cutoff_eli, n_earlystop=n_earlystop,
                         bound_mtd=bound_mtd, extrasafe=extrasafe, offset=offset)
        # rounded so that 0.3 - 0.05 is 0.25 exactly, as when the EI is typed in R
        lo = round(self.target - 0.05, 10) if ei_lower is None else float(ei_lower)
        hi = round(self.target + 0.05, 10) if ei_upper is None else float(ei_upper)
        _check(0 < lo < self.target < hi < 1, f"need 0 < ei_lower < target < ei_upper < 1, got "
               f"[{lo}, {hi}] for target {self.target}", "ei_lower/ei_upper")
        self.ei_lower, self.ei_upper = lo, hi
        self.tables()  # build the decision table once, up front
