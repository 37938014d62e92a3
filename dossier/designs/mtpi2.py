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
* Keyboard: only full-width keys, scored by their posterior probability (the partial keys at 0 and
  1 are not used).

If the winning interval lies below the EI: escalate; is the EI: stay; lies above: de-escalate.  The
two designs give the same decisions except where a truncated end interval wins in mTPI-2.  Dose
exclusion: Pr(p > target | y, n) > 0.95 with n >= 3 eliminates the dose and all higher doses.
Trial conduct and MTD selection are those of :class:`~dossier.designs.interval.IntervalDesign`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from dossier.designs.interval import NEVER, EquivalenceIntervalDesign, elimination_boundary


class Mtpi2(EquivalenceIntervalDesign):
    """mTPI-2 design (Guo et al. 2017); see the module docstring."""

    name = "mtpi2"
    full_keys_only = False

    def intervals(self) -> np.ndarray:
        """(start, end, side) rows: side -1 below the EI, 0 the EI, +1 above."""
        lo, hi = self.ei_lower, self.ei_upper
        eps = hi - lo
        rows = []
        k = 1
        while lo - (k - 1) * eps > 1e-9:
            start, end = lo - k * eps, lo - (k - 1) * eps
            if start < -1e-9 and self.full_keys_only:
                break
            rows.append((max(start, 0.0), end, -1))
            k += 1
        rows.reverse()
        rows.append((lo, hi, 0))
        k = 1
        while hi + (k - 1) * eps < 1 - 1e-9:
            start, end = hi + (k - 1) * eps, hi + k * eps
            if end > 1 + 1e-9 and self.full_keys_only:
                break
            rows.append((start, min(end, 1.0), 1))
            k += 1
        out = np.array(rows, dtype=float)
        out[:, :2] = np.round(out[:, :2], 3)
        return out

    def _boundaries(self, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        iv = self.intervals()
        start, end, side = iv[:, 0], iv[:, 1], iv[:, 2]
        esc = np.full(n_max + 1, -1, dtype=np.int64)
        de = np.full(n_max + 1, NEVER, dtype=np.int64)
        for n in range(1, n_max + 1):
            y = np.arange(n + 1)[:, None]
            mass = stats.beta.cdf(end, y + 1, n - y + 1) - stats.beta.cdf(start, y + 1, n - y + 1)
            score = mass if self.full_keys_only else mass / (end - start)
            best = side[np.argmax(score, axis=1)]
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
    full_keys_only = True
