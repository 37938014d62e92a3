"""The i3+3 design.

Reference
---------
Liu M, Wang SJ, Ji Y (2020). The i3+3 design for phase I clinical trials.
    J Biopharm Stat 30(2):294-304.

With ``y`` DLTs among ``n`` patients at the current dose and the equivalence interval
EI = [``ei_lower``, ``ei_upper``] (default target -/+ 0.05):

* y/n below the EI (y/n < ei_lower): escalate;
* y/n inside the EI: stay;
* y/n above the EI: stay if (y - 1)/n is below the EI, otherwise de-escalate;
* dose exclusion: if Pr(p > target | y, n) > 0.95 under Beta(1, 1) the dose and all higher doses
  are eliminated (we require n >= 3, as BOIN and as the published decision tables, which start at
  n = 3).

The trial conduct around the table (no skipping, early stop when the lowest dose is eliminated)
and the MTD selection (isotonic regression, closest to the target) are those of
:class:`~dossier.designs.interval.IntervalDesign`; the i3+3 paper also selects the MTD by isotonic
regression of the observed rates.
"""

from __future__ import annotations

import numpy as np

from dossier.designs.interval import NEVER, EquivalenceIntervalDesign, elimination_boundary


class I3plus3(EquivalenceIntervalDesign):
    """i3+3 design (Liu, Wang & Ji 2020); see the module docstring."""

    name = "i3+3"
    label = "i3+3"
    aliases = ("i3plus3",)

    def _boundaries(self, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        esc = np.full(n_max + 1, -1, dtype=np.int64)
        de = np.full(n_max + 1, NEVER, dtype=np.int64)
        for n in range(1, n_max + 1):
            for y in range(n + 1):
                rate = y / n
                if rate < self.ei_lower:
                    esc[n] = y
                elif rate > self.ei_upper and not (y - 1) / n < self.ei_lower:
                    de[n] = y
                    break
        eli = elimination_boundary(self.target, n_max, self.cutoff_eli)
        return esc, de, eli

    def describe(self) -> dict:
        return super().describe() | {"ei_lower": self.ei_lower, "ei_upper": self.ei_upper}
