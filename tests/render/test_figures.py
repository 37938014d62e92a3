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


# -- reader-facing style: units, one colour per dose, numbers at risk, 9 pt text, baselines -----------------
# References: FDA "Portable Document Format (PDF) Specifications" (fonts in figures at least 9 point at
# printed size); Pocock, Clayton & Altman (2002) Lancet 359:1686 (KM plots show the numbers at risk).

def _capture(monkeypatch, module=F, name="_svg"):
    """Make a figure function hand back its matplotlib Figure (instead of SVG text) for inspection."""
    monkeypatch.setattr(module, name, lambda fig, **_kw: fig)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text") and hasattr(o, "get_fontsize"))]


def test_units_are_typeset():
    assert F.typeset_unit("ug*h/mL") == "\u00b5g\u00b7h/mL"
    assert F.typeset_unit("mcg.h/L") == "\u00b5g\u00b7h/L"
    assert F.typeset_unit("ng/mL") == "ng/mL"
    assert F.exposure_label("AUCSS", "ug*h/mL") == "AUCss (\u00b5g\u00b7h/mL)"
    assert F.exposure_label("CMAX", None) == "Cmax"


def test_dose_and_exposure_axes_carry_units(bundle):
    doses = [a.dose for a in bundle.tolerability.arms if not a.control]
    with F.dose_levels(doses, "mg"):
        for svg in (F.escalation_plot(bundle.escalation), F.quartile_plot(bundle.exposure_response, "severe"),
                    F.prediction_plot(bundle.predictions), F.utility_plot(bundle.benefit_risk),
                    F.dose_response_plot(bundle.dose_response.endpoints[0])):
            assert "Dose (mg" in svg
        er = F.quartile_plot(bundle.exposure_response, "severe")
    assert F.exposure_label(bundle.exposure_response.metric, bundle.exposure_response.unit) in er
    assert "ug*h" not in er and "AUCSS" not in er


def test_one_colour_per_dose_across_figures(bundle, monkeypatch):
    """The same dose has the same colour in the tolerability bars, the KM plot and the utility sensitivity,
    although the three show different sets of doses; control is grey."""
    from matplotlib.colors import to_hex

    _capture(monkeypatch)
    tol = bundle.tolerability
    doses = [a.dose for a in tol.arms if not a.control]
    with F.dose_levels(doses, "mg"):
        bars = F.tolerability_plot(tol)
        kms = [a.time_to_modification for a in tol.arms if a.time_to_modification is not None and a.n >= 5
               and a.time_to_modification.events]
        km = F.km_plot(kms, "Days", by_dose=True)
        util = F.utility_plot(bundle.benefit_risk)
        expected = {f"{d:g}": F.dose_colour(d).lower() for d in doses}
    from matplotlib.container import BarContainer

    bar_colour = {h.get_label(): to_hex(h.patches[0].get_facecolor()) for h in bars.axes[0].containers
                  if isinstance(h, BarContainer) and h.patches}
    km_colour = {ln.get_label().split(" (")[0]: to_hex(ln.get_color()) for ln in km.axes[0].get_lines()}
    util_colour = {ln.get_label(): to_hex(ln.get_color()) for ln in util.axes[1].get_lines() if ln.get_label()[0].isdigit()}
    shared = set(bar_colour) & set(km_colour) & set(util_colour)
    assert len(shared) >= 3
    assert len(km_colour) < len(bar_colour)  # the KM plot leaves doses out: position-based colours would differ
    for d in shared:
        assert bar_colour[d] == km_colour[d] == util_colour[d] == expected[d]
    assert len(set(bar_colour.values())) == len(bar_colour)
    assert F.dose_colour(0.0) == F.dose_colour(240.0, control=True) == F.CONTROL_COLOUR


def test_km_plot_has_numbers_at_risk(monkeypatch):
    _capture(monkeypatch)
    t = np.arange(1.0, 11.0)
    a = kaplan_meier(t, np.ones(10, bool), label="240", group=240.0)
    b = kaplan_meier(t * 2, np.r_[np.ones(5, bool), np.zeros(5, bool)], label="480", group=480.0)
    with F.dose_levels([240.0, 480.0], "mg"):
        fig = F.km_plot([a, b], "Days", by_dose=True)
        colours = {240.0: F.dose_colour(240.0), 480.0: F.dose_colour(480.0)}
    assert colours[240.0] != colours[480.0]
    texts = _texts(fig)
    assert "Number at risk" in texts
    ticks = [x for x in fig.axes[0].get_xticks()]
    # the at-risk row of each curve: subjects with follow-up >= tick (closed form for these data)
    for km, times in ((a, t), (b, t * 2)):
        expected = [str(int((times >= x).sum())) for x in ticks]
        row = [x.get_text() for x in fig.axes[0].texts if x.get_color() == colours[km.group]
               and x.get_text() != km.label]
        assert row == expected


def test_text_is_at_least_9_pt_when_printed(bundle):
    """Every text in every figure is >= 9 pt once the SVG is scaled to the A4 text width (174 mm)."""
    text_width_pt = 174 / 25.4 * 72
    doses = [a.dose for a in bundle.tolerability.arms if not a.control]
    for name, svg in F.all_figures(bundle, doses, "mg").items():
        width = float(re.search(r'<svg[^>]*width="([0-9.]+)pt"', svg).group(1))
        scale = min(1.0, text_width_pt / width)
        sizes = [float(s) for s in re.findall(r"font-size: ([0-9.]+)px", svg)]
        assert sizes and min(sizes) * scale >= 9 - 1e-6, (name, min(sizes), scale)
        assert "mathdefault" not in svg and "$" not in re.sub(r"<[^>]+>", "", svg), name


def test_pmr_waterfall_starts_at_the_base_rate(monkeypatch):
    """No bar is anchored at log-odds 0 (a probability of 50%): bars start at the base rate or a running level."""
    from dossier.analyses.pmr_risk import PmrInputs, assess_pmr_risk
    from dossier.render import pmr_figures

    monkeypatch.setattr(pmr_figures, "svg_markup", lambda fig, **_kw: fig)
    inputs = PmrInputs(proposed_dosage=720, mtd=720, max_administered_dose=960, modality="small_molecule",
                       randomized_dosages=[240, 480], dose_levels=[60.0, 120.0, 240.0, 480.0, 720.0, 960.0],
                       efficacy_er_slope=0.05, efficacy_er_ci=(-0.2, 0.3), safety_er_slope=1.3, safety_er_ci=(0.6, 2.0),
                       expected_treatment_months=8, n_patients_at_proposed=12, dose_reduction_rate=0.45,
                       dose_interruption_rate=0.70, discontinuation_rate=0.15, grade3_rate=0.55,
                       persistent_low_grade_rate=0.40)
    r = assess_pmr_risk(inputs, np.random.default_rng(20240801), n_draws=500)
    fig = pmr_figures.pmr_waterfall_svg(r)
    lefts = [p.get_x() for p in fig.axes[0].patches]
    assert lefts and all(abs(x) > 1e-9 for x in lefts)
    assert min(lefts) == pytest.approx(r.intercept) or r.intercept > min(lefts)
    import matplotlib.pyplot as plt

    plt.close(fig)
