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
from dossier.errors import DesignError
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


# --- the one design contract --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(REGISTRY))
def test_params_model_is_the_constructor(name):
    """Each design declares its options once, as a typed model whose fields and defaults are the constructor's."""
    import inspect

    cls = REGISTRY[name]
    sig = inspect.signature(cls.__init__)
    ctor = {k: p.default for k, p in sig.parameters.items()
            if k not in ("self", "target", "n_doses", "cohort_size", "n_cohorts")}
    fields = cls.Params.model_fields
    assert set(ctor) == set(fields)
    assert {k: f.default for k, f in fields.items()} == ctor
    assert all(f.description for f in fields.values())
    assert cls.label and cls.selects in ("MTD", "OBD")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_parameter_is_a_cli_flag_and_a_spec_key(name):
    from dossier.commands.designs import PARAMETERS
    from dossier.spec import _GROUPED_PARAMETERS as grouped
    from dossier.spec import DesignSettings

    for param in REGISTRY[name].Params.model_fields:
        assert name in PARAMETERS[param]["designs"]
        assert param in DesignSettings.model_fields or param in grouped
    res = CliRunner().invoke(APP, ["simulate", "--help"], terminal_width=200)
    for param in REGISTRY[name].Params.model_fields:
        assert "--" + param.replace("_", "-") in res.output


def test_one_decide_and_one_simulate_for_mtd_and_obd_designs():
    """decide(TrialData) and simulate(Scenario, n_trials, rng) for every design; the OBD designs' decide is their
    decide_obd rule."""
    from dossier.designs import Scenario, TrialData

    for name in REGISTRY:
        d = build_design(name, target=0.3, n_doses=4)
        data = TrialData(n=[3, 3, 0, 0], dlt=[0, 1, 0, 0], resp=[1, 2, 0, 0], both=[0, 1, 0, 0], current=1)
        dec = d.decide(data)
        assert dec.action in ("escalate", "stay", "deescalate", "stop_select", "stop_no_mtd")
        sel = d.select_mtd([3, 3, 0, 0], [0, 1, 0, 0])
        assert (sel.selected is None or 0 <= sel.selected < 4) and len(sel.estimates) == 4
        oc = d.simulate(Scenario(p_tox=TOX, p_eff=EFF), 30, np.random.default_rng(5))
        again = simulate_design(d, TOX, EFF, 30, np.random.default_rng(5))
        assert oc == again and oc.n_trials == 30
    b12 = build_design("boin12", target=0.35, n_doses=5)
    n, t, e = [3, 3, 0, 0, 0], [0, 2, 0, 0, 0], [1, 2, 0, 0, 0]
    assert b12.decide(TrialData(n=n, dlt=t, resp=e, current=1)).next_dose == b12.decide_obd(n, t, e, current=1)[0]
    with pytest.raises(DesignError, match="efficacy"):
        b12.decide(TrialData(n=n, dlt=t, current=1))


def test_escalation_analysis_builds_the_design_with_its_options():
    """The escalation analysis gets its design from design_from_spec: the spec's options reach it
    (BOIN select.mtd: 2/6 at dose 2 is eliminated with cutoff.eli = 0.6, not with 0.95)."""
    import pandas as pd

    from dossier.analyses.escalation import analyse_escalation
    from dossier.ingest.tables import StudyData

    doses = [10.0] * 3 + [20.0] * 6 + [40.0] * 3
    subjects = pd.DataFrame({"usubjid": [f"s{i}" for i in range(12)], "dose": doses, "dlt_evaluable": True})
    ae = pd.DataFrame({"usubjid": ["s3", "s4", "s9"], "dlt": True})
    data = StudyData(subjects=subjects, adverse_events=ae)
    strict = analyse_escalation(data, [10.0, 20.0, 40.0], DesignSettings(name="boin", cutoff_eli=0.6))
    loose = analyse_escalation(data, [10.0, 20.0, 40.0], DesignSettings(name="boin"))
    by_name = analyse_escalation(data, [10.0, 20.0, 40.0], "boin", 0.3)
    assert strict.mtd == 10.0 and loose.mtd == by_name.mtd == 20.0


def test_start_dose_is_one_based_in_the_spec_and_on_the_cli():
    assert design_from_spec(DesignSettings(name="boin", start_dose=2), 4).start_dose == 1
    code, out, exc = cli("simulate", "--design", "boin", "--true-tox", "0.1,0.2,0.3", "--trials", "10",
                         "--start-dose", "0")
    assert code != 0 and isinstance(exc, DesignError)


def test_every_export_and_view_of_the_lazy_registry_resolves():
    """The package imports a design's module on first use: every exported name resolves, each registry name
    gives the class of that name, and the capability views are those of the classes."""
    import dossier.designs as designs

    for name in designs.__all__:
        assert getattr(designs, name) is not None, name
    assert all(cls.name == key for key, cls in REGISTRY.items())
    assert set(designs.DESIGNS) | set(designs.OBD_DESIGNS) == set(REGISTRY)
    assert designs.design_key("U-BOIN") == "uboin" and designs.design_label("bf-boin") == "BF-BOIN"
