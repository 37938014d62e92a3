"""Predicted response and safety probabilities at candidate dosages.

Each dosage's exposure distribution is simulated from the observed exposures:
- ``observed`` (default): follows the observed dose-exposure relation. The geometric mean exposure at a
  dosage is the observed one at a studied dose, interpolated linearly in log dose - log exposure between
  the neighbouring studied doses within the observed dose range, and outside it taken from a power
  model ``log AUC = a + b log dose`` (OLS; Smith et al., Pharm Res 2000;17:1278) fitted to every subject,
  used only when at least three distinct doses have exposure data (otherwise the nearest dose's exposure
  scaled dose-proportionally). Each subject's deviation from its dose group's geometric mean gives the
  between-subject variability;
- ``dose_proportional``: every observed subject's dose-normalised exposure scaled to the
  dosage (linear PK assumed), so the between-subject variability is the observed one;
- ``lognormal``: a log-normal distribution with the geometric mean and between-subject SD of the
  dose-normalised exposures.
The predicted probability of each endpoint is the mean of the fitted logistic E-R model over that
distribution (an average over patients, not the probability at the median exposure). Parameter
uncertainty is propagated by a nonparametric bootstrap of subjects (Efron & Tibshirani 1993, ch. 6): in
each replicate all E-R models are refitted on the same resampled subjects (so differences between
dosages and between endpoints keep their correlation) and the exposure distribution is re-weighted;
95% percentile intervals. Predictions use exposure-only models (no covariates).

A prediction is an **extrapolation** when its dosage lies outside the range of studied doses with
exposure data or its median exposure lies outside the observed exposure range; it is flagged in the
result (``extrapolated``), in the tables and the text, and :mod:`.benefit_risk` and
:mod:`.justification` do not let it decide.
"""

from __future__ import annotations

import numpy as np
from pydantic import AliasChoices, Field

from dossier.analyses.endpoints import response_population, subject_endpoints
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
    basis: str = "observed"  # observed | interpolated | power model | dose-proportional
    extrapolated: bool = False

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
    #: the dosage the differences are taken from; evidence.json of earlier versions has ``reference``
    proposed_dosage: float = Field(validation_alias=AliasChoices("proposed_dosage", "reference"))
    dosages: list[DosagePrediction]
    differences: list[PredictedDifference]
    endpoint_labels: dict[str, str]
    observed_exposure_min: float | None = None
    observed_exposure_max: float | None = None
    observed_doses: list[float] = []
    power_slope: float | None = None  # power-model exponent b with its 90% CI (all subjects)
    power_slope_ci_lower: float | None = None
    power_slope_ci_upper: float | None = None

    @property
    def extrapolated_doses(self) -> list[float]:
        return [d.dose for d in self.dosages if d.extrapolated]

    def get(self, dose: float) -> DosagePrediction | None:
        return next((d for d in self.dosages if d.dose == dose), None)


class PredictionDraws:
    """Bootstrap draws kept in memory for the benefit-risk analysis (not serialized)."""

    def __init__(self, doses: list[float], draws: dict[str, np.ndarray], point: dict[str, np.ndarray]):
        self.doses = doses  # order of the columns
        self.draws = draws  # endpoint -> (B, n_doses)
        self.point = point  # endpoint -> (n_doses,)


class ExposureRelation:
    """The observed dose-exposure relation: geometric means per studied dose and a power model."""

    def __init__(self, dose: np.ndarray, exposure: np.ndarray):
        ld, le = np.log(dose), np.log(exposure)
        self.doses = np.unique(dose)
        self.log_gm = np.array([le[dose == d].mean() for d in self.doses])
        self.resid = le - np.interp(ld, np.log(self.doses), self.log_gm)  # deviation from own dose's GM
        self.slope = self.slope_lo = self.slope_hi = None
        self.intercept = None
        if len(self.doses) >= 2:
            from scipy import stats

            X = np.column_stack([np.ones_like(ld), ld])
            beta, *_ = np.linalg.lstsq(X, le, rcond=None)
            df = len(le) - 2
            s2 = float(((le - X @ beta) ** 2).sum() / df) if df > 0 else float("nan")
            se = float(np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])) if df > 0 else float("nan")
            t = float(stats.t.ppf(0.95, df)) if df > 0 else float("nan")
            self.intercept, self.slope = float(beta[0]), float(beta[1])
            self.slope_lo, self.slope_hi = self.slope - t * se, self.slope + t * se

    def log_gm_at(self, d: float) -> tuple[float, str]:
        lo, hi = float(self.doses[0]), float(self.doses[-1])
        if lo <= d <= hi:
            basis = "observed" if d in self.doses else "interpolated"
            return float(np.interp(np.log(d), np.log(self.doses), self.log_gm)), basis
        if len(self.doses) >= 3 and self.slope is not None:
            return self.intercept + self.slope * np.log(d), "power model"
        near = lo if d < lo else hi
        k = int(np.flatnonzero(self.doses == near)[0])
        return float(self.log_gm[k] + np.log(d / near)), "dose-proportional"


