"""Biomarker / PD dose-response (dossier/analyses/biomarker.py): the wiring of the spec's markers into
MCP-Mod (normal errors, ANCOVA) and the continuous Emax E-R -- those methods are tested against DoseFinding
in test_mcpmod.py and test_exposure_response.py -- plus the section: validation status and "not collected"."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyreadstat
import pytest
from scipy import stats

from dossier.analyses import AnalysesBundle
from dossier.analyses.biomarker import analyse_biomarkers, subject_responses, t_mean_ci
from dossier.analyses.exposure_response import fit_emax_continuous
from dossier.analyses.mcpmod import analyse_mcpmod

from .conftest import EXAMPLE
from .test_sections import render


@pytest.fixture(scope="module")
def marker(example):
    spec, data = example
    return spec.biomarkers[0]


def test_example_spec_names_one_exploratory_marker(marker):
    assert (marker.paramcd, marker.validation, marker.measure, marker.visit) == ("PERKINH", "exploratory", "change",
                                                                                 "WEEK 4")


def test_responses_are_the_adpd_change_at_the_visit(example, marker):
    spec, data = example
    adpd, _ = pyreadstat.read_xport(str(EXAMPLE / "data" / "adpd.xpt"))
    wk4 = adpd[(adpd["PARAMCD"] == "PERKINH") & (adpd["AVISIT"] == "WEEK 4")].set_index("USUBJID")["CHG"]
    frame = subject_responses(data, marker).set_index("usubjid")
    got = frame["response"].dropna()
    assert set(got.index) == set(wk4.index)
    np.testing.assert_allclose(got.sort_index().to_numpy(), wk4.sort_index().to_numpy(), atol=1e-9)
    # subjects without a week-4 sample are missing, never 0
    assert frame["response"].isna().sum() == len(frame) - len(wk4)


def test_percent_change_last_value_and_decreasing_direction(example, marker):
    spec, data = example
    b = data.biomarker
    post = b[b["post_baseline"]].sort_values(["usubjid", "day"]).drop_duplicates("usubjid", keep="last")
    post = post.set_index(post["usubjid"].astype(str))
    pct = marker.model_copy(update={"measure": "percent_change", "visit": None, "direction": "decreasing"})
    frame = subject_responses(data, pct).set_index("usubjid")["response"]
    expected = -(100.0 * post["change"] / post["base"]).where(post["base"] != 0)
    np.testing.assert_allclose(frame.reindex(expected.index).to_numpy(float), expected.to_numpy(float))


def test_mean_ci_is_the_t_interval():
    y = np.array([3.1, 4.7, 5.0, 2.2, 6.3])
    mean, lo, hi = t_mean_ci(y)
    want = stats.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
    assert mean == pytest.approx(y.mean()) and (lo, hi) == pytest.approx(want)
    assert t_mean_ci(np.array([1.0]))[1:] == (None, None)


def test_mcpmod_wiring_detects_the_generated_signal(example, example_bundle, marker):
    spec, data = example
    ep = example_bundle.biomarkers.endpoints[0]
    assert ep.validation == "exploratory" and ep.covariates == ["baseline"]
    frame = subject_responses(data, marker).dropna(subset=["response"])
    direct = analyse_mcpmod(frame["dose"].to_numpy(float), frame["response"].to_numpy(float), marker.paramcd,
                            data_type="normal", covariates={"baseline": frame["base"].to_numpy(float)})
    assert ep.mcpmod.test.t_statistics == pytest.approx(direct.test.t_statistics)
    assert ep.mcpmod.test.p_values == pytest.approx(direct.test.p_values, rel=1e-6, abs=1e-12)
    # generator truth: Emax in exposure, 57 -> 84 points from 60 to 960 mg; every candidate contrast significant
    assert ep.mcpmod.dose_response_detected and max(ep.mcpmod.test.p_values) < 0.001
    assert [g.n for g in ep.by_dose] == [int((frame["dose"] == d).sum()) for d in sorted(frame["dose"].unique())]


def test_emax_wiring_and_generator_truth(example, example_bundle, marker):
    spec, data = example
    ep = example_bundle.biomarkers.endpoints[0]
    frame = subject_responses(data, marker).dropna(subset=["response"])
    pk = data.pk[data.pk["paramcd"] == "AUCSS"]
    pk = pk.set_index(pk["usubjid"].astype(str))["value"].astype(float)
    direct = fit_emax_continuous(frame["usubjid"].map(pk).to_numpy(float), frame["response"].to_numpy(float), "x")
    assert (ep.emax.e0, ep.emax.emax, ep.emax.ec50) == pytest.approx((direct.e0, direct.emax, direct.ec50))
    assert ep.exposure_paramcd == "AUCSS" and ep.exposure_unit == "ug*h/mL"
    # generate_pd.py: IC50 6 ug*h/mL inside the profile-likelihood interval
    lo, hi = ep.emax.ec50_ci_lower or 0.0, ep.emax.ec50_ci_upper or np.inf
    assert lo <= 6.0 <= hi
    assert ep.emax.fraction_of_max_at_dose["240"] > 0.7  # the plateau at and above 240 mg


def test_without_biomarker_data_the_section_says_not_collected(example, example_bundle):
    spec, data = example
    bare = dataclasses.replace(data, biomarker=None)
    assert analyse_biomarkers(bare, list(spec.biomarkers), "AUCSS", None) is None
    bundle = example_bundle.model_copy(update={"biomarkers": None})
    html = render("biomarker", bundle, spec)
    assert "not collected" in html and "Validation status" not in html
    assert "not collected" in render("biomarker", AnalysesBundle(), spec)


def test_section_states_the_validation_status(example, example_bundle):
    spec, data = example
    html = render("biomarker", example_bundle, spec)
    assert "Validation status: <strong>exploratory</strong>" in html and "not a validated surrogate" in html
    ep = example_bundle.biomarkers.endpoints[0].model_copy(update={"validation": "validated"})
    validated = example_bundle.model_copy(update={"biomarkers": example_bundle.biomarkers.model_copy(
        update={"endpoints": [ep]})})
    html = render("biomarker", validated, spec)
    assert "Validation status: <strong>validated</strong>" in html and "not a validated surrogate" not in html


def test_ancova_covariates_from_adsl(example, marker):
    spec, data = example
    m2 = marker.model_copy(update={"covariates": ["baseline", "sex", "age"]})
    res = analyse_biomarkers(data, [m2], None, None)
    ep = res.endpoints[0]
    assert ep.mcpmod.covariates == ["baseline", "sexM", "age"]
    assert ep.emax is None and ep.exposure_paramcd is None


# --- the biomarker / PD line of the justification matrix (dossier/analyses/justification.py) ---------------

def _justify(bundle, spec, n_per_dose=20):
    """The matrix over the example's dose levels, every dose 'treated' in n_per_dose patients (a stand-in
    dose summary, so that adequacy does not depend on the example's allocation)."""
    from types import SimpleNamespace

    from dossier.analyses.justification import analyse_justification

    rows = [SimpleNamespace(dose=float(d), n_subjects=n_per_dose, control=False) for d in spec.doses.levels]
    return analyse_justification(bundle, SimpleNamespace(rows=rows), list(spec.doses.levels), spec.proposed_dosage,
                                 list(spec.randomized_dosages), spec.doses.unit, min_patients=10)


