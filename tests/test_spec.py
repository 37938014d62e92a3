"""The study spec: validation errors name the key path and what is allowed; schema export."""

from __future__ import annotations

import json

import pytest
import yaml

from dossier.errors import SpecError
from dossier.spec import load_spec, parse_spec, spec_json_schema


def _example(example_spec_path) -> dict:
    return yaml.safe_load(example_spec_path.read_text())


def test_example_spec_is_valid(example_spec_path):
    spec = load_spec(example_spec_path)
    assert spec.proposed_dosage == 240
    assert spec.doses.levels == [60, 120, 240, 480, 720, 960]
    assert spec.agencies == ["fda", "ema", "pmda"]


def test_unknown_key_is_named_with_its_path(example_spec_path):
    data = _example(example_spec_path)
    data["design"]["targt"] = 0.3
    with pytest.raises(SpecError) as err:
        parse_spec(data, "study.yaml")
    assert "design.targt: unknown key" in err.value.what
    assert err.value.where == "study.yaml"


def test_wrong_value_names_path_and_allowed_values(example_spec_path):
    data = _example(example_spec_path)
    data["study"]["modality"] = "pill"
    data["datasets"]["adae"]["format"] = "sas7bdat"
    data["design"]["target"] = 1.5
    with pytest.raises(SpecError) as err:
        parse_spec(data, "study.yaml")
    msg = err.value.what
    assert "3 problems" in msg
    assert "study.modality" in msg and "small_molecule" in msg
    assert "datasets.adae.format" in msg and "dataset-json" in msg
    assert "design.target" in msg and "less than 1" in msg


def test_proposed_dosage_must_be_a_dose_level(example_spec_path):
    data = _example(example_spec_path)
    data["proposed_dosage"] = 300
    with pytest.raises(SpecError, match="proposed_dosage 300 is not one of doses.levels"):
        parse_spec(data)


def test_scenario_length_must_match_dose_levels(example_spec_path):
    data = _example(example_spec_path)
    data["design"]["scenarios"][0]["true_tox"] = [0.1, 0.2]
    with pytest.raises(SpecError, match=r"design.scenarios\[0\].true_tox has 2 values"):
        parse_spec(data)


def test_yaml_syntax_error_has_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("study:\n  id: [unclosed\n")
    with pytest.raises(SpecError) as err:
        load_spec(p)
    assert err.value.where.startswith(str(p) + ":")


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("study: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(p)


def test_schema_is_json_schema_with_forbidden_extras():
    schema = json.loads(spec_json_schema())
    assert schema["title"] == "StudySpec"
    assert schema["additionalProperties"] is False
    assert {"study", "doses", "datasets", "proposed_dosage"} <= set(schema["required"])
