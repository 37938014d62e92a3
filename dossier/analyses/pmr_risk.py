"""PMR risk: how likely the proposed dosage draws a post-marketing requirement (PMR) to study an
alternative dosage, what drives it, and what evidence would lower it.

A transparent, literature-anchored heuristic, **not a validated prediction model**. The score is a
logistic sum on the log-odds scale::

    log-odds = intercept + sum_k beta_k * x_k

- intercept: logit of the base rate, ~15% of oncology approvals 2010-2022 with a PMR to investigate
  alternative dosing (FDA Project Optimus page); its spread is the standard error of logit(7/54)
  (Collins et al., Cancer Chemother Pharmacol 2025;95:17). The 59% of Clin Cancer Res 2024;30:937 is
  deliberately not used: it counts all dosing-related PMRs.
- x_k: a factor's coded value, derived from plain facts of the evidence (:class:`PmrInputs`) by
  :func:`code_factors`; the coding of every factor is written in ``pmr_factors.yaml``.
- beta_k ~ Normal(centre, spread): the prior of the factor's effect. Published effect sizes:
  label dose = MTD (Collins 2025: 3/15 vs 4/39, crude OR 2.19, exact conditional 95% CI ~0.28-14.8:
  centre log 2.19, spread from the CI width) and the exposure-response pattern (Collins 2025: 0 of 7
  PMR compounds with a positive efficacy E-R, 4 of 7 with a safety E-R; converted to a halved log
  likelihood ratio against an expert reference frequency, see :func:`pattern_prior`). Dose-modification
  benchmarks are Harvey et al., JNCI 2023;115:485 (28% reduction, 55% interruption, 10%
  discontinuation), with expert-judgement effect sizes. All other factors are expert judgement with
  wide spreads and say so ("expert judgement, no published effect size").

Categories (``pmr_factors.yaml``): low below 15% (the base rate), moderate 15-40%, high from 40%
(odds ~3.8 times the base odds), judged on the probability at the prior centres.

The probability is reported at the prior centres (exactly decomposed into the contributions, and equal
to the posterior-predictive median because the log-odds is a sum of normals) and as the mean, median
and interval of ``n_draws`` simulated draws of all priors. Sensitivity: the probability with one prior
at its 10th / 90th percentile and the others at their centres. Mitigations: for each risk-raising
factor, the evidence that would lower it, as data (``{"action": "randomize", "dosages": [240, 480],
"n_per_arm": 40}``), with the probability if the factor were mitigated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from scipy.special import expit, logit
from scipy.stats import norm
from scipy.stats.contingency import odds_ratio

from dossier.labels import safety_label
from dossier.spec import PmrFactorOverride

EXPERT = "expert judgement, no published effect size"
#: proposed dosage within this relative distance of the MTD counts as "at the MTD" (formulation
#: rounding, e.g. lenvatinib 24 mg vs an MTD of 25 mg)
MTD_TOLERANCE = 0.05
#: fewer patients than this at the proposed dosage -> "few patients" factor at 1
FEW_PATIENTS_FLOOR = 20

Modality = Literal["small_molecule", "antibody", "adc", "other"]


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------
class PmrInputs(BaseModel):
    """Plain facts the pipeline extracts from the evidence (rates at the proposed dosage, 0-1).

    ``None`` means unknown; an unknown fact codes its factor to 0 (neutral) and is listed in
    :attr:`PmrRiskResult.unknown_inputs`.
    """

    model_config = ConfigDict(extra="forbid")

    #: the spec's name; evidence.json of earlier versions has ``proposed_dose`` (read as this field)
    proposed_dosage: float = Field(gt=0, validation_alias=AliasChoices("proposed_dosage", "proposed_dose"))
    mtd: float | None = Field(None, gt=0, description="MTD; None if no MTD was identified")
    max_administered_dose: float | None = Field(None, gt=0)
    modality: Modality = "small_molecule"
    n_randomized_dosages: int = Field(0, ge=0, description="dosages compared in a randomized part")
    randomized_dosages: list[float] = Field(default_factory=list)
    dose_levels: list[float] = Field(default_factory=list, description="dosages given to patients")
    n_patients_at_proposed: int | None = Field(None, ge=0)
    dose_reduction_rate: float | None = Field(None, ge=0, le=1)
    dose_interruption_rate: float | None = Field(None, ge=0, le=1)
    discontinuation_rate: float | None = Field(None, ge=0, le=1)
    grade3_rate: float | None = Field(None, ge=0, le=1)
    efficacy_er_slope: float | None = None
    efficacy_er_ci: tuple[float, float] | None = None
    efficacy_er_positive: bool | None = Field(None, description="CI excludes 0 on the positive side")
    safety_er_slope: float | None = None
    safety_er_ci: tuple[float, float] | None = None
    safety_er_positive: bool | None = None
    persistent_low_grade_rate: float | None = Field(None, ge=0, le=1)
    registrational_dosages: int = Field(1, ge=0)
    expected_treatment_months: float | None = Field(None, gt=0)
    breakthrough: bool = False

    @model_validator(mode="after")
    def _derive(self) -> PmrInputs:
        if self.randomized_dosages and self.n_randomized_dosages == 0:
            self.n_randomized_dosages = len(self.randomized_dosages)
        for kind in ("efficacy", "safety"):
            ci = getattr(self, f"{kind}_er_ci")
            if getattr(self, f"{kind}_er_positive") is None and ci is not None:
                setattr(self, f"{kind}_er_positive", bool(min(ci) > 0))
        return self


#: a user's change to one factor (value and/or prior) or a new factor; the spec's model, so a spec's
#: ``pmr.overrides`` pass through unchanged (a new factor needs value, centre and spread)
FactorOverride = PmrFactorOverride


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------
class Mitigation(BaseModel):
    """Evidence that would lower one factor; ``evidence`` is data (action + parameters)."""

    factor: str
    evidence: dict[str, Any]
    mitigated_value: float
    probability_if_mitigated: float


class FactorResult(BaseModel):
    name: str
    label: str
    direction: Literal["raises", "lowers"]
    value: float = Field(description="coded value x_k")
    raw: dict[str, Any] = Field(description="the facts the value was coded from")
    known: bool = Field(description="False when the facts were unknown (value set to 0)")
    evidence_keys: list[str] = Field(description="dotted keys of the facts: pmr_risk.inputs.<field>")
    coding: str
    benchmark: float | None = Field(None, description="benchmark or reference rate the value is coded against")
    centre: float
    spread: float
    prior_kind: Literal["two_by_two", "pattern_likelihood_ratio", "normal", "override"]
    prior_parameters: dict[str, float] = Field(description="published counts / expert inputs of the prior")
    prior_derived: dict[str, float] = Field(description="quantities derived from them (OR, CI, LR)")
    contribution: float = Field(description="centre * value, log-odds")
    published_effect_size: bool
    effect_size_note: str
    source: str
    derivation: str
    probability_low: float = Field(description="lower probability when this prior moves between its 10th and "
                                   "90th percentiles (others at their centres)")
    probability_high: float = Field(description="upper probability, same one-at-a-time variation")
    variance_share: float = Field(description="share of the log-odds variance due to this prior")
    overridden: bool = False


class AppliedOverride(BaseModel):
    factor: str
    new_factor: bool
    changes: dict[str, list[float | None]] = Field(description="field -> [before, after]")
    reason: str
    source: str | None


class CalibrationRow(BaseModel):
    drug: str
    approval_year: int
    approved_dosage: str
    mtd: str
    pmr_dose_optimization: bool
    pmr: str
    confidence: str
    uncertain: list[str]
    source: str
    probability: float
    category: str
    rank: int


class CalibrationRanking(BaseModel):
    rows: list[CalibrationRow]
    concordance: float | None = Field(description="share of (PMR, no PMR) pairs ranked PMR first")
    n_pairs: int


class PmrRiskResult(BaseModel):
    """The PMR-risk score: probability, category, contributions, sensitivity and mitigations."""

    inputs: PmrInputs
    base_rate: float
    base_rate_source: str
    intercept: float
    intercept_spread: float
    intercept_spread_source: str
    total_log_odds: float = Field(description="intercept + sum of contributions (exactly)")
    probability: float = Field(description="at the prior centres == posterior-predictive median")
    probability_median: float = Field(description="median of the simulated draws")
    probability_mean: float = Field(description="mean of the simulated draws")
    interval: tuple[float, float]
    interval_level: float
    category: Literal["low", "moderate", "high"]
    category_cutoffs: dict[str, float]
    category_probabilities: dict[str, float] = Field(description="share of draws in each category")
    intercept_probability_low: float
    intercept_probability_high: float
    factors: list[FactorResult]
    mitigations: list[Mitigation]
    applied_overrides: list[AppliedOverride]
    unknown_inputs: list[str]
    no_published_effect_size: list[str] = Field(description="factors with a non-zero value and no "
                                                "published effect size")
    calibration: CalibrationRanking
    study_rank_among_calibration: int = Field(description="1 = highest risk, among calibration drugs + study")
    n_draws: int
    disclaimer: str = ("A transparent, literature-anchored heuristic, not a validated prediction: the "
                       "published evidence is thin and most effect sizes are expert judgement.")

    @property
    def risk_raising(self) -> list[FactorResult]:
        return [f for f in self.factors if f.contribution > 0]


# --------------------------------------------------------------------------------------------------
# priors from published counts
# --------------------------------------------------------------------------------------------------
def two_by_two_prior(exposed_events: int, exposed_n: int, unexposed_events: int,
                     unexposed_n: int) -> tuple[float, float, dict[str, float]]:
    """Log crude odds ratio and a normal spread matching the exact conditional 95% CI.

    The CI is scipy's ``odds_ratio(kind="conditional")`` (Fisher's non-central hypergeometric; the
    interval of R ``fisher.test``). spread = (log upper - log lower) / (2 * 1.96).
    """
    table = [[exposed_events, exposed_n - exposed_events],
             [unexposed_events, unexposed_n - unexposed_events]]
    a, b = table[0]
    c, d = table[1]
    crude = (a * d) / (b * c)
    ci = odds_ratio(table, kind="conditional").confidence_interval(0.95)
    spread = (math.log(ci.high) - math.log(ci.low)) / (2 * norm.ppf(0.975))
    return math.log(crude), spread, {"crude_or": crude, "ci_low": float(ci.low), "ci_high": float(ci.high)}


def pattern_prior(events: int, n: int, reference_frequency: float, reference_log_spread: float,
                  discount: float) -> tuple[float, float, dict[str, float]]:
    """Log likelihood ratio of a pattern seen in ``events`` of ``n`` PMR compounds.

    p_pmr = (events + 1) / (n + 2) (posterior mean under a uniform Beta(1, 1) prior, so 0/7 and 7/7 stay
    finite); LR = p_pmr / reference_frequency, the frequency of the pattern among approvals in general
    (no published value: expert). centre = discount * log LR (the discount avoids double counting
    overlapping factors under the naive-Bayes sum); spread = sqrt(var log p_pmr + reference_log_spread^2)
    with var log p_pmr by the delta method, not discounted (kept wide on purpose).
    """
    a, b = events + 1, n - events + 1
    p = a / (a + b)
    var_p = a * b / ((a + b) ** 2 * (a + b + 1))
    spread = math.sqrt(var_p / p**2 + reference_log_spread**2)
    return discount * math.log(p / reference_frequency), spread, {"p_pmr": p, "lr": p / reference_frequency}


@lru_cache(maxsize=1)
def load_factor_table() -> dict[str, Any]:
    """The factor table (``pmr_factors.yaml``) with every prior resolved to (centre, spread)."""
    text = resources.files("dossier.analyses").joinpath("pmr_factors.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text)
    for f in table["factors"]:
        prior = f["prior"]
        kind = prior["kind"]
        params = {k: float(v) for k, v in prior.items() if k != "kind"}
        d: dict[str, float] = {}
        if kind == "normal":
            centre, spread = float(prior["centre"]), float(prior["spread"])
            derivation = f"expert prior Normal({centre:g}, {spread:g})"
        elif kind == "two_by_two":
            centre, spread, d = two_by_two_prior(prior["exposed_events"], prior["exposed_n"],
                                                 prior["unexposed_events"], prior["unexposed_n"])
            derivation = (f"{prior['exposed_events']}/{prior['exposed_n']} vs "
                          f"{prior['unexposed_events']}/{prior['unexposed_n']}: crude OR {d['crude_or']:.2f} "
                          f"(exact 95% CI {d['ci_low']:.2f}-{d['ci_high']:.2f}); centre log OR, "
                          f"spread from the CI width")
        elif kind == "pattern_likelihood_ratio":
            centre, spread, d = pattern_prior(prior["events"], prior["n"], prior["reference_frequency"],
                                              prior["reference_log_spread"], prior["discount"])
            derivation = (f"{prior['events']} of {prior['n']} PMR compounds -> p={d['p_pmr']:.3f} vs expert "
                          f"reference {prior['reference_frequency']:g}: LR {d['lr']:.2f}, log LR x "
                          f"{prior['discount']:g} (discount for overlap)")
        else:  # pragma: no cover - guarded by the tests of the shipped table
            raise ValueError(f"unknown prior kind {kind!r} for factor {f['name']}")
        if (centre > 0) != (f["direction"] == "raises"):
            raise ValueError(f"factor {f['name']}: prior centre {centre:g} contradicts direction {f['direction']}")
        f["centre"], f["spread"], f["derivation"] = centre, spread, derivation
        f["prior_parameters"], f["prior_derived"] = params, {k: float(v) for k, v in d.items()}
    br = table["base_rate"]
    k, n = br["spread_from_counts"]["events"], br["spread_from_counts"]["n"]
    br["intercept"] = float(logit(br["value"]))
    br["intercept_spread"] = math.sqrt(1 / k + 1 / (n - k))
    return table


# --------------------------------------------------------------------------------------------------
# coding of factor values from the facts
# --------------------------------------------------------------------------------------------------
def _logit_excess(rate: float | None, benchmark: float, clip: Sequence[float]) -> float | None:
    if rate is None:
        return None
    r = min(max(rate, 1e-3), 1 - 1e-3)  # keep 0% and 100% finite
    return float(np.clip(logit(r) - logit(benchmark), clip[0], clip[1]))


def _lower_dosage_untested(x: PmrInputs) -> bool:
    """False when the proposed dosage is the lowest arm of a randomized comparison: the lower dosage a
    flat efficacy / rising safety E-R points to has then been tested."""
    if x.randomized_dosages and len(x.randomized_dosages) >= 2:
        in_arms = any(math.isclose(x.proposed_dosage, d, rel_tol=1e-6) for d in x.randomized_dosages)
        return not (in_arms and x.proposed_dosage <= min(x.randomized_dosages) * (1 + 1e-6))
    return True


def code_factors(x: PmrInputs, table: dict[str, Any] | None = None) -> dict[str, tuple[float | None, dict]]:
    """Coded value (``None`` = unknown) and the raw facts of every factor of the shipped table."""
    table = table or load_factor_table()
    spec = {f["name"]: f for f in table["factors"]}
    out: dict[str, tuple[float | None, dict]] = {}

    at_mtd = x.mtd is not None and x.proposed_dosage >= x.mtd * (1 - MTD_TOLERANCE)
    out["label_dose_equals_mtd"] = (1.0 if at_mtd else 0.0,
                                    {"proposed_dosage": x.proposed_dosage, "mtd": x.mtd})
    top = None
    if x.mtd is not None:
        top = 0.0
    elif x.max_administered_dose is not None:
        top = 1.0 if x.proposed_dosage >= x.max_administered_dose * (1 - 1e-6) else 0.0
    out["top_of_range_without_mtd"] = (top, {"proposed_dosage": x.proposed_dosage, "mtd": x.mtd,
                                             "max_administered_dose": x.max_administered_dose})
    if x.n_randomized_dosages < 2:
        rnd = 1.0
    elif x.randomized_dosages and not any(math.isclose(x.proposed_dosage, d, rel_tol=1e-6)
                                          for d in x.randomized_dosages):
        rnd = 0.5
    else:
        rnd = 0.0
    out["no_randomized_comparison"] = (rnd, {"n_randomized_dosages": x.n_randomized_dosages,
                                             "randomized_dosages": x.randomized_dosages})
    out["single_registrational_dosage"] = (1.0 if x.registrational_dosages <= 1 else 0.0,
                                           {"registrational_dosages": x.registrational_dosages})
    n = x.n_patients_at_proposed
    target = table["mitigation_defaults"]["n_target_at_proposed"]
    few = None if n is None else float(np.clip(math.log(target / max(n, 1)) / math.log(target / FEW_PATIENTS_FLOOR),
                                               0.0, 1.0))
    out["few_patients_at_proposed"] = (few, {"n_patients_at_proposed": n})
    for name, field in (("dose_reduction_excess", "dose_reduction_rate"),
                        ("dose_interruption_excess", "dose_interruption_rate"),
                        ("discontinuation_excess", "discontinuation_rate"),
                        ("grade3_excess", "grade3_rate")):
        f = spec[name]
        rate = getattr(x, field)
        out[name] = (_logit_excess(rate, f["benchmark"], f["clip"]), {field: rate, "benchmark": f["benchmark"]})
    untested = _lower_dosage_untested(x)
    eff_known = x.efficacy_er_positive is not None
    out["flat_efficacy_er"] = (
        (1.0 if (not x.efficacy_er_positive and untested) else 0.0) if eff_known else None,
        {"efficacy_er_slope": x.efficacy_er_slope, "efficacy_er_ci": x.efficacy_er_ci,
         "efficacy_er_positive": x.efficacy_er_positive, "lower_dosage_untested": untested})
    out["positive_safety_er"] = (
        (1.0 if (x.safety_er_positive and untested) else 0.0) if x.safety_er_positive is not None else None,
        {"safety_er_slope": x.safety_er_slope, "safety_er_ci": x.safety_er_ci,
         "safety_er_positive": x.safety_er_positive, "lower_dosage_untested": untested})
    out["positive_efficacy_er"] = ((1.0 if x.efficacy_er_positive else 0.0) if eff_known else None,
                                   {"efficacy_er_slope": x.efficacy_er_slope, "efficacy_er_ci": x.efficacy_er_ci,
                                    "efficacy_er_positive": x.efficacy_er_positive})
    f = spec["persistent_low_grade_toxicity"]
    ex = _logit_excess(x.persistent_low_grade_rate, f["benchmark"], f["clip"])
    months = x.expected_treatment_months if x.expected_treatment_months is not None else 12.0
    out["persistent_low_grade_toxicity"] = (None if ex is None else ex * min(months, 24.0) / 12.0,
                                            {"persistent_low_grade_rate": x.persistent_low_grade_rate,
                                             "expected_treatment_months": x.expected_treatment_months,
                                             "benchmark": f["benchmark"]})
    out["breakthrough_designation"] = (1.0 if x.breakthrough else 0.0, {"breakthrough": x.breakthrough})
    out["modality_adc"] = (1.0 if x.modality == "adc" else 0.0, {"modality": x.modality})
    out["modality_antibody"] = (1.0 if x.modality == "antibody" else 0.0, {"modality": x.modality})
    missing = set(spec) - set(out)
    if missing:  # pragma: no cover - the table and this function must agree
        raise ValueError(f"factors without a coding: {sorted(missing)}")
    return out


# --------------------------------------------------------------------------------------------------
# mitigations
# --------------------------------------------------------------------------------------------------
def _lower_candidates(x: PmrInputs) -> list[float]:
    """Up to two studied dosages at 30-75% of the proposed one, closest to half of it; else half."""
    below = [d for d in x.dose_levels if 0.3 * x.proposed_dosage <= d <= 0.75 * x.proposed_dosage]
    below.sort(key=lambda d: (abs(d / x.proposed_dosage - 0.5), -d))
    picked = sorted(below[:2])
    if not picked:
        half = x.proposed_dosage / 2
        picked = [float(f"{half:.2g}")]
    return picked


def _evidence_for(name: str, x: PmrInputs, defaults: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Suggested evidence (data) for one risk-raising factor and the factor's value once it is met."""
    n_arm = defaults["n_per_arm"]
    randomize = {"action": "randomize", "dosages": sorted({*_lower_candidates(x), x.proposed_dosage}),
                 "n_per_arm": n_arm}
    match name:
        case "label_dose_equals_mtd" | "top_of_range_without_mtd":
            # the factor itself goes only if the comparison leads to a lower dosage; say so
            return {**randomize, "aim": "propose the lowest dosage whose activity is not meaningfully lower"}, 0.0
        case "no_randomized_comparison" | "modality_adc":
            return randomize, 0.0
        case "flat_efficacy_er" | "positive_safety_er":
            return {**randomize, "endpoints": ["objective response", safety_label("grade3"),
                                               "dose modifications"],
                    "analysis": "exposure-response across the randomized dosages"}, 0.0
        case "single_registrational_dosage":
            return {"action": "add_registrational_arm", "dosages": randomize["dosages"]}, 0.0
        case "few_patients_at_proposed":
            return {"action": "expand_cohort", "dosage": x.proposed_dosage,
                    "n_total": defaults["n_target_at_proposed"],
                    "n_additional": max(defaults["n_target_at_proposed"] - (x.n_patients_at_proposed or 0), 0)}, 0.0
        case "dose_reduction_excess" | "dose_interruption_excess" | "discontinuation_excess" | "grade3_excess":
            return {"action": "evaluate_lower_dosage", "dosages": randomize["dosages"], "n_per_arm": n_arm,
                    "endpoints": ["dose intensity", "time to first dose modification",
                                  "discontinuation for adverse events"]}, 0.0
        case "persistent_low_grade_toxicity":
            return {"action": "collect_patient_reported_tolerability", "instrument": "PRO-CTCAE",
                    "dosages": randomize["dosages"], "duration_months": 6}, 0.0
        case "breakthrough_designation":
            return {"action": "complete_dose_optimization_before_filing", "dosages": randomize["dosages"],
                    "n_per_arm": n_arm}, 0.0
        case _:
            return {"action": "provide_evidence", "factor": name}, 0.0


