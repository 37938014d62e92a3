"""Bivariate (matrix) isotonic regression: weighted least squares under the product order.

Given values ``x[i, j]`` with positive weights ``w[i, j]`` on a J x K grid, the bivariate isotonic
regression is the matrix ``f`` minimising ``sum w (x - f)^2`` subject to ``f`` non-decreasing along
every row and every column (``f[i, j] <= f[i + 1, j]`` and ``f[i, j] <= f[i, j + 1]``).  It is the
toxicity estimate of drug-combination designs: BOIN's ``select.mtd.comb`` and the waterfall design
call ``Iso::biviso`` (Turner's Fortran translation of Bril, Dykstra, Pillers & Robertson 1984,
Applied Statistics algorithm AS 206).

Two algorithms are implemented:

* :func:`biviso_ratio` / :func:`biviso_batch` (used by the designs, which pass whole-number
  numerators and weights to :func:`biviso_ratio`) -- the *minimum lower sets* algorithm (Brunk 1955;
  Robertson, Wright & Dykstra 1988, *Order Restricted Statistical Inference*, section 1.3, algorithm
  "minimum lower sets"): the smallest weighted average over the lower sets of the order is the
  fitted value on the largest lower set attaining it; remove that set and repeat on what is left.
  On a J x K grid a lower set is a "staircase" (row lengths ``r_1 >= r_2 >= ... >= r_J``), so there
  are only C(J + K, J) of them (56 for 3 x 5) and the averages of all of them for thousands of
  trials at once are one matrix product.  The result is exact (no iteration tolerance; see
  :func:`biviso_ratio` for the arithmetic), and cells pooled into one level set get one value.
* :func:`biviso_dykstra` (reference, one matrix) -- Dykstra & Robertson (1982), "An algorithm for
  isotonic regression for two or more independent variables", Ann Stat 10:708-716: cyclic
  projections onto the row-monotone and the column-monotone cones by one-dimensional PAVA, with
  Dykstra's correction terms, iterated to convergence.

Tests check the two against each other, against hand-worked matrices and against ``Iso::biviso``.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from dossier.designs.base import pava
from dossier.designs.blas import single_threaded_blas
from dossier.designs.state import _check


@lru_cache(maxsize=32)
def lower_sets(n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """All lower sets of the J x K grid under the product order, as a boolean matrix (sets x cells,
    cells in row-major order), and the row lengths of each set (sets x rows, non-increasing).

    A lower set contains, with every cell, all cells to its left and below it; it is fixed by its
    row lengths ``r_1 >= ... >= r_J`` in 0..K, i.e. by a lattice path: C(J + K, J) sets.
    """
    _check(n_rows >= 1 and n_cols >= 1, "the grid needs at least one row and one column", "grid")
    lengths = []
    # non-increasing sequences of length J over 0..K <-> J-subsets of J + K positions (stars and bars)
    for comb in combinations(range(n_rows + n_cols), n_rows):
        lengths.append([n_cols - (c - i) for i, c in enumerate(comb)])
    lens = np.array(lengths, dtype=np.int64)  # rows: r_1 >= r_2 >= ... >= r_J
    cols = np.arange(n_cols)
    member = (cols[None, None, :] < lens[:, :, None]).reshape(len(lens), n_rows * n_cols)
    order = np.argsort(member.sum(axis=1), kind="stable")  # empty set first, full set last
    return member[order], lens[order]


@lru_cache(maxsize=32)
def _search_tables(n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """The lower sets from the largest (the full grid, index 0) to the empty set (last), so that
    ``argmin`` takes the largest among tied sets; and ``sup[a, b]``: set b strictly contains set a."""
    member, lens = lower_sets(n_rows, n_cols)
    member, lens = member[::-1].copy(), lens[::-1].copy()
    ge = (lens[None, :, :] >= lens[:, None, :]).all(axis=2)
    size = member.sum(axis=1)
    return member, ge & (size[None, :] > size[:, None])


def biviso_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Bivariate isotonic regression of ``x = num / den`` with weights ``den`` (> 0), for each of
    T matrices (arrays of shape ``(T, J, K)``).

    Minimum lower sets algorithm (module docstring), vectorised over the T matrices: at each pass
    every unfinished matrix extends its current lower set ``L`` to the largest lower set ``L' > L``
    with the smallest average over ``L' \\ L``, whose cells receive that average.  At most J*K passes.

    Precision: averages are ratios of set sums ``sum(num) / sum(den)``.  When ``num`` and ``den``
    are integer arrays (the designs pass counts scaled to integers, e.g. 20y + 1 over 20n + 2 for
    (y + 0.05) / (n + 0.1)) whose sums stay below 2**23 in size, the set sums and their differences
    are exact in single precision, which the search then uses (half the memory traffic of double);
    exactly equal averages are then always recognised as ties.  Two different averages that agree
    to single precision (relative 6e-8) are also taken as tied, which can only move the fitted
    values by that order.  Otherwise the search runs in double precision.  The fitted values are
    computed in double precision from the level sets found.
    """
    num, den = np.asarray(num), np.asarray(den)
    _check(num.ndim == 3 and den.shape == num.shape, "x and w must be arrays of shape (T, J, K)", "biviso")
    _check(bool(np.all(den > 0)), "bivariate isotonic regression needs positive weights", "biviso")
    T, J, K = num.shape
    C = J * K
    member, sup = _search_tables(J, K)
    num, den = num.reshape(T, C), den.reshape(T, C)
    whole = np.issubdtype(num.dtype, np.integer) and np.issubdtype(den.dtype, np.integer)
    dtype = np.float32 if whole and T and max(np.abs(num).sum(axis=1).max(), den.sum(axis=1).max()) < 2**23 \
        else np.float64
    with single_threaded_blas():  # a tiny product: BLAS threads would only spin
        sets = member.T.astype(dtype)
        sx, sw = num.astype(dtype) @ sets, den.astype(dtype) @ sets   # sums over every lower set, (T, S)
    out = np.empty((T, C))
    # first pass, from the empty set (last): the smallest average over all non-empty lower sets
    best = np.argmin(sx[:, :-1] / sw[:, :-1], axis=1)
    o = np.repeat((sx[np.arange(T), best].astype(float) / sw[np.arange(T), best])[:, None], C, axis=1)
    rows = np.arange(T)                          # the unfinished matrices (all arrays compacted to them)
    ab = np.stack([sx, sw], axis=1)              # (m, 2, S)
    while True:
        going = best != 0                        # index 0 is the full grid
        if not going.all():
            out[rows[~going]] = o[~going]
            rows, ab, o, best = rows[going], ab[going], o[going], best[going]
            if not rows.size:
                break
        cur = best
        m = rows.size
        i = np.arange(m)
        at = ab[i, :, cur]                       # (m, 2): sums over the current set
        avg = np.full((m, len(member)), np.inf, dtype=dtype)
        np.divide(ab[:, 0] - at[:, :1], ab[:, 1] - at[:, 1:], out=avg, where=sup[cur])
        best = np.argmin(avg, axis=1)
        d = ab[i, :, best] - at
        val = d[:, 0].astype(float) / d[:, 1]
        # cells outside the current set get the new value; those outside the new set are overwritten later
        o = np.where(member[cur], o, val[:, None])
    return out.reshape(T, J, K)


