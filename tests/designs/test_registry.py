"""One registry of designs: every registered design works through the CLI, the study spec and a
simulation study; the reference-package options reach the design from the spec and from the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from dossier.commands.designs import register
from dossier.designs import REGISTRY, build_design, design_from_spec, needs_efficacy, simulate_design
from dossier.simstudy import parse_study_spec, run_study
from dossier.spec import DesignSettings, Scenario

APP = typer.Typer()
register(APP)
TOX = [0.05, 0.12, 0.25, 0.4]
EFF = [0.1, 0.25, 0.4, 0.5]


def cli(*args):
    res = CliRunner().invoke(APP, list(args))
    return res.exit_code, res.output, res.exception


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_design_through_cli_spec_and_study(name):
    eff = ["--true-eff", ",".join(map(str, EFF))] if needs_efficacy(name) else []
    code, out, exc = cli("simulate", "--design", name, "--true-tox", ",".join(map(str, TOX)), "--trials", "20",
                         "--json", *eff)
    assert code == 0, (out, exc)
    assert json.loads(out)["n_trials"] == 20

    settings = DesignSettings(name=name, scenarios=[Scenario(name="a", true_tox=TOX, true_eff=EFF)])
    design = design_from_spec(settings, len(TOX))
    assert design.name == name
    oc = simulate_design(design, TOX, EFF, 20, np.random.default_rng(1))
    assert oc.n_trials == 20

    spec = parse_study_spec({"n_trials": 20, "block_trials": 20, "designs": [{"name": name}],
                             "scenarios": [{"name": "a", "true_tox": TOX, "true_eff": EFF}]})
    result = run_study(spec)
    assert len(result.cells) == 1


def test_capabilities_declared_once():
    assert {k for k, c in REGISTRY.items() if c.needs_efficacy} == {"boin12", "uboin", "bf-boin"}
    assert {k for k, c in REGISTRY.items() if c.selects == "OBD"} == {"boin12", "uboin"}
    assert {k for k, c in REGISTRY.items() if c.uses_calendar_time} == {"bf-boin", "tite-boin"}
    with pytest.raises(ValidationError, match="true_eff"):
        DesignSettings(name="boin12", scenarios=[Scenario(name="a", true_tox=TOX)])


def test_spec_options_reach_the_design():
    s = DesignSettings(name="boin", extrasafe=True, offset=0.1, cutoff_eli=0.9, bound_mtd=True)
    d = design_from_spec(s, 4)
    assert (d.extrasafe, d.offset, d.cutoff_eli, d.bound_mtd) == (True, 0.1, 0.9, True)
    k = design_from_spec(DesignSettings(name="keyboard", ei_lower=0.1, ei_upper=0.3, target=0.2), 4)
    assert (k.ei_lower, k.ei_upper) == (0.1, 0.3)
    c = design_from_spec(DesignSettings(name="crm", model="logistic", intcpt=2.0, skeleton=[0.05, 0.1, 0.2, 0.3]), 4)
    assert (c.model, c.intcpt) == ("logistic", 2.0)
    b = design_from_spec(DesignSettings(name="boin12", target=0.35, explore=False, strict_selection=False,
                                        scenarios=[Scenario(name="a", true_tox=TOX, true_eff=EFF)]), 4)
    assert (b.explore, b.strict_selection) == (False, False)


def test_spec_option_for_another_design_is_an_error():
    with pytest.raises(ValidationError, match="extrasafe does not apply to design crm"):
        DesignSettings(name="crm", extrasafe=True)


def test_cli_extrasafe_equals_the_python_design():
    code, out, exc = cli("simulate", "--design", "boin", "--true-tox", "0.32,0.42,0.5,0.6", "--trials", "400",
                         "--seed", "3", "--extrasafe", "--offset", "0.1", "--json")
    assert code == 0, (out, exc)
    d = build_design("boin", target=0.3, n_doses=4, extrasafe=True, offset=0.1)
    oc = simulate_design(d, [0.32, 0.42, 0.5, 0.6], None, 400, np.random.default_rng(3))
    assert json.loads(out)["selection_pct"] == oc.selection_pct
    assert json.loads(out)["design_params"]["extrasafe"] is True


def test_cli_option_for_another_design_is_an_error():
    code, out, exc = cli("simulate", "--design", "crm", "--true-tox", "0.1,0.3", "--trials", "10", "--extrasafe")
    assert code != 0 and "does not apply to --design crm" in str(exc)


def test_utility_named_in_any_order():
    base = ["decide", "--design", "boin12", "--n", "3,6", "--dlt", "0,1", "--resp", "1,3", "--json"]
    a = cli(*base, "--utility", "eff_no_tox=100,eff_tox=60,neither=40,tox_no_eff=0")
    b = cli(*base, "--utility", "neither=40,tox_no_eff=0,eff_tox=60,eff_no_tox=100")
    assert a[0] == 0 and a[1] == b[1]
    swapped = cli(*base, "--utility", "eff_no_tox=100,eff_tox=40,neither=60,tox_no_eff=0")
    assert swapped[1] != a[1]
    positional = cli(*base, "--utility", "100,60,40,0")
    assert positional[0] != 0 and "by name" in str(positional[2])


def test_crm_conf_level_on_the_cli():
    args = ["decide", "--design", "crm", "--skeleton", "0.05,0.1,0.2,0.3", "--n", "3,3,0,0", "--dlt", "0,1,0,0",
            "--json"]
    wide = json.loads(cli(*args, "--conf-level", "0.95")[1])
    narrow = json.loads(cli(*args)[1])
    assert wide["conf_level"] == 0.95 and narrow["conf_level"] == 0.9
    assert wide["ptox_lower"][1] < narrow["ptox_lower"][1]
