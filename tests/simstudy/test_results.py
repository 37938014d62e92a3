"""Results: OCs equal the designs engine's on the same random numbers, the tidy table and Parquet,
the deterministic figure, the dossier section and the ``dossier study`` command."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dossier.commands.study import register
from dossier.designs import make_design
from dossier.designs.simulate import run_trials, summarize
from dossier.errors import SpecError
from dossier.render.study_figures import design_study_svg
from dossier.simstudy import parse_study_spec, run_study
from dossier.simstudy.grid import expand_scenarios, unit_seed


@pytest.fixture(scope="module")
def result():
    grid = {"name": "tiny", "seed": 11, "n_trials": 1000, "block_trials": 250,
            "designs": [{"name": "boin", "label": "BOIN", "sweep": {"n_cohorts": [8, 10]}},
                        {"name": "crm", "label": "CRM", "options": {"skeleton": [0.05, 0.12, 0.22, 0.33, 0.45]}}],
            "scenarios": [{"name": "MTD at 4", "true_tox": [0.05, 0.10, 0.20, 0.30, 0.45]},
                          {"name": "MTD at 2", "true_tox": [0.10, 0.28, 0.42, 0.55, 0.65]}]}
    return run_study(parse_study_spec(grid))


def test_cell_equals_the_designs_engine_on_the_same_uniforms(make_grid):
    """One block per cell: the study's OCs are summarize(run_trials(...)) on the block's uniforms."""
    spec = parse_study_spec(make_grid(block_trials=1000))
    res = run_study(spec)
    sc = expand_scenarios(spec)[1]
    entropy, key = unit_seed(spec.seed, sc, 0)
    design = make_design("crm", target=0.3, n_doses=5, skeleton=[0.05, 0.12, 0.22, 0.33, 0.45])
    u = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key)).random((design.max_patients, 1000)).T
    expected = summarize(design, sc.true_tox, run_trials(design, np.array(sc.true_tox), u))
    assert res.cell("crm", sc.id).oc == expected


def test_comparison_rows_follow_the_cells(result):
    assert [(r.scenario_id, r.design_id) for r in result.comparison] == [
        (s, d) for s in ("mtd_at_4", "mtd_at_2") for d in ("boin_n_cohorts_8", "boin_n_cohorts_10", "crm")]
    row, cell = result.comparison[2], result.cells[2]
    assert row.pcs == cell.oc.pct_correct_selection and row.true_mtd == cell.oc.true_mtd + 1 == 4
    assert row.mean_cohorts == pytest.approx(row.mean_sample_size / 3)
    assert row.patients_at_mtd == pytest.approx(cell.oc.mean_patients[cell.oc.true_mtd])
    assert result.reference == "boin_n_cohorts_8"
    boin8 = result.cell("boin_n_cohorts_8", "mtd_at_2")
    assert boin8.mean_cohorts <= 8 and boin8.oc.mean_total_patients <= 24


def test_tidy_table_and_parquet_roundtrip(result, tmp_path):
    df = result.to_frame()
    assert list(df.columns) == ["design_id", "design_label", "design", "target", "cohort_size", "n_cohorts",
                                "scenario_id", "scenario", "metric", "dose", "value", "mc_se", "n_trials", "seed"]
    sel = df[(df.metric == "selection_pct") & (df.design_id == "crm") & (df.scenario_id == "mtd_at_4")]
    assert list(sel.dose) == [1, 2, 3, 4, 5]
    assert sel.value.tolist() == result.cell("crm", "mtd_at_4").oc.selection_pct
    assert df.mc_se.notna().all() and (df.mc_se >= 0).all()
    assert set(df.metric) >= {"pct_correct_selection", "patients_at_mtd", "mean_cohorts", "pcs_diff_vs_reference",
                              "pct_patients_above_mtd", "mean_total_patients"}
    path = result.write_parquet(tmp_path / "study.parquet")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df)
    assert not list(tmp_path.glob("*.tmp"))
    again = result.write_parquet(tmp_path / "again.parquet")
    assert again.read_bytes() == path.read_bytes()  # same result, same bytes (the manifest hashes it)


def test_result_is_json_serialisable_without_run_stats(result):
    data = json.loads(json.dumps(result.model_dump(mode="json"), allow_nan=False))
    assert "run" not in data and len(data["cells"]) == 6
    assert type(result).model_validate(data).model_dump() == result.model_dump()


def test_figure_is_deterministic_svg(result):
    a, b = design_study_svg(result), design_study_svg(result)
    assert a == b and a.lstrip().startswith("<?xml") and "<svg" in a
    assert "<dc:date>" not in a
    assert "BOIN (n_cohorts=8)" in a


def _render(evidence, figures):
    from dossier.render.html import make_environment

    env = make_environment()
    tpl = env.from_string('{% import "base/macros.html.j2" as m with context %}'
                          '{% include "base/sections/design_study.html.j2" %}')
    return tpl.render(evidence=evidence, figures=figures)


def test_section_renders_every_number_with_an_evidence_id(result):
    html = _render(SimpleNamespace(simulation_study=result), {"design_study": "<svg>FIG</svg>"})
    assert '<section id="design-study">' in html and "<svg>FIG</svg>" in html
    eids = re.findall(r'data-eid="([^"]+)"', html)
    assert "simstudy.crm.mtd_at_2.sel" in eids and "simstudy.crm.mtd_at_2.diff" in eids
    assert "simstudy.boin_n_cohorts_8.mtd_at_2.diff" not in eids  # the reference has no difference
    assert len(eids) == len(set(eids))
    row = next(r for r in result.comparison if (r.design_id, r.scenario_id) == ("crm", "mtd_at_2"))
    assert f'data-eid="simstudy.crm.mtd_at_2.sel" href="#ev-simstudy">{row.pcs:.1f}</a>' in html
    # outside the macros no digits, but table numbering, user labels and "95%" (a fixed coverage)
    text = re.sub(r"<a [^>]*>[^<]*</a>", "", html)
    text = re.sub(r'<td class="n">\d+</td>|<span class="ordinal">\d+</span>', "", text)
    text = re.sub(r"<[^>]+>", "", text).replace("95%", "")
    for name in [d.label for d in result.designs] + [s.name for s in result.scenarios]:
        text = text.replace(name, "")
    assert not re.search(r"\d", text), text


def test_section_without_study():
    html = _render(SimpleNamespace(simulation_study=None), {})
    assert "No simulation study" in html
    html = _render(SimpleNamespace(), {})  # evidence without the field at all
    assert "No simulation study" in html


def _cli():
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        pass

    register(app)
    return app


def test_study_command_json_and_outputs(grid_yaml, tmp_path):
    res = CliRunner().invoke(_cli(), ["study", str(grid_yaml), "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["name"] == "small-grid" and len(payload["comparison"]) == 4 * 3
    assert payload["run"]["units_computed"] == 48
    for key in ("table", "comparison", "figure", "result"):
        assert (tmp_path / payload["outputs"][key].split("/")[-1]).is_file()
    again = json.loads(CliRunner().invoke(_cli(), ["study", str(grid_yaml), "--out", str(tmp_path), "--json"]).stdout)
    assert again["run"]["units_cached"] == 48 and again["comparison"] == payload["comparison"]


def test_study_command_plain_output(grid_yaml, tmp_path):
    res = CliRunner().invoke(_cli(), ["study", str(grid_yaml), "--out", str(tmp_path), "--no-cache"])
    assert res.exit_code == 0, res.output
    flat = res.stdout.replace("\n", "")  # rich wraps long paths at the terminal width
    assert "small-grid" in flat and "design_study.svg" in flat
    assert not (tmp_path / "cache").exists()


def test_study_command_user_errors_are_dossier_errors(tmp_path, grid_yaml):
    bad = tmp_path / "bad.yaml"
    bad.write_text("designs: [{name: zigzag}]\nscenarios: [{name: a, true_tox: [0.1]}]\n")
    res = CliRunner().invoke(_cli(), ["study", str(bad), "--out", str(tmp_path)])
    assert isinstance(res.exception, SpecError) and "unknown design" in res.exception.what
    res = CliRunner().invoke(_cli(), ["study", str(grid_yaml), "--executor", "threads"])
    assert "unknown executor" in str(res.exception)
