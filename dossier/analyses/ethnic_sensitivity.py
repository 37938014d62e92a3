"""Japan-specific evidence for PMDA: ethnic sensitivity (ICH E5 Appendix D), exposure in Japanese and
East-Asian patients with body weight as covariate, exposure predictions at candidate dosages over a
Japanese body-weight distribution, and the MRCT consistency plan (ICH E17; MHLW 2007 Method 1).

Methods
- Dose proportionality: power model with the Smith et al. (2000) acceptance interval and verdict, by
  :func:`dossier.analyses.dose_proportionality.analyse_dose_proportionality` (the one implementation).
- Exposure covariates: log(AUC/dose) = c0 + c1 log(weight/70) + c2 [East Asian] (OLS); exp(c2) is the
  weight-adjusted ratio of geometric means East Asian vs other, exp of the unadjusted group difference
  the crude ratio.
- Predictions: body weights drawn log-normal with median at the reference body weight of the agency
  profile (60 kg for PMDA) and the observed log-weight SD of the East-Asian patients (or 0.15 if fewer
  than 5), exposures from the covariate model with its residual SD; quantiles per candidate dosage.
- MRCT consistency, MHLW "Basic principles on global clinical trials" (2007) Method 1: probability that
  the Japanese effect D_J is at least half the overall effect D, P(D_J >= 0.5 D), for a Japanese
  fraction f of a trial with power 1-beta at two-sided alpha, assuming one common true effect
  (Quan et al., Pharm Stat 2010;9:100): P = Phi(0.5 (z_{alpha/2} + z_beta) / sqrt(1/f - 0.75)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel
from scipy import stats

from dossier.analyses.dose_proportionality import DoseProportionalityResult, analyse_dose_proportionality
from dossier.ingest.tables import StudyData

EAST_ASIAN_COUNTRIES = {"JPN", "KOR", "CHN", "TWN", "HKG"}


class GroupSummary(BaseModel):
    group: str
    n: int
    weight_median: float | None
    weight_q1: float | None
    weight_q3: float | None
    exposure_gmean_per_dose: float | None  # geometric mean of AUC/dose


class Coefficient(BaseModel):
    estimate: float
    lower: float
    upper: float
    p_value: float


class ExposurePrediction(BaseModel):
    dose: float
    population: str  # "Japanese (reference weight)" / "non-Asian (reference weight)"
    reference_weight_kg: float
    median: float
    p05: float
    p95: float


class ConsistencyRow(BaseModel):
    japanese_fraction: float
    power: float
    probability: float  # P(D_J >= 0.5 D)


class EthnicSensitivityResult(BaseModel):
    exposure_metric: str
    exposure_unit: str
    n_total: int
    groups: list[GroupSummary]
    dose_proportionality: DoseProportionalityResult | None
    weight_exponent: Coefficient | None
    east_asian_ratio_adjusted: Coefficient | None  # ratio of geometric means (not log)
    east_asian_ratio_crude: Coefficient | None
    residual_sd_log: float | None
    predictions: list[ExposurePrediction]
    consistency: list[ConsistencyRow]
    min_fraction_80: dict[str, float]  # power label -> smallest f with P >= 0.8


def consistency_probability(fraction: float, power: float = 0.8, alpha: float = 0.05, ratio: float = 0.5) -> float:
    """MHLW Method 1 probability P(D_J >= ratio * D) (Quan et al. 2010, equal true effects)."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    # D ~ N(d, s2/n), D_J ~ N(d, s2/nJ), cov = s2/n  ->  var(D_J - r D) = s2 (1/nJ - (2r - r^2)/n)
    var_factor = 1 / fraction - (2 * ratio - ratio**2)
    return float(stats.norm.cdf((1 - ratio) * z / np.sqrt(var_factor)))


def _coef(fit, name: str, transform=lambda x: x) -> Coefficient:
    lo, hi = fit.conf_int().loc[name]
    return Coefficient(estimate=float(transform(fit.params[name])), lower=float(transform(lo)),
                       upper=float(transform(hi)), p_value=float(fit.pvalues[name]))


