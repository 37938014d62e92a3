"""Analyses stage: typed study data in, typed results out (one module per analysis).

:func:`run_analyses` runs every analysis the data allow and returns an :class:`AnalysesBundle`; each
field is ``None`` when its data are absent (e.g. no PK: no exposure-response, predictions or
benefit-risk). Deterministic for a given ``numpy.random.Generator`` seed.

Modules: :mod:`.tolerability`, :mod:`.randomized`, :mod:`.escalation`, :mod:`.mcpmod` (dose-response),
:mod:`.exposure_response`, :mod:`.predictions`, :mod:`.benefit_risk`, :mod:`.credibility`; shared
building blocks in :mod:`.stats` and :mod:`.endpoints`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import numpy as np

from dossier.analyses.benefit_risk import BenefitRiskResult, analyse_benefit_risk
from dossier.analyses.biomarker import BiomarkerResult, analyse_biomarkers
from dossier.analyses.combination import CombinationEvidence, analyse_combination
from dossier.analyses.credibility import CredibilityResult, assess_credibility
from dossier.analyses.dosing import DosingResult, analyse_dosing
from dossier.analyses.endpoints import response_population, subject_endpoints
from dossier.analyses.escalation import EscalationResult, analyse_escalation
from dossier.analyses.exposure_response import (
    ExposureResponseResult,
    analyse_exposure_response,
    exposure_table,
    fit_logistic_er,
)
from dossier.analyses.mcpmod import MCPModResult, analyse_mcpmod
from dossier.analyses.nca import NCASettings, PKResult, analyse_pk
from dossier.analyses.predictions import PredictionsResult, analyse_predictions
from dossier.analyses.pro import PatientReportedResult, ProSettings, analyse_patient_reported
from dossier.analyses.randomized import RandomizedResult, analyse_randomized
from dossier.analyses.stats import Result
from dossier.analyses.tolerability import TolerabilityResult, analyse_tolerability
from dossier.errors import DossierError
from dossier.labels import SAFETY_ENDPOINTS

if TYPE_CHECKING:
    from dossier.ingest.tables import StudyData
    from dossier.spec import StudySpec

__all__ = [
    "AnalysesBundle", "AnalysisSettings", "BenefitRiskResult", "CredibilityResult", "DoseResponseResult",
    "EscalationResult", "ExposureResponseResult", "MCPModResult", "PatientReportedResult", "PredictionsResult",
    "RandomizedResult", "TolerabilityResult", "run_analyses",
]


class AnalysisSettings(Result):
    """Every setting the analyses use (defaults documented here; shown in the methods section)."""

    exposure_transform: str = "log"  # logistic E-R on log exposure
    er_covariates: list[str] = []
    n_bootstrap_predictions: int = 1000
    prediction_method: str = "observed"  # or "dose_proportional", "lognormal"
    n_bootstrap_mcpmod: int = 300
    mcpmod_alpha: float = 0.025  # one-sided, DoseFinding default
    mcpmod_selection: str = "AIC"
    mcpmod_delta_probability: float = 0.10  # clinically relevant effect for binary endpoints
    cui_weights: dict[str, float] = {"response": 0.5, "severe": 0.3, "modified": 0.2}
    cui_min_patients: int = 10
    mcpmod_min_events: int = 5
    aesi_terms: list[str] = []  # adverse events of special interest (preferred terms): tolerability and E-R
    pro_deterioration_points: float = 10.0  # QLQ-C30 clinically meaningful deterioration (Osoba et al. 1998)
    pro_ctcae_high_score: int = 3  # PRO-CTCAE item score counted as high


class DoseResponseResult(Result):
    """MCP-Mod for each endpoint with enough events across at least three dose groups."""

    endpoints: list[MCPModResult]

    def get(self, endpoint: str) -> MCPModResult | None:
        return next((e for e in self.endpoints if e.endpoint == endpoint), None)


class AnalysesBundle(Result):
    """All analysis results of one study (each ``None`` when its data are absent)."""

    escalation: EscalationResult | None = None
    tolerability: TolerabilityResult | None = None
    randomized: RandomizedResult | None = None
    dose_response: DoseResponseResult | None = None
    exposure_response: ExposureResponseResult | None = None
    predictions: PredictionsResult | None = None
    benefit_risk: BenefitRiskResult | None = None
    model_credibility: CredibilityResult | None = None
    pk: PKResult | None = None  # NCA of concentration data (dossier.analyses.nca)
    dosing: DosingResult | None = None  # actual dosing over time (per-record ADEX / EX)
    patient_reported: PatientReportedResult | None = None  # PRO-CTCAE and QLQ-C30; None: not collected
    combination: CombinationEvidence | None = None  # two-agent dose-pair grid (spec combination.data)
    biomarkers: BiomarkerResult | None = None  # biomarker / PD dose-response (spec biomarkers); None: not collected
    settings: AnalysisSettings = AnalysisSettings()


def _dose_response(data: StudyData, settings: AnalysisSettings, rng: np.random.Generator,
                   low_grade_days: int) -> DoseResponseResult | None:
    se = subject_endpoints(data, low_grade_days)
    has_ae = bool(se.attrs.get("has_adverse_events"))
    has_resp = bool(se["has_response"].any())
    results: list[MCPModResult] = []
    jobs: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    if has_resp:
        eff = response_population(se)
        jobs.append(("response", "efficacy", eff["dose"].to_numpy(float), eff["responder"].to_numpy(float)))
    if has_ae:
        saf = se[se["safety"].astype(bool)]
        for key in ("severe", "modified", "withdrawn", "withdrawn_study", "any_teae"):
            known = saf.dropna(subset=[key])  # unknown / not collected: left out, never 0
            if len(known):
                jobs.append((key, "safety", known["dose"].to_numpy(float), known[key].to_numpy(float)))
    for key, kind, d, y in jobs:
        if len(np.unique(d)) < 3 or y.sum() < settings.mcpmod_min_events or (len(y) - y.sum()) < settings.mcpmod_min_events:
            continue
        r = analyse_mcpmod(d, y, key, data_type="binary", delta=settings.mcpmod_delta_probability,
                           alpha=settings.mcpmod_alpha, selection=settings.mcpmod_selection, rng=rng,
                           n_bootstrap=settings.n_bootstrap_mcpmod, kind=kind)
        if r is not None:
            results.append(r)
    return DoseResponseResult(endpoints=results) if results else None


def with_nca_exposure(data: StudyData, pk: PKResult | None) -> StudyData:
    """``data`` with the NCA parameters as its ADPP-like exposure table when ADPP is absent (else unchanged)."""
    if data.pk is not None or pk is None:
        return data
    return dataclasses.replace(data, pk=pk.adpp())


def _pk(data: StudyData, spec: StudySpec) -> PKResult:
    pk = spec.pk
    nca = dict(pk.nca) if pk is not None else {}
    if pk is not None:
        nca.setdefault("time_unit", pk.time_unit)
        if pk.conc_unit:
            nca.setdefault("conc_unit", pk.conc_unit)
        if pk.lloq is not None:
            nca.setdefault("lloq", pk.lloq)
    return analyse_pk(data.pk_profiles, NCASettings(**nca), spec.doses.unit)


def run_analyses(data: StudyData, spec: StudySpec, rng: np.random.Generator,
                 settings: AnalysisSettings | None = None, timings: dict[str, float] | None = None) -> AnalysesBundle:
    """Run every analysis the data allow. ``timings`` (optional) receives seconds per analysis."""
    s = settings or AnalysisSettings()
    f = spec.filters
    lgd = f.persistent_low_grade_days
    clock = {} if timings is None else timings

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - t0
        return out

    b = AnalysesBundle(settings=s)
    try:
        b.escalation = timed("escalation", analyse_escalation, data, list(spec.doses.levels), spec.design)
    except (ImportError, ValueError, DossierError):  # designs unavailable or unusable escalation data
        b.escalation = None
    if data.pk_profiles is not None and not data.pk_profiles.empty:
        b.pk = timed("pk", _pk, data, spec)
        data = with_nca_exposure(data, b.pk)
    b.tolerability = timed("tolerability", analyse_tolerability, data, lgd, s.aesi_terms,
                           spec.study.therapeutic_area == "oncology")
    b.dosing = timed("dosing", analyse_dosing, data)
    b.patient_reported = timed("patient_reported", analyse_patient_reported, data,
                               ProSettings(high_score=s.pro_ctcae_high_score,
                                           deterioration_points=s.pro_deterioration_points))
    b.combination = timed("combination", analyse_combination, data, spec.combination)
    b.biomarkers = timed("biomarkers", analyse_biomarkers, data, list(spec.biomarkers), f.exposure_paramcd, rng,
                         s.n_bootstrap_mcpmod, s.mcpmod_alpha, s.mcpmod_selection)
    b.randomized = timed("randomized", analyse_randomized, data, list(spec.randomized_dosages), spec.proposed_dosage,
                         f.pfs_paramcd, lgd)
    b.dose_response = timed("dose_response", _dose_response, data, s, rng, lgd)
    b.exposure_response = timed("exposure_response", analyse_exposure_response, data, f.exposure_paramcd,
                                spec.proposed_dosage, f.pfs_paramcd, s.exposure_transform, s.er_covariates,
                                spec.study.modality.value, lgd, s.aesi_terms)
    draws = None
    if b.exposure_response is not None:
        out = timed("predictions", analyse_predictions, data, b.exposure_response, list(spec.doses.levels),
                    spec.proposed_dosage, rng, s.n_bootstrap_predictions, s.prediction_method, lgd,
                    aesi_terms=s.aesi_terms)
        if out is not None:
            b.predictions, draws = out
    if b.predictions is not None and draws is not None:
        b.benefit_risk = timed("benefit_risk", analyse_benefit_risk, b.predictions, draws, spec.proposed_dosage,
                               s.cui_weights, s.cui_min_patients, b.randomized,
                               b.escalation.mtd if b.escalation else None, b.patient_reported,
                               rng.spawn(1)[0])  # PRO bootstrap: own stream, the shared one is left as it was
    t0 = time.perf_counter()
    sens = _metric_sensitivity(data, spec, s, lgd) if b.exposure_response is not None else {}
    settings_record = {
        "exposure_metric": f.exposure_paramcd, "exposure_transform": s.exposure_transform,
        "er_covariates": list(s.er_covariates), "response_paramcd": f.response_paramcd,
        "responders": list(f.responders), "pfs_paramcd": f.pfs_paramcd, "persistent_low_grade_days": lgd,
        "prediction_method": s.prediction_method, "n_bootstrap_predictions": s.n_bootstrap_predictions,
        "n_bootstrap_mcpmod": s.n_bootstrap_mcpmod, "mcpmod_alpha": s.mcpmod_alpha,
        "mcpmod_selection": s.mcpmod_selection, "mcpmod_delta_probability": s.mcpmod_delta_probability,
        "cui_weights": dict(s.cui_weights), "cui_min_patients": s.cui_min_patients,
        "design": spec.design.name, "design_target": spec.design.target,
        "severity_basis": b.tolerability.severity_basis if b.tolerability else "none",
        "aesi_terms": list(s.aesi_terms),
    }
    # only the settings of analyses that were done (no E-R, escalation or response settings where none ran)
    unused: set[str] = set()
    if b.exposure_response is None:
        unused |= {"exposure_metric", "exposure_transform", "er_covariates", "prediction_method",
                   "n_bootstrap_predictions", "cui_weights", "cui_min_patients"}
    if b.escalation is None:
        unused |= {"design", "design_target"}
    if data.response is None:
        unused |= {"response_paramcd", "responders"}
    if b.dose_response is None:
        unused |= {"n_bootstrap_mcpmod", "mcpmod_alpha", "mcpmod_selection", "mcpmod_delta_probability"}
    settings_record = {k: v for k, v in settings_record.items() if k not in unused}
    if b.exposure_response or b.dose_response:
        b.model_credibility = assess_credibility(b.exposure_response,
                                                 b.dose_response.endpoints if b.dose_response else [],
                                                 b.randomized is not None, settings_record, sens)
    clock["model_credibility"] = clock.get("model_credibility", 0.0) + time.perf_counter() - t0
    return b


def _metric_sensitivity(data: StudyData, spec: StudySpec, s: AnalysisSettings, lgd: int) -> dict[str, dict[str, float]]:
    """Slopes of the response and grade >= 3 logistic models with each other available exposure metric."""
    out: dict[str, dict[str, float]] = {}
    if data.pk is None:
        return out
    se = subject_endpoints(data, lgd)
    for metric in sorted(set(data.pk["paramcd"].astype(str)) - {spec.filters.exposure_paramcd}):
        ex = exposure_table(data, metric)
        if ex is None:
            continue
        j = se.join(ex.rename("exposure"), how="inner")
        j = j[j["dose"].astype(float) > 0]
        slopes: dict[str, float] = {}
        eff = response_population(j)
        m = fit_logistic_er(eff["exposure"].to_numpy(), eff["responder"].to_numpy(), "response", s.exposure_transform)
        if m:
            slopes["response"] = m.slope
        saf = j[j["safety"].astype(bool)].dropna(subset=["severe"])
        m = fit_logistic_er(saf["exposure"].to_numpy(), saf["severe"].to_numpy(float), "severe", s.exposure_transform)
        if m:
            slopes["severe"] = m.slope
        out[metric] = slopes
    return out


_ = SAFETY_ENDPOINTS  # re-exported for templates' label lookups