# --------------------------------------------------------------------------------------------------
# the score
# --------------------------------------------------------------------------------------------------
def _category(p: float, cut: dict[str, float]) -> Literal["low", "moderate", "high"]:
    if p < cut["low_below"]:
        return "low"
    return "high" if p >= cut["high_from"] else "moderate"


def _apply_overrides(rows: list[dict[str, Any]], overrides: Sequence[FactorOverride]) -> list[AppliedOverride]:
    by_name = {r["name"]: r for r in rows}
    applied: list[AppliedOverride] = []
    for o in overrides:
        row = by_name.get(o.factor)
        new = row is None
        if new:
            if o.value is None or o.centre is None or o.spread is None:
                raise ValueError(f"override adds factor {o.factor!r}: value, centre and spread are required")
            row = {"name": o.factor, "label": o.label or o.factor.replace("_", " "),
                   "direction": "raises" if o.centre > 0 else "lowers", "value": None, "raw": {},
                   "evidence_keys": [f"overrides.{o.factor}"], "coding": "set by the user", "benchmark": None,
                   "centre": 0.0, "spread": 0.0, "prior_kind": "override", "prior_parameters": {},
                   "prior_derived": {}, "published_effect_size": False,
                   "source": o.source or "user override", "derivation": "added by the user"}
            rows.append(row)
            by_name[o.factor] = row
        changes: dict[str, list[float | None]] = {}
        for field in ("value", "centre", "spread"):
            after = getattr(o, field)
            if after is not None:
                changes[field] = [None if new else row[field], float(after)]
                row[field] = float(after)
        if o.label and not new:
            row["label"] = o.label
        if o.centre is not None:
            row["direction"] = "raises" if row["centre"] > 0 else "lowers"
            row["published_effect_size"] = False
            row["prior_kind"], row["prior_parameters"], row["prior_derived"] = "override", {}, {}
            row["derivation"] = f"user override ({o.reason})"
        if o.source:
            row["source"] = o.source
        row["overridden"] = True
        applied.append(AppliedOverride(factor=o.factor, new_factor=new, changes=changes, reason=o.reason,
                                       source=o.source))
    return applied