def _with_marker(bundle, **update):
    ep = bundle.biomarkers.endpoints[0]
    mcp = ep.mcpmod.model_copy(update={k: v for k, v in update.items() if k in ("delta", "dose_response_detected")})
    ep = ep.model_copy(update={"mcpmod": mcp, **{k: v for k, v in update.items() if k == "validation"}})
    return bundle.model_copy(update={"biomarkers": bundle.biomarkers.model_copy(update={"endpoints": [ep]})})


def _effect(ep, d):
    r = ep.mcpmod
    return np.interp(d, r.curve_dose, r.curve_response) - np.interp(0.0, r.curve_dose, r.curve_response)


def test_justification_biomarker_line_follows_the_stated_rule(example, example_bundle):
    spec, _ = example
    ep = example_bundle.biomarkers.endpoints[0]
    # the example states no relevant effect: a detected signal alone is neutral at every dose
    j = _justify(example_bundle, spec)
    assert j.lines["biomarker"] == "Biomarker / PD (MCP-Mod; exploratory)"
    studied = {g.dose for g in ep.by_dose}
    for r in j.rows:
        c = r.cell("biomarker")
        assert c.verdict == ("neutral" if r.dose in studied else "not_assessable"), (r.dose, c.reason)
    # with a relevant effect of 20 %-points: supports where the modelled effect over dose 0 reaches it
    delta = 20.0
    j = _justify(_with_marker(example_bundle, delta=delta), spec)
    verdicts = {r.dose: r.cell("biomarker").verdict for r in j.rows}
    expected = {d: "supports" if _effect(ep, d) >= delta else "against" for d in verdicts}
    assert verdicts == expected and {"supports", "against"} <= set(verdicts.values())
    assert "below the relevant 20" in j.row(min(verdicts)).cell("biomarker").reason
    # no dose-response signal: neutral
    j = _justify(_with_marker(example_bundle, delta=delta, dose_response_detected=False), spec)
    assert {r.cell("biomarker").verdict for r in j.rows} == {"neutral"}


