"""Biomarker and pharmacodynamic dose-response: continuous endpoints named in the spec's ``biomarkers``.

For each marker, one response per subject: AVAL, change from baseline or percent change from baseline
(100 x change / baseline; not estimable for a zero baseline) at the spec's visit, or at the subject's last
post-baseline assessment when no visit is named. A marker expected to decrease is analysed as a reduction
(the sign reversed), so that the drug effect is positive for the increasing candidate models.

- Dose-response: MCP-Mod with normal errors (Bretz, Pinheiro & Branson 2005; Pinheiro et al. 2014) on the
  dose groups, :func:`dossier.analyses.mcpmod.analyse_mcpmod`, with ANCOVA covariates when the spec names
  them (DoseFinding ``addCovars``), AIC model selection and a parametric-bootstrap band; the target dose is
  the smallest dose whose modelled effect over dose 0 reaches the spec's ``delta``.
- Exposure-response: Emax model of the response on the subject's exposure (``filters.exposure_paramcd``;
  placebo subjects at exposure 0) by least squares with a profile-likelihood CI of EC50
  (:func:`dossier.analyses.exposure_response.fit_emax_continuous`; Macdougall 2006 for the Emax model).

Subjects without a response (no assessment at the visit, no baseline for a change) are left out and
counted, never set to 0. The marker's validation status (exploratory / validated) is carried from the spec.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from dossier.analyses.exposure_response import ContinuousEmaxER, exposure_table, fit_emax_continuous
from dossier.analyses.mcpmod import MCPModResult, analyse_mcpmod
from dossier.analyses.stats import Result
from dossier.ingest.tables import StudyData
from dossier.spec import BiomarkerSpec

MEASURE_WORDS = {"value": "value", "change": "change from baseline", "percent_change": "percent change from baseline"}


class BiomarkerDoseGroup(Result):
    dose: float
    control: bool
    n: int
    mean: float | None
    sd: float | None
    ci_lower: float | None
    ci_upper: float | None


class BiomarkerEndpoint(Result):
    """One marker: its definition from the spec, the per-dose summary and the two models."""

    paramcd: str
    name: str
    unit: str
    validation: str  # exploratory / validated (from the spec)
    measure: str  # value / change / percent_change
    measure_words: str
    visit: str | None  # None: each subject's last post-baseline assessment
    direction: str  # increasing / decreasing
    analysed_as_reduction: bool
    response_unit: str
    n_subjects: int  # subjects with a response
    n_without_response: int  # subjects with a dose but no response at the visit (left out, never 0)
    by_dose: list[BiomarkerDoseGroup]
    covariates: list[str]
    n_dropped_for_covariates: int = 0
    mcpmod: MCPModResult | None = None
    exposure_paramcd: str | None = None
    exposure_unit: str = ""
    emax: ContinuousEmaxER | None = None


class BiomarkerResult(Result):
    endpoints: list[BiomarkerEndpoint]


def subject_responses(data: StudyData, b: BiomarkerSpec) -> pd.DataFrame:
    """One row per subject with a dose: usubjid, dose, control, base, response (NaN when not available)."""
    subj = data.subjects[["usubjid", "dose", "control"]].copy()
    subj["usubjid"] = subj["usubjid"].astype(str)
    subj = subj[np.isfinite(subj["dose"].astype(float))]
    bm = data.biomarker
    rows = bm[(bm["paramcd"].astype(str) == b.paramcd.upper())].copy()
    rows["usubjid"] = rows["usubjid"].astype(str)
    base = rows[rows["baseline"].astype(bool)].drop_duplicates("usubjid").set_index("usubjid")["value"]
    post = rows[rows["post_baseline"].astype(bool) | (b.measure == "value") & ~rows["baseline"].astype(bool)]
    if b.visit is not None:
        post = post[post["visit"].astype(str).str.upper() == b.visit.upper()]
    else:
        post = post.assign(_t=post["day"].astype(float).fillna(post["visitn"].astype(float)))
        post = post.sort_values(["usubjid", "_t"], kind="stable")
    last = post.drop_duplicates("usubjid", keep="last").set_index("usubjid")
    if b.measure == "value":
        resp = last["value"].astype(float)
    elif b.measure == "change":
        resp = last["change"].astype(float)
    else:
        bl = last["base"].astype(float)
        resp = (100.0 * last["change"].astype(float) / bl).where(bl != 0)
    if b.direction == "decreasing":
        resp = -resp
    out = subj.assign(base=subj["usubjid"].map(base).astype(float), response=subj["usubjid"].map(resp).astype(float))
    return out.reset_index(drop=True)


def t_mean_ci(y: np.ndarray, level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Mean and its t-based confidence interval (Student 1908); no interval for fewer than 2 values."""
    if len(y) == 0:
        return None, None, None
    mean = float(np.mean(y))
    if len(y) < 2:
        return mean, None, None
    half = float(stats.t.ppf(0.5 + level / 2, len(y) - 1)) * float(np.std(y, ddof=1)) / math.sqrt(len(y))
    return mean, mean - half, mean + half


