"""The waterfall design: the maximum tolerated dose contour of a two-agent combination by BOIN subtrials.

References
----------
Zhang L, Yuan Y (2016). A practical Bayesian design to identify the maximum tolerated dose contour
    for drug combination trials. Stat Med 35(27):4924-4936.
Yan F, Zhang L, Zhou Y, Pan H, Liu S, Yuan Y (2020). BOIN: an R package ... J Stat Softw 94(13) --
    ``get.oc.comb(..., mtd.contour = TRUE)`` (version 2.7.2), whose rules and defaults we follow
    (our own code).

The J x K grid (J <= K; rows: agent A levels, columns: agent B levels) is explored by a sequence of
one-dimensional BOIN subtrials (:class:`~dossier.designs.boin.Boin` boundaries and elimination):

1. the first subtrial climbs the first column and then the top row: (1,1), (2,1), ..., (J,1), (J,2),
   ..., (J,K), starting at (1,1);
2. when a subtrial selects (j, k) (BOIN's isotonic selection along its path), the next subtrial is row
   j - 1 without its first column, (j-1, 2), ..., (j-1, K), starting at (j-1, k+1) (at (j-1, K) when
   k = K); the pairs (j, k+1), ..., (j, K) are eliminated;
3. when the first subtrial selects (j, 1) with j < J, rows j+1..J are eliminated; if the data at
   (j, 1) would still call for escalation, row j itself is explored next ((j,2), ..., (j,K) from (j,2))
   before moving down (if that subtrial selects nothing, (j, 1) stands);
4. the trial ends after row 1, when the sample size is used, or when a subtrial stops because its
   first pair is overly toxic (no selection from that subtrial).

Within a subtrial: cohorts of ``cohort_size``; elimination of the current pair and the rest of the
path at n >= 3 and Pr(p > target) > ``cutoff_eli``; escalation along the path unless the next pair
is eliminated; the subtrial stops after ``n_cohorts[s]`` cohorts or when the pair it moves to already
has ``n_earlystop`` (default 12) patients.

MTD contour: bivariate isotonic regression (:mod:`dossier.designs.isotonic2d`) of
(y + 0.05) / (n + 0.1) with weights n + 0.1, eliminated pairs set to 1.1 before the fit, plus
1e-5 x (j + k); in each row, from the top row down, the treated non-eliminated pair closest to the
target; as get.oc.comb, a row whose pair is not to the right of the pair selected in the row above
is moved to that column.  Two details of get.oc.comb are kept for comparability and documented here:
the data of a subtrial that stops for toxicity do not enter the final estimate (get.oc.comb also
drops its patients from the counts; our operating characteristics count them), and the same
boundaries are used throughout (get.oc.comb computes the subtrial boundaries with the default
p_saf / p_tox).  Titration and the extra-safe rule are not implemented for this design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dossier.designs.base import _check
from dossier.designs.boin import Boin
from dossier.designs.boin_comb import NO_PAIR, GridDesign, _unique_counts
from dossier.designs.comb_base import (
    CombOperatingCharacteristics,
    CombSelection,
    Pair,
    check_counts,
    check_grid,
    grid_list,
    summarize_comb,
)
from dossier.designs.isotonic2d import biviso_ratio
from dossier.wording import say

FIRST, SPECIAL, ROW = 0, 1, 2


def default_cohorts(n_rows: int, n_cols: int, cohort_size: int) -> list[int]:
    """get.oc.comb's default cohorts per subtrial: ceil(round(4 / cohort_size, 2) x path length)."""
    const = round(4 / cohort_size, 2)
    lengths = [n_rows + n_cols - 1] + [n_cols - 1] * (n_rows - 1)
    return [math.ceil(const * v) for v in lengths]


