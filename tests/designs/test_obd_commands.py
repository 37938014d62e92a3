"""CLI ``simulate --design boin12|bf-boin|tite-boin`` (dossier/commands/designs.py): JSON contract."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from dossier.commands.designs import register
from dossier.errors import DesignError

APP = typer.Typer()
register(APP)
MTD_KEYS = {"design", "n_trials", "seed", "target", "p_true", "true_mtd", "selection_pct", "no_selection_pct",
            "pct_correct_selection", "mean_patients", "mean_dlt", "mean_total_patients", "mean_total_dlt",
            "early_stop_pct", "safety_stop_pct", "overdose_pct", "overdose_60_pct", "overdose_80_pct", "mc_se",
            "design_params"}
OBD_KEYS = {"p_resp", "true_obd", "mean_responses", "mean_duration_months", "mean_backfill_patients",
            "patients_below_mtd", "patients_at_mtd", "patients_above_mtd"}


def run(*args):
    return CliRunner().invoke(APP, ["simulate", *args])


@pytest.mark.parametrize("design,extra", [
    ("bf-boin", ["--true-eff", "0.1,0.2,0.3,0.45,0.58", "--n-earlystop", "9", "--stay-on-1-of-3",
                 "--accrual-per-month", "3", "--dlt-window-months", "1"]),
    ("boin12", ["--true-eff", "0.1,0.2,0.3,0.45,0.58", "--utility", "eff_no_tox=100,eff_tox=60,neither=40,tox_no_eff=0", "--eff-lower", "0.2"]),
    ("tite-boin", ["--dlt-window-months", "3", "--accrual-per-month", "2"]),
    ("uboin", ["--true-eff", "0.1,0.2,0.3,0.45,0.58", "--s1", "9", "--s2", "18", "--allocation", "proportional",
               "--association", "0.3", "--tox-upper", "0.3"]),
])
def test_json_contract(design, extra):
    r = run("--design", design, "--target", "0.25", "--true-tox", "0.04,0.12,0.25,0.43,0.63", "--trials", "200",
            "--json", *extra)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert MTD_KEYS | OBD_KEYS <= set(out)
    assert set(out["mc_se"]) >= (MTD_KEYS - {"design", "n_trials", "seed", "target", "p_true", "true_mtd", "mc_se",
                                             "design_params"}) | {"mean_responses", "mean_duration_months"}
    assert abs(sum(out["selection_pct"]) + out["no_selection_pct"] - 100) < 1e-6
    assert out["true_mtd"] == 3 and out["design"] == design
    if design in ("bf-boin", "tite-boin"):
        assert out["mean_duration_months"] > 0
    if design == "uboin":
        params = out["design_params"]
        assert (params["s1"], params["s2"], params["allocation"], params["association"]) == (9, 18, "proportional", 0.3)
        assert out["true_obd"] is not None and out["mean_duration_months"] is None


def test_errors():
    r = run("--design", "bf-boin", "--true-tox", "0.1,0.2,0.3")
    assert isinstance(r.exception, DesignError)
    r = run("--design", "boin", "--true-tox", "0.1,0.2,0.3", "--true-eff", "0.1,0.2,0.3")
    assert isinstance(r.exception, DesignError)
    r = run("--design", "tite-boin", "--true-tox", "0.1,0.2,0.3", "--n-cap", "6")
    assert isinstance(r.exception, DesignError)
    r = run("--design", "boin12", "--true-tox", "0.1,0.2,0.3", "--true-eff", "0.1,0.2")
    assert isinstance(r.exception, DesignError)
    r = run("--design", "boin12", "--true-tox", "0.1,0.2,0.3", "--true-eff", "0.1,0.2,0.3", "--s1", "6")
    assert isinstance(r.exception, DesignError) and "--s1" in str(r.exception)
    r = run("--design", "uboin", "--true-tox", "0.1,0.2,0.3", "--true-eff", "0.1,0.2,0.3", "--allocation", "x")
    assert isinstance(r.exception, DesignError)
    r = run("--design", "uboin", "--true-tox", "0.1,0.2,0.3")
    assert isinstance(r.exception, DesignError)


def test_mtd_designs_unchanged():
    r = run("--design", "boin", "--true-tox", "0.05,0.1,0.2,0.3,0.45", "--trials", "100", "--json")
    assert r.exit_code == 0
    assert set(json.loads(r.output)) == MTD_KEYS


def decide(*args):
    return CliRunner().invoke(APP, ["decide", *args])


def test_decide_uboin_matches_the_design():
    """``decide --design uboin``: the OBD, the per-dose posterior and the next dose, as UBoin computes them."""
    from dossier.designs import UBoin

    r = decide("--design", "uboin", "--target", "0.25", "--n", "6,6,3,0", "--dlt", "0,1,2,0", "--resp", "0,4,2,0",
               "--both", "0,1,1,0", "--current", "3", "--stage2", "--s1", "6", "--s2", "12", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    d = UBoin(target=0.25, n_doses=4, s1=6, s2=12)
    sel = d.select_obd([6, 6, 3, 0], [0, 1, 2, 0], [0, 4, 2, 0], [0, 1, 1, 0])
    assert out["selected"] == sel.selected + 1 == 2
    assert [x["mean_utility"] for x in out["doses"]] == [p.mean_utility for p in sel.doses]
    assert out["doses"][0]["admissible"] is False  # 0/6 responses: futile
    nxt, _, st = d.decide_obd([6, 6, 3, 0], [0, 1, 2, 0], [0, 4, 2, 0], [0, 1, 1, 0], 2, stage2=True)
    assert out["next"] == {"dose": nxt + 1, "eliminated": [False] * 4, "stage2": st}


def test_decide_boin12_and_errors():
    r = decide("--design", "boin12", "--target", "0.35", "--n", "3,6,3", "--dlt", "0,1,2", "--resp", "1,3,2",
               "--current", "2", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["selected"] == 2 and out["mtd"] == 2 and out["next"]["dose"] in (1, 2, 3)
    # non-additive utilities need the joint cell
    r = decide("--design", "boin12", "--n", "3,3", "--dlt", "0,1", "--resp", "1,1", "--utility", "eff_no_tox=100,eff_tox=70,neither=50,tox_no_eff=0")
    assert isinstance(r.exception, DesignError) and "--both" in str(r.exception)
    r = decide("--design", "uboin", "--n", "3,3", "--dlt", "0,1")
    assert isinstance(r.exception, DesignError)
    r = decide("--design", "boin", "--n", "3,3", "--dlt", "0,1", "--resp", "1,1")
    assert isinstance(r.exception, DesignError) and "--resp" in str(r.exception)
    r = decide("--design", "boin12", "--n", "3,3", "--dlt", "0,1", "--resp", "1,1", "--s1", "6")
    assert isinstance(r.exception, DesignError)
    r = decide("--design", "uboin", "--n", "3,3", "--dlt", "0,1", "--resp", "1,1", "--eliminated", "3")
    assert isinstance(r.exception, DesignError)
