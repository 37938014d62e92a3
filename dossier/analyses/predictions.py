"""Predicted response and safety probabilities at candidate dosages.

Each dosage's exposure distribution is simulated from the observed exposures:
- ``dose_proportional`` (default): every observed subject's dose-normalised exposure scaled to the
  dosage (linear PK assumed), so the between-subject variability is the observed one;
- ``lognormal``: a log-normal distribution with the geometric mean and between-subject SD of the
  dose-normalised exposures.
The predicted probability of each endpoint is the mean of the fitted logistic E-R model over that
distribution (an average over patients, not the probability at the median exposure). Parameter
uncertainty is propagated by a nonparametric bootstrap of subjects (Efron & Tibshirani 1993, ch. 6): in
each replicate all E-R models are refitted on the same resampled subjects (so differences between
dosages and between endpoints keep their correlation) and the exposure distribution is re-weighted;
95% percentile intervals. Predictions use exposure-only models (no covariates).
"""

from __future__ import annotations

import numpy as np

from dossier.analyses.endpoints import subject_endpoints
from dossier.analyses.exposure_response import ER_ENDPOINTS, ExposureResponseResult, exposure_table
from dossier.analyses.stats import Result, logistic_irls_batch
from dossier.ingest.tables import StudyData


class PredictedEndpoint(Result):
    endpoint: str
    kind: str
    estimate: float
    ci_lower: float
    ci_upper: float


class DosagePrediction(Result):
    dose: float
    exposure_median: float
    exposure_p05: float
    exposure_p95: float
    n_observed: int
    endpoints: list[PredictedEndpoint]

    def get(self, endpoint: str) -> PredictedEndpoint | None:
        return next((e for e in self.endpoints if e.endpoint == endpoint), None)


class PredictedDifference(Result):
    dose: float
    reference: float
    endpoint: str
    estimate: float
    ci_lower: float
    ci_upper: float


class PredictionsResult(Result):
    metric: str
    method: str
    transform: str
    n_bootstrap: int
    reference: float
    dosages: list[DosagePrediction]
    differences: list[PredictedDifference]
    endpoint_labels: dict[str, str]

    def get(self, dose: float) -> DosagePrediction | None:
        return next((d for d in self.dosages if d.dose == dose), None)


class PredictionDraws:
    """Bootstrap draws kept in memory for the benefit-risk analysis (not serialized)."""

    def __init__(self, doses: list[float], draws: dict[str, np.ndarray], point: dict[str, np.ndarray]):
        self.doses = doses  # order of the columns
        self.draws = draws  # endpoint -> (B, n_doses)
        self.point = point  # endpoint -> (n_doses,)


def analyse_predictions(data: StudyData, er: ExposureResponseResult, dosages: list[float], reference: float,
                        rng: np.random.Generator, n_bootstrap: int = 1000, method: str = "dose_proportional",
                        low_grade_days: int = 28, n_lognormal: int = 2000, aesi_terms: list[str] | tuple[str, ...] = ()
                        ) -> tuple[PredictionsResult, PredictionDraws] | None:
    """Predictions at ``dosages`` from the E-R models of ``er``; ``None`` without usable models."""
    expo = exposure_table(data, er.metric)
    if expo is None or not er.models:
        return None
    se = subject_endpoints(data, low_grade_days, aesi_terms).join(expo.rename("exposure"), how="inner")
    se = se[se["dose"].astype(float) > 0]
    n = len(se)
    norm = (se["exposure"] / se["dose"].astype(float)).to_numpy(float)
    dosages = sorted(float(d) for d in dosages)
    W = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(float)  # (B, n) resampling counts
    transform = er.transform

    def tx(x: np.ndarray) -> np.ndarray:
        return np.log(x) if transform == "log" else x

    if method == "lognormal":
        ln = np.log(norm)
        z = rng.standard_normal(n_lognormal)
        sims = {d: np.exp(ln.mean() + ln.std(ddof=1) * z) * d for d in dosages}
    else:
        sims = {d: norm * d for d in dosages}

    draws: dict[str, np.ndarray] = {}
    point: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}
    for m in er.models:
        if m.endpoint == "response":
            mask = se["has_response"].to_numpy(bool) & se["responder"].notna().to_numpy()
            y = se["responder"].to_numpy(float)
        else:
            y = se[m.endpoint].to_numpy(float)
            mask = se["safety"].to_numpy(bool) & ~np.isnan(y)  # unknown values are left out, never 0
        X = np.column_stack([np.ones(mask.sum()), tx(se["exposure"].to_numpy(float)[mask])])
        beta = logistic_irls_batch(X, y[mask], W[:, mask])  # (B, 2)
        b0 = logistic_irls_batch(X, y[mask], np.ones((1, int(mask.sum()))))[0]
        labels[m.endpoint] = ER_ENDPOINTS.get(m.endpoint, ("safety", m.endpoint))[1]
        pd_draw = np.empty((n_bootstrap, len(dosages)))
        pd_point = np.empty(len(dosages))
        for j, d in enumerate(dosages):
            xs = tx(sims[d])
            pd_point[j] = float(np.mean(1 / (1 + np.exp(-(b0[0] + b0[1] * xs)))))
            P = 1 / (1 + np.exp(-(beta[:, :1] + beta[:, 1:2] * xs[None, :])))  # (B, n_sim)
            if method == "lognormal":
                pd_draw[:, j] = P.mean(axis=1)
            else:  # the exposure distribution is resampled with the same subjects
                pd_draw[:, j] = (P * W).sum(axis=1) / W.sum(axis=1)
        draws[m.endpoint] = pd_draw
        point[m.endpoint] = pd_point
    out: list[DosagePrediction] = []
    counts = se.groupby(se["dose"].astype(float)).size()
    for j, d in enumerate(dosages):
        eps = []
        for key, dr in draws.items():
            lo, hi = np.quantile(dr[:, j], [0.025, 0.975])
            eps.append(PredictedEndpoint(endpoint=key, kind=ER_ENDPOINTS.get(key, ("safety", key))[0],
                                         estimate=float(point[key][j]), ci_lower=float(lo), ci_upper=float(hi)))
        v = sims[d]
        out.append(DosagePrediction(dose=d, exposure_median=float(np.median(v)), exposure_p05=float(np.quantile(v, 0.05)),
                                    exposure_p95=float(np.quantile(v, 0.95)), n_observed=int(counts.get(d, 0)),
                                    endpoints=eps))
    diffs: list[PredictedDifference] = []
    if reference in dosages:
        r = dosages.index(reference)
        for j, d in enumerate(dosages):
            if j == r:
                continue
            for key, dr in draws.items():
                delta = dr[:, j] - dr[:, r]
                lo, hi = np.quantile(delta, [0.025, 0.975])
                diffs.append(PredictedDifference(dose=d, reference=reference, endpoint=key,
                                                 estimate=float(point[key][j] - point[key][r]),
                                                 ci_lower=float(lo), ci_upper=float(hi)))
    res = PredictionsResult(metric=er.metric, method=method, transform=transform, n_bootstrap=n_bootstrap,
                            reference=reference, dosages=out, differences=diffs, endpoint_labels=labels)
    return res, PredictionDraws(dosages, draws, point)
