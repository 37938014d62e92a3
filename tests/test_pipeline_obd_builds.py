"""End-to-end builds of copies of the example study with an OBD (utility) design as the study's design (split
from test_pipeline_rebuilds.py so that pytest-xdist runs these builds and the rebuild tests on different
workers)."""

from __future__ import annotations

import pytest
import yaml

from dossier.errors import SpecError
from dossier.pipeline import build


def test_obd_design_spec_builds_and_cached_evidence_keeps_obd_results(example_copy, tmp_path):
    spec = yaml.safe_load(example_copy.read_text())
    spec["design"].update(name="bf-boin", n_trials=200)
    for sc in spec["design"]["scenarios"]:
        sc["true_eff"] = [0.10, 0.20, 0.35, 0.38, 0.40, 0.40]
    example_copy.write_text(yaml.safe_dump(spec))
    first = build(example_copy, agencies="fda", formats="html", out_dir=tmp_path)
    html = (first.study_dir / "fda" / "dossier.html").read_text()
    assert "Mean backfill patients" in html and "mean trial duration" in html
    # a template-only change re-renders from evidence.json: the OBD fields must survive the round trip
    again = build(example_copy, agencies="ema", formats="html", out_dir=tmp_path)
    assert again.status == "rendered"
    assert "Mean backfill patients" in (again.study_dir / "ema" / "dossier.html").read_text()


@pytest.mark.parametrize("name", ["uboin", "boin12"])
def test_utility_design_spec_builds(example_copy, tmp_path, name):
    """A utility (OBD) design as the study's design: OBD selection in the OCs, the escalation summary's MTD by
    BOIN's isotonic rule, the design's printed name."""
    spec = yaml.safe_load(example_copy.read_text())
    spec["design"].update(name=name, n_trials=100, n_cohorts=12)
    if name == "uboin":
        spec["design"]["uboin"] = {"s1": 9, "s2": 18, "allocation": "proportional"}
    for sc in spec["design"]["scenarios"]:
        sc["true_eff"] = [0.10, 0.20, 0.35, 0.38, 0.40, 0.40]
    example_copy.write_text(yaml.safe_dump(spec))
    html = (build(example_copy, agencies="fda", formats="html", out_dir=tmp_path).study_dir / "fda"
            / "dossier.html").read_text()
    label = {"uboin": "U-BOIN", "boin12": "BOIN12"}[name]
    assert f"The escalation used the {label} design" in html and f"followed the {label} design" in html
    assert "Selected as OBD" in html
    assert "The MTD selected by the design is" in html


def test_obd_design_needs_efficacy_scenarios(example_copy, tmp_path):
    spec = yaml.safe_load(example_copy.read_text())
    spec["design"]["name"] = "boin12"
    example_copy.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match="design boin12 needs true_eff in every scenario"):
        build(example_copy, out_dir=tmp_path)