def _score(inputs: PmrInputs, overrides: Sequence[FactorOverride] = ()) -> tuple[dict, list[dict], list]:
    table = load_factor_table()
    coded = code_factors(inputs, table)
    rows = []
    for f in table["factors"]:
        value, raw = coded[f["name"]]
        rows.append({"name": f["name"], "label": f["label"], "direction": f["direction"], "value": value,
                     "raw": raw, "evidence_keys": [f"pmr_risk.inputs.{k}" for k in f["evidence_keys"]],
                     "coding": f["coding"], "benchmark": f.get("benchmark"), "centre": f["centre"],
                     "spread": f["spread"], "prior_kind": f["prior"]["kind"],
                     "prior_parameters": f["prior_parameters"], "prior_derived": f["prior_derived"],
                     "published_effect_size": bool(f["published_effect_size"]), "source": f["source"],
                     "derivation": f["derivation"], "overridden": False})
    applied = _apply_overrides(rows, overrides)
    for r in rows:
        r["known"] = r["value"] is not None
        r["value"] = float(r["value"]) if r["known"] else 0.0
        r["contribution"] = r["centre"] * r["value"]
    return table, rows, applied


def point_probability(inputs: PmrInputs, overrides: Sequence[FactorOverride] = ()) -> float:
    """Probability at the prior centres (no simulation)."""
    table, rows, _ = _score(inputs, overrides)
    return float(expit(table["base_rate"]["intercept"] + sum(r["contribution"] for r in rows)))


