"""The dose-pair grid evidence (dossier.analyses.combination) and its section template, rendered alone."""

from __future__ import annotations

import numpy as np
import pytest

from dossier.analyses.combination import combination_evidence
from dossier.designs.boin_comb import BoinComb
from dossier.designs.waterfall import Waterfall
from dossier.render.html import make_environment

N = np.array([[6, 0, 9], [0, 10, 0], [13, 0, 0]])   # OncoBayes2 trial_AB, rows summed per pair
Y = np.array([[0, 0, 3], [0, 2, 0], [4, 0, 0]])
LA, LB = [3.0, 4.5, 6.0], [400.0, 600.0, 800.0]


def render(comb) -> str:
    env = make_environment()
    tmpl = env.from_string('{% import "base/macros.html.j2" as m %}{% include "base/sections/combination.html.j2" %}')
    return tmpl.render(comb=comb)


def test_grid_evidence_and_section():
    ev = combination_evidence(BoinComb(target=0.3, n_rows=3, n_cols=3), N, Y, LA, LB, ("drug A", "drug B"))
    assert ev.n_patients == 38 and ev.n_dlt == 9
    assert ev.selected == [(6.0, 400.0)]                       # select.mtd.comb's (A3, B1)
    assert [c.dose_a for c in ev.rows[0]] == [6.0] * 3         # highest level of A drawn first
    untreated = [c for row in ev.rows for c in row if c.n == 0]
    assert all(c.estimate is None for c in untreated)          # not treated: not estimated, never 0
    # add-on pairs need both pairs treated: none are adjacent in these data
    assert ev.add_on == []
    html = render(ev)
    assert html.count("not treated") == len(untreated) and "&#9733;" in html
    assert 'data-eid="comb.6_400.n"' in html and "do not allow a comparison" in html
    assert "the BOIN combination design" in html


def test_add_on_comparison_with_exact_intervals():
    n = np.array([[6, 6], [6, 0]])
    y = np.array([[0, 1], [2, 0]])
    ev = combination_evidence(BoinComb(target=0.3, n_rows=2, n_cols=2), n, y, [1.0, 2.0], [10.0, 20.0])
    assert {(a.agent, a.base, a.added) for a in ev.add_on} == {("A", (1.0, 10.0), (2.0, 10.0)),
                                                               ("B", (1.0, 10.0), (1.0, 20.0))}
    b = next(a for a in ev.add_on if a.agent == "B")
    assert b.added_rate == pytest.approx(1 / 6)
    assert b.added_ci == pytest.approx((0.0042, 0.6412), abs=1e-4)   # Clopper-Pearson 1/6
    assert "contribution of each agent" in render(ev)


def test_waterfall_contour_and_missing_section():
    ev = combination_evidence(Waterfall(target=0.3, n_rows=3, n_cols=3), N, Y, LA, LB)
    assert len(ev.selected) == 3 and "MTD contour" in render(ev) and "the waterfall design" in render(ev)
    assert "not collected" in render(None)
