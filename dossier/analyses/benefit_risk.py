"""Benefit-risk across candidate dosages: a clinical utility index (CUI) and a dosage recommendation.

The CUI is a weighted additive multi-attribute utility (Ouellet et al., Clin Pharmacol Ther
2009;85:277-282; Ouellet, Expert Rev Clin Pharmacol 2010): with model-predicted probabilities,

    U(d) = w_eff * P(response | d) + w_tox * (1 - P(grade >= 3 AE | d)) + w_mod * (1 - P(dose modification | d)),

weights normalised to sum to 1 (defaults 0.5 / 0.3 / 0.2: efficacy half, tolerability half split
between severe toxicity and dose modifications). Uncertainty comes from the prediction bootstrap (same
replicates for every dosage and endpoint): 95% percentile interval of U and the probability that each
dosage has the highest utility. Sensitivity: the efficacy weight is swept from 0.1 to 0.9 with the
safety weights kept in their ratio, and the range of efficacy weights over which the recommended dosage
stays best is reported.

The recommendation is restricted to adequately studied dosages (at least ``min_patients`` patients with
exposure data) whose prediction is not an extrapolation (see :mod:`.predictions`), so that it never
rests on extrapolation; the documents state this rule where it decides. Its drivers are the predicted differences
(with CIs) against each other candidate, and the observed differences of the randomized comparison.
"""

from __future__ import annotations

import numpy as np
from pydantic import AliasChoices, Field

from dossier.analyses.predictions import PredictionDraws, PredictionsResult
from dossier.analyses.randomized import RandomizedResult
from dossier.analyses.stats import Result

DEFAULT_WEIGHTS = {"response": 0.5, "severe": 0.3, "modified": 0.2}


class DosageUtility(Result):
    dose: float
    candidate: bool
    n_observed: int
    extrapolated: bool = False
    utility: float
    ci_lower: float
    ci_upper: float
    prob_best: float
    components: dict[str, float]


class SensitivityPoint(Result):
    efficacy_weight: float
    best_dose: float
    utilities: dict[str, float]


class Driver(Result):
    source: str  # "model" (predicted) or "randomized" (observed)
    endpoint: str
    dose: float
    reference: float
    difference: float
    ci_lower: float | None
    ci_upper: float | None


class BenefitRiskResult(Result):
    weights: dict[str, float]
    min_patients: int
    dosages: list[DosageUtility]
    sensitivity: list[SensitivityPoint]
    recommended_dose: float
    #: evidence.json of earlier versions has ``proposed_dose`` (read as this field)
    proposed_dosage: float = Field(validation_alias=AliasChoices("proposed_dosage", "proposed_dose"))
    agrees_with_proposal: bool
    robust_efficacy_weight_min: float | None
    robust_efficacy_weight_max: float | None
    mtd: float | None
    drivers: list[Driver]
    n_bootstrap: int


def _utility(draws: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    u = 0.0
    for key, w in weights.items():
        x = draws[key]
        u = u + w * (x if key == "response" else 1 - x)
    return np.asarray(u)


def analyse_benefit_risk(pred: PredictionsResult, draws: PredictionDraws, proposed_dosage: float,
                         weights: dict[str, float] | None = None, min_patients: int = 10,
                         randomized: RandomizedResult | None = None, mtd: float | None = None
                         ) -> BenefitRiskResult | None:
    """CUI across the predicted dosages and the recommended dosage with its drivers."""
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    w = {k: v for k, v in w.items() if k in draws.point}
    if "response" not in w or len(w) < 2:
        return None
    total = sum(w.values())
    w = {k: v / total for k, v in w.items()}
    doses = draws.doses
    obs = {d.dose: d.n_observed for d in pred.dosages}
    extra = {d.dose: d.extrapolated for d in pred.dosages}
    cand = np.array([obs.get(d, 0) >= min_patients and not extra.get(d, False) for d in doses])
    if not cand.any():
        cand[:] = True
    u_point = _utility({k: v[None, :] for k, v in draws.point.items()}, w)[0]
    u_draw = _utility(draws.draws, w)
    masked = np.where(cand[None, :], u_draw, -np.inf)
    best_draw = np.argmax(masked, axis=1)
    out = []
    for j, d in enumerate(doses):
        lo, hi = np.quantile(u_draw[:, j], [0.025, 0.975])
        out.append(DosageUtility(dose=d, candidate=bool(cand[j]), n_observed=obs.get(d, 0),
                                 extrapolated=bool(extra.get(d, False)), utility=float(u_point[j]),
                                 ci_lower=float(lo), ci_upper=float(hi), prob_best=float(np.mean(best_draw == j)),
                                 components={k: float(draws.point[k][j]) for k in w}))
    rec_idx = int(np.argmax(np.where(cand, u_point, -np.inf)))
    rec = doses[rec_idx]
    # sensitivity to the efficacy weight
    safety_keys = [k for k in w if k != "response"]
    safety_total = sum(w[k] for k in safety_keys)
    sens = []
    robust = []
    for we in np.round(np.arange(0.1, 0.91, 0.05), 2):
        ws = {"response": float(we), **{k: (1 - we) * w[k] / safety_total for k in safety_keys}}
        u = _utility({k: v[None, :] for k, v in draws.point.items()}, ws)[0]
        b = int(np.argmax(np.where(cand, u, -np.inf)))
        sens.append(SensitivityPoint(efficacy_weight=float(we), best_dose=doses[b],
                                     utilities={f"{d:g}": float(x) for d, x in zip(doses, u, strict=True)}))
        if b == rec_idx:
            robust.append(float(we))
    drivers: list[Driver] = []
    for j, d in enumerate(doses):
        if j == rec_idx or not cand[j]:
            continue
        for key in w:
            delta = draws.draws[key][:, j] - draws.draws[key][:, rec_idx]
            lo, hi = np.quantile(delta, [0.025, 0.975])
            drivers.append(Driver(source="model", endpoint=key, dose=d, reference=rec,
                                  difference=float(draws.point[key][j] - draws.point[key][rec_idx]),
                                  ci_lower=float(lo), ci_upper=float(hi)))
    if randomized is not None:
        for c in randomized.comparisons:
            if c.reference != rec and c.arm != rec:
                continue
            sign = 1.0 if c.reference == rec else -1.0
            other = c.arm if c.reference == rec else c.reference
            items = ([("response", c.response)] if c.response else []) + [
                (k, c.safety[k]) for k in safety_keys if k in c.safety]
            for key, diff in items:
                if diff.estimate is None:
                    continue
                lo, hi = (diff.ci_lower, diff.ci_upper) if sign > 0 else (-diff.ci_upper, -diff.ci_lower)
                drivers.append(Driver(source="randomized", endpoint=key, dose=other, reference=rec,
                                      difference=sign * diff.estimate, ci_lower=lo, ci_upper=hi))
    return BenefitRiskResult(weights=w, min_patients=min_patients, dosages=out, sensitivity=sens, recommended_dose=rec,
                             proposed_dosage=float(proposed_dosage), agrees_with_proposal=bool(rec == float(proposed_dosage)),
                             robust_efficacy_weight_min=min(robust) if robust else None,
                             robust_efficacy_weight_max=max(robust) if robust else None, mtd=mtd, drivers=drivers,
                             n_bootstrap=int(draws.draws[next(iter(w))].shape[0]))