def assess_pmr_risk(inputs: PmrInputs, rng: np.random.Generator, overrides: Sequence[FactorOverride] = (),
                    n_draws: int = 20000) -> PmrRiskResult:
    """Score the risk that the proposed dosage draws a dose-optimization PMR (see the module docstring)."""
    if n_draws < 100:
        raise ValueError(f"n_draws must be at least 100, got {n_draws}")
    table, rows, applied = _score(inputs, overrides)
    br = table["base_rate"]
    cut = table["categories"]
    intercept, s0 = br["intercept"], br["intercept_spread"]
    contributions = [r["contribution"] for r in rows]
    total = intercept + sum(contributions)
    p_point = float(expit(total))

    # simulation: intercept and every coefficient drawn from its prior
    values = np.array([r["value"] for r in rows])
    centres = np.array([r["centre"] for r in rows])
    spreads = np.array([r["spread"] for r in rows])
    draws_b = rng.normal(centres, spreads, size=(n_draws, len(rows)))
    draws = intercept + s0 * rng.standard_normal(n_draws) + draws_b @ values
    p_draws = expit(draws)
    lo_q, hi_q = table["interval"]
    interval = (float(np.quantile(p_draws, lo_q)), float(np.quantile(p_draws, hi_q)))
    cat_probs = {"low": float(np.mean(p_draws < cut["low_below"])),
                 "high": float(np.mean(p_draws >= cut["high_from"]))}
    cat_probs["moderate"] = 1.0 - cat_probs["low"] - cat_probs["high"]

    # sensitivity: one prior at its 10th / 90th percentile, the others at their centres
    z = norm.ppf(0.9)
    var_terms = (spreads * values) ** 2
    var_total = s0**2 + float(var_terms.sum())
    factors: list[FactorResult] = []
    for r, vt in zip(rows, var_terms, strict=True):
        shift = z * r["spread"] * abs(r["value"])
        factors.append(FactorResult(
            name=r["name"], label=r["label"], direction=r["direction"], value=r["value"], raw=r["raw"],
            known=r["known"], evidence_keys=r["evidence_keys"], coding=r["coding"], benchmark=r["benchmark"],
            centre=r["centre"], spread=r["spread"], prior_kind=r["prior_kind"],
            prior_parameters=r["prior_parameters"], prior_derived=r["prior_derived"],
            contribution=r["contribution"],
            published_effect_size=r["published_effect_size"],
            effect_size_note="published effect size" if r["published_effect_size"] else EXPERT,
            source=r["source"], derivation=r["derivation"],
            probability_low=float(expit(total - shift)), probability_high=float(expit(total + shift)),
            variance_share=float(vt / var_total), overridden=r.get("overridden", False)))

    mitigations = []
    for f in factors:
        if f.contribution <= 0:
            continue
        evidence, mitigated = _evidence_for(f.name, inputs, table["mitigation_defaults"])
        p_mit = float(expit(total - f.contribution + f.centre * mitigated))
        mitigations.append(Mitigation(factor=f.name, evidence=evidence, mitigated_value=mitigated,
                                      probability_if_mitigated=p_mit))
    mitigations.sort(key=lambda m: m.probability_if_mitigated)

    calibration = rank_calibration()
    study_rank = 1 + sum(r.probability > p_point for r in calibration.rows)
    return PmrRiskResult(
        inputs=inputs, base_rate=br["value"], base_rate_source=br["source"], intercept=intercept,
        intercept_spread=s0, intercept_spread_source=br["spread_source"], total_log_odds=total,
        probability=p_point, probability_median=float(np.median(p_draws)),
        probability_mean=float(p_draws.mean()), interval=interval, interval_level=round(hi_q - lo_q, 9),
        category=_category(p_point, cut), category_cutoffs=dict(cut), category_probabilities=cat_probs,
        intercept_probability_low=float(expit(total - z * s0)),
        intercept_probability_high=float(expit(total + z * s0)),
        factors=factors, mitigations=mitigations, applied_overrides=applied,
        unknown_inputs=sorted({k.removeprefix("pmr_risk.inputs.") for f in factors if not f.known
                               for k in f.evidence_keys}),
        no_published_effect_size=[f.name for f in factors if not f.published_effect_size and f.value != 0],
        calibration=calibration, study_rank_among_calibration=study_rank, n_draws=n_draws)


