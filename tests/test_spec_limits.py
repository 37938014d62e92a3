"""Spec inputs are bounded and checked at load: duplicate YAML keys, alias bombs, deep nesting, huge simulation
grids, non-finite numbers, implausible reference body weight, over-long study ids and impossible dates are all
SpecErrors naming where (the file and line, or the key), found by `validate` before any work is done."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import yaml

from dossier.cli import main
from dossier.errors import SpecError
from dossier.simstudy import grid
from dossier.spec import parse_spec
from dossier.yamlio import MAX_DEPTH, parse_yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "examplinib" / "study.yaml"
BASE = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

LAUGHS = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
          "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
          "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
          "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n")


def test_duplicate_key_names_both_lines():
    with pytest.raises(SpecError) as err:
        parse_yaml("datasets:\n  adsl: {path: a.xpt}\nstudy: {}\ndatasets:\n  adae: {path: b.xpt}\n", "s.yaml")
    assert "'datasets' twice (lines 1 and 4)" in err.value.what and err.value.where == "s.yaml:4"


def test_duplicate_nested_key_is_found_too():
    with pytest.raises(SpecError, match="'path' twice"):
        parse_yaml("datasets:\n  adsl:\n    path: a.xpt\n    path: b.xpt\n", "s.yaml")


def test_merge_keys_and_aliases_of_small_blocks_still_work():
    assert parse_yaml("b: &b {x: 1}\nd:\n  <<: *b\n  y: 2\ne: *b\n", "s.yaml") == \
        {"b": {"x": 1}, "d": {"x": 1, "y": 2}, "e": {"x": 1}}


def test_billion_laughs_is_refused_fast():
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match="expands to over"):
        parse_yaml(LAUGHS, "s.yaml")
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000,
                                  "a:\n" + "".join("  " * i + "b:\n" for i in range(1, MAX_DEPTH + 5))])
def test_deep_nesting_is_refused(text):
    with pytest.raises(SpecError, match="nests deeper than"):
        parse_yaml(text, "s.yaml")


def test_billion_laughs_in_the_spec_file_via_validate_exits_2(tmp_path, capsys):
    text = EXAMPLE.read_text(encoding="utf-8") + "\n" + LAUGHS.replace("h: [", "bomb: [")
    spec = tmp_path / "study.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", str(spec)]) == 2
    assert "expands to over" in capsys.readouterr().err


def _with(edit):
    data = copy.deepcopy(BASE)
    edit(data)
    return data


@pytest.mark.parametrize("edit, phrase", [
    (lambda d: d.setdefault("overrides", {}).setdefault("pmda", {}).update(reference_body_weight_kg=float("inf")),
     "finite number"),
    (lambda d: d.setdefault("overrides", {}).setdefault("pmda", {}).update(reference_body_weight_kg=0.5),
     "greater than or equal to 20"),
    (lambda d: d["study"].update(id="s" * 300), "at most 64 characters"),
    (lambda d: d["study"].update(document_date="2026-13-45"), "not a calendar date"),
    (lambda d: d["study"].update(document_date="2026-02-30"), "not a calendar date"),
    (lambda d: d["study"].update(document_date="2999-01-01"), "outside the years"),
    (lambda d: d["doses"].update(levels=[60, float("nan")]), "finite number"),
])
def test_spec_value_checks(edit, phrase):
    with pytest.raises(SpecError, match=phrase):
        parse_spec(_with(edit), "s.yaml")


def _grid(sweep_sizes: list[int], scenarios: int = 1) -> dict:
    keys = ["target", "cohort_size", "n_cohorts"]
    sweep = {k: [0.2 + 0.001 * i if k == "target" else 1 + i for i in range(n)] for k, n in zip(keys, sweep_sizes, strict=True)}
    return {"designs": [{"name": "3+3", "sweep": sweep}],
            "scenarios": [{"name": f"s{i}", "true_tox": [0.1, 0.2, 0.3]} for i in range(scenarios)]}


def test_grid_is_counted_before_expansion_and_refused_above_the_limit(monkeypatch):
    built = []
    monkeypatch.setattr(grid, "expand_designs", lambda spec: built.append(spec) or [])
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as err:
        grid.parse_study_spec(_grid([16, 12, 100]))  # 19,200 configurations
    assert "19,200 design configurations" in err.value.what and err.value.where == "simulation_study.sweep"
    assert built == [] and time.perf_counter() - t0 < 2
    grid.parse_study_spec(_grid([10, 10, 10]))  # 1,000: allowed
    assert len(built) == 1


def test_grid_cells_count_scenarios():
    spec = grid.SimulationStudySpec.model_construct(
        sweep={}, designs=[grid.StudyDesign.model_construct(sweep={"target": [0.2] * 500})] * 2,
        scenarios=[None] * 25)
    assert grid.count_configurations(spec) == 1000
    with pytest.raises(SpecError, match="25,000 cells"):
        grid.check_grid_size(spec)
