"""OBD / timed designs (BOIN12, U-BOIN, BF-BOIN, TITE-BOIN) in the simulation-study grid: identical results
whatever the executor, task grouping or cache; cells equal the designs' own ``simulate`` on the unit's
seeds; efficacy required where the design needs it; OBD fields survive a JSON round trip."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from dossier.designs import ObdOperatingCharacteristics, OperatingCharacteristics, make_obd_design
from dossier.errors import SpecError
from dossier.simstudy import parse_study_spec, run_study
from dossier.simstudy.grid import expand_scenarios, unit_seed
from dossier.simstudy.results import SimulationStudyResult

SCENARIOS = [
    {"name": "MTD at 4", "true_tox": [0.05, 0.10, 0.20, 0.30, 0.45], "true_eff": [0.10, 0.20, 0.35, 0.45, 0.50]},
    {"name": "MTD at 2", "true_tox": [0.10, 0.28, 0.42, 0.55, 0.65], "true_eff": [0.20, 0.40, 0.45, 0.50, 0.50]},
]


def obd_grid(**overrides) -> dict:
    grid = {"name": "obd", "seed": 7, "n_trials": 200, "block_trials": 100, "trials_per_task": 1,
            "designs": [{"name": "boin", "label": "BOIN"},
                        {"name": "bf-boin", "label": "BF-BOIN"},
                        {"name": "boin12", "label": "BOIN12"},
                        {"name": "uboin", "label": "U-BOIN", "options": {"s1": 9, "s2": 18}},
                        {"name": "tite-boin", "label": "TITE-BOIN"}],
            "scenarios": SCENARIOS}
    grid.update(overrides)
    return grid


@pytest.fixture(scope="module")
def result() -> SimulationStudyResult:
    return run_study(parse_study_spec(obd_grid()))


def test_processes_and_task_grouping_give_identical_results(result, tmp_path):
    # two processes, and a different grouping of the same units into tasks
    other = run_study(parse_study_spec(obd_grid(trials_per_task=None, min_task_seconds=60)), "processes",
                      workers=2, cache_dir=tmp_path)
    assert other.run.executor == "processes"
    assert other.model_dump() == result.model_dump()
    # resumed from the cache (OBD fields r, duration, n_backfill stored and read back)
    cached = run_study(parse_study_spec(obd_grid()), cache_dir=tmp_path)
    assert cached.run.units_cached == cached.run.n_units and cached.run.units_computed == 0
    assert cached.model_dump() == result.model_dump()


def test_cell_types_and_consistency(result):
    for c in result.cells:
        oc = c.oc
        if c.design_id == "boin":
            assert type(oc) is OperatingCharacteristics
            continue
        assert isinstance(oc, ObdOperatingCharacteristics) and oc.n_trials == 200
        assert sum(oc.mean_patients) == pytest.approx(oc.mean_total_patients)  # patients conserved
        assert sum(oc.mean_responses) == pytest.approx(oc.mean_total_responses)
        assert oc.patients_below_mtd + oc.patients_at_mtd + oc.patients_above_mtd == pytest.approx(
            oc.mean_total_patients)
        assert sum(oc.selection_pct) + oc.no_selection_pct == pytest.approx(100)
        row = next(r for r in result.comparison if (r.design_id, r.scenario_id) == (c.design_id, c.scenario_id))
        assert row.pcs == oc.pct_correct_selection and row.mean_sample_size == oc.mean_total_patients
        if c.design_id in ("bf-boin", "tite-boin"):  # calendar time
            assert oc.mean_duration_months > 0 and row.mean_duration_months == oc.mean_duration_months
            assert row.mean_duration_months_se == oc.mc_se["mean_duration_months"] > 0
        else:
            assert row.mean_duration_months is None and row.mean_duration_months_se is None
        if c.design_id == "bf-boin":
            backfill = sum(oc.mean_backfill_patients)
            assert backfill > 0
            # escalation cohorts exclude backfilled patients
            assert c.mean_cohorts == pytest.approx((oc.mean_total_patients - backfill) / 3)
        if c.design_id in ("boin12", "u-boin"):  # ids come from the labels
            assert oc.true_obd is not None and oc.pct_correct_selection == oc.selection_pct[oc.true_obd]
        if c.design_id == "tite-boin":
            assert oc.mean_total_responses > 0  # drawn from the scenario's true_eff
    assert result.cell("bf-boin", "mtd_at_4").pcs_diff_se is not None  # paired with the reference (BOIN)


@pytest.mark.parametrize("name", ["bf-boin", "boin12", "uboin"])
def test_cell_equals_the_designs_own_simulation_on_the_unit_seeds(name):
    """One block per cell: the study's OCs are ``design.simulate`` on the block's uniforms (toxicity, common
    to every design) and the generator of the block's first spawned child (efficacy, accrual, backfill)."""
    spec = parse_study_spec(obd_grid(block_trials=200))
    res = run_study(spec)
    for sc in expand_scenarios(spec):
        entropy, key = unit_seed(spec.seed, sc, 0)
        design = make_obd_design(name, target=0.3, n_doses=5, **({"s1": 9, "s2": 18} if name == "uboin" else {}))
        u = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key)).random(
            (design.max_patients, 200)).T
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key + (0,)))
        expected = design.simulate(sc.true_tox, sc.true_eff, 200, rng, uniforms=u)
        assert res.cell({"uboin": "u-boin"}.get(name, name), sc.id).oc == expected


