"""mTPI-2 and Keyboard designs: decisions by the most likely toxicity interval.

References
----------
Guo W, Wang SJ, Yang S, Lynn H, Ji Y (2017). A Bayesian interval dose-finding design addressing
    Ockham's razor: mTPI-2. Contemp Clin Trials 58:23-33.
Yan F, Mandrekar SJ, Yuan Y (2017). Keyboard: a novel Bayesian toxicity probability interval design
    for phase I clinical trials. Clin Cancer Res 23:3994-4003.

Both cut [0, 1] into intervals ("keys") of the width of the equivalence interval
EI = [``ei_lower``, ``ei_upper``] (default target -/+ 0.05) and, with a Beta(1, 1) prior and y DLTs
of n patients, find the interval most supported by the posterior:

* mTPI-2: every interval, including the shorter ones at 0 and 1, scored by its unit probability
  mass (posterior probability / length); intervals are laid out from the EI outwards and rounded to
  3 decimals, as in the published decision-table generators;
* Keyboard: keys laid out from the EI outwards as in the Keyboard R package's ``get.boundary.kb``
  (Keyboard 0.1.3): the partial keys at 0 and 1 are kept and the posterior probability of the
  first and the last key is multiplied by (key width) / (its width), so that a short end key is
  scored as if it were a full key; other keys are scored by their posterior probability.  Ties go
  to the highest key (``max(which(targetp == max(targetp)))``).  Without the end keys no key fits
  below the EI when ``ei_lower`` is less than the key width (e.g. target 0.1 with EI 0.05-0.15) and
  the design could never escalate.

If the winning interval lies below the EI: escalate; is the EI: stay; lies above: de-escalate.  Dose
exclusion: Pr(p > target | y, n) > 0.95 with n >= 3 eliminates the dose and all higher doses.
Trial conduct and MTD selection are those of :class:`~dossier.designs.interval.IntervalDesign`.
"""

from __future__ import annotations

import numpy as np

from dossier.designs.interval import NEVER, EquivalenceIntervalDesign, elimination_boundary


class Mtpi2(EquivalenceIntervalDesign):
    """mTPI-2 design (Guo et al. 2017); see the module docstring."""

    name = "mtpi2"
    label = "mTPI-2"
    aliases = ("mtpi-2",)

    def intervals(self) -> np.ndarray:
        """(start, end, side) rows: side -1 below the EI, 0 the EI, +1 above."""
        lo, hi = self.ei_lower, self.ei_upper
        eps = hi - lo
        rows = []
        k = 1
        while lo - (k - 1) * eps > 1e-9:
            rows.append((max(lo - k * eps, 0.0), lo - (k - 1) * eps, -1))
            k += 1
        rows.reverse()
        rows.append((lo, hi, 0))
        k = 1
        while hi + (k - 1) * eps < 1 - 1e-9:
            rows.append((hi + (k - 1) * eps, min(hi + k * eps, 1.0), 1))
            k += 1
        out = np.array(rows, dtype=float)
        out[:, :2] = np.round(out[:, :2], 3)
        return out

    def scores(self, mass: np.ndarray, iv: np.ndarray) -> np.ndarray:
        """Unit probability mass: posterior probability / interval length."""
        return mass / (iv[:, 1] - iv[:, 0])

    def best_key(self, score: np.ndarray) -> np.ndarray:
        """Index of the winning interval per row (ties: the lowest, as ``which.max``)."""
        return np.argmax(score, axis=1)

    def _boundaries(self, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        iv = self.intervals()
        start, end, side = iv[:, 0], iv[:, 1], iv[:, 2]
        from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

        esc = np.full(n_max + 1, -1, dtype=np.int64)
        de = np.full(n_max + 1, NEVER, dtype=np.int64)
        for n in range(1, n_max + 1):
            y = np.arange(n + 1)[:, None]
            mass = special.betainc(y + 1, n - y + 1, end) - special.betainc(y + 1, n - y + 1, start)
            best = side[self.best_key(self.scores(mass, iv))]
            e = np.flatnonzero(best < 0)
            d = np.flatnonzero(best > 0)
            esc[n] = e.max() if e.size else -1
            de[n] = d.min() if d.size else NEVER
        eli = elimination_boundary(self.target, n_max, self.cutoff_eli)
        return esc, de, eli

    def describe(self) -> dict:
        return super().describe() | {"ei_lower": self.ei_lower, "ei_upper": self.ei_upper}


class Keyboard(Mtpi2):
    """Keyboard design (Yan, Mandrekar & Yuan 2017); see the module docstring."""

    name = "keyboard"
    label = "Keyboard"
    aliases = ()

    def intervals(self) -> np.ndarray:
        """Keys as ``get.boundary.kb`` lays them out: full-width keys from the EI outwards, the last
        one on each side cut at 0 / 1 (not rounded).  (start, end, side) rows as in mTPI-2."""
        lo, hi = self.ei_lower, self.ei_upper
        width = hi - lo
        left = []
        cut, i = lo, 0
        while cut > 0:
            i += 1
            cut = lo - i * width
            left.insert(0, max(cut, 0.0))
        right = []
        cut, i = hi, 0
        while cut < 1:
            i += 1
            cut = hi + i * width
            right.append(min(cut, 1.0))
        edges = np.array(left + [lo, hi] + right)
        side = np.sign(np.arange(len(edges) - 1) - len(left))
        return np.column_stack([edges[:-1], edges[1:], side])

    def scores(self, mass: np.ndarray, iv: np.ndarray) -> np.ndarray:
        """Posterior probability of each key; the first and the last key's scaled by
        (key width) / (its width), the package's compensation for incomplete keys."""
        comp = np.ones(len(iv))
        width = self.ei_upper - self.ei_lower
        comp[[0, -1]] = width / (iv[[0, -1], 1] - iv[[0, -1], 0])
        return mass * comp

    def best_key(self, score: np.ndarray) -> np.ndarray:
        """The highest key among the best scored (``max(which(targetp == max(targetp)))``)."""
        return score.shape[1] - 1 - np.argmax(score[:, ::-1], axis=1)
