"""BOIN for drug combinations: the Bayesian optimal interval design on a dose-pair grid.

References
----------
Lin R, Yin G (2017). Bayesian optimal interval design for dose finding in drug-combination trials.
    Stat Methods Med Res 26(5):2155-2167.
Yan F, Zhang L, Zhou Y, Pan H, Liu S, Yuan Y (2020). BOIN: an R package for designing single-agent
    and drug-combination dose-finding trials using Bayesian optimal interval designs. J Stat Softw
    94(13) -- ``get.oc.comb()`` (simulation) and ``select.mtd.comb()``, version 2.7.2, whose rules
    and defaults we follow (our own code).

Rules (after each cohort, at the current pair (j, k), with n patients and y DLTs there):

* boundaries: BOIN's lambda_e, lambda_d (:func:`dossier.designs.boin.boin_lambdas`), on counts as
  ``get.boundary``: escalate if y <= floor(lambda_e n), de-escalate if y >= ceil(lambda_d n);
* elimination: if n >= 3 and Pr(p > target | y, n) > ``cutoff_eli`` (Beta(1, 1) prior) the pair and
  every pair with both levels at least as high are eliminated; if that is the lowest pair (1, 1) the
  trial stops with no MTD (``extrasafe``: also when Pr(p_11 > target) > cutoff_eli - offset);
* escalate: among the admissible pairs {(j+1, k), (j, k+1)} (inside the grid, not eliminated) move to
  the one with the largest Pr(lambda_e < p < lambda_d | data) under a Beta(0.5, 0.5) prior, plus
  0.0005 x its number of patients (get.oc.comb's tie-break towards the better-studied pair); remaining
  ties are broken at random; no admissible pair: stay;
* de-escalate: the same choice among {(j-1, k), (j, k-1)} inside the grid; at (1, 1): stay;
* otherwise stay;
* optional convergence stop: when ``n_earlystop`` patients have been treated at the current pair and
  the decision is to stay (or escalation/de-escalation is impossible), the trial stops.

MTD selection (``select.mtd.comb``): pairs are eliminated from the final data row by row -- in each
row the first pair with n >= 3 and Pr(p > target) > cutoff_eli is eliminated with the pairs above it
in its column and to its right in its row; no MTD if (1, 1) is eliminated.  The estimates are the
bivariate isotonic regression (:mod:`dossier.designs.isotonic2d`) of (y + 0.05) / (n + 0.1) with
weights n + 0.1 over the whole grid (untreated pairs included, as Iso::biviso is called); eliminated
pairs are set to 1.1, untreated pairs excluded; 1e-5 x (j + k) is added to break ties towards
lower pairs, and the MTD is the pair closest to the target (first in column-major order among exact
ties).  ``bound_mtd``: pairs whose estimate is >= lambda_d cannot be selected.

Where the BOIN package's single-trial helper ``next.comb`` differs from its simulator
``get.oc.comb`` (it also skips a neighbour when an observed rate in the row/column below it reaches
lambda_d, and stops whenever n >= n_earlystop at the current pair), we follow ``get.oc.comb``, so
that :meth:`BoinComb.decide` and :meth:`BoinComb.simulate` use one rule.  Titration (cohorts of one
at the start) is not implemented.
"""

from __future__ import annotations

import numpy as np

from dossier.designs.base import _check, unique_rows
from dossier.designs.boin import Boin
from dossier.designs.comb_base import (
    CombDecision,
    CombOperatingCharacteristics,
    CombSelection,
    Pair,
    check_counts,
    check_grid,
    grid_list,
    summarize_comb,
    true_mtd_pairs,
)
from dossier.designs.interval import NEVER
from dossier.designs.isotonic2d import biviso_ratio

NO_PAIR = -1