@pytest.mark.parametrize("name", ["bf-boin", "BOIN12", "backfill", "u-boin"])
def test_obd_design_without_true_eff_is_a_spec_error(name):
    grid = obd_grid(designs=[{"name": "boin"}, {"name": name}],
                    scenarios=[SCENARIOS[0], {"name": "no efficacy", "true_tox": [0.05, 0.1, 0.2, 0.3, 0.45]}])
    with pytest.raises(SpecError) as err:
        parse_study_spec(grid, "grid.yaml")
    text = err.value.format()
    assert name in text and "true_eff" in text and "no efficacy" in text and "designs[1]" in text, text


def test_tite_boin_runs_without_true_eff():
    grid = obd_grid(n_trials=100, designs=[{"name": "tite-boin"}],
                    scenarios=[{"name": "tox only", "true_tox": [0.05, 0.1, 0.2, 0.3, 0.45]}])
    res = run_study(parse_study_spec(grid))
    oc = res.cells[0].oc
    assert isinstance(oc, ObdOperatingCharacteristics) and oc.p_resp is None and oc.mean_total_responses == 0
    assert res.comparison[0].mean_duration_months > 0


def test_json_round_trip_keeps_the_obd_fields(result):
    back = SimulationStudyResult.model_validate_json(result.model_dump_json())
    assert back.model_dump() == result.model_dump()  # (run statistics are not serialised)
    assert type(back.cell("boin", "mtd_at_4").oc) is OperatingCharacteristics
    oc = back.cell("bf-boin", "mtd_at_4").oc
    assert isinstance(oc, ObdOperatingCharacteristics)
    assert oc.mean_duration_months == result.cell("bf-boin", "mtd_at_4").oc.mean_duration_months
    assert oc.mean_backfill_patients is not None
    assert back.cell("boin12", "mtd_at_2").oc.true_obd == result.cell("boin12", "mtd_at_2").oc.true_obd
    # also through plain JSON-compatible dicts (as evidence JSON is re-read)
    again = SimulationStudyResult.model_validate(result.model_dump(mode="json"))
    assert isinstance(again.cell("tite-boin", "mtd_at_2").oc, ObdOperatingCharacteristics)


def test_tidy_table_and_section_show_the_obd_figures(result):
    df = result.to_frame()
    bf = df[(df.design_id == "bf-boin") & (df.scenario_id == "mtd_at_4")]
    assert {"mean_responses", "mean_backfill_patients", "mean_duration_months"} <= set(bf.metric)
    assert "true_obd" in set(df[df.design_id == "boin12"].metric)
    assert "true_obd" in set(df[df.design_id == "u-boin"].metric)
    assert "mean_duration_months" not in set(df[df.design_id == "boin"].metric)

    from dossier.render.html import make_environment

    env = make_environment()
    tpl = env.from_string('{% import "base/macros.html.j2" as m with context %}'
                          '{% include "base/sections/design_study.html.j2" %}')
    html = tpl.render(evidence=SimpleNamespace(simulation_study=result), figures={})
    eids = re.findall(r'data-eid="([^"]+)"', html)
    assert len(eids) == len(set(eids))
    assert "simstudy.bf-boin.mtd_at_4.months" in eids and "simstudy.tite-boin.mtd_at_2.monthsse" in eids
    assert "simstudy.boin.mtd_at_4.months" not in eids
    assert "optimal biological dose" in html


def test_study_command_shows_months_and_unknown_design_hint_lists_obd_designs(tmp_path):
    import typer
    import yaml
    from typer.testing import CliRunner

    from dossier.commands.study import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(obd_grid(n_trials=50, block_trials=50, designs=[{"name": "boin"},
                                                                                    {"name": "tite-boin"}])))
    res = CliRunner().invoke(app, ["study", str(grid), "--out", str(tmp_path / "out"), "--no-cache"],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "months" in res.stdout
    res = CliRunner().invoke(app, ["study", str(grid), "--out", str(tmp_path / "out"), "--no-cache", "--json"])
    rows = json.loads(res.stdout)["comparison"]
    assert rows[0]["mean_duration_months"] is None and rows[1]["mean_duration_months"] > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("designs: [{name: zigzag}]\nscenarios: [{name: a, true_tox: [0.1]}]\n")
    with pytest.raises(SpecError) as err:
        parse_study_spec(yaml.safe_load(bad.read_text()))
    assert "bf-boin" in (err.value.hint or "")
