"""What the drug-combination designs share: dose-pair grids, typed results and operating characteristics.

A combination trial doses two agents; agent A has J levels (grid rows) and agent B has K levels
(grid columns).  Data are J x K matrices of patients and DLTs per dose pair.  Dose pairs are 0-based
``(row, column)`` tuples in Python and 1-based ``(A level, B level)`` on the command line and in
documents.  Toxicity is assumed to increase with the level of either agent (the product order), so
the MTD is generally not unique: the dose pairs with toxicity closest to the target form the *MTD
contour*.

Operating characteristics (:class:`CombOperatingCharacteristics`) are reported per dose pair, each
with its Monte Carlo standard error: binomial sqrt(p(100 - p) / N) for percentages, SD / sqrt(N) for
means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from dossier.designs.state import _check
from dossier.wording import Noted

Pair = tuple[int, int]


class CombDecision(Noted):
    """A single-trial decision on the dose-pair grid (0-based pairs).

    ``candidates`` lists the admissible pairs the rule chose among (ties broken at random with the
    generator passed to ``decide``); ``tied`` says whether the choice was a tie.
    """

    model_config = ConfigDict(frozen=True)

    action: str  # escalate / stay / deescalate / stop_select / stop_no_mtd
    next_pair: Pair | None
    candidates: list[Pair] = []
    tied: bool = False
    eliminated: list[list[bool]]


class CombSelection(Noted):
    """The dose pair(s) selected at the end of a combination trial, with the estimates behind them.

    ``selected`` holds one pair for an MTD design (BOIN combination) and one pair per row of the
    MTD contour for the waterfall design; empty when no pair is selected.  ``estimates`` is the
    bivariate isotonic estimate of the DLT probability per pair (``None`` where nobody was treated).
    """

    model_config = ConfigDict(frozen=True)

    design: str
    target: float
    selected: list[Pair]
    estimates: list[list[float | None]]
    eliminated: list[list[bool]]


class CombOperatingCharacteristics(BaseModel):
    """Operating characteristics of a combination design under one true toxicity matrix (percentages 0-100)."""

    design: str
    design_params: dict
    target: float
    p_true: list[list[float]]
    n_trials: int
    true_mtd: list[Pair]
    selection_pct: list[list[float]]
    no_selection_pct: float
    pct_correct_selection: float
    mean_patients: list[list[float]]
    mean_dlt: list[list[float]]
    mean_total_patients: float
    mean_total_dlt: float
    pct_patients_at_mtd: float
    mc_se: dict[str, float | list[list[float]]]


def check_grid(p, where: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A J x K matrix of probabilities (one per dose pair)."""
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as exc:
        raise _err(f"the toxicity matrix must be numbers: {exc}", where) from None
    _check(arr.ndim == 2 and arr.size >= 2, f"need a J x K matrix (rows: agent A levels, columns: agent B "
           f"levels), got shape {arr.shape}", where)
    _check(bool(np.all((arr >= 0) & (arr <= 1))), "probabilities must be in [0, 1]", where)
    if shape is not None:
        _check(arr.shape == shape, f"need a {shape[0]} x {shape[1]} matrix, got {arr.shape[0]} x {arr.shape[1]}",
               where)
    return arr


def check_counts(n_patients, n_dlt, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Patients and DLTs per dose pair as two J x K integer matrices with 0 <= DLTs <= patients."""
    try:
        n = np.asarray(n_patients, dtype=float)
        y = np.asarray(n_dlt, dtype=float)
    except (TypeError, ValueError) as exc:
        raise _err(f"patient and DLT counts must be numbers: {exc}", "n_patients/n_dlt") from None
    _check(n.shape == shape and y.shape == shape, f"need {shape[0]} x {shape[1]} matrices of patients and DLTs, "
           f"got {n.shape} and {y.shape}", "n_patients/n_dlt")
    _check(bool(np.all(n == np.round(n)) and np.all(y == np.round(y))), "counts must be whole numbers",
           "n_patients/n_dlt")
    n, y = n.astype(np.int64), y.astype(np.int64)
    _check(bool(np.all(n >= 0) and np.all(y >= 0) and np.all(y <= n)),
           "counts must satisfy 0 <= DLTs <= patients at every dose pair", "n_patients/n_dlt")
    return n, y


def _err(what: str, where: str):
    from dossier.errors import DesignError

    return DesignError(what, where)


def true_mtd_pairs(p: np.ndarray, target: float) -> list[Pair]:
    """Dose pairs whose true DLT probability is closest to the target (all ties), as BOIN::get.oc.comb's pcs."""
    dist = np.abs(p - target)
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(np.isclose(dist, dist.min(), rtol=0, atol=1e-12)),
                                              strict=True)]


