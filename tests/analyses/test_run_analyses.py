"""The whole chain: run_analyses on the example study and on the real CDISC pilot data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dossier.analyses import AnalysesBundle, run_analyses
from dossier.analyses.credibility import model_risk
from dossier.analyses.escalation import analyse_escalation


def test_example_bundle_complete_and_json(example_bundle):
    b = example_bundle
    for name in ("escalation", "tolerability", "randomized", "dose_response", "exposure_response", "predictions",
                 "benefit_risk", "model_credibility", "patient_reported", "biomarkers"):
        assert getattr(b, name) is not None, name
    text = json.dumps(b.model_dump(mode="json"), allow_nan=True)
    again = AnalysesBundle.model_validate_json(text)
    assert again.benefit_risk.recommended_dose == b.benefit_risk.recommended_dose


def test_example_bundle_deterministic(example, example_bundle):
    spec, data = example
    b2 = run_analyses(data, spec, np.random.default_rng(spec.design.seed))
    assert b2.model_dump(mode="json") == example_bundle.model_dump(mode="json")


def test_example_escalation_summary(example):
    spec, data = example
    esc = analyse_escalation(data, spec.doses.levels, spec.design.name, spec.design.target)
    by = {d.dose: d.dlt for d in esc.doses}
    # generate.py ESCALATION: 720 mg 3/12 DLTs, 960 mg 3/6, no DLT below
    assert (by[720.0].n, by[720.0].events) == (12, 3) and (by[960.0].n, by[960.0].events) == (6, 3)
    assert by[240.0].events == 0 and by[240.0].n == 3
    assert esc.mtd == 720.0 and esc.mtd_reached and esc.maximum_administered_dose == 960.0


def test_example_dose_response_mcpmod(example_bundle):
    dr = example_bundle.dose_response
    sev = dr.get("severe")
    assert sev.dose_response_detected and sev.kind == "safety"
    assert "no_placebo" in sev.context_notes and not sev.within_qualification_context
    resp = dr.get("response")
    assert resp is not None and not resp.dose_response_detected  # flat efficacy over 60-960 mg


def test_example_recommendation_and_credibility(example_bundle):
    br = example_bundle.benefit_risk
    # with the patient-reported criteria weighed (tests/analyses/test_pro_justification.py) the utility is
    # highest at 120 mg; without them, at 240 mg (tests/analyses/test_exposure_response.py)
    assert set(br.pro_weighed) == {"pro_symptom", "pro_qol"}
    assert br.recommended_dose == 120.0 and br.mtd == 720.0
    cred = example_bundle.model_credibility
    qs = {(a.question, a.endpoint) for a in cred.assessments}
    assert ("er_efficacy", "response") in qs and ("er_safety", "severe") in qs
    assert all(a.model_risk in ("low", "medium", "high") for a in cred.assessments)
    assert cred.settings["exposure_metric"] == "AUCSS"


@pytest.mark.parametrize("inf,cons,risk,just", [
    ("low", "low", "low", False), ("high", "high", "high", False), ("low", "high", "high", True),
    ("medium", "low", "medium", True),
])
def test_model_risk_rule(inf, cons, risk, just):
    r, _, j = model_risk(inf, cons)
    assert (r, j) == (risk, just)


def test_cdisc_pilot_whole_chain(cdisc):
    """Real randomized placebo / 54 / 81 mg data: no PK, no response, AESEV instead of grade."""
    spec, data = cdisc
    b = run_analyses(data, spec, np.random.default_rng(1))
    assert b.exposure_response is None and b.predictions is None and b.benefit_risk is None
    assert b.escalation is None
    tol = b.tolerability
    assert [a.dose for a in tol.arms] == [0.0, 54.0, 81.0]
    assert b.randomized is not None and b.randomized.tte_paramcd == "TTDE"
    dr = b.dose_response
    assert dr is not None
    ae = dr.get("any_teae") or dr.get("severe")
    assert ae is not None
    assert ae.n_doses_incl_placebo == 3 and ae.has_placebo
    assert not ae.within_qualification_context and "fewer_than_4_doses" in ae.context_notes
    rates = [g.rate for g in ae.groups]
    assert all(0 <= r <= 1 for r in rates)
    anyae = dr.get("any_teae")
    if anyae is not None:
        assert anyae.dose_response_detected  # AE rates rise from placebo to 54/81 mg
    assert b.model_credibility is not None
    assert all(a.question == "mcpmod" for a in b.model_credibility.assessments)
    json.dumps(b.model_dump(mode="json"))


def test_adverse_events_of_special_interest(example):
    from dossier.analyses import AnalysisSettings
    from dossier.render.figures import quartile_plot

    from .test_sections import SECTIONS, render

    spec, data = example
    b = run_analyses(data, spec, np.random.default_rng(2),
                     AnalysisSettings(aesi_terms=["Rash", "Alanine aminotransferase increased"], n_bootstrap_predictions=200,
                                      n_bootstrap_mcpmod=50))
    arm = b.tolerability.arms[2]
    rash = arm.get("aesi_rash")
    assert rash is not None and 0 < rash.events <= arm.n
    assert b.exposure_response.model("aesi_rash") is not None
    assert any(e.endpoint == "aesi_rash" for e in b.predictions.dosages[0].endpoints)
    html = "".join(render(s, b, spec) for s in SECTIONS)
    assert "adverse event of special interest: rash" in html.lower()
    assert quartile_plot(b.exposure_response, "aesi_rash").startswith("<?xml")