def test_exploratory_marker_never_decides_and_validated_counts_as_efficacy(example, example_bundle):
    spec, _ = example
    ep = example_bundle.biomarkers.endpoints[0]
    delta = 20.0
    low = [d for d in spec.doses.levels if _effect(ep, d) < delta]
    assert low  # the rule has doses to exclude
    without = _justify(example_bundle.model_copy(update={"biomarkers": None}), spec)
    assert "biomarker" not in without.lines and "biomarker / pharmacodynamic dose-response" in without.absent_lines
    exploratory = _justify(_with_marker(example_bundle, delta=delta), spec)
    # an exploratory marker against a dose changes no exclusion and not the favoured dosage
    assert [r.efficacy_excluded for r in exploratory.rows] == [r.efficacy_excluded for r in without.rows]
    assert exploratory.favoured == without.favoured
    assert not any(r.cell("biomarker").excludes_dose for r in exploratory.rows)
    validated = _justify(_with_marker(example_bundle, delta=delta, validation="validated"), spec)
    assert validated.lines["biomarker"] == "Biomarker / PD (MCP-Mod)"
    for r in validated.rows:
        assert r.cell("biomarker").excludes_dose == (r.dose in low)
        assert r.efficacy_excluded == (r.dose in low or without.row(r.dose).efficacy_excluded)
    assert validated.favoured is None or validated.favoured not in low


def test_justification_section_states_the_biomarker_rule(example, example_bundle):
    from types import SimpleNamespace

    from dossier.jurisdictions import load_profile

    from .test_sections import _env

    spec, _ = example
    j = _justify(_with_marker(example_bundle, delta=20.0), spec)
    tpl = _env().from_string('{% import "base/macros.html.j2" as m with context %}'
                             '{% include "base/sections/justification.html.j2" %}')
    evidence = SimpleNamespace(analyses=example_bundle, doses=spec.doses, proposed_dosage=spec.proposed_dosage,
                               justification=j)
    html = tpl.render(evidence=evidence, figures={}, terms=load_profile("fda").terms, agency="fda")
    assert "<th>Biomarker / PD (MCP-Mod; exploratory)</th>" in html
    assert "an exploratory marker is shown for information and never decides" in html


# --- the biomarker figure (dossier/render/figures.py biomarker_plot) --------------------------------------

def test_biomarker_figure_draws_means_in_dose_colours_and_the_selected_model(example, example_bundle):
    from dossier.render.figures import DOSE_PALETTE, biomarker_plot, dose_levels, figure_plan

    spec, _ = example
    ep = example_bundle.biomarkers.endpoints[0]
    assert ("biomarker_PERKINH", biomarker_plot, (ep,)) in figure_plan(example_bundle)
    with dose_levels(spec.doses.levels, spec.doses.unit):
        svg = biomarker_plot(ep)
        flat = biomarker_plot(ep.model_copy(update={"mcpmod": ep.mcpmod.model_copy(
            update={"dose_response_detected": False})}))
    assert "Change from baseline (%)" in svg and "Dose (mg)" in svg and "Observed mean (95% CI)" in svg
    # one colour per studied dose level, the study's palette by rank (as every other figure)
    ranks = [sorted(spec.doses.levels).index(g.dose) for g in ep.by_dose]
    for k in ranks:
        assert DOSE_PALETTE[k].lower() in svg.lower()
    assert f"{ep.mcpmod.selected_model} model" in svg and "Bootstrap 95% band" in svg
    # without a selected model no curve is drawn
    assert f"{ep.mcpmod.selected_model} model" not in flat and "Bootstrap" not in flat
    assert "Observed mean (95% CI)" in flat


def test_biomarker_section_shows_the_figure_with_its_caption(example, example_bundle):
    spec, _ = example
    html = render("biomarker", example_bundle, spec, figures={"biomarker_PERKINH": "<svg>fig</svg>"})
    assert "<svg>fig</svg>" in html
    cap = html[html.index("<figcaption>"):html.index("</figcaption>")]
    assert "observed mean of each dosage group with its t-based 95% confidence interval" in cap
    assert "selected by MCP-Mod, adjusted for the covariates" in cap and "bootstrap 95% band" in cap
    assert "<figure>" not in render("biomarker", example_bundle, spec)  # no figure drawn: no empty frame
