"""Randomized comparison of two or three dosages after dose escalation (Project Optimus).

A sponsor randomizes ``n_per_arm`` patients to each of 2-3 candidate dosages and selects one by a
pre-specified rule on response and toxicity.  This module gives, by exact enumeration (2-3 arms)
and by simulation, the probability that each dosage is selected, the probability of selecting the
better dosage, and the smallest ``n_per_arm`` that reaches a target probability -- the numbers
behind "20-40 patients per arm" (FDA, Optimizing the Dosage of Human Prescription Drugs and
Biological Products for the Treatment of Oncologic Diseases, 2024).

Selection rule (``select_dosage``), arms ordered from the lowest to the highest dosage:

* arms whose observed DLT rate exceeds ``tox_limit`` are not selectable (if all are, none is selected);
* among the rest, the *lowest* dosage whose observed response rate is within ``margin`` of the best
  observed response rate is selected.  ``margin = 0`` is Simon, Wittes & Ellenberg's pick-the-winner
  (Cancer Treat Rep 1985) with ties going to the lower dosage; ``margin > 0`` is the "lower dosage
  unless the higher one is better by more than margin" rule commonly written in Optimus protocols
  (cf. the MERIT design, Yang et al. Stat Med 2024, which calibrates the same trade-off with
  posterior probabilities; not implemented here).

"Better dosage" (``correct``): the arm with the highest true response rate among arms whose true
DLT rate is at most ``tox_limit``, or -- with ``margin > 0`` -- the lowest such arm within ``margin``
of it (the dosage the rule aims at).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from dossier.designs.state import _check, check_probabilities


class RandomizedComparison(BaseModel):
    """Operating characteristics of a randomized dosage comparison (percentages 0-100)."""

    n_per_arm: int
    p_resp: list[float]
    p_tox: list[float] | None
    margin: float
    tox_limit: float | None
    correct_arm: int | None
    selection_pct: list[float]
    no_selection_pct: float
    pct_correct_selection: float | None
    method: str
    n_trials: int | None = None
    mc_se: dict[str, float | list[float]] | None = None


def select_dosage(resp: np.ndarray, n_per_arm: int, margin: float = 0.0, tox: np.ndarray | None = None,
                  tox_limit: float | None = None) -> np.ndarray:
    """The selected arm (0-based, -1: none) for arrays of response (and DLT) counts, shape (..., arms)."""
    rate = np.asarray(resp, float) / n_per_arm
    ok = np.ones(rate.shape, bool)
    if tox is not None and tox_limit is not None:
        ok = np.asarray(tox, float) / n_per_arm <= tox_limit + 1e-12
    best = np.where(ok, rate, -np.inf).max(axis=-1, keepdims=True)
    good = ok & (rate >= best - margin - 1e-12)
    return np.where(ok.any(axis=-1), np.argmax(good, axis=-1), -1)


def _correct_arm(q: np.ndarray, t: np.ndarray | None, margin: float, tox_limit: float | None) -> int | None:
    ok = np.ones(q.size, bool) if (t is None or tox_limit is None) else t <= tox_limit
    if not ok.any():
        return None
    best = q[ok].max()
    return int(np.argmax(ok & (q >= best - margin - 1e-12)))


def exact_comparison(p_resp: Sequence[float], n_per_arm: int, margin: float = 0.0,
                     p_tox: Sequence[float] | None = None, tox_limit: float | None = None
                     ) -> RandomizedComparison:
    """Selection probabilities by enumerating all outcomes (independent binomial arms, 2 or 3 arms)."""
    from scipy import stats  # here, not at the top: `dossier decide` imports this module and not scipy.stats

    q = check_probabilities(p_resp, "p_resp")
    _check(2 <= q.size <= 3, "exact enumeration is for 2 or 3 arms", "p_resp")
    _check(int(n_per_arm) >= 1, "n_per_arm must be >= 1", "n_per_arm")
    n = int(n_per_arm)
    t = None if p_tox is None else check_probabilities(p_tox, "p_tox", q.size)
    k = np.arange(n + 1)
    grids = np.meshgrid(*([k] * q.size), indexing="ij")
    R = np.stack([g.ravel() for g in grids], axis=1)
    pr = np.prod([stats.binom.pmf(R[:, i], n, q[i]) for i in range(q.size)], axis=0)
    sel_pct = np.zeros(q.size)
    none = 0.0
    # toxicity enters only through which arms are acceptable: enumerate the 2^arms patterns
    if t is None or tox_limit is None:
        patterns = [(np.ones(q.size, bool), 1.0)]
    else:
        p_ok = stats.binom.cdf(np.floor(tox_limit * n + 1e-9), n, t)
        patterns = []
        for bits in range(2 ** q.size):
            ok = np.array([(bits >> a) & 1 for a in range(q.size)], bool)
            patterns.append((ok, float(np.prod(np.where(ok, p_ok, 1 - p_ok)))))
    for ok, w in patterns:
        # arms not acceptable: DLT count above the limit (any count > tox_limit * n works)
        tx = np.where(ok, 0, n)
        s = select_dosage(R, n, margin, np.broadcast_to(tx, R.shape), 0.5 if tox_limit is None else tox_limit) \
            if not ok.all() else select_dosage(R, n, margin)
        for a in range(q.size):
            sel_pct[a] += w * pr[s == a].sum()
        none += w * pr[s < 0].sum()
    corr = _correct_arm(q, t, margin, tox_limit)
    return RandomizedComparison(n_per_arm=n, p_resp=q.tolist(), p_tox=None if t is None else t.tolist(),
                                margin=margin, tox_limit=tox_limit, correct_arm=corr,
                                selection_pct=(100 * sel_pct).tolist(), no_selection_pct=100 * none,
                                pct_correct_selection=None if corr is None else 100 * sel_pct[corr], method="exact")


def simulate_comparison(p_resp: Sequence[float], n_per_arm: int, n_trials: int, rng: np.random.Generator,
                        margin: float = 0.0, p_tox: Sequence[float] | None = None,
                        tox_limit: float | None = None) -> RandomizedComparison:
    """Selection probabilities by simulation (any number of arms), with Monte Carlo SEs."""
    q = check_probabilities(p_resp, "p_resp")
    n = int(n_per_arm)
    _check(n >= 1 and int(n_trials) >= 1, "n_per_arm and n_trials must be >= 1", "n_per_arm/n_trials")
    t = None if p_tox is None else check_probabilities(p_tox, "p_tox", q.size)
    resp = rng.binomial(n, q, size=(int(n_trials), q.size))
    tox = None if t is None else rng.binomial(n, t, size=(int(n_trials), q.size))
    s = select_dosage(resp, n, margin, tox, tox_limit)
    T = int(n_trials)

    def pct(mask):
        m = float(mask.mean()) * 100
        return m, float(np.sqrt(m * (100 - m) / T))

    sel = [pct(s == a) for a in range(q.size)]
    none = pct(s < 0)
    corr = _correct_arm(q, t, margin, tox_limit)
    return RandomizedComparison(
        n_per_arm=n, p_resp=q.tolist(), p_tox=None if t is None else t.tolist(), margin=margin,
        tox_limit=tox_limit, correct_arm=corr, selection_pct=[v[0] for v in sel], no_selection_pct=none[0],
        pct_correct_selection=None if corr is None else sel[corr][0], method="simulation", n_trials=T,
        mc_se={"selection_pct": [v[1] for v in sel], "no_selection_pct": none[1],
               "pct_correct_selection": 0.0 if corr is None else sel[corr][1]})


def sample_size_per_arm(p_resp: Sequence[float], target_pct: float = 80.0, margin: float = 0.0,
                        p_tox: Sequence[float] | None = None, tox_limit: float | None = None,
                        n_max: int = 200) -> int | None:
    """Smallest n per arm whose exact probability of selecting the better dosage is >= ``target_pct``
    (and stays so for n+1, n+2, guarding against the saw-tooth of discrete binomials); None if > n_max."""
    for n in range(1, n_max + 1):
        ok = all((exact_comparison(p_resp, m, margin, p_tox, tox_limit).pct_correct_selection or 0) >= target_pct
                 for m in (n, n + 1, n + 2))
        if ok:
            return n
    return None
