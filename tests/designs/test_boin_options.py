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


# --- titration (BOIN::get.oc titration = TRUE) ------------------------------------------------------------------

TITRATION = json.loads((Path(__file__).parent / "data" / "boin_titration.json").read_text())


@pytest.mark.parametrize("run", TITRATION["runs"], ids=lambda r: r["key"])
def test_titration_matches_get_oc_trial_by_trial(run):
    """get.oc(titration = TRUE) of BOIN 2.7.2 (data/boin_titration.R): one patient per dose from dose 1 until the
    first DLT, that dose completed to a cohort, then cohorts; the same patients, DLTs and selection in each of
    200 trials on shared uniforms."""
    from dossier.designs import Boin, Scenario

    p = run["p_true"]
    d = Boin(target=run["target"], n_doses=len(p), n_cohorts=run["ncohort"], n_earlystop=run["n_earlystop"],
             titration=True)
    u = np.load(Path(__file__).parent / "data" / "crn_uniforms.npz")["u"][:200]
    out = d.outcomes(Scenario(p_tox=p), 200, np.random.default_rng(0), u)
    D = len(p)
    for t, row in enumerate(run["trials"]):
        sel = None if row[0] == 99 else row[0] - 1
        assert out.n[t].tolist() == row[1:1 + D], t
        assert out.y[t].tolist() == row[1 + D:], t
        assert (None if out.selected[t] < 0 else int(out.selected[t])) == sel, t


def test_titration_is_a_spec_key_and_a_cli_flag():
    import typer
    from typer.testing import CliRunner

    from dossier.commands.designs import register
    from dossier.designs import design_from_spec
    from dossier.spec import DesignSettings

    assert design_from_spec(DesignSettings(name="boin", titration=True), 5).titration is True
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["simulate", "--design", "boin", "--true-tox", "0.05,0.15,0.28,0.45,0.6",
                                   "--titration", "--trials", "200", "--seed", "4", "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    out = json.loads(res.output)
    assert out["design_params"]["titration"] is True and out["mean_total_patients"] <= 30
