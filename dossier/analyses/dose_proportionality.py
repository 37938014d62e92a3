"""Dose proportionality by the power model with the Smith et al. (2000) acceptance interval.

Method (Smith BP, Vandenhende FR, DeSante KA, et al. Confidence interval criteria for assessment of dose
proportionality. Pharm Res 2000;17:1278-1283):

- Power model ln(PK) = a + b ln(dose) (+ a random subject intercept when subjects were studied at more
  than one dose, as in a crossover: linear mixed model, REML; otherwise ordinary least squares).
- 100(1 - 2α)% (default 90%) confidence interval of b from the t distribution: OLS with n - 2 degrees of
  freedom; the mixed model with the within-subject degrees of freedom n - n_subjects - 1 (containment).
- Acceptance interval for the studied dose ratio r = max dose / min dose, with the bioequivalence-type
  limits θL = 0.8 and θH = 1.25 on the ratio of dose-normalised geometric means:
  [1 + ln θL / ln r, 1 + ln θH / ln r] (Smith et al. 2000, eq. 5).
- Verdict: "proportional" when the CI lies inside the acceptance interval; "less than proportional" when
  the CI lies entirely below it; "more than proportional" when entirely above it; "inconclusive"
  otherwise; "cannot be assessed" with fewer than two distinct doses (or fewer than three usable values).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dossier.analyses.stats import Result
from dossier.wording import Phrase

Verdict = Literal["proportional", "less than proportional", "more than proportional", "inconclusive",
                  "cannot be assessed"]


class DoseProportionalityResult(Result):
    """Power-model slope ``estimate`` with its CI (``lower``, ``upper``), the acceptance interval and verdict."""

    metric: str
    profiles: str = ""  # which profiles the values come from, e.g. "single dose"
    verdict: Verdict
    reason: Phrase | None = None  # why it cannot be assessed (worded by templates/data/wording.yaml)
    model: Literal["ordinary least squares", "linear mixed model (random subject intercept, REML)", "none"]
    n: int
    n_subjects: int
    doses: list[float]
    dose_ratio: float | None
    estimate: float | None  # b
    se: float | None
    df: float | None
    lower: float | None
    upper: float | None
    level: float
    acceptance_lower: float | None
    acceptance_upper: float | None
    theta_lower: float
    theta_upper: float
    intercept: float | None


def acceptance_interval(dose_ratio: float, theta_lower: float = 0.8, theta_upper: float = 1.25) -> tuple[float, float]:
    """Smith et al. (2000) eq. 5: [1 + ln θL / ln r, 1 + ln θH / ln r] for the dose ratio r > 1."""
    if not dose_ratio > 1:
        raise ValueError("the dose ratio must exceed 1")
    lr = math.log(dose_ratio)
    return 1 + math.log(theta_lower) / lr, 1 + math.log(theta_upper) / lr


def verdict(lower: float, upper: float, acc_lower: float, acc_upper: float) -> Verdict:
    """Smith et al. (2000) decision rule on the CI of b against the acceptance interval."""
    if lower >= acc_lower and upper <= acc_upper:
        return "proportional"
    if upper < acc_lower:
        return "less than proportional"
    if lower > acc_upper:
        return "more than proportional"
    return "inconclusive"


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    xc = x - x.mean()
    sxx = float(xc @ xc)
    b = float(xc @ (y - y.mean())) / sxx
    a = float(y.mean() - b * x.mean())
    resid = y - a - b * x
    df = len(x) - 2
    s2 = float(resid @ resid) / df
    return a, b, math.sqrt(s2 / sxx), df


def _mixed(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, float, float, float] | None:
    import warnings

    import statsmodels.formula.api as smf

    df = pd.DataFrame({"y": y, "x": x, "g": groups})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm("y ~ x", df, groups=df["g"]).fit(reml=True, method=["lbfgs", "bfgs", "nm"])
        except (np.linalg.LinAlgError, ValueError):
            return None
    if not np.isfinite(fit.bse["x"]):
        return None
    dof = len(y) - len(np.unique(groups)) - 1
    return float(fit.params["Intercept"]), float(fit.params["x"]), float(fit.bse["x"]), float(dof)


def analyse_dose_proportionality(dose, value, subject=None, *, metric: str = "AUC", level: float = 0.90,
                                 theta_lower: float = 0.8, theta_upper: float = 1.25) -> DoseProportionalityResult:
    """Power-model assessment of dose proportionality of one PK metric (Smith et al. 2000).

    ``dose``, ``value``: per observation (one subject-profile); ``subject``: optional subject ids -- when a
    subject contributes at more than one dose a random subject intercept is fitted. Non-positive or missing
    values are left out (they have no logarithm).
    """
    d = np.asarray(dose, float)
    v = np.asarray(value, float)
    s = np.asarray(subject if subject is not None else np.arange(len(d)), dtype=object)
    keep = np.isfinite(d) & np.isfinite(v) & (d > 0) & (v > 0)
    d, v, s = d[keep], v[keep], s[keep]
    doses = sorted({float(x) for x in d})
    base = {"metric": metric, "n": int(len(d)), "n_subjects": int(len(set(s.tolist()))), "doses": doses,
            "level": level, "theta_lower": theta_lower, "theta_upper": theta_upper}
    empty = {"model": "none", "dose_ratio": None, "estimate": None, "se": None, "df": None, "lower": None,
             "upper": None, "acceptance_lower": None, "acceptance_upper": None, "intercept": None}
    if len(doses) < 2:
        return DoseProportionalityResult(**base, **empty, verdict="cannot be assessed",
                                         reason=Phrase(code="analysis.dose_proportionality.few_doses",
                                                       values={"metric": metric}))
    if len(d) < 3:
        return DoseProportionalityResult(**base, **empty, verdict="cannot be assessed",
                                         reason=Phrase(code="analysis.dose_proportionality.few_values",
                                                       values={"metric": metric}))
    x, y = np.log(d), np.log(v)
    per_subject = pd.Series(d).groupby(pd.Series(s.astype(str))).nunique()
    fit, model = None, "ordinary least squares"
    if subject is not None and (per_subject > 1).any():
        fit = _mixed(x, y, s.astype(str))
        model = "linear mixed model (random subject intercept, REML)"
        if fit is not None and fit[3] < 1:
            fit = None
    if fit is None:
        model = "ordinary least squares"
        fit = _ols(x, y)
    a, b, se, dof = fit
    tq = float(stats.t.ppf(0.5 + level / 2, dof))
    lo, hi = b - tq * se, b + tq * se
    r = doses[-1] / doses[0]
    al, ah = acceptance_interval(r, theta_lower, theta_upper)
    return DoseProportionalityResult(
        **base, model=model, dose_ratio=r, estimate=b, se=se, df=dof, lower=lo, upper=hi, acceptance_lower=al,
        acceptance_upper=ah, intercept=a, verdict=verdict(lo, hi, al, ah))
