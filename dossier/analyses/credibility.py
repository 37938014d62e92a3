"""Model credibility assessment following ICH M15 (General principles for model-informed drug
development, final 2026): for each model-based question, the question of interest, the context of use,
the model influence and the consequence of a wrong decision, the resulting model risk, and the
evaluation that was done (goodness of fit, sensitivity analyses). Also the complete list of settings
used by the analyses (the "methods and assumptions" record).

Model risk rule: both low -> low; both high -> high; otherwise (mixed) the higher of the two by default,
with ``justification_required`` set so the text must justify any lower rating.
Wording of questions and contexts lives in the templates; results carry codes.
"""

from __future__ import annotations

from typing import Literal

from dossier.analyses.exposure_response import ExposureResponseResult
from dossier.analyses.mcpmod import MCPModResult
from dossier.analyses.stats import Result

Level = Literal["low", "medium", "high"]
ORDER = {"low": 0, "medium": 1, "high": 2}


def model_risk(influence: Level, consequence: Level) -> tuple[Level, str, bool]:
    """ICH M15 model risk from model influence and decision consequence: (risk, rule, justification needed)."""
    if influence == consequence:
        return influence, f"both_{influence}", False
    higher = influence if ORDER[influence] > ORDER[consequence] else consequence
    return higher, "mixed_higher", True


class Evaluation(Result):
    name: str  # code, e.g. hosmer_lemeshow_p, aic_difference, slope_other_metric
    value: float | None
    detail: str = ""  # a code or a short machine-readable qualifier (e.g. the metric)


class CredibilityAssessment(Result):
    question: str  # code: er_efficacy, er_safety, mcpmod
    endpoint: str
    context_of_use: str  # code
    model_influence: Level
    decision_consequence: Level
    model_risk: Level
    risk_rule: str
    justification_required: bool
    evaluations: list[Evaluation]


class CredibilityResult(Result):
    assessments: list[CredibilityAssessment]
    settings: dict[str, str | float | int | bool | list[float] | list[str] | dict[str, float] | None]


def assess_credibility(er: ExposureResponseResult | None, mcpmod: list[MCPModResult], has_randomized: bool,
                       settings: dict, sensitivity_slopes: dict[str, dict[str, float]] | None = None
                       ) -> CredibilityResult:
    """Credibility tables for the E-R (efficacy, safety) and MCP-Mod models that were fitted."""
    out: list[CredibilityAssessment] = []
    # with a randomized comparison the models support (medium influence); without it they carry the choice
    influence: Level = "medium" if has_randomized else "high"
    if er is not None:
        for m in er.models:
            if m.endpoint not in ("response", "severe"):
                continue
            ev = [Evaluation(name="hosmer_lemeshow_p", value=m.hosmer_lemeshow_p),
                  Evaluation(name="slope_p_value", value=m.p_value)]
            obs_pred = max((abs(q.rate.rate - _interp(m, q.median_exposure)) for q in m.quartiles
                            if q.rate.rate is not None), default=None)
            ev.append(Evaluation(name="max_quartile_obs_minus_pred", value=obs_pred))
            if m.endpoint == "response" and er.emax is not None:
                ev.append(Evaluation(name="aic_emax_minus_logistic", value=er.emax.aic - er.emax.logistic_aic))
            if m.endpoint == "response" and er.efficacy_above_proposed is not None:
                ev.append(Evaluation(name="slope_above_proposed", value=er.efficacy_above_proposed.slope,
                                     detail=er.efficacy_above_proposed.subset))
            for metric, slopes in (sensitivity_slopes or {}).items():
                if m.endpoint in slopes:
                    ev.append(Evaluation(name="slope_other_metric", value=slopes[m.endpoint], detail=metric))
            consequence: Level = "high"
            risk, rule, just = model_risk(influence, consequence)
            out.append(CredibilityAssessment(
                question="er_efficacy" if m.endpoint == "response" else "er_safety", endpoint=m.endpoint,
                context_of_use="dosage_selection_supportive" if has_randomized else "dosage_selection_primary",
                model_influence=influence, decision_consequence=consequence, model_risk=risk, risk_rule=rule,
                justification_required=just, evaluations=ev))
    for r in mcpmod:
        ev = [Evaluation(name="min_adjusted_p", value=min(r.test.p_values) if r.test.p_values else None),
              Evaluation(name="critical_value", value=r.test.critical_value),
              Evaluation(name="n_doses_incl_placebo", value=float(r.n_doses_incl_placebo),
                         detail="within_context" if r.within_qualification_context else "outside_context")]
        if r.fits:
            crit = sorted(f.criterion for f in r.fits)
            ev.append(Evaluation(name="aic_gap_best_second", value=(crit[1] - crit[0]) if len(crit) > 1 else None))
        infl: Level = "low" if has_randomized else "medium"
        risk, rule, just = model_risk(infl, "medium")
        out.append(CredibilityAssessment(
            question="mcpmod", endpoint=r.endpoint, context_of_use="dose_response_characterisation",
            model_influence=infl, decision_consequence="medium", model_risk=risk, risk_rule=rule,
            justification_required=just, evaluations=ev))
    return CredibilityResult(assessments=out, settings=settings)


def _interp(m, x: float) -> float:
    import numpy as np

    return float(np.interp(np.log(x), np.log(m.curve_exposure), m.curve_prob)) if m.transform == "log" else \
        float(np.interp(x, m.curve_exposure, m.curve_prob))
