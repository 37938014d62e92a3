"""The combination section in the build: dose pairs of combination.data read at ingest, the grid in the
AnalysesBundle, and the section applicable only when the spec has combination data."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from dossier.analyses.combination import analyse_combination
from dossier.evidence import section_needs
from dossier.ingest import check_study, load_study
from dossier.spec import load_spec, parse_spec

from .conftest import REPO

COMB = REPO / "examples" / "combination"


@pytest.fixture(scope="module")
def comb_study():
    spec = load_spec(COMB / "study.yaml")
    data, _ = load_study(spec, COMB)
    return spec, data


def test_dose_pairs_are_read_at_ingest(comb_study):
    spec, data = comb_study
    g = data.combination
    assert g["levels_a"] == [120.0, 240.0, 480.0] and g["levels_b"] == [1.0, 3.0, 10.0, 20.0]
    # dose_pairs.csv: 30 subjects, 6 DLTs; 480 mg + 10 mg/kg: 9 patients, 5 DLTs
    assert sum(map(sum, g["n"])) == 30 and sum(map(sum, g["dlt"])) == 6
    assert (g["n"][2][2], g["dlt"][2][2]) == (9, 5)


def test_grid_matches_combination_decide(comb_study):
    """The same selected pair as `dossier combination decide --spec examples/combination/combination.yaml`."""
    spec, data = comb_study
    ev = analyse_combination(data, spec.combination)
    assert ev.selected == [(240.0, 10.0)] and ev.agent_a == "examplinib" and ev.unit_b == "mg/kg"
    assert analyse_combination(data, None) is None


def test_section_needs_combination_data():
    needs = section_needs()
    assert needs["sections"]["combination"] == ["combination"]
    assert "combination.data" in needs["needs"]["combination"]["missing"]


def test_missing_dose_pair_file_is_a_located_ingest_error(tmp_path):
    raw = yaml.safe_load((COMB / "study.yaml").read_text())
    for ds in raw["datasets"].values():  # the example's datasets, found from the temporary folder
        ds["path"] = str(COMB / ds["path"])
    raw["combination"]["data"]["path"] = "missing.csv"
    spec = parse_spec(raw, "study.yaml")
    report = check_study(spec, tmp_path)
    errs = [e for e in report.errors if "file not found" in e.message]
    assert errs and errs[0].file == "missing.csv"


def test_generate_adsl_reproduces_committed_adsl(tmp_path):
    mod_spec = importlib.util.spec_from_file_location("comb_generate_adsl", COMB / "generate_adsl.py")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    path = module.generate(COMB / "data", out_dir=tmp_path)
    assert path.read_bytes() == (COMB / "data" / "adsl.xpt").read_bytes()


def test_combination_need_is_met_only_with_the_grid(comb_study):
    from types import SimpleNamespace

    from dossier.analyses import AnalysesBundle
    from dossier.evidence import needs_met

    spec, data = comb_study

    def ev(bundle):
        return SimpleNamespace(analyses=bundle, dose_summary=SimpleNamespace(rows=[]), design=None,
                               simulation_study=None, study=SimpleNamespace(therapeutic_area="oncology"))

    with_grid = AnalysesBundle(combination=analyse_combination(data, spec.combination))
    assert needs_met(ev(with_grid))["combination"] and not needs_met(ev(AnalysesBundle()))["combination"]
