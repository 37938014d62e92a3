"""CRM options of dfcrm: ``method="mle"``, the two-stage start (crmsim's initial design ``x0``), ``intcpt`` and the
interval level, against dfcrm 0.2-2.1 outputs frozen in data/crm_options.json (R calls recorded there; the script
that made them is data/crm_options.R)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dossier.designs import Crm, DesignError, crm_fit
from dossier.designs.simulate import run_trials, run_trials_loop

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "crm_options.json").read_text())
U = np.load(DATA / "crn_uniforms.npz")["u"]
SKELETON = [0.05, 0.1, 0.2, 0.3, 0.5]


def _r_vector(call: str, name: str) -> list[float]:
    return [float(v) for v in re.search(rf"{name}=c\(([^)]*)\)", call).group(1).split(",")]


def _r_value(call: str, name: str, default):
    m = re.search(rf"{name}='?([\w.]+)'?", call)
    return type(default)(m.group(1)) if m else default


@pytest.mark.parametrize("ref", REF["fits"], ids=lambda r: r["call"][60:140])
def test_fit_matches_dfcrm_crm(ref):
    """dfcrm crm(): estimate, variance, plug-in DLT rates and their interval, and the recommended dose.  The MLE is
    compared within 2e-4 (dfcrm's optimize(..., tol = 1e-4)); the Bayesian fit within quadrature error."""
    call = ref["call"]
    method = _r_value(call, "method", "bayes")
    fit = crm_fit(SKELETON, 0.25, [int(v) for v in _r_vector(call, "tox")],
                  [int(v) - 1 for v in _r_vector(call, "level")], method=method,
                  model=_r_value(call, "model", "empiric"), intcpt=_r_value(call, "intcpt", 3.0),
                  conf_level=_r_value(call, "conf.level", 0.9))
    tol = 2e-4 if method == "mle" else 1e-6
    assert fit.estimate == pytest.approx(ref["estimate"], abs=tol)
    if method == "mle" and "logistic" in call:
        # dfcrm's "variance" integrates beta^2 x likelihood x N(0, 500^2) over [-100, 100]; the logistic likelihood is
        # flat below -10, where R's integrate() loses 0.3% (93.699); adaptive quadrature with breakpoints at
        # -10, 0, 10 (scipy.integrate.quad, limit=500) gives 93.9696, which we match.
        assert fit.post_var == pytest.approx(_mle_variance_by_quadrature(call, fit.estimate), rel=1e-5)
        assert fit.post_var == pytest.approx(ref["post_var"], rel=5e-3)
    else:
        assert fit.post_var == pytest.approx(ref["post_var"], rel=1e-3)
    assert fit.ptox == pytest.approx(ref["ptox"], abs=tol)
    assert fit.ptox_lower == pytest.approx(ref["ptox_lower"], rel=2e-3, abs=tol)
    assert fit.ptox_upper == pytest.approx(ref["ptox_upper"], rel=2e-3, abs=tol)
    assert fit.mtd + 1 == ref["mtd"]


def _mle_variance_by_quadrature(call: str, est: float) -> float:
    from scipy import integrate

    sk, alp0 = np.array(SKELETON), _r_value(call, "intcpt", 3.0)
    x = np.log(sk / (1 - sk)) - alp0
    lev = np.array(_r_vector(call, "level"), dtype=int) - 1
    y = np.array(_r_vector(call, "tox"))

    def h(a):
        with np.errstate(over="ignore"):
            psi = 1 / (1 + np.exp(-alp0 - np.exp(a) * x[lev]))
        return np.exp(-a * a / 2 / 500**2) * np.prod(psi**y * (1 - psi) ** (1 - y))

    num = integrate.quad(lambda a: a * a * h(a), -100, 100, limit=500, points=[-10, 0, 10])[0]
    return num / integrate.quad(h, -10, 10, limit=200)[0] - est**2


#: dfcrm's x0 of each run (data/crm_options.R), one 1-based dose level per cohort
INITIAL_DESIGN = {"two_stage_mle": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] + [5] * 10,
                  "two_stage_bayes": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] + [5] * 10,
                  "two_stage_mle_toxic": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] + [5] * 10,
                  "two_stage_logistic_cohorts": [1, 2, 3, 4, 5, 5, 5, 5]}


def _design(run: dict) -> Crm:
    c = run["mcohort"]
    return Crm(target=0.25, n_doses=5, skeleton=SKELETON, cohort_size=c, n_cohorts=run["n"] // c,
               method=run["method"], model=run["model"], intcpt=run["intcpt"],
               initial_design=[v - 1 for v in INITIAL_DESIGN[run["key"]]])


@pytest.mark.parametrize("run", REF["trials"], ids=lambda r: r["key"])
def test_two_stage_trials_match_dfcrm_trial_by_trial(run):
    """dfcrm onetrial() with the initial design x0 (stage 1 until the first DLT, then the model; the flat
    N(0, 500^2) posterior while every patient had a DLT; for the MLE the same fallback at the end when the
    MLE does not exist): the same patients per dose, DLTs and MTD in every one of 100 trials on shared
    uniforms."""
    design = _design(run)
    u = U[:100, :run["n"]]
    out = run_trials(design, np.array(run["PI"]), u)
    for t, res in enumerate(run["results"]):
        levels = np.array(res["level"]) - 1
        n_ref = np.bincount(levels, minlength=5)
        y_ref = np.bincount(levels, weights=(u[t] < np.array(run["PI"])[levels]), minlength=5)
        assert out.n[t].tolist() == n_ref.tolist(), t
        assert out.y[t].tolist() == y_ref.astype(int).tolist(), t
        assert int(out.selected[t]) + 1 == res["mtd"], t


def test_vectorised_two_stage_equals_the_single_trial_rule():
    design = _design(REF["trials"][0])
    u = U[:8, :20]
    a, b = run_trials(design, np.array([0.05, 0.1, 0.25, 0.4, 0.55]), u), run_trials_loop(
        design, [0.05, 0.1, 0.25, 0.4, 0.55], u)
    assert (a.n == b.n).all() and (a.selected == b.selected).all()


def test_mle_needs_an_initial_design_and_data_with_and_without_dlts():
    with pytest.raises(DesignError, match="initial design"):
        Crm(target=0.25, n_doses=5, method="mle")
    with pytest.raises(DesignError, match="MLE does not exist"):
        crm_fit(SKELETON, 0.25, [0, 0, 0], [0, 0, 1], method="mle")


def test_options_through_spec_and_cli():
    import typer
    from typer.testing import CliRunner

    from dossier.commands.designs import register
    from dossier.designs import design_from_spec
    from dossier.spec import DesignSettings

    d = design_from_spec(DesignSettings(name="crm", method="mle", initial_design=[1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
                                        intcpt=2.0, conf_level=0.8, model="logistic"), 5)
    assert (d.method, d.initial_design[:3], d.intcpt, d.conf_level, d.model) == ("mle", [0, 0, 1], 2.0, 0.8, "logistic")
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["simulate", "--design", "crm", "--true-tox", "0.05,0.1,0.25,0.4,0.55",
                                   "--method", "mle", "--initial-design", "1,1,2,2,3,3,4,4,5,5", "--trials", "50",
                                   "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    params = json.loads(res.output)["design_params"]
    assert params["method"] == "mle" and params["initial_design"][:3] == [0, 0, 1]
