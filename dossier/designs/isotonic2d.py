"""Bivariate (matrix) isotonic regression: weighted least squares under the product order.

Given values ``x[i, j]`` with positive weights ``w[i, j]`` on a J x K grid, the bivariate isotonic
regression is the matrix ``f`` minimising ``sum w (x - f)^2`` subject to ``f`` non-decreasing along
every row and every column (``f[i, j] <= f[i + 1, j]`` and ``f[i, j] <= f[i, j + 1]``).  It is the
toxicity estimate of drug-combination designs: BOIN's ``select.mtd.comb`` and the waterfall design
call ``Iso::biviso`` (Turner's Fortran translation of Bril, Dykstra, Pillers & Robertson 1984,
Applied Statistics algorithm AS 206).

Two algorithms are implemented:

* :func:`biviso_batch` (used by the designs) -- the *minimum lower sets* algorithm (Brunk 1955;
  Robertson, Wright & Dykstra 1988, *Order Restricted Statistical Inference*, section 1.3, algorithm
  "minimum lower sets"): the smallest weighted average over the lower sets of the order is the
  fitted value on the largest lower set attaining it; remove that set and repeat on what is left.
  On a J x K grid a lower set is a "staircase" (row lengths ``r_1 >= r_2 >= ... >= r_J``), so there
  are only C(J + K, J) of them (56 for 3 x 5) and the averages of all of them for thousands of
  trials at once are one matrix product.  The result is exact (no iteration tolerance).
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
def _strict_supersets(n_rows: int, n_cols: int) -> np.ndarray:
    """sup[a, b]: lower set b strictly contains lower set a."""
    member, lens = lower_sets(n_rows, n_cols)
    ge = (lens[None, :, :] >= lens[:, None, :]).all(axis=2)
    return ge & (member.sum(axis=1)[None, :] > member.sum(axis=1)[:, None])


def biviso_batch(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bivariate isotonic regression of each ``x[t]`` (shape ``(T, J, K)``) with weights ``w[t]`` (> 0).

    Minimum lower sets algorithm (see the module docstring), vectorised over the T matrices: at each
    pass every unfinished matrix extends its current lower set ``L`` to the lower set ``L' > L`` with
    the smallest average of the cells ``L' \\ L``, which receive that average.  At most J*K passes.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    _check(x.ndim == 3 and w.shape == x.shape, "x and w must be arrays of shape (T, J, K)", "biviso")
    _check(bool(np.all(w > 0)), "bivariate isotonic regression needs positive weights", "biviso")
    T, J, K = x.shape
    C = J * K
    member, _ = lower_sets(J, K)
    xf, wf = x.reshape(T, C), w.reshape(T, C)
    sw = wf @ member.T.astype(float)        # (T, S) weight of every lower set
    sx = (wf * xf) @ member.T.astype(float)  # (T, S) weighted sum of every lower set
    # the search runs in single precision (half the memory traffic); the fitted values are then
    # computed in double precision from the level sets found
    sw32, sx32 = sw.astype(np.float32), sx.astype(np.float32)
    sup = _strict_supersets(J, K)
    full = len(member) - 1
    out = np.empty((T, C))
    cur = np.zeros(T, dtype=np.int64)  # index 0 is the empty set
    idx = np.arange(T)
    while idx.size:
        c = cur[idx]
        num = sx32[idx]
        num -= sx32[idx, c][:, None]
        den = sw32[idx]
        den -= sw32[idx, c][:, None]
        avg = np.full(num.shape, np.inf, dtype=np.float32)
        np.divide(num, den, out=avg, where=sup[c])  # only the strict supersets of the current set
        best = np.argmin(avg, axis=1)
        val = (sx[idx, best] - sx[idx, c]) / (sw[idx, best] - sw[idx, c])
        new = member[best] & ~member[c]
        out[idx] = np.where(new, val[:, None], out[idx])
        cur[idx] = best
        idx = idx[best != full]
    return out.reshape(T, J, K)


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