# --------------------------------------------------------------------------------------------------
# calibration (sanity check, not validation)
# --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def load_calibration_table() -> list[dict[str, Any]]:
    text = resources.files("dossier.analyses").joinpath("pmr_calibration.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["drugs"]


@lru_cache(maxsize=1)
def rank_calibration() -> CalibrationRanking:
    """Score the approvals of ``pmr_calibration.yaml`` at the prior centres and rank them (1 = highest).

    Concordance is the share of (PMR, no-PMR) pairs in which the PMR drug scores higher (ties 1/2).
    """
    cut = load_factor_table()["categories"]
    scored = []
    for d in load_calibration_table():
        p = point_probability(PmrInputs(**d["inputs"]))
        scored.append((p, d))
    scored.sort(key=lambda t: -t[0])
    rows = [CalibrationRow(drug=d["drug"], approval_year=d["approval_year"], approved_dosage=d["approved_dosage"],
                           mtd=d["mtd"], pmr_dose_optimization=d["pmr_dose_optimization"], pmr=d["pmr"],
                           confidence=d["confidence"], uncertain=d.get("uncertain", []), source=d["source"],
                           probability=p, category=_category(p, cut), rank=i + 1)
            for i, (p, d) in enumerate(scored)]
    pos = [r.probability for r in rows if r.pmr_dose_optimization]
    neg = [r.probability for r in rows if not r.pmr_dose_optimization]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    return CalibrationRanking(rows=rows, concordance=(sum(pairs) / len(pairs)) if pairs else None,
                              n_pairs=len(pairs))