def analyse_predictions(data: StudyData, er: ExposureResponseResult, dosages: list[float], proposed_dosage: float,
                        rng: np.random.Generator, n_bootstrap: int = 1000, method: str = "observed",
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

    observed = se["exposure"].to_numpy(float)
    rel = ExposureRelation(se["dose"].to_numpy(float), observed)
    basis: dict[float, str] = {}
    if method == "lognormal":
        ln = np.log(norm)
        z = rng.standard_normal(n_lognormal)
        sims = {d: np.exp(ln.mean() + ln.std(ddof=1) * z) * d for d in dosages}
    elif method == "observed":
        sims = {}
        for d in dosages:
            lgm, basis[d] = rel.log_gm_at(d)
            sims[d] = np.exp(lgm + rel.resid)
    else:
        sims = {d: norm * d for d in dosages}
    for d in dosages:
        if d not in basis:
            basis[d] = "observed" if d in rel.doses else "dose-proportional"
    e_lo, e_hi = float(observed.min()), float(observed.max())
    d_lo, d_hi = float(rel.doses[0]), float(rel.doses[-1])

    draws: dict[str, np.ndarray] = {}
    point: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}
    for m in er.models:
        if m.endpoint == "response":
            mask = se.index.isin(response_population(se).index)
            y = se["responder"].to_numpy(float)
        else:
            y = se[m.endpoint].to_numpy(float)
            mask = se["safety"].to_numpy(bool) & ~np.isnan(y)  # unknown values are left out, never 0
        X = np.column_stack([np.ones(mask.sum()), tx(se["exposure"].to_numpy(float)[mask])])
        beta = logistic_irls_batch(X, y[mask], W[:, mask])  # (B, 2)
        b0 = logistic_irls_batch(X, y[mask], np.ones((1, int(mask.sum()))))[0]
        labels[m.endpoint] = m.label  # the fitted model's label (a severity where no CTCAE grade was recorded)
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
        med = float(np.median(v))
        extrapolated = not (d_lo <= d <= d_hi) or not (e_lo <= med <= e_hi)
        out.append(DosagePrediction(dose=d, exposure_median=med, exposure_p05=float(np.quantile(v, 0.05)),
                                    exposure_p95=float(np.quantile(v, 0.95)), n_observed=int(counts.get(d, 0)),
                                    endpoints=eps, basis=basis[d], extrapolated=extrapolated))
    diffs: list[PredictedDifference] = []
    if proposed_dosage in dosages:
        r = dosages.index(proposed_dosage)
        for j, d in enumerate(dosages):
            if j == r:
                continue
            for key, dr in draws.items():
                delta = dr[:, j] - dr[:, r]
                lo, hi = np.quantile(delta, [0.025, 0.975])
                diffs.append(PredictedDifference(dose=d, reference=proposed_dosage, endpoint=key,
                                                 estimate=float(point[key][j] - point[key][r]),
                                                 ci_lower=float(lo), ci_upper=float(hi)))
    res = PredictionsResult(metric=er.metric, method=method, transform=transform, n_bootstrap=n_bootstrap,
                            proposed_dosage=proposed_dosage, dosages=out, differences=diffs, endpoint_labels=labels,
                            observed_exposure_min=e_lo, observed_exposure_max=e_hi,
                            observed_doses=[float(x) for x in rel.doses], power_slope=rel.slope,
                            power_slope_ci_lower=rel.slope_lo, power_slope_ci_upper=rel.slope_hi)
    return res, PredictionDraws(dosages, draws, point)
