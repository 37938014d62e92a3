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

**Patient-reported harm** (where PROs were collected, :mod:`.pro`): two more harm criteria enter U as
``w * (1 - rate)``, with the observed per-dosage rates of :class:`~dossier.analyses.pro.ProDoseSummary`:
``pro_symptom``, the proportion of patients with a baseline-adjusted PRO-CTCAE item score >= the high score
(default 3), and ``pro_qol``, the proportion with a QLQ-C30 global health status deterioration of at least
the stated points (default 10, Osoba et al. 1998). Their weights come from ``analyses.cui_weights`` (keys
``pro_symptom`` / ``pro_qol``; default 0.1 each before normalisation, so together they weigh as much as
dose modifications: 0.5/0.3/0.2/0.1/0.1 normalises to 0.417/0.25/0.167/0.083/0.083; a weight of 0 leaves
the criterion out). A criterion enters only when its rate is known at every dosage of the index (a dosage
without the rate cannot be compared, and missing is never counted as no harm); otherwise, or when the
instrument was not collected, it is left out and ``pro_status`` says why -- without PRO data the index and
its results are exactly those of the three-criterion index. There is no exposure-response model for PROs:
the uncertainty is the patient bootstrap of each observed proportion, drawn as Binomial(n, p)/n per
dosage (the exact distribution of a resampled proportion; Efron & Tibshirani, An Introduction to the
Bootstrap, 1993, ch. 6) with a generator of its own, independent of the prediction bootstrap.

The recommendation is restricted to adequately studied dosages (at least ``min_patients`` patients with
exposure data) whose prediction is not an extrapolation (see :mod:`.predictions`), so that it never
rests on extrapolation; the documents state this rule where it decides. Its drivers are the predicted differences
(with CIs) against each other candidate, and the observed differences of the randomized comparison.
"""

from __future__ import annotations

import numpy as np
from pydantic import AliasChoices, Field

from dossier.analyses.predictions import PredictionDraws, PredictionsResult
from dossier.analyses.pro import PatientReportedResult
from dossier.analyses.randomized import RandomizedResult
from dossier.analyses.stats import Result

DEFAULT_WEIGHTS = {"response": 0.5, "severe": 0.3, "modified": 0.2}
#: patient-reported harm criteria: key -> ProDoseSummary field; default weights before normalisation
PRO_CRITERIA = {"pro_symptom": "high_symptom", "pro_qol": "qol_deterioration"}
DEFAULT_PRO_WEIGHTS = {"pro_symptom": 0.1, "pro_qol": 0.1}


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
    source: str  # "model" (predicted), "randomized" (observed) or "pro" (observed patient-reported rate)
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
    #: per PRO criterion: weighed | not_collected (instrument absent) | incomplete (rate unknown at a dosage of
    #: the index) | zero_weight (the spec gives it weight 0)
    pro_status: dict[str, str] = {}

    @property
    def pro_weighed(self) -> list[str]:
        return [k for k, v in self.pro_status.items() if v == "weighed"]


def _utility(draws: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    u = 0.0
    for key, w in weights.items():
        x = draws[key]
        u = u + w * (x if key == "response" else 1 - x)
    return np.asarray(u)


def _pro_criteria(pro: PatientReportedResult | None, doses: list[float], weights: dict[str, float],
                  n_draws: int, rng: np.random.Generator | None
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """Point rates, bootstrap draws (n_draws x doses) and status of each patient-reported criterion."""
    point: dict[str, np.ndarray] = {}
    sample: dict[str, np.ndarray] = {}
    status: dict[str, str] = {}
    for key, field in PRO_CRITERIA.items():
        by = {s.dose: getattr(s, field) for s in pro.by_dose if not s.control} if pro is not None else {}
        known = [by.get(d) is not None and by[d].n > 0 and by[d].rate is not None for d in doses]
        if pro is None or not any(r is not None for r in by.values()):
            status[key] = "not_collected"
        elif weights.get(key, DEFAULT_PRO_WEIGHTS[key]) <= 0:
            status[key] = "zero_weight"
        elif not all(known):
            status[key] = "incomplete"
        else:
            status[key] = "weighed"
            n = np.array([by[d].n for d in doses])
            ev = np.array([by[d].events for d in doses])
            if rng is None:
                raise ValueError("a numpy Generator is needed to bootstrap the patient-reported rates")
            point[key] = ev / n
            sample[key] = rng.binomial(n[None, :], (ev / n)[None, :], size=(n_draws, len(doses))) / n[None, :]
    return point, sample, status


def analyse_benefit_risk(pred: PredictionsResult, draws: PredictionDraws, proposed_dosage: float,
                         weights: dict[str, float] | None = None, min_patients: int = 10,
                         randomized: RandomizedResult | None = None, mtd: float | None = None,
                         pro: PatientReportedResult | None = None, rng: np.random.Generator | None = None
                         ) -> BenefitRiskResult | None:
    """CUI across the predicted dosages and the recommended dosage with its drivers; the patient-reported
    criteria (module docstring) enter where ``pro`` has them, bootstrapped with ``rng``."""
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    n_draws = int(next(iter(draws.draws.values())).shape[0])
    pro_point, pro_draws, pro_status = _pro_criteria(pro, list(draws.doses), w, n_draws, rng)
    for k in pro_point:
        w.setdefault(k, DEFAULT_PRO_WEIGHTS[k])
    point, sample = {**draws.point, **pro_point}, {**draws.draws, **pro_draws}
    w = {k: v for k, v in w.items() if k in point}
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
    u_point = _utility({k: v[None, :] for k, v in point.items()}, w)[0]
    u_draw = _utility(sample, w)
    masked = np.where(cand[None, :], u_draw, -np.inf)
    best_draw = np.argmax(masked, axis=1)
    out = []
    for j, d in enumerate(doses):
        lo, hi = np.quantile(u_draw[:, j], [0.025, 0.975])
        out.append(DosageUtility(dose=d, candidate=bool(cand[j]), n_observed=obs.get(d, 0),
                                 extrapolated=bool(extra.get(d, False)), utility=float(u_point[j]),
                                 ci_lower=float(lo), ci_upper=float(hi), prob_best=float(np.mean(best_draw == j)),
                                 components={k: float(point[k][j]) for k in w}))
    rec_idx = int(np.argmax(np.where(cand, u_point, -np.inf)))
    rec = doses[rec_idx]
    # sensitivity to the efficacy weight
    safety_keys = [k for k in w if k != "response"]
    safety_total = sum(w[k] for k in safety_keys)
    sens = []
    robust = []
    for we in np.round(np.arange(0.1, 0.91, 0.05), 2):
        ws = {"response": float(we), **{k: (1 - we) * w[k] / safety_total for k in safety_keys}}
        u = _utility({k: v[None, :] for k, v in point.items()}, ws)[0]
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
            delta = sample[key][:, j] - sample[key][:, rec_idx]
            lo, hi = np.quantile(delta, [0.025, 0.975])
            drivers.append(Driver(source="pro" if key in PRO_CRITERIA else "model", endpoint=key, dose=d, reference=rec,
                                  difference=float(point[key][j] - point[key][rec_idx]),
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
                             n_bootstrap=int(sample[next(iter(w))].shape[0]), pro_status=pro_status)