def analyse_ethnic_sensitivity(data: StudyData, *, exposure_paramcd: str, candidate_doses: list[float],
                               reference_weight_kg: float, rng: np.random.Generator,
                               n_sim: int = 4000) -> EthnicSensitivityResult | None:
    """Japan-specific exposure and consistency evidence; ``None`` without PK data."""
    if data.pk is None:
        return None
    subj = data.subjects.copy()
    subj["east_asian"] = subj["country"].isin(EAST_ASIAN_COUNTRIES)
    subj["japanese"] = subj["country"] == "JPN"
    pk = data.pk[data.pk["paramcd"] == exposure_paramcd]
    unit = str(pk["unit"].iloc[0]) if len(pk) else ""
    df = subj.merge(pk[["usubjid", "value"]], on="usubjid", how="inner")
    df = df[(df["value"] > 0) & (df["dose"] > 0) & df["weight_kg"].gt(0)]

    def summary(name: str, mask: pd.Series) -> GroupSummary:
        s = subj[mask]
        e = df[df["usubjid"].isin(s["usubjid"])]
        w = s["weight_kg"].dropna()
        return GroupSummary(
            group=name, n=len(s),
            weight_median=float(w.median()) if len(w) else None,
            weight_q1=float(w.quantile(0.25)) if len(w) else None,
            weight_q3=float(w.quantile(0.75)) if len(w) else None,
            exposure_gmean_per_dose=float(np.exp(np.log(e["value"] / e["dose"]).mean())) if len(e) else None)

    groups = [summary("Japanese", subj["japanese"]), summary("East Asian (incl. Japanese)", subj["east_asian"]),
              summary("Other regions", ~subj["east_asian"]), summary("All", subj["usubjid"].notna())]

    dp = wexp = adj = crude = None
    resid_sd = None
    predictions: list[ExposurePrediction] = []
    if len(df) >= 8 and df["dose"].nunique() >= 2:
        dp = analyse_dose_proportionality(df["dose"], df["value"], df["usubjid"], metric=exposure_paramcd)
        y = np.log(df["value"] / df["dose"])
        xc = sm.add_constant(pd.DataFrame({"log_wt": np.log(df["weight_kg"] / 70.0),
                                           "east_asian": df["east_asian"].astype(float)}))
        if df["east_asian"].nunique() == 2:
            fit = sm.OLS(y, xc).fit()
            wexp = _coef(fit, "log_wt")
            adj = _coef(fit, "east_asian", np.exp)
            crude_fit = sm.OLS(y, sm.add_constant(df[["east_asian"]].astype(float))).fit()
            crude = _coef(crude_fit, "east_asian", np.exp)
        else:
            fit = sm.OLS(y, xc[["const", "log_wt"]]).fit()
            wexp = _coef(fit, "log_wt")
        resid_sd = float(np.sqrt(fit.scale))
        ea_w = subj.loc[subj["east_asian"], "weight_kg"].dropna()
        sd_logw = float(np.log(ea_w).std(ddof=1)) if len(ea_w) >= 5 else 0.15
        z_w = rng.standard_normal(n_sim)
        z_e = rng.standard_normal(n_sim)  # common random numbers across doses and populations
        for pop, ref, asian in (("Japanese", reference_weight_kg, 1.0), ("non-Asian", 70.0, 0.0)):
            w = np.exp(np.log(ref) + sd_logw * z_w)
            log_auc_per_dose = fit.params["const"] + fit.params["log_wt"] * np.log(w / 70.0) + resid_sd * z_e
            if "east_asian" in fit.params:
                log_auc_per_dose = log_auc_per_dose + fit.params["east_asian"] * asian
            for dose in candidate_doses:
                auc = dose * np.exp(log_auc_per_dose)
                predictions.append(ExposurePrediction(
                    dose=float(dose), population=pop, reference_weight_kg=float(ref),
                    median=float(np.median(auc)), p05=float(np.quantile(auc, 0.05)),
                    p95=float(np.quantile(auc, 0.95))))

    consistency = [ConsistencyRow(japanese_fraction=f, power=p, probability=consistency_probability(f, p))
                   for p in (0.8, 0.9) for f in (0.10, 0.15, 0.20, 0.25, 0.30)]
    min_fraction = {}
    for p in (0.8, 0.9):
        z = stats.norm.ppf(0.975) + stats.norm.ppf(p)
        # solve Phi(0.5 z / sqrt(1/f - 0.75)) = 0.8 for f
        min_fraction[f"{int(p * 100)}%"] = float(1 / ((0.5 * z / stats.norm.ppf(0.8)) ** 2 + 0.75))
    return EthnicSensitivityResult(
        exposure_metric=exposure_paramcd, exposure_unit=unit, n_total=len(subj), groups=groups,
        dose_proportionality=dp, weight_exponent=wexp, east_asian_ratio_adjusted=adj,
        east_asian_ratio_crude=crude, residual_sd_log=resid_sd, predictions=predictions,
        consistency=consistency, min_fraction_80=min_fraction)