def summarize_comb(design, p: np.ndarray, n: np.ndarray, y: np.ndarray, selected: np.ndarray,
                   true_mtd: Sequence[Pair], correct: np.ndarray | None = None) -> CombOperatingCharacteristics:
    """Operating characteristics from per-trial outcomes.

    ``n`` and ``y`` are (T, J, K); ``selected`` is a (T, J, K) boolean matrix of the pairs each trial
    selected (one for BOIN, a contour for waterfall).  ``correct`` (T,) says whether a trial's
    selection is correct; by default: it selected one of ``true_mtd``.
    """
    T = n.shape[0]
    J, K = p.shape

    def pct(mask: np.ndarray) -> tuple[float, float]:
        m = float(np.mean(mask)) * 100
        return m, float(np.sqrt(m * (100 - m) / T))

    def pct_grid(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = mask.mean(axis=0) * 100
        return m, np.sqrt(m * (100 - m) / T)

    def mean_grid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.astype(float)
        return x.mean(axis=0), (x.std(axis=0, ddof=1) / np.sqrt(T) if T > 1 else np.zeros(x.shape[1:]))

    mtd_mask = np.zeros((J, K), dtype=bool)
    for i, j in true_mtd:
        mtd_mask[i, j] = True
    if correct is None:
        correct = (selected & mtd_mask[None]).any(axis=(1, 2))
    sel, sel_se = pct_grid(selected)
    none, none_se = pct(~selected.any(axis=(1, 2)))
    pcs, pcs_se = pct(correct)
    pts, pts_se = mean_grid(n)
    dlt, dlt_se = mean_grid(y)
    tot_n, tot_n_se = mean_grid(n.sum(axis=(1, 2)))
    tot_y, tot_y_se = mean_grid(y.sum(axis=(1, 2)))
    total = n.sum(axis=(1, 2))
    at = np.where(total > 0, n[:, mtd_mask].sum(axis=1) / np.maximum(total, 1), 0.0) * 100
    at_m, at_se = mean_grid(at)

    def grid(a: np.ndarray) -> list[list[float]]:
        return [[float(v) for v in row] for row in a]

    return CombOperatingCharacteristics(
        design=design.name, design_params=design.describe(), target=design.target, p_true=grid(p), n_trials=T,
        true_mtd=[tuple(t) for t in true_mtd], selection_pct=grid(sel), no_selection_pct=none,
        pct_correct_selection=pcs, mean_patients=grid(pts), mean_dlt=grid(dlt), mean_total_patients=float(tot_n),
        mean_total_dlt=float(tot_y), pct_patients_at_mtd=float(at_m),
        mc_se={"selection_pct": grid(sel_se), "no_selection_pct": none_se, "pct_correct_selection": pcs_se,
               "mean_patients": grid(pts_se), "mean_dlt": grid(dlt_se), "mean_total_patients": float(tot_n_se),
               "mean_total_dlt": float(tot_y_se), "pct_patients_at_mtd": float(at_se)})


def grid_list(a: np.ndarray, none_where: np.ndarray | None = None) -> list[list[float | None]]:
    """A matrix as nested lists, ``None`` where ``none_where`` is true."""
    return [[None if (none_where is not None and none_where[i, j]) else float(a[i, j]) for j in range(a.shape[1])]
            for i in range(a.shape[0])]


def pairs_to_grid(dose_a, dose_b, dlt, n=None, levels_a=None, levels_b=None
                  ) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
    """Patients and DLTs per dose pair from one row per subject (``dlt`` 0/1) or per dose pair
    (``n`` patients, ``dlt`` DLTs); rows for the same pair are summed.

    Dose levels are the given ``levels_a`` / ``levels_b`` (ascending doses) or the distinct doses seen.
    Returns (n, y, levels_a, levels_b).  A dose not among the levels is an error, never dropped.
    """
    a = np.asarray(dose_a, dtype=float)
    b = np.asarray(dose_b, dtype=float)
    t = np.asarray(dlt, dtype=float)
    m = np.ones_like(t) if n is None else np.asarray(n, dtype=float)
    _check(a.shape == b.shape == t.shape == m.shape and a.ndim == 1 and a.size >= 1,
           "need one dose of each agent and one DLT entry per row", "dose pairs")
    _check(not (np.isnan(a).any() or np.isnan(b).any() or np.isnan(t).any() or np.isnan(m).any()),
           "dose pair data have missing values", "dose pairs", "a missing dose or DLT is not collected: drop the row")
    if n is None:
        _check(bool(np.isin(t, (0, 1)).all()), "per-subject DLTs must be 0 or 1", "dlt")
    la = sorted(set(a.tolist())) if levels_a is None else [float(v) for v in levels_a]
    lb = sorted(set(b.tolist())) if levels_b is None else [float(v) for v in levels_b]
    _check(la == sorted(la) and lb == sorted(lb), "dose levels must be ascending", "levels")
    for vals, levels, agent in ((a, la, "A"), (b, lb, "B")):
        unknown = sorted(set(vals.tolist()) - set(levels))
        _check(not unknown, f"agent {agent} doses {unknown} are not among its levels {levels}", f"dose_{agent.lower()}")
    ia = np.searchsorted(la, a)
    ib = np.searchsorted(lb, b)
    grid_n = np.zeros((len(la), len(lb)), dtype=np.int64)
    grid_y = np.zeros((len(la), len(lb)), dtype=np.int64)
    np.add.at(grid_n, (ia, ib), m.astype(np.int64))
    np.add.at(grid_y, (ia, ib), t.astype(np.int64))
    _check(bool((grid_y <= grid_n).all()), "more DLTs than patients at a dose pair", "dlt")
    return grid_n, grid_y, la, lb
