"""mTPI-2 and Keyboard (dossier/designs/mtpi2.py): decisions by the most likely interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dossier.designs import Keyboard, Mtpi2, make_design


def _upm_decision(y: int, n: int, intervals: np.ndarray, by_mass: bool) -> int:
    mass = stats.beta.cdf(intervals[:, 1], y + 1, n - y + 1) - stats.beta.cdf(intervals[:, 0], y + 1, n - y + 1)
    score = mass if by_mass else mass / (intervals[:, 1] - intervals[:, 0])
    return int(intervals[int(np.argmax(score)), 2])


def test_intervals_mtpi2_target_03():
    """Guo et al. (2017): [0, .05), [.05, .15), [.15, .25), EI [.25, .35], then width .1 up to 1."""
    iv = Mtpi2(target=0.3, n_doses=3).intervals()
    np.testing.assert_allclose(iv[:4, :2], [[0, 0.05], [0.05, 0.15], [0.15, 0.25], [0.25, 0.35]])
    assert iv[-1, 1] == 1.0 and iv[-1, 0] == 0.95
    kb = Keyboard(target=0.3, n_doses=3).intervals()
    assert kb[0, 0] == 0.05 and kb[-1, 1] == 0.95  # partial keys dropped


@pytest.mark.parametrize("cls", [Mtpi2, Keyboard])
@pytest.mark.parametrize("target", [0.2, 0.25, 0.3])
def test_table_reproduces_interval_rule(cls, target):
    d = cls(target=target, n_doses=4)
    iv = d.intervals()
    for row in d.decision_table().table:
        for y in range(row.n + 1):
            side = _upm_decision(y, row.n, iv, by_mass=cls is Keyboard)
            if row.escalate_max is not None and y <= row.escalate_max:
                assert side == -1, (row.n, y)
            elif row.deescalate_min is not None and y >= row.deescalate_min:
                assert side == 1 or (row.eliminate_min is not None and y >= row.eliminate_min), (row.n, y)
            else:
                assert side == 0, (row.n, y)


def test_known_cells_target_03():
    """mTPI-2, pT = 0.3: n = 3 -> E 0, S 1, D 2, DU 3; n = 6 -> E <= 1, D >= 3, DU >= 4."""
    rows = {r.n: r for r in make_design("mtpi2", target=0.3, n_doses=3).decision_table().table}
    assert (rows[3].escalate_max, rows[3].deescalate_min, rows[3].eliminate_min) == (0, 2, 3)
    assert (rows[6].escalate_max, rows[6].deescalate_min, rows[6].eliminate_min) == (1, 3, 4)
