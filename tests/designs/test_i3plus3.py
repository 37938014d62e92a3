"""i3+3 (dossier/designs/i3plus3.py): decision table by the rules of Liu, Wang & Ji (2020)."""

from __future__ import annotations

import pytest
from scipy import stats

from dossier.designs import I3plus3, make_design
from dossier.errors import DesignError


def _rule(y: int, n: int, target: float, lo: float, hi: float) -> str:
    """The published rule, cell by cell (E, S, D or DU)."""
    if n >= 3 and stats.beta.sf(target, y + 1, n - y + 1) > 0.95:
        return "DU"
    if y / n < lo:
        return "E"
    if y / n <= hi:
        return "S"
    return "S" if (y - 1) / n < lo else "D"


@pytest.mark.parametrize("target,lo,hi", [(0.3, 0.25, 0.35), (0.25, 0.2, 0.3), (0.2, 0.15, 0.25)])
def test_table_reproduces_rule(target, lo, hi):
    d = I3plus3(target=target, n_doses=5, ei_lower=lo, ei_upper=hi)
    for row in d.decision_table().table:
        for y in range(row.n + 1):
            rule = _rule(y, row.n, target, lo, hi)
            if row.eliminate_min is not None and y >= row.eliminate_min:
                got = "DU"
            elif row.escalate_max is not None and y <= row.escalate_max:
                got = "E"
            elif row.deescalate_min is not None and y >= row.deescalate_min:
                got = "D"
            else:
                got = "S"
            # DU implies de-escalation; a DU cell is reported as eliminate (and de-escalate)
            assert got == rule, (row.n, y, got, rule)


def test_published_cells_target_025():
    """Liu, Wang & Ji (2020), pT = 0.25, EI = [0.2, 0.3]: n = 3 -> E 0, S 1, D 2, DU 3."""
    d = make_design("i3+3", target=0.25, n_doses=4, ei_lower=0.2, ei_upper=0.3)
    row = {r.n: r for r in d.decision_table().table}[3]
    assert (row.escalate_max, row.deescalate_min, row.eliminate_min) == (0, 2, 3)


def test_invalid_interval():
    with pytest.raises(DesignError):
        I3plus3(target=0.3, n_doses=3, ei_lower=0.32, ei_upper=0.35)