class Waterfall(GridDesign):
    """Waterfall design (Zhang & Yuan 2016) as simulated by BOIN::get.oc.comb(mtd.contour = TRUE).

    ``n_cohorts``: cohorts for each of the J subtrials (default: get.oc.comb's rule).
    """

    name = "waterfall"
    selects = "MTD contour"

    def __init__(self, *, target: float, n_rows: int, n_cols: int, cohort_size: int = 3,
                 n_cohorts: Sequence[int] | None = None, p_saf: float | None = None, p_tox: float | None = None,
                 cutoff_eli: float = 0.95, n_earlystop: int = 12, bound_mtd: bool = False):
        self._init_grid(n_rows, n_cols)
        J, K = self.shape
        _check(2 <= J <= K, f"the waterfall design needs 2 <= rows <= columns, got {J} x {K}", "n_rows/n_cols",
               "put the agent with fewer levels in the rows (transpose the grid)")
        cohorts = default_cohorts(J, K, cohort_size) if n_cohorts is None else [int(v) for v in n_cohorts]
        _check(len(cohorts) == J and all(v >= 1 for v in cohorts),
               f"n_cohorts needs one positive number of cohorts per subtrial ({J}), got {cohorts}", "n_cohorts")
        self.subtrial_cohorts = cohorts
        self.n_cohorts = sum(cohorts)
        # one path holds at most max(cohorts) cohorts; the Boin instance carries boundaries and the
        # subtrial's MTD selection (BOIN::select.mtd's rules, as waterfall.subtrial.mtd)
        self._boin = Boin(target=target, n_doses=J + K - 1, cohort_size=cohort_size, n_cohorts=max(cohorts),
                          p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli, n_earlystop=n_earlystop,
                          bound_mtd=bound_mtd)
        b = self._boin
        self.target, self.cohort_size = b.target, b.cohort_size
        self.p_saf, self.p_tox, self.lambda_e, self.lambda_d = b.p_saf, b.p_tox, b.lambda_e, b.lambda_d
        self.cutoff_eli, self.n_earlystop, self.bound_mtd = b.cutoff_eli, b.n_earlystop, b.bound_mtd
        self._esc, self._de, self._eli = b.tables(self.max_patients)
        L = J + K - 1
        paths = np.full((J + 1, L), NO_PAIR, dtype=np.int64)
        paths[0] = [r * K for r in range(J)] + [(J - 1) * K + c for c in range(1, K)]
        for r in range(J):
            paths[1 + r, :K - 1] = r * K + np.arange(1, K)
        self._paths = paths
        self._path_len = np.array([L] + [K - 1] * J)

    @property
    def max_patients(self) -> int:
        return self.n_cohorts * self.cohort_size

    def true_contour(self, p: np.ndarray) -> list[Pair]:
        """get.oc.comb's true MTD contour: per row the pair closest to the target, if its DLT
        probability is <= target + 0.05."""
        out = []
        for r in range(self.n_rows):
            k = int(np.argmin(np.abs(p[r] - self.target)))
            if p[r, k] <= self.target + 0.05:
                out.append((r, k))
        return out

    # --- MTD contour ---------------------------------------------------------------------------
    def _contour(self, n: np.ndarray, y: np.ndarray, elim: np.ndarray) -> np.ndarray:
        """Selected column per row (T, J), -1 for none, from (T, J, K) data and eliminations."""
        J, K = self.shape
        # (y + 0.05) / (n + 0.1), 1.1 where eliminated, weights n + 0.1: scaled by 200 to whole numbers
        # (exact set sums; see biviso_ratio)
        iso = biviso_ratio(np.where(elim, 220 * n + 22, 200 * y + 10), 200 * n + 20)
        ii, jj = np.meshgrid(np.arange(1, J + 1), np.arange(1, K + 1), indexing="ij")
        iso = iso + 1e-5 * (ii + jj)[None]
        adm = (n > 0) & ~elim
        dist = np.where(adm, np.abs(iso - self.target), np.inf)
        col = np.argmin(dist, axis=2)
        col = np.where(adm.any(axis=2) & ~elim[:, :, 0], col, NO_PAIR)
        for r in range(J - 2, -1, -1):
            above = col[:, r + 1]
            col[:, r] = np.where((col[:, r] >= 0) & (above >= 0) & (col[:, r] <= above), above, col[:, r])
        return col

    def _contour_mask(self, col: np.ndarray) -> np.ndarray:
        T, J = col.shape
        mask = np.zeros((T, J, self.n_cols), dtype=bool)
        t, r = np.nonzero(col >= 0)
        mask[t, r, col[t, r]] = True
        return mask

    def eliminated_from_data(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pairs at or above a pair whose data meet the elimination rule (BOIN::next.subtrial)."""
        hit = ((n >= 3) & (y >= self._boin.tables(int(n.max(initial=0)))[2][n])).reshape(-1)
        return (hit[:, None] & self._upper).any(axis=0).reshape(self.shape)

    def select_contour(self, n_patients, n_dlt, eliminated=None) -> CombSelection:
        """The MTD contour from one trial's data; eliminations default to :meth:`eliminated_from_data`."""
        n, y = check_counts(n_patients, n_dlt, self.shape)
        elim = self.eliminated_from_data(n, y) if eliminated is None else np.asarray(eliminated, dtype=bool)
        _check(elim.shape == self.shape, "eliminated needs one flag per dose pair", "eliminated")
        col = self._contour(n[None], y[None], elim[None])[0]
        sel = [(r, int(c)) for r, c in enumerate(col) if c >= 0]
        iso = biviso_ratio((20 * y + 1)[None], (20 * n + 2)[None])[0]
        note = ("design.comb.contour", {"pairs": [(j + 1, k + 1) for j, k in sel]}) if sel else \
            ("design.comb.no_pair", {})
        return CombSelection(design=self.name, target=self.target, selected=sel, estimates=grid_list(iso, n == 0),
                             eliminated=elim.tolist(), note_code=note[0], note_values=note[1])

    def next_subtrial(self, n_patients, n_dlt) -> dict:
        """After a subtrial: the pair it selects and where the next subtrial starts (cf. BOIN::next.subtrial).

        The current subtrial is the lowest row (without its first column) holding data, else the first
        subtrial.  Its pair is selected by BOIN's rule along its path; the next subtrial follows the
        rules of the simulation (module docstring), including step 3, which next.subtrial omits.
        Returns 0-based pairs: ``selected`` (None: no pair, the trial stops), ``next_row`` and ``start``
        (None when the trial ends), and a ``note``.
        """
        n, y = check_counts(n_patients, n_dlt, self.shape)
        J, K = self.shape
        rows_with_data = [r for r in range(J) if n[r, 1:].sum() > 0]
        path_id = 1 + min(rows_with_data) if rows_with_data else 0
        cells = self._paths[path_id][self._paths[path_id] >= 0]
        pn, py = n.reshape(-1)[cells][None], y.reshape(-1)[cells][None]
        sel = int(self._boin._select_distinct(pn, py)[0])
        if sel < 0:
            return {"selected": None, "next_row": None, "start": None,
                    "note": say("design.comb.subtrial_stop")}
        di, dj = self.pair(int(cells[sel]))
        escalate = bool(py[0, sel] <= self._esc[pn[0, sel]])
        if path_id == 0 and dj == 0 and di < J - 1 and escalate:
            return {"selected": (di, dj), "next_row": di, "start": (di, 1),
                    "note": say("design.comb.subtrial_explore_row")}
        if di == 0:
            return {"selected": (di, dj), "next_row": None, "start": None, "note": say("design.comb.subtrial_last_row")}
        return {"selected": (di, dj), "next_row": di - 1, "start": (di - 1, min(dj + 1, K - 1)),
                "note": say("design.comb.subtrial_next", a=di, b=min(dj + 1, K - 1) + 1)}

    # --- simulation ------------------------------------------------------------------------------
    def run(self, p_true, n_trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Per-trial outcomes: ``n``, ``y`` (all patients), ``n_sel``, ``y_sel`` (the data entering the
        contour estimate, as get.oc.comb records them), ``elim`` and ``contour`` (T, J) columns."""
        p = check_grid(p_true, "p_true", self.shape).reshape(-1)
        _check(isinstance(n_trials, int | np.integer) and n_trials >= 1, "n_trials must be a positive integer",
               "n_trials")
        T, J, K, c = int(n_trials), self.n_rows, self.n_cols, self.cohort_size
        C, L = J * K, self._paths.shape[1]
        U = rng.random((T, self.max_patients))
        n = np.zeros((T, C), dtype=np.int64)
        y = np.zeros((T, C), dtype=np.int64)
        excluded = np.zeros((T, C), dtype=bool)
        elim = np.zeros((T, C), dtype=bool)
        path = np.zeros(T, dtype=np.int64)
        pos = np.zeros(T, dtype=np.int64)
        kind = np.full(T, FIRST)
        sub = np.zeros(T, dtype=np.int64)          # subtrial number (indexes subtrial_cohorts)
        used = np.zeros(T, dtype=np.int64)         # cohorts used in the current subtrial
        fallback = np.zeros(T, dtype=np.int64)     # selection standing if a SPECIAL subtrial selects nothing
        sub_elm = np.zeros((T, L), dtype=bool)
        active = np.ones(T, dtype=bool)
        budget = np.array(self.subtrial_cohorts)
        lidx = np.arange(L)
        for tick in range(self.n_cohorts):
            act = np.flatnonzero(active)
            if act.size == 0:
                break
            pa, po = path[act], pos[act]
            cell = self._paths[pa, po]
            tox = (U[act, tick * c:(tick + 1) * c] < p[cell][:, None]).sum(axis=1)
            n[act, cell] += c
            y[act, cell] += tox
            used[act] += 1
            nd, yd = n[act, cell], y[act, cell]
            elim_now = yd >= self._eli[nd]
            sub_elm[act] |= elim_now[:, None] & (lidx[None, :] >= po[:, None])
            fail = elim_now & (po == 0)
            plen = self._path_len[pa]
            up = (yd <= self._esc[nd]) & (po != plen - 1)
            blocked = sub_elm[act, np.minimum(po + 1, L - 1)]
            down = ~up & (yd >= self._de[nd]) & (po != 0)
            new = np.where(up & ~blocked, po + 1, np.where(down, po - 1, po))
            pos[act] = np.where(fail, po, new)
            new_cell = self._paths[pa, pos[act]]
            end = fail | (n[act, new_cell] >= self.n_earlystop) | (used[act] >= budget[sub[act]])
            if end.any():
                self._end_subtrials(act[end], fail[end], n, y, excluded, elim, path, pos, kind, sub, used,
                                    fallback, sub_elm, active)
        n_sel, y_sel = np.where(excluded, 0, n), np.where(excluded, 0, y)
        shape = (T, J, K)
        # the contour of each distinct final data set (trials often end alike)
        uniq, inv = _unique_counts(np.concatenate([n_sel, y_sel, elim.astype(np.int64)], axis=1))
        ushape = (len(uniq), J, K)
        contour = self._contour(uniq[:, :C].reshape(ushape), uniq[:, C:2 * C].reshape(ushape),
                                uniq[:, 2 * C:].astype(bool).reshape(ushape))[inv]
        return {"n": n.reshape(shape), "y": y.reshape(shape), "n_sel": n_sel.reshape(shape),
                "y_sel": y_sel.reshape(shape), "elim": elim.reshape(shape), "contour": contour}

    def _end_subtrials(self, idx, failed, n, y, excluded, elim, path, pos, kind, sub, used, fallback, sub_elm,
                       active) -> None:
        """Close the subtrials of trials ``idx``: select along the path, then open the next subtrial or stop."""
        J, K = self.shape
        cells = self._paths[path[idx]]                       # (m, L), -1 padded
        valid = cells >= 0
        safe = np.where(valid, cells, 0)
        pn = np.where(valid, n[idx[:, None], safe], 0)
        py = np.where(valid, y[idx[:, None], safe], 0)
        uniq, inv = _unique_counts(np.concatenate([pn, py], axis=1))   # select once per distinct path data
        L = pn.shape[1]
        sel = self._boin._select_distinct(uniq[:, :L], uniq[:, L:])[inv]  # BOIN::select.mtd along the path
        sel = np.where(failed, NO_PAIR, sel)
        k = kind[idx]
        ok = sel >= 0
        rows = np.arange(len(idx))
        sel_cell = np.where(ok, cells[rows, np.maximum(sel, 0)], NO_PAIR)
        sel_safe = np.maximum(sel, 0)
        is_esc = ok & (py[rows, sel_safe] <= self._esc[pn[rows, sel_safe]])
        # record the subtrial: its running eliminations (all of it when it stopped for toxicity)
        drop = ~ok & (k != SPECIAL)                          # get.oc.comb discards such a subtrial's data
        elm = np.where(failed[:, None], True, sub_elm[idx])
        rec = valid & ~drop[:, None]
        t_rec, l_rec = np.nonzero(rec)
        elim[idx[t_rec], cells[t_rec, l_rec]] = elm[t_rec, l_rec]
        t_drop, l_drop = np.nonzero(valid & drop[:, None])
        excluded[idx[t_drop], cells[t_drop, l_drop]] = True
        # the pair standing after this subtrial
        standing = np.where(k == SPECIAL, np.where(ok, sel_cell, fallback[idx]), sel_cell)
        di, dj = standing // K, standing % K
        stop = drop.copy()
        special = (k == FIRST) & ok & (dj == 0) & (di < J - 1)
        if special.any():
            t = idx[special]
            elim[t] |= (np.arange(J * K) // K)[None, :] > di[special][:, None]
        go_special = special & is_esc & (sub[idx] + 1 < J)
        # next subtrial: row di (special) or row di - 1 (generic)
        generic = ~stop & ~go_special
        stop |= generic & (di == 0)
        nxt = generic & ~stop
        if nxt.any():
            t = idx[nxt]
            r, cj = di[nxt], dj[nxt]
            right = (np.arange(J * K) // K == r[:, None]) & (np.arange(J * K) % K > cj[:, None])
            elim[t] |= right
        sub_next = sub[idx] + 1
        stop |= (go_special | nxt) & (sub_next >= J)
        total = n[idx].sum(axis=1)
        stop |= total >= self.max_patients
        start_special = go_special & ~stop
        start_row = nxt & ~stop
        active[idx[stop]] = False
        for mask, row, start, knd in ((start_special, di, np.zeros_like(dj), SPECIAL),
                                      (start_row, di - 1, np.minimum(dj, K - 2), ROW)):
            if mask.any():
                t = idx[mask]
                path[t] = 1 + row[mask]
                pos[t] = start[mask]
                kind[t] = knd
                sub[t] = sub_next[mask]
                used[t] = 0
                sub_elm[t] = False
                fallback[t] = standing[mask]

    def simulate(self, p_true, n_trials: int, rng: np.random.Generator) -> CombOperatingCharacteristics:
        """Operating characteristics per dose pair: % of trials with the pair in the selected contour,
        patients and DLTs; a trial is correct when its contour equals the true contour exactly."""
        p = check_grid(p_true, "p_true", self.shape)
        out = self.run(p, n_trials, rng)
        selected = self._contour_mask(out["contour"])
        truth = np.zeros(self.shape, dtype=bool)
        for r, k in self.true_contour(p):
            truth[r, k] = True
        correct = (selected == truth[None]).all(axis=(1, 2)) & truth.any()
        return summarize_comb(self, p, out["n"], out["y"], selected, self.true_contour(p), correct=correct)

    def describe(self) -> dict:
        return {"design": self.name, "target": self.target, "n_rows": self.n_rows, "n_cols": self.n_cols,
                "cohort_size": self.cohort_size, "n_cohorts": list(self.subtrial_cohorts), "p_saf": self.p_saf,
                "p_tox": self.p_tox, "lambda_e": self.lambda_e, "lambda_d": self.lambda_d,
                "cutoff_eli": self.cutoff_eli, "n_earlystop": self.n_earlystop, "bound_mtd": self.bound_mtd}