def biviso_batch(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bivariate isotonic regression of each ``x[t]`` (shape ``(T, J, K)``) with weights ``w[t]`` (> 0)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    _check(x.ndim == 3 and w.shape == x.shape, "x and w must be arrays of shape (T, J, K)", "biviso")
    return biviso_ratio(w * x, w)


def biviso(x, w=None) -> np.ndarray:
    """Bivariate isotonic regression of one J x K matrix (weights default to 1)."""
    x = np.asarray(x, dtype=float)
    _check(x.ndim == 2, "x must be a matrix (J x K)", "biviso")
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    return biviso_batch(x[None], w[None])[0]


def biviso_dykstra(x, w=None, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """Reference: Dykstra & Robertson (1982) cyclic projections (row PAVA, column PAVA) with
    Dykstra's corrections, iterated until a full cycle changes no value by more than ``tol``."""
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    y = x.copy()
    p = np.zeros_like(x)
    q = np.zeros_like(x)
    for _ in range(max_iter):
        z = y + p
        u = np.vstack([pava(z[i], w[i]) for i in range(x.shape[0])])
        p = z - u
        z = u + q
        y_new = np.column_stack([pava(z[:, j], w[:, j]) for j in range(x.shape[1])])
        q = z - y_new
        if np.max(np.abs(y_new - y)) <= tol and np.max(np.abs(y_new - u)) <= tol:
            return y_new
        y = y_new
    return y
