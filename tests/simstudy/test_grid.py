"""The grid spec and its expansion: validation errors, design configurations, seeds keyed by content."""

from __future__ import annotations

import numpy as np
import pytest

from dossier.errors import SpecError
from dossier.simstudy import load_study_spec, parse_study_spec, run_study
from dossier.simstudy.grid import expand_designs, expand_scenarios, expand_units, make_tasks, unit_seed


def test_sweeps_cross_designs_and_settings(make_grid):
    spec = parse_study_spec(make_grid(sweep={"target": [0.25, 0.3]}))
    cfgs = expand_designs(spec)
    assert [c.id for c in cfgs] == [
        "boin_target_0_25_n_cohorts_8", "boin_target_0_25_n_cohorts_10", "boin_target_0_3_n_cohorts_8",
        "boin_target_0_3_n_cohorts_10", "crm_target_0_25", "crm_target_0_3"]
    assert cfgs[0].label == "BOIN (target=0.25, n_cohorts=8)"
    assert (cfgs[0].target, cfgs[0].n_cohorts) == (0.25, 8)
    assert cfgs[-1].options == {"skeleton": [0.05, 0.12, 0.22, 0.33, 0.45]}


def test_option_sweep_goes_to_design_options(make_grid):
    g = make_grid()
    g["designs"][0]["sweep"] = {"p_saf": [0.15, 0.18]}
    cfgs = expand_designs(parse_study_spec(g))
    assert [c.options for c in cfgs[:2]] == [{"p_saf": 0.15}, {"p_saf": 0.18}]


@pytest.mark.parametrize("change, where, words", [
    (lambda g: g["designs"].append({"name": "zigzag"}), "designs[2]", "unknown design 'zigzag'"),
    (lambda g: g["designs"][0].update(options={"colour": 1}), "designs[0]", "invalid option"),
    (lambda g: g["designs"][1].update(options={"skeleton": [0.1, 0.2]}), "designs[1]", "scenario"),
    (lambda g: g.update(reference="nope"), "reference", "not in the grid"),
    (lambda g: g.update(n_trial=5), "n_trial", "unknown key"),
    (lambda g: g["scenarios"].append({"name": "mtd at 4", "true_tox": [0.1] * 5}), "simulation study", "distinct"),
    (lambda g: g["scenarios"][0].update(true_tox=[0.1, 1.2, 0.3, 0.4, 0.5]), "true_tox", "less than or equal"),
    (lambda g: g["designs"].append({"name": "boin", "sweep": {"n_cohorts": [8]}}), "designs", "share the id"),
])
def test_bad_grids_are_spec_errors(make_grid, change, where, words):
    g = make_grid()
    change(g)
    with pytest.raises(SpecError) as err:
        parse_study_spec(g, "grid.yaml")
    text = err.value.format()
    assert words in text and (where in text or where in (err.value.where or "")), text


def test_unit_seed_is_the_spawned_child_of_the_scenario_sequence(grid_spec):
    """Keyed seeding equals numpy's SeedSequence.spawn: child b of SeedSequence(seed, spawn_key=K)."""
    sc = expand_scenarios(grid_spec)[1]
    children = np.random.SeedSequence(grid_spec.seed, spawn_key=sc.stream_key()).spawn(4)
    for b in range(4):
        entropy, key = unit_seed(grid_spec.seed, sc, b)
        ours = np.random.SeedSequence(entropy, spawn_key=key)
        assert ours.spawn_key == children[b].spawn_key
        assert np.array_equal(ours.generate_state(4), children[b].generate_state(4))


def test_scenario_key_depends_on_probabilities_not_name_or_position(make_grid):
    a = expand_scenarios(parse_study_spec(make_grid()))
    g = make_grid()
    g["scenarios"] = [{"name": "renamed", "true_tox": g["scenarios"][1]["true_tox"]}, g["scenarios"][0]]
    b = expand_scenarios(parse_study_spec(g))
    assert b[0].stream_key() == a[1].stream_key() and b[1].stream_key() == a[0].stream_key()
    assert a[0].stream_key() != a[1].stream_key()


@pytest.mark.parametrize("grouping", [{"trials_per_task": 1}, {"trials_per_task": 1700},
                                      {"trials_per_task": None, "min_task_seconds": 0.2},
                                      {"trials_per_task": None, "min_task_seconds": 100}])
def test_results_do_not_depend_on_chunking(make_grid, grouping):
    """Same master seed, different task sizes (1 unit per task ... the whole grid in one task):
    identical numbers, identical spec hash."""
    reference = run_study(parse_study_spec(make_grid()))
    spec = parse_study_spec(make_grid(**grouping))
    tasks = make_tasks(spec, expand_units(spec), expand_designs(spec), expand_scenarios(spec))
    result = run_study(spec)
    assert result.run.n_tasks == len(tasks)
    assert result.model_dump() == reference.model_dump()


def test_tasks_carry_at_least_the_minimum_work(make_grid):
    spec = parse_study_spec(make_grid(trials_per_task=None, n_trials=10_000, block_trials=1000))
    units = expand_units(spec)
    tasks = make_tasks(spec, units, expand_designs(spec), expand_scenarios(spec))
    assert sum(len(t.units) for t in tasks) == len(units) == 3 * 2 * 10
    assert all(sum(u.est_seconds for u in t.units) >= 0.2 for t in tasks[:-1])
    assert len({t.hash for t in tasks}) == len(tasks)


def test_a_scenario_added_to_the_grid_leaves_the_others_unchanged(make_grid):
    base = run_study(parse_study_spec(make_grid()))
    g = make_grid()
    g["scenarios"].insert(0, {"name": "new", "true_tox": [0.02, 0.05, 0.1, 0.15, 0.3]})
    bigger = run_study(parse_study_spec(g))
    for cell in base.cells:
        assert bigger.cell(cell.design_id, cell.scenario_id).oc == cell.oc


def test_load_standalone_grid_and_study_spec_section(grid_yaml, tmp_path):
    spec = load_study_spec(grid_yaml)
    assert spec.name == "small-grid" and len(expand_designs(spec)) == 4
    wrapped = tmp_path / "study.yaml"
    wrapped.write_text("study: {id: X}\nsimulation_study:\n" +
                       "".join("  " + line + "\n" for line in grid_yaml.read_text().splitlines()))
    assert load_study_spec(wrapped) == spec
    with pytest.raises(SpecError, match="file not found"):
        load_study_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("designs: [\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_study_spec(tmp_path / "bad.yaml")


def test_embedded_in_a_study_spec_design_errors_surface_as_spec_errors(make_grid):
    """As a field of the study spec (pydantic validation only), a bad design still fails at load time."""
    from pydantic import BaseModel

    from dossier.simstudy.grid import SimulationStudySpec

    class Wrapper(BaseModel):
        simulation_study: SimulationStudySpec | None = None

    g = make_grid()
    assert Wrapper.model_validate({"simulation_study": g}).simulation_study.n_trials == 1000
    g["designs"].append({"name": "zigzag"})
    with pytest.raises(SpecError, match="unknown design") as err:
        Wrapper.model_validate({"simulation_study": g})
    assert err.value.where == "simulation_study.designs[2] (zigzag)"
