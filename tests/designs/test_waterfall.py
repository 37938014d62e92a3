"""Waterfall design (Zhang & Yuan 2016; BOIN 2.7.2 get.oc.comb(mtd.contour = TRUE)).

References: the subtrial layout and default sample sizes of get.oc.comb, the contour rule on
hand-made data, and get.oc.comb operating characteristics frozen from R (data/combination_oc.R),
compared within Monte Carlo error (|z| <= 3, standard error of the difference).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dossier.designs.waterfall import Waterfall, default_cohorts
from dossier.errors import DesignError

DATA = Path(__file__).parent / "data"
N_TRIALS = 6000


def test_default_cohorts_follow_get_oc_comb():
    # ceiling(round(4/3, 2) * c(J+K-1, K-1, K-1)) for a 3 x 5 grid: 1.33 * 7 = 9.31, 1.33 * 4 = 5.32
    assert default_cohorts(3, 5, 3) == [10, 6, 6]
    assert default_cohorts(2, 4, 1) == [20, 12]


def test_paths_are_the_subtrials():
    d = Waterfall(target=0.3, n_rows=3, n_cols=4)
    first = [d.pair(c) for c in d._paths[0] if c >= 0]
    assert first == [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3)]
    assert [d.pair(c) for c in d._paths[2] if c >= 0] == [(1, 1), (1, 2), (1, 3)]


def test_grid_orientation_and_options_are_checked():
    with pytest.raises(DesignError):
        Waterfall(target=0.3, n_rows=4, n_cols=3)
    with pytest.raises(DesignError):
        Waterfall(target=0.3, n_rows=3, n_cols=4, n_cohorts=[5, 5])


def test_contour_rule_on_hand_made_data():
    d = Waterfall(target=0.3, n_rows=2, n_cols=3)
    # top row: (2,1) 1/6 then (2,2) 4/6 -> (2,1) closest; bottom row: (1,2) 2/6, (1,3) 3/6
    n = np.array([[6, 6, 6], [6, 6, 0]])
    y = np.array([[0, 2, 3], [1, 4, 0]])
    sel = d.select_contour(n, y)
    est = np.array(sel.estimates, dtype=float)
    assert (np.diff(est[:, :2], axis=0) >= -1e-12).all()
    top = int(np.argmin(np.where(n[1] > 0, np.abs(est[1] - 0.3 + 1e-5 * np.arange(2, 5)), np.inf)))
    assert sel.selected[-1] == (1, top)
    # a row whose pair is not right of the pair above is moved to that column (get.oc.comb)
    assert all(k >= top for (j, k) in sel.selected if j == 0)


def test_contour_pcs_is_exact_match_of_the_true_contour():
    p = np.array([[0.05, 0.1, 0.3, 0.5], [0.1, 0.3, 0.5, 0.6]])
    d = Waterfall(target=0.3, n_rows=2, n_cols=4, n_cohorts=[6, 4])
    assert d.true_contour(p) == [(0, 2), (1, 1)]
    out = d.run(p, 300, np.random.default_rng(1))
    exact = (d._contour_mask(out["contour"]) == np.array([[0, 0, 1, 0], [0, 1, 0, 0]], bool)[None]).all(axis=(1, 2))
    assert d.simulate(p, 300, np.random.default_rng(1)).pct_correct_selection == pytest.approx(100 * exact.mean())


def test_simulation_respects_the_budget_and_is_seeded():
    p = np.array([[0.05, 0.1, 0.2, 0.3], [0.1, 0.25, 0.4, 0.5]])
    d = Waterfall(target=0.3, n_rows=2, n_cols=4, n_cohorts=[6, 4])
    out = d.run(p, 400, np.random.default_rng(3))
    assert (out["n"].sum(axis=(1, 2)) <= 30).all() and (out["y"] <= out["n"]).all()
    assert d.simulate(p, 300, np.random.default_rng(4)) == d.simulate(p, 300, np.random.default_rng(4))


CASES = {
    "waterfall_jss": ("jss", [10, 5, 5]),
    "waterfall_esc": ("esc", [8, 6, 6]),   # the first subtrial usually selects (A2, B1) and escalates along row 2
}


@pytest.mark.parametrize("name", list(CASES))
def test_operating_characteristics_match_get_oc_comb(name, comb_reference):
    matrix, cohorts = CASES[name]
    p, r, n_ref = comb_reference(name, matrix)
    d = Waterfall(target=0.3, n_rows=p.shape[0], n_cols=p.shape[1], n_cohorts=cohorts, n_earlystop=12)
    out = d.run(p, N_TRIALS, np.random.default_rng(77))
    sel = d._contour_mask(out["contour"]).mean(axis=0) * 100
    rsel = np.array(r["selpercent"])
    se = np.sqrt(sel * (100 - sel) / N_TRIALS + rsel * (100 - rsel) / n_ref)
    z = np.where(se > 0, (sel - rsel) / np.where(se > 0, se, 1), 0.0)
    assert np.abs(z).max() <= 3, f"{r['call']}: selection % z = {np.round(z, 2).tolist()}"
    # get.oc.comb counts the patients whose data enter the estimate (n_sel): compare like with like
    ns = out["n_sel"].astype(float)
    se = ns.std(axis=0, ddof=1) * np.sqrt(1 / N_TRIALS + 1 / n_ref)
    gap = np.maximum(np.abs(ns.mean(axis=0) - np.array(r["npatients"])) - 0.005, 0.0)  # R rounds to 2 decimals
    zp = np.where(se > 0, gap / np.where(se > 0, se, 1), 0.0)
    assert np.abs(zp).max() <= 3, f"{r['call']}: mean patients z = {np.round(zp, 2).tolist()}"
    truth = np.zeros(p.shape, dtype=bool)
    for j, k in d.true_contour(p):
        truth[j, k] = True
    pcs = 100 * float(np.mean((d._contour_mask(out["contour"]) == truth[None]).all(axis=(1, 2))))
    rpcs = float(r["pcs.contour"].rstrip("%"))
    se = np.sqrt(pcs * (100 - pcs) / N_TRIALS + rpcs * (100 - rpcs) / n_ref)
    assert abs(pcs - rpcs) / se <= 3, f"{r['call']}: contour PCS {pcs:.1f} vs {rpcs}"


def test_next_subtrial_matches_boin_next_subtrial():
    """BOIN::next.subtrial (2.7.2) on three data sets, frozen in data/combination_next_subtrial_r.json."""
    for case in json.loads((DATA / "combination_next_subtrial_r.json").read_text()):
        n, y = np.array(case["n"]), np.array(case["y"])
        out = Waterfall(target=0.3, n_rows=n.shape[0], n_cols=n.shape[1]).next_subtrial(n, y)
        if case["starting_dose"][0] is None:
            assert out["start"] is None
        else:
            assert [v + 1 for v in out["start"]] == case["starting_dose"], case
            row = out["start"][0] + 1
            assert case["next_subtrial"][0] == ", ".join(f"({row}, {k})" for k in range(2, n.shape[1] + 1))


def test_first_subtrial_selecting_in_the_first_column_explores_its_row():
    # first path (1,1), (2,1), (3,1), ...: (2,1) at 1/9 would still escalate, (3,1) is too toxic
    n = np.array([[3, 0, 0], [9, 0, 0], [6, 0, 0]])
    y = np.array([[0, 0, 0], [1, 0, 0], [4, 0, 0]])
    out = Waterfall(target=0.3, n_rows=3, n_cols=3).next_subtrial(n, y)
    assert out["selected"] == (1, 0) and out["next_row"] == 1 and out["start"] == (1, 1)
