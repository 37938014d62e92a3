"""Per-dose overview: patients, DLTs, response and tolerability rates with exact confidence intervals.

Rates are subject-level proportions with Clopper-Pearson ("exact") 95% intervals
(Clopper & Pearson 1934, Biometrika 26:404), computed by statsmodels ``proportion_confint(method="beta")``.
Definitions (per dose level of the actual dose, ADSL DOSE01A; a first row for the control arm when the
spec declares one):
- DLT rate: subjects with at least one AE flagged as DLT among DLT-evaluable subjects;
- objective response rate: subjects whose best overall response is in ``filters.responders``
  among efficacy-evaluable subjects;
- grade >= 3, serious, reduction, interruption, discontinuation: subjects with at least one
  treatment-emergent AE of that kind among safety subjects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel
from statsmodels.stats.proportion import proportion_confint

from dossier.ingest.tables import StudyData


class Rate(BaseModel):
    """A proportion with its exact 95% confidence interval."""

    events: int
    n: int
    rate: float | None
    lower: float | None
    upper: float | None


def exact_rate(events: int, n: int, alpha: float = 0.05) -> Rate:
    """Proportion with a Clopper-Pearson interval; ``None`` when n == 0."""
    if n == 0:
        return Rate(events=0, n=0, rate=None, lower=None, upper=None)
    lo, hi = proportion_confint(events, n, alpha=alpha, method="beta")
    return Rate(events=int(events), n=int(n), rate=events / n, lower=float(lo), upper=float(hi))


class DoseRow(BaseModel):
    dose: float  # 0 for the control (placebo) arm
    control: bool = False
    n_subjects: int
    n_dlt_evaluable: int
    dlt: Rate
    response: Rate | None
    grade3: Rate | None
    serious: Rate | None
    reduction: Rate | None
    interruption: Rate | None
    discontinuation: Rate | None


class DoseSummary(BaseModel):
    """The per-dose overview table of the core evidence."""

    unit: str
    rows: list[DoseRow]
    n_subjects: int


def _subjects_with(ae: pd.DataFrame, mask: pd.Series) -> set[str]:
    return set(ae.loc[mask, "usubjid"])


def analyse_dose_summary(data: StudyData, dose_levels: list[float], unit: str = "mg") -> DoseSummary:
    """Summarise patients, DLTs, response and tolerability per dose level."""
    subj = data.subjects
    ae = data.adverse_events
    if ae is not None:
        ae = ae[ae["teae"]] if "teae" in ae else ae
    resp = data.response
    rows = []
    has_control = "control" in subj and bool(subj["control"].any())
    for dose in ([0.0] if has_control else []) + list(dose_levels):
        s = subj[subj["control"]] if dose == 0.0 else subj[np.isclose(subj["dose"], dose)]
        safety = set(s.loc[s["safety"], "usubjid"])
        dlt_eval = set(s.loc[s["dlt_evaluable"], "usubjid"])
        dlt_subj = set()
        row: dict = {"dose": float(dose), "control": dose == 0.0, "n_subjects": len(s),
                     "n_dlt_evaluable": len(dlt_eval)}
        if ae is not None:
            a = ae[ae["usubjid"].isin(safety)]
            dlt_subj = _subjects_with(a, a["dlt"].astype(bool))
            grade = a["grade"].fillna(0).astype(int)
            for key, mask in (("grade3", grade >= 3), ("serious", a["serious"]),
                              ("reduction", a["dose_reduced"]), ("interruption", a["dose_interrupted"]),
                              ("discontinuation", a["drug_withdrawn"])):
                row[key] = exact_rate(len(_subjects_with(a, mask.fillna(False).astype(bool))), len(safety))
        else:
            row.update(grade3=None, serious=None, reduction=None, interruption=None, discontinuation=None)
        row["dlt"] = exact_rate(len(dlt_subj & dlt_eval), len(dlt_eval))
        if resp is not None:
            eff = set(s.loc[s["efficacy"], "usubjid"])
            r = resp[resp["usubjid"].isin(eff)]
            row["response"] = exact_rate(int(r["responder"].sum()), len(r))
        else:
            row["response"] = None
        rows.append(DoseRow(**row))
    return DoseSummary(unit=unit, rows=rows, n_subjects=len(subj))
