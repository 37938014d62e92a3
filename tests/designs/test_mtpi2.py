"""mTPI-2 and Keyboard (dossier/designs/mtpi2.py): decisions by the most likely interval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dossier.designs import Keyboard, Mtpi2, make_design, simulate_trials

KEYBOARD_R = json.loads((Path(__file__).parent / "data" / "keyboard_tables.json").read_text())


def _upm_decision(y: int, n: int, intervals: np.ndarray, keyboard: bool) -> int:
    mass = stats.beta.cdf(intervals[:, 1], y + 1, n - y + 1) - stats.beta.cdf(intervals[:, 0], y + 1, n - y + 1)
    width = intervals[:, 1] - intervals[:, 0]
    if keyboard:  # end keys scaled to the full key width; ties to the highest key
        full = width[1:-1].max()
        score = mass.copy()
        score[[0, -1]] *= full / width[[0, -1]]
        return int(intervals[len(score) - 1 - int(np.argmax(score[::-1])), 2])
    return int(intervals[int(np.argmax(mass / width)), 2])


def test_intervals_mtpi2_target_03():
    """Guo et al. (2017): [0, .05), [.05, .15), [.15, .25), EI [.25, .35], then width .1 up to 1."""
    iv = Mtpi2(target=0.3, n_doses=3).intervals()
    np.testing.assert_allclose(iv[:4, :2], [[0, 0.05], [0.05, 0.15], [0.15, 0.25], [0.25, 0.35]])
    assert iv[-1, 1] == 1.0 and iv[-1, 0] == 0.95
    kb = Keyboard(target=0.3, n_doses=3).intervals()
    assert kb[0, 0] == 0.0 and kb[-1, 1] == 1.0  # partial end keys kept, as Keyboard::get.boundary.kb
    np.testing.assert_allclose(kb[:4, :2], [[0, 0.05], [0.05, 0.15], [0.15, 0.25], [0.25, 0.35]])


@pytest.mark.parametrize("cls", [Mtpi2, Keyboard])
@pytest.mark.parametrize("target", [0.1, 0.12, 0.15, 0.2, 0.25, 0.3])
def test_table_reproduces_interval_rule(cls, target):
    d = cls(target=target, n_doses=4)
    iv = d.intervals()
    for row in d.decision_table().table:
        for y in range(row.n + 1):
            side = _upm_decision(y, row.n, iv, keyboard=cls is Keyboard)
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


@pytest.mark.parametrize("ref", KEYBOARD_R["tables"], ids=lambda r: f"target{r['target']}-margin{r['marginL']}")
def test_keyboard_matches_r_package_tables(ref):
    """Every escalation and de-escalation cell, n = 1..30, equals Keyboard::get.boundary.kb's table
    (frozen by data/keyboard_tables.R, the R call stored with each table).  Elimination is compared
    from n = 3: the package's table lists it from n = 1 but its get.oc.kb applies it only when n >= 3,
    as dossier does."""
    t = ref["target"]
    kb = Keyboard(target=t, n_doses=5, ei_lower=round(t - ref["marginL"], 10), ei_upper=round(t + ref["marginR"], 10))
    esc, de, eli = kb.tables(30)
    assert esc[1:31].tolist() == ref["escalate_max"], ref["call"]
    assert de[1:31].tolist() == ref["deescalate_min"], ref["call"]
    assert eli[3:31].tolist() == ref["eliminate_min"][2:], ref["call"]


def test_keyboard_end_key_by_hand_target_01():
    """Target 0.1, EI [0.05, 0.15]: keys [0, .05) (half width, its mass doubled), [.05, .15], [.15, .25), ...
    With 0 DLTs of 3, Beta(1, 4): Pr(p < .05) = 1 - .95^4 = .185494 -> scored .370988;
    Pr(.05 <= p <= .15) = .95^4 - .85^4 = .2925; the next key .85^4 - .75^4 = .205600.  The end key wins:
    escalate (with full keys only the EI key would win and the design would stay).  1 DLT of 3, Beta(2, 3):
    the key above the EI has the largest mass -> de-escalate."""
    mass = stats.beta.cdf([0.05, 0.15, 0.25], 1, 4) - stats.beta.cdf([0, 0.05, 0.15], 1, 4)
    np.testing.assert_allclose(mass * [2, 1, 1], [0.370988, 0.2925, 0.2056], atol=1e-6)
    kb = Keyboard(target=0.1, n_doses=3)
    esc, de, _ = kb.tables(30)
    assert esc[3] == 0 and de[3] == 1
    # 0 of 19 still escalates, 1 of 20 escalates (the cells where the R table turns)
    assert esc[19] == 0 and esc[20] == 1


def test_keyboard_ei_lower_below_key_width():
    """Target 0.2, EI [0.1, 0.3] (width 0.2): the only key below is [0, 0.1), scored x2.
    0 of 3: 2 * (1 - 0.9^4) = 0.6878 > Pr(0.1 <= p <= 0.3) = 0.9^4 - 0.7^4 = 0.4160 -> escalate."""
    kb = Keyboard(target=0.2, n_doses=3, ei_lower=0.1, ei_upper=0.3)
    assert 2 * (1 - 0.9**4) > 0.9**4 - 0.7**4
    assert kb.tables(30)[0][3] == 0


def test_keyboard_low_target_simulation_selects_the_mtd():
    """Issue 17: target 0.1, true 0.02/0.05/0.1/0.2/0.3.  With full keys only the design never left dose 1
    (0% correct selection); with the end keys it escalates and selects dose 3 most often."""
    kb = make_design("keyboard", target=0.1, n_doses=5, cohort_size=3, n_cohorts=10)
    oc = simulate_trials(kb, [0.02, 0.05, 0.1, 0.2, 0.3], 400, np.random.default_rng(17))
    sel = np.asarray(oc.selection_pct)
    assert int(np.argmax(sel)) == 2 and sel[0] < 20