def _unique_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative count matrix and each row's index among them (rows packed into
    bytes and compared whole: faster than a column-by-column lexsort for wide rows)."""
    if len(a) == 0 or a.max(initial=0) > np.iinfo(np.uint16).max:
        return unique_rows(a)
    packed = np.ascontiguousarray(a.astype(np.uint16)).view(np.dtype((np.void, 2 * a.shape[1]))).ravel()
    _, first, inv = np.unique(packed, return_index=True, return_inverse=True)
    return a[first], inv.ravel()


class GridDesign:
    """Geometry of a J x K dose-pair grid, cells in row-major order (cell = j * K + k)."""

    def _init_grid(self, n_rows: int, n_cols: int) -> None:
        _check(isinstance(n_rows, int | np.integer) and n_rows >= 1 and isinstance(n_cols, int | np.integer)
               and n_cols >= 1 and n_rows * n_cols >= 2,
               f"the grid needs positive numbers of levels of each agent, got {n_rows} x {n_cols}", "n_rows/n_cols")
        self.n_rows, self.n_cols = int(n_rows), int(n_cols)
        J, K = self.n_rows, self.n_cols
        cells = np.arange(J * K)
        r, c = cells // K, cells % K
        self._row, self._col = r, c
        self._up_a = np.where(r < J - 1, cells + K, NO_PAIR)    # (j+1, k)
        self._up_b = np.where(c < K - 1, cells + 1, NO_PAIR)    # (j, k+1)
        self._down_a = np.where(r > 0, cells - K, NO_PAIR)      # (j-1, k)
        self._down_b = np.where(c > 0, cells - 1, NO_PAIR)      # (j, k-1)
        self._upper = (r[None, :] >= r[:, None]) & (c[None, :] >= c[:, None])  # upper[cell]: pairs >= cell
        self._colmajor = np.argsort(c * J + r, kind="stable")  # cells in R's column-major order

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_cols

    def pair(self, cell: int) -> Pair:
        return int(cell) // self.n_cols, int(cell) % self.n_cols

    def cell(self, pair) -> int:
        j, k = (int(v) for v in pair)
        _check(0 <= j < self.n_rows and 0 <= k < self.n_cols, f"dose pair {(j, k)} is outside the "
               f"{self.n_rows} x {self.n_cols} grid", "dose pair", "pairs are 0-based in Python, 1-based on the CLI")
        return j * self.n_cols + k


class BoinComb(GridDesign):
    """BOIN drug-combination design (Lin & Yin 2017) as simulated by BOIN::get.oc.comb (see module doc).

    ``n_rows`` (J) levels of agent A, ``n_cols`` (K) levels of agent B; ``n_cohorts`` cohorts of
    ``cohort_size`` in total; ``start`` is the 0-based starting pair.
    """

    name = "boin-comb"
    selects = "MTD"

    def __init__(self, *, target: float, n_rows: int, n_cols: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start: Pair = (0, 0), p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 100, bound_mtd: bool = False,
                 extrasafe: bool = False, offset: float = 0.05):
        self._init_grid(n_rows, n_cols)
        # the single-agent BOIN carries the boundary table (and all its parameter checks)
        self._boin = Boin(target=target, n_doses=1, cohort_size=cohort_size, n_cohorts=n_cohorts, p_saf=p_saf,
                          p_tox=p_tox, cutoff_eli=cutoff_eli, n_earlystop=n_earlystop, extrasafe=extrasafe,
                          offset=offset)
        b = self._boin
        self.target, self.cohort_size, self.n_cohorts = b.target, b.cohort_size, b.n_cohorts
        self.p_saf, self.p_tox, self.lambda_e, self.lambda_d = b.p_saf, b.p_tox, b.lambda_e, b.lambda_d
        self.cutoff_eli, self.n_earlystop, self.extrasafe, self.offset = b.cutoff_eli, b.n_earlystop, b.extrasafe, \
            b.offset
        self.bound_mtd = bool(bound_mtd)
        self.start = self.pair(self.cell(start))
        self._prob_table(self.max_patients)

    @property
    def max_patients(self) -> int:
        return self.n_cohorts * self.cohort_size

    def _prob_table(self, n_max: int) -> None:
        """score[n, y] = Pr(lambda_e < p < lambda_d | y of n, Beta(0.5, 0.5)) + 0.0005 n, and the tables."""
        if getattr(self, "_score", None) is not None and self._score.shape[0] > n_max:
            return
        from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

        n = np.arange(n_max + 1)[:, None]
        y = np.arange(n_max + 1)[None, :]
        ok = y <= n
        a, b = np.where(ok, y + 0.5, 1.0), np.where(ok, n - y + 0.5, 1.0)
        pr = special.betainc(a, b, self.lambda_d) - special.betainc(a, b, self.lambda_e)
        self._score = np.where(ok, pr + 5e-4 * n, 0.0)
        self._esc, self._de, self._eli = self._boin.tables(n_max)
        self._stop = self._boin.stop_boundary(n_max) if self.extrasafe else None

    # --- one decision for many trials ---------------------------------------------------------
    def _step(self, n: np.ndarray, y: np.ndarray, cur: np.ndarray, elim: np.ndarray, u: np.ndarray,
              score_grid: np.ndarray | None = None):
        """Decide for T trials at once (flattened grids, ``elim`` updated in place).

        ``score_grid`` (T, C), if given, holds each pair's current score (kept up to date by the
        simulator, which changes one pair per trial and cohort); otherwise it is computed here.
        Returns (next cell, stop, no_mtd, n_candidates, tied, (escalated, de-escalated)), arrays of shape (T,).
        """
        T = n.shape[0]
        rows = np.arange(T)
        nd, yd = n[rows, cur], y[rows, cur]
        if score_grid is None:
            score_grid = self._score[n, y]
        elim_now = yd >= self._eli[nd]
        elim |= elim_now[:, None] & self._upper[cur]
        safety = elim_now & (cur == 0)
        if self.extrasafe:
            safety |= (cur == 0) & (self._eli[nd] < NEVER) & (yd >= self._stop[nd])
        esc = yd <= self._esc[nd]
        de = (yd >= self._de[nd]) & ~esc

        # the two neighbours a move could go to: up when escalating, down when de-escalating (-1: none)
        a_cell = np.where(esc, self._up_a[cur], np.where(de, self._down_a[cur], NO_PAIR))
        b_cell = np.where(esc, self._up_b[cur], np.where(de, self._down_b[cur], NO_PAIR))
        base = rows * n.shape[1]
        elim_flat, score_flat = elim.reshape(-1), score_grid.reshape(-1)

        def score(nb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            at = base + np.maximum(nb, 0)
            ok = (nb >= 0) & ~(esc & elim_flat[at])  # an eliminated pair cannot be escalated to
            return ok, np.where(ok, score_flat[at], 0.0)

        ok_a, s_a = score(a_cell)
        ok_b, s_b = score(b_cell)
        # R: which(pr == max)[as.integer(runif(1) * n_ties + 1)]
        tied = ok_a & ok_b & (s_a == s_b)
        take_a = ok_a & ((s_a > s_b) | (tied & (u < 0.5)))
        can_move = ok_a | ok_b
        nxt = np.where(take_a, a_cell, np.where(ok_b, b_cell, cur))
        n_cand = ok_a.astype(np.int64) + ok_b
        converge = (nd >= self.n_earlystop) & (~esc | ~can_move) & (~de | (cur == 0))
        stop = safety | converge
        return nxt, stop, safety, n_cand, tied, (esc & can_move, de & can_move)

    # --- final selection ----------------------------------------------------------------------
    def _final_elimination(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """select.mtd.comb's elimination, (T, J, K): per row the first pair meeting the rule, its column
        above it and its row to its right; everything when extrasafe's rule holds at (1, 1)."""
        T = n.shape[0]
        J, K = self.shape
        hit = (n >= 3) & (y >= self._eli[n])
        exists = hit.any(axis=2)                            # (T, J)
        j0 = np.argmax(hit, axis=2)                         # first hit per row
        cols = np.arange(K)
        row_part = exists[:, :, None] & (cols[None, None, :] >= j0[:, :, None])
        col_hit = exists[:, :, None] & (cols[None, None, :] == j0[:, :, None])
        col_part = np.cumsum(col_hit, axis=1) > 0           # the column from that row upwards
        elim = row_part | col_part
        if self.extrasafe:
            es = (n[:, 0, 0] >= 3) & (y[:, 0, 0] >= self._boin.stop_boundary(int(n.max(initial=0)))[n[:, 0, 0]])
            elim |= es[:, None, None]
        return elim.reshape(T, J, K)

    def _estimates(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        # (y + 0.05) / (n + 0.1) with weights n + 0.1, in whole numbers (exact set sums; see biviso_ratio)
        return biviso_ratio(20 * y + 1, 20 * n + 2)

    def _select_distinct(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Selected cell (or -1) for each distinct final data set, (T, J, K) -> (T,)."""
        T = n.shape[0]
        J, K = self.shape
        self._prob_table(int(n.max(initial=0)))
        elim = self._final_elimination(n, y)
        iso = self._estimates(n, y)
        treated = n > 0
        ii, jj = np.meshgrid(np.arange(1, J + 1), np.arange(1, K + 1), indexing="ij")
        est = np.where(elim, 1.1, iso) * treated + 1e-5 * (ii + jj)[None]
        none = elim[:, 0, 0].copy()
        if self.bound_mtd:
            none |= ~np.any(treated & (est < self.lambda_d), axis=(1, 2))
            est = np.where(est >= self.lambda_d, 10.0, est)
        est = np.where(treated, est, 10.0)
        dist = np.abs(est - self.target).reshape(T, J * K)[:, self._colmajor]
        sel = self._colmajor[np.argmin(dist, axis=1)]
        return np.where(none, NO_PAIR, sel)

    def select_batch(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Selected cell (row-major index) or -1 for each of T trials' final data (T, J, K)."""
        flat = np.concatenate([n.reshape(len(n), -1), y.reshape(len(y), -1)], axis=1)
        uniq, inv = _unique_counts(flat)
        C = self.n_rows * self.n_cols
        un = uniq[:, :C].reshape(-1, *self.shape)
        uy = uniq[:, C:].reshape(-1, *self.shape)
        return self._select_distinct(un, uy)[inv]

    def select_mtd(self, n_patients, n_dlt) -> CombSelection:
        """The MTD pair from one trial's J x K patient and DLT matrices (BOIN::select.mtd.comb)."""
        n, y = check_counts(n_patients, n_dlt, self.shape)
        sel = int(self.select_batch(n[None], y[None])[0])
        elim = self._final_elimination(n[None], y[None])[0]
        iso = self._estimates(n[None], y[None])[0]
        if sel >= 0:
            j, k = self.pair(sel)
            note = ("design.comb.pair_selected", {"a": j + 1, "b": k + 1, "target": self.target})
        elif elim[0, 0]:
            note = ("design.comb.lowest_pair_eliminated", {})
        else:
            note = ("design.comb.no_pair_admissible", {})
        return CombSelection(design=self.name, target=self.target, selected=[] if sel < 0 else [self.pair(sel)],
                             estimates=grid_list(iso, n == 0), eliminated=elim.tolist(),
                             note_code=note[0], note_values=note[1])

    # --- single-trial decision ----------------------------------------------------------------
    def eliminated_from_data(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pairs excluded during the trial: every pair at or above a pair whose data meet the rule.

        During a trial the rule is checked at the current pair after each cohort and data change
        only there, so this reconstruction equals the simulator's running elimination."""
        self._prob_table(int(n.max(initial=0)))
        hit = ((n >= 3) & (y >= self._eli[n])).reshape(-1)
        return (hit[:, None] & self._upper).any(axis=0).reshape(self.shape)

    def decide(self, n_patients, n_dlt, current: Pair, rng: np.random.Generator) -> CombDecision:
        """The next dose pair after the last cohort, treated at ``current`` (0-based), from the data.

        ``rng`` breaks ties between equally supported neighbours (as the R package does at random).
        """
        n, y = check_counts(n_patients, n_dlt, self.shape)
        cur = self.cell(current)
        _check(n.reshape(-1)[cur] > 0, "no patient has been treated at the current dose pair", "current",
               "the current pair is the pair of the last cohort")
        self._prob_table(int(n.max()))
        elim = self.eliminated_from_data(n, y).reshape(1, -1)
        u = rng.random(1)
        nxt, stop, safety, n_cand, tied, (esc, de) = self._step(n.reshape(1, -1), y.reshape(1, -1),
                                                                 np.array([cur]), elim, u)
        el = elim.reshape(self.shape).tolist()
        if safety[0]:
            return CombDecision(action="stop_no_mtd", next_pair=None, eliminated=el,
                                note_code="design.comb.stop_lowest_toxic")
        if stop[0]:
            return CombDecision(action="stop_select", next_pair=None, eliminated=el,
                                note_code="design.comb.stop_earlystop", note_values={"n": self.n_earlystop})
        j, k = self.pair(cur)
        if esc[0]:
            cands = [p for p in ((j + 1, k), (j, k + 1)) if p[0] < self.n_rows and p[1] < self.n_cols
                     and not el[p[0]][p[1]]]
        elif de[0]:
            cands = [p for p in ((j - 1, k), (j, k - 1)) if p[0] >= 0 and p[1] >= 0]
        else:
            cands = []
        nxt_pair = self.pair(int(nxt[0]))
        action = "escalate" if esc[0] else "deescalate" if de[0] else "stay"
        return CombDecision(action=action, next_pair=nxt_pair, candidates=cands, tied=bool(tied[0]), eliminated=el)

    # --- simulation ---------------------------------------------------------------------------
    def run(self, p_true, n_trials: int, rng: np.random.Generator):
        """Per-trial outcomes of ``n_trials`` simulated trials: n, y (T, J, K), selected cell (T,), no_mtd (T,).

        All trials step in lock-step (one Python iteration per cohort); patient ``i`` of trial ``t`` has a
        DLT at pair c iff ``U[t, i] < p[c]`` (one uniform per patient slot), ties use one uniform per cohort.
        """
        p = check_grid(p_true, "p_true", self.shape).reshape(-1)
        _check(isinstance(n_trials, int | np.integer) and n_trials >= 1, "n_trials must be a positive integer",
               "n_trials")
        T, C, c = int(n_trials), p.size, self.cohort_size
        U = rng.random((T, self.max_patients))
        V = rng.random((T, self.n_cohorts))
        n = np.zeros((T, C), dtype=np.int64)
        y = np.zeros((T, C), dtype=np.int64)
        elim = np.zeros((T, C), dtype=bool)
        cur = np.full(T, self.cell(self.start), dtype=np.int64)
        active = np.ones(T, dtype=bool)
        no_mtd = np.zeros(T, dtype=bool)
        rows = np.arange(T)
        score_grid = np.full((T, C), self._score[0, 0])
        n_flat, y_flat, s_flat = n.ravel(), y.ravel(), score_grid.ravel()  # views: one flat index per trial
        for k in range(self.n_cohorts):
            pd = np.where(active, p[cur], -1.0)
            tox = (U[:, k * c:(k + 1) * c] < pd[:, None]).sum(axis=1)
            at = rows * C + cur
            n_at = n_flat[at] + c * active
            y_at = y_flat[at] + tox
            n_flat[at] = n_at
            y_flat[at] = y_at
            if k == self.n_cohorts - 1:
                break
            s_flat[at] = self._score[n_at, y_at]
            if active.mean() > 0.6:  # decide for all trials (stopped ones are masked) ...
                nxt, stop, safety, *_ = self._step(n, y, cur, elim, V[:, k], score_grid)
                stop &= active
            else:                    # ... or only for the running ones, when few are left
                idx = np.flatnonzero(active)
                sub_elim = elim[idx]
                nxt_s, stop_s, safety_s, *_ = self._step(n[idx], y[idx], cur[idx], sub_elim, V[idx, k],
                                                         score_grid[idx])
                elim[idx] = sub_elim
                nxt, stop, safety = cur.copy(), np.zeros(T, dtype=bool), np.zeros(T, dtype=bool)
                nxt[idx], stop[idx], safety[idx] = nxt_s, stop_s, safety_s
            no_mtd |= stop & safety
            active &= ~stop
            cur = np.where(active, nxt, cur)
            if not active.any():
                break
        n3, y3 = n.reshape(T, *self.shape), y.reshape(T, *self.shape)
        sel = np.where(no_mtd, NO_PAIR, self.select_batch(n3, y3))
        return n3, y3, sel, no_mtd

    def simulate(self, p_true, n_trials: int, rng: np.random.Generator) -> CombOperatingCharacteristics:
        """Operating characteristics per dose pair over ``n_trials`` simulated trials (vectorised)."""
        p = check_grid(p_true, "p_true", self.shape)
        n, y, sel, _ = self.run(p, n_trials, rng)
        selected = np.zeros(n.shape, dtype=bool)
        ok = sel >= 0
        selected.reshape(len(sel), -1)[np.flatnonzero(ok), sel[ok]] = True
        return summarize_comb(self, p, n, y, selected, true_mtd_pairs(p, self.target))

    def describe(self) -> dict:
        return {"design": self.name, "target": self.target, "n_rows": self.n_rows, "n_cols": self.n_cols,
                "cohort_size": self.cohort_size, "n_cohorts": self.n_cohorts, "start": list(self.start),
                "p_saf": self.p_saf, "p_tox": self.p_tox, "lambda_e": self.lambda_e, "lambda_d": self.lambda_d,
                "cutoff_eli": self.cutoff_eli, "n_earlystop": self.n_earlystop, "bound_mtd": self.bound_mtd,
                "extrasafe": self.extrasafe}