def _by_dose(frame: pd.DataFrame) -> list[BiomarkerDoseGroup]:
    out = []
    for d, g in frame.groupby("dose", sort=True):
        y = g["response"].to_numpy(float)
        mean, lo, hi = t_mean_ci(y)
        out.append(BiomarkerDoseGroup(dose=float(d), control=bool(g["control"].astype(bool).any()), n=len(y),
                                      mean=mean, sd=float(np.std(y, ddof=1)) if len(y) > 1 else None,
                                      ci_lower=lo, ci_upper=hi))
    return out


def analyse_biomarker(data: StudyData, b: BiomarkerSpec, exposure_paramcd: str | None,
                      rng: np.random.Generator | None, n_bootstrap: int = 500, alpha: float = 0.025,
                      selection: str = "AIC") -> BiomarkerEndpoint:
    frame = subject_responses(data, b)
    have = frame[np.isfinite(frame["response"])]
    covs: dict[str, np.ndarray] = {}
    dropped = 0
    if b.covariates:
        subj = data.subjects.assign(usubjid=data.subjects["usubjid"].astype(str)).set_index("usubjid")
        have = have.reset_index(drop=True)
        values = {c: (have["base"] if c == "baseline" else have["usubjid"].map(subj[c])).reset_index(drop=True)
                  for c in b.covariates}
        ok = np.ones(len(have), dtype=bool)
        for v in values.values():
            ok &= (v.notna() & (v.astype(str) != "")).to_numpy()
        dropped = int((~ok).sum())
        have = have[ok].reset_index(drop=True)
        numeric = ("baseline", "age", "weight_kg")
        covs = {c: v[ok].to_numpy(float) if c in numeric else v[ok].astype(str).to_numpy(object)
                for c, v in values.items()}
    doses, y = have["dose"].to_numpy(float), have["response"].to_numpy(float)
    mcp = None
    if len(np.unique(doses)) >= 3 and len(y) > len(np.unique(doses)) + len(covs) + 1:
        mcp = analyse_mcpmod(doses, y, b.paramcd, data_type="normal", delta=b.delta, alpha=alpha,
                             selection=selection, rng=rng, n_bootstrap=n_bootstrap, kind="biomarker",
                             covariates=covs or None)
    emax = None
    exposure = exposure_table(data, exposure_paramcd) if exposure_paramcd else None
    if exposure is not None:
        all_have = frame[np.isfinite(frame["response"])]
        c = all_have["usubjid"].map(exposure).astype(float)
        c = c.where(~all_have["control"].astype(bool), 0.0).to_numpy(float)
        doses_all = all_have["dose"].to_numpy(float)
        medians = {float(d): float(np.nanmedian(c[doses_all == d])) for d in np.unique(doses_all)
                   if d > 0 and np.isfinite(c[doses_all == d]).any()}
        emax = fit_emax_continuous(c, all_have["response"].to_numpy(float), b.paramcd, dose_medians=medians)
    exposure_unit = ""
    if emax is not None and "unit" in data.pk.columns:
        units = data.pk.loc[data.pk["paramcd"].astype(str) == exposure_paramcd, "unit"].dropna().astype(str)
        exposure_unit = units.iloc[0] if len(units) else ""
    unit = "%" if b.measure == "percent_change" else b.unit
    return BiomarkerEndpoint(
        paramcd=b.paramcd, name=b.name, unit=b.unit, validation=b.validation, measure=b.measure,
        measure_words=MEASURE_WORDS[b.measure], visit=b.visit, direction=b.direction,
        analysed_as_reduction=b.direction == "decreasing", response_unit=unit, n_subjects=int(len(frame) - int(
            frame["response"].isna().sum())), n_without_response=int(frame["response"].isna().sum()),
        by_dose=_by_dose(frame[np.isfinite(frame["response"])]), covariates=list(b.covariates),
        n_dropped_for_covariates=dropped, mcpmod=mcp, exposure_paramcd=exposure_paramcd if emax else None,
        exposure_unit=exposure_unit, emax=emax)


def analyse_biomarkers(data: StudyData, specs: list[BiomarkerSpec], exposure_paramcd: str | None,
                       rng: np.random.Generator | None, n_bootstrap: int = 500, alpha: float = 0.025,
                       selection: str = "AIC") -> BiomarkerResult | None:
    """Every marker of the spec; None (not collected) without biomarker data or markers."""
    if data.biomarker is None or data.biomarker.empty or not specs:
        return None
    eps = [analyse_biomarker(data, b, exposure_paramcd, rng, n_bootstrap, alpha, selection) for b in specs]
    return BiomarkerResult(endpoints=eps)

