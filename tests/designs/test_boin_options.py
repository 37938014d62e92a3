"""BOIN options of the R package: extrasafe / offset, cutoff.eli, boundMTD, n.earlystop.

References are BOIN 2.7.2's own functions run in R and frozen in data/boin_options.json by
data/boin_options.R (the R call of each reference is stored next to it): get.boundary's
``stop_boundary`` and get.oc's trial loop on fixed uniforms (patient i of trial t has a DLT at dose d
iff U[t, i] < p_true[d]), so that the same patients give the same trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dossier.designs import make_design
from dossier.designs.interval import NEVER
from dossier.designs.simulate import run_trials
from dossier.errors import DesignError

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "boin_options.json").read_text())
U = np.load(DATA / "crn_uniforms.npz")["u"]

P1 = [0.05, 0.12, 0.28, 0.45, 0.55, 0.7]
P2 = [0.32, 0.42, 0.5, 0.6, 0.7, 0.8]
CASES = {
    "extrasafe": (dict(target=0.3, extrasafe=True), P2),
    "extrasafe_offset01": (dict(target=0.3, extrasafe=True, offset=0.1), P2),
    "cutoff_eli09_boundmtd": (dict(target=0.3, cutoff_eli=0.9, bound_mtd=True), P1),
    "earlystop9": (dict(target=0.25, n_earlystop=9), P1),
}


@pytest.mark.parametrize("key", list(CASES))
def test_trials_identical_to_boin_get_oc(key):
    opts, p = CASES[key]
    ref = REF["trials"][key]
    r = np.array(ref["rows"], dtype=int)
    design = make_design("boin", n_doses=6, **opts)
    out = run_trials(design, np.array(p), U[: len(r)])
    selected = np.where(out.selected < 0, 99, out.selected + 1)
    np.testing.assert_array_equal(selected, r[:, 0], err_msg=ref["call"])
    np.testing.assert_array_equal(out.n, r[:, 1:7], err_msg=ref["call"])
    np.testing.assert_array_equal(out.y, r[:, 7:13], err_msg=ref["call"])


def test_extrasafe_changes_trials():
    """The reference scenarios exercise the option: without extrasafe fewer trials stop."""
    r = np.array(REF["trials"]["extrasafe"]["rows"], dtype=int)
    plain = run_trials(make_design("boin", target=0.3, n_doses=6), np.array(P2), U[: len(r)])
    assert (plain.selected < 0).sum() < (r[:, 0] == 99).sum()


@pytest.mark.parametrize(("key", "target", "offset"), [("stop_boundary", 0.3, 0.05),
                                                       ("stop_boundary_offset01", 0.25, 0.1)])
def test_stop_boundary_matches_get_boundary(key, target, offset):
    d = make_design("boin", target=target, n_doses=3, extrasafe=True, offset=offset)
    got = [None if v >= NEVER else int(v) for v in d.stop_boundary(30)[1:31]]
    assert got == REF[key]["stop_min"], REF[key]["call"]


def test_stop_boundary_by_hand():
    """Target 0.3, cutoff 0.95 - 0.05 = 0.9: with 3 patients, 2 DLTs give Beta(3, 2) and
    Pr(p > 0.3) = 1 - (4 * 0.3^3 * 0.7 + 0.3^4) = 0.9163 > 0.9, 1 DLT gives Beta(2, 3): 0.6517."""
    assert stats.beta.sf(0.3, 3, 2) == pytest.approx(1 - (4 * 0.3**3 * 0.7 + 0.3**4))
    assert stats.beta.sf(0.3, 3, 2) > 0.9 > stats.beta.sf(0.3, 2, 3)
    assert make_design("boin", target=0.3, n_doses=3, extrasafe=True).stop_boundary(3)[3] == 2


def test_select_mtd_extrasafe_selects_no_dose():
    d = make_design("boin", target=0.3, n_doses=3, extrasafe=True)
    sel = d.select_mtd([3, 0, 0], [2, 0, 0])
    assert sel.selected is None and "lowest dose" in sel.note
    assert make_design("boin", target=0.3, n_doses=3).select_mtd([3, 0, 0], [2, 0, 0]).selected == 0


def test_offset_out_of_range():
    with pytest.raises(DesignError, match="offset"):
        make_design("boin", target=0.3, n_doses=3, extrasafe=True, offset=0.5)
