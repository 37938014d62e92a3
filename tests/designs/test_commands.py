"""CLI commands (dossier/commands/designs.py): the stable JSON contracts of the issue."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from dossier.commands.designs import register
from dossier.errors import DesignError

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run_json(app, *args):
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    return json.loads(res.output)


def test_boundaries_json_contract(app, published):
    out = run_json(app, "boundaries", "--design", "boin", "--target", "0.3", "--cohort-size", "3", "--cohorts", "10")
    assert set(out) >= {"lambda_e", "lambda_d", "table"}
    assert round(out["lambda_e"], 4) == published["boin_boundaries"]["lambda"]["0.3"]["lambda_e"]
    assert [r["n"] for r in out["table"]] == list(range(1, 31))
    row3 = out["table"][2]
    assert row3 == {"n": 3, "escalate_max": 0, "deescalate_min": 2, "eliminate_min": 3}
    assert out["table"][0]["eliminate_min"] is None


def test_boundaries_other_designs(app):
    out = run_json(app, "boundaries", "--design", "i3+3", "--target", "0.25", "--ei-lower", "0.2",
                   "--ei-upper", "0.3")
    assert out["lambda_e"] is None and out["table"][2]["deescalate_min"] == 2
    out = run_json(app, "boundaries", "--design", "mtpi2", "--target", "0.3")
    assert out["design"] == "mtpi2"
    out = run_json(app, "boundaries", "--design", "crm", "--target", "0.3", "--skeleton", "0.05,0.1,0.2,0.3,0.45")
    assert out["table"] == [] and len(out["pathways"]) == 16 and out["start_dose"] == 1


def test_simulate_json_contract(app):
    out = run_json(app, "simulate", "--design", "boin", "--target", "0.3", "--true-tox", "0.05,0.1,0.2,0.3,0.45,0.6",
                   "--cohort-size", "3", "--cohorts", "10", "--trials", "300", "--seed", "1")
    keys = {"design", "n_trials", "selection_pct", "no_selection_pct", "mean_patients", "mean_dlt",
            "early_stop_pct", "overdose_pct", "mc_se"}
    assert keys <= set(out)
    assert keys - {"design", "n_trials", "mc_se"} <= set(out["mc_se"])
    assert out["n_trials"] == 300 and out["true_mtd"] == 4 and len(out["selection_pct"]) == 6
    assert sum(out["selection_pct"]) + out["no_selection_pct"] == pytest.approx(100)
    again = run_json(app, "simulate", "--design", "boin", "--target", "0.3", "--true-tox",
                     "0.05,0.1,0.2,0.3,0.45,0.6", "--trials", "300", "--seed", "1")
    assert again == out


@pytest.mark.parametrize("design", ["3+3", "i3+3", "mtpi2", "crm"])
def test_simulate_each_design(app, design):
    extra = ["--skeleton", "0.05,0.1,0.2,0.3,0.45", "--model", "logistic"] if design == "crm" else []
    out = run_json(app, "simulate", "--design", design, "--target", "0.3", "--true-tox", "0.05,0.1,0.2,0.3,0.45",
                   "--trials", "100", *extra)
    assert out["design"] == design and len(out["mean_patients"]) == 5


def test_decide_interval_design(app):
    out = run_json(app, "decide", "--design", "boin", "--target", "0.3", "--n", "3,6,9", "--dlt", "0,1,4")
    assert out["selected"] == 2
    assert len(out["estimates"]) == 3 and len(out["ci_lower"]) == 3 and len(out["ci_upper"]) == 3
    out = run_json(app, "decide", "--design", "boin", "--n", "3,0", "--dlt", "3,0", "--current", "1")
    assert out["selected"] is None and out["next"]["action"] == "stop_no_mtd" and out["next"]["dose"] is None


def test_decide_crm_with_patient_sequences(app):
    out = run_json(app, "decide", "--design", "crm", "--target", "0.2", "--skeleton", "0.05,0.10,0.20,0.35,0.50,0.70",
                   "--levels", "3,4,4,3,3,4,3,2,2,2", "--tox", "0,0,1,0,0,1,1,0,0,0")
    assert out["recommended"] == 2                                  # dfcrm crm() man page example
    assert out["estimate"] == pytest.approx(-0.212171528745092, abs=1e-7)
    assert len(out["ptox"]) == 6


def test_human_output_and_errors(app):
    res = runner.invoke(app, ["boundaries", "--design", "boin"])
    assert res.exit_code == 0 and "escalate" in res.output
    res = runner.invoke(app, ["simulate", "--design", "boin", "--true-tox", "0.1,0.2,0.3", "--trials", "50"])
    assert res.exit_code == 0 and "selected" in res.output
    for args in (["simulate", "--design", "nope", "--true-tox", "0.1,0.2"],
                 ["simulate", "--design", "boin", "--true-tox", "0.1,abc"],
                 ["simulate", "--design", "boin", "--true-tox", "0.1,0.2", "--skeleton", "0.1,0.2"],
                 ["decide", "--design", "boin", "--n", "3,3", "--dlt", "1"],
                 ["decide", "--design", "crm", "--levels", "1,2", "--tox", "0,1"],
                 ["boundaries", "--design", "boin", "--target", "0.9"]):
        res = runner.invoke(app, args)
        assert isinstance(res.exception, DesignError), (args, res.output, res.exception)
