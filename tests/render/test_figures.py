"""Figures of the analyses: valid, byte-deterministic SVG with text as paths, drawn from results only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from dossier.analyses.stats import kaplan_meier
from dossier.render import figures as F

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle():
    from dossier.analyses import AnalysesBundle, run_analyses
    from dossier.ingest import load_study
    from dossier.spec import load_spec

    spec = load_spec(REPO / "examples" / "examplinib" / "study.yaml")
    data, _ = load_study(spec, REPO / "examples" / "examplinib")
    b = run_analyses(data, spec, np.random.default_rng(spec.design.seed))
    # figures are drawn from the serialized results: a JSON round trip must give the same figures
    return AnalysesBundle.model_validate_json(b.model_dump_json())


def _check_svg(svg: str) -> None:
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg")
    # text stays text, in the project's own font (the same files the HTML and the PDF embed)
    fonts = set(re.findall(r"font-family: '([^']+)'", svg))
    assert fonts <= {"Dossier Sans"}, fonts
    assert "DejaVu" not in svg
    assert "<dc:date>" not in svg


def test_all_figures_names_and_valid_svg(bundle):
    figs = F.all_figures(bundle)
    expected = {"escalation_dlt", "tolerability_rates", "km_time_to_modification", "km_randomized", "predictions",
                "utility", "er_quartile_response", "er_quartile_severe", "km_exposure_quartile",
                "dose_response_severe"}
    assert expected <= set(figs)
    for name, svg in figs.items():
        _check_svg(svg)
        assert len(svg) > 5000, name


def test_figures_are_byte_deterministic(bundle):
    a = F.quartile_plot(bundle.exposure_response, "severe")
    b = F.quartile_plot(bundle.exposure_response, "severe")
    assert a == b
    assert F.utility_plot(bundle.benefit_risk) == F.utility_plot(bundle.benefit_risk)


def test_km_plot_from_curves_only():
    km = kaplan_meier(np.array([1.0, 2, 3, 4]), np.array([1, 0, 1, 1], bool), label="A")
    svg = F.km_plot([km], "Days")
    _check_svg(svg)


def test_quartile_plot_unknown_endpoint_raises(bundle):
    with pytest.raises(ValueError):
        F.quartile_plot(bundle.exposure_response, "nope")


def test_empty_bundle_has_no_figures():
    from dossier.analyses import AnalysesBundle

    assert F.all_figures(AnalysesBundle()) == {}
