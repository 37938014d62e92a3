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
from dossier.wording import Phrase


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
    grade3: Rate | None  # CTCAE grade >= 3; None when not collected (see DoseSummary.measures)
    severe_severity: Rate | None = None  # AESEV SEVERE, only when no CTCAE grade was recorded
    serious: Rate | None
    reduction: Rate | None
    interruption: Rate | None
    discontinuation: Rate | None


class Population(BaseModel):
    """A named analysis population: its definition and its size per dose (control first, as the rows)."""

    name: str
    definition: Phrase  # worded by templates/data/wording.yaml (analysis.population.*)
    n_by_dose: dict[str, int]  # "{dose:g}" -> N ("0" = control)
    n_total: int


class DoseSummary(BaseModel):
    """The per-dose overview table of the core evidence."""

    unit: str
    rows: list[DoseRow]
    n_subjects: int
    #: measure key (grade3, severe, serious, reduced, interrupted, withdrawn) -> endpoints.Measure as a dict
    measures: dict[str, dict] = {}
    populations: list[Population] = []
    #: subjects by country of enrolment (ADSL COUNTRY), e.g. the number of patients enrolled in Japan
    n_by_country: dict[str, int] = {}
    #: subjects by race (ADSL RACE, as coded), e.g. for the ethnic-factor assessment (ICH E5); empty when not collected
    n_by_race: dict[str, int] = {}

    def population(self, name: str) -> Population | None:
        return next((p for p in self.populations if p.name == name), None)


#: DoseRow field -> subject_endpoints column
_ROW_MEASURES = {"grade3": "grade3", "severe_severity": "severe", "serious": "serious", "reduction": "reduced",
                 "interruption": "interrupted", "discontinuation": "withdrawn"}


def _subjects_with(ae: pd.DataFrame, mask: pd.Series) -> set[str]:
    return set(ae.loc[mask, "usubjid"])


def _known_rate(values: pd.Series) -> Rate:
    v = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    return exact_rate(int(v.sum()), len(v))


def analyse_populations(data: StudyData, dose_levels: list[float], exposure_paramcd: str | None = None
                        ) -> list[Population]:
    """The analysis populations every rate of the dossier names, with N per dose."""
    subj = data.subjects.assign(usubjid=data.subjects["usubjid"].astype(str))
    has_control = "control" in subj and bool(subj["control"].any())
    keys = (["0"] if has_control else []) + [f"{d:g}" for d in dose_levels]
    resp_ids = set() if data.response is None else set(data.response["usubjid"].astype(str))
    pk_ids: set[str] = set()
    if data.pk is not None and exposure_paramcd:
        pk = data.pk[data.pk["paramcd"].astype(str) == exposure_paramcd]
        pk_ids = set(pk.loc[pk["value"].notna(), "usubjid"].astype(str))
    flag = {c: (subj[c].astype(bool) if c in subj else pd.Series(False, index=subj.index))
            for c in ("safety", "efficacy", "dlt_evaluable", "randomized")}
    eff = flag["efficacy"] & subj["usubjid"].isin(resp_ids)
    defs = [
        ("all treated", "all_treated", pd.Series(True, index=subj.index)),
        ("safety", "safety", flag["safety"]),
        ("DLT-evaluable", "dlt_evaluable", flag["dlt_evaluable"]),
        ("efficacy-evaluable", "efficacy_evaluable", eff),
        ("randomized", "randomized", flag["randomized"]),
        ("randomized, efficacy-evaluable", "randomized_efficacy", flag["randomized"] & eff),
    ]
    if exposure_paramcd and data.pk is not None:
        defs.append(("exposure (PK)", "exposure", subj["usubjid"].isin(pk_ids)))
    out = []
    for name, code, mask in defs:
        counts = {}
        for k in keys:
            d = float(k)
            sel = subj["control"].astype(bool) if (k == "0" and has_control) else np.isclose(subj["dose"], d)
            counts[k] = int((mask & sel).sum())
        if sum(counts.values()) == 0 and name not in ("all treated", "safety"):
            continue
        definition = Phrase(code=f"analysis.population.{code}",
                            values={"paramcd": exposure_paramcd} if code == "exposure" else {})
        out.append(Population(name=name, definition=definition, n_by_dose=counts, n_total=sum(counts.values())))
    return out


def analyse_dose_summary(data: StudyData, dose_levels: list[float], unit: str = "mg",
                         exposure_paramcd: str | None = None) -> DoseSummary:
    """Summarise patients, DLTs, response and tolerability per dose level.

    AE measures are subject-level (:func:`dossier.analyses.endpoints.subject_endpoints`): the rate's
    denominator is the safety subjects whose value is known; a measure that was not collected is ``None``.
    """
    from dossier.analyses.endpoints import measure_status, subject_endpoints

    subj = data.subjects
    ae = data.adverse_events
    if ae is not None:
        ae = ae[ae["teae"]] if "teae" in ae else ae
    resp = data.response
    se = subject_endpoints(data) if ae is not None else None
    measures = measure_status(se) if se is not None else {}
    basis = se.attrs["severity_basis"] if se is not None else "none"
    # discontinuation for an AE: AEACN where collected, else ADSL's reason for discontinuation (labelled so)
    disc_key = "withdrawn"
    if "withdrawn" in measures and not measures["withdrawn"].collected and \
            measures.get("withdrawn_study") is not None and measures["withdrawn_study"].collected:
        disc_key = "withdrawn_study"
    rows = []
    has_control = "control" in subj and bool(subj["control"].any())
    for dose in ([0.0] if has_control else []) + list(dose_levels):
        s = subj[subj["control"]] if dose == 0.0 else subj[np.isclose(subj["dose"], dose)]
        safety = set(s.loc[s["safety"], "usubjid"].astype(str))
        dlt_eval = set(s.loc[s["dlt_evaluable"], "usubjid"])
        dlt_subj = set()
        row: dict = {"dose": float(dose), "control": dose == 0.0, "n_subjects": len(s),
                     "n_dlt_evaluable": len(dlt_eval)}
        if ae is not None and se is not None:
            a = ae[ae["usubjid"].isin(safety)]
            dlt_subj = _subjects_with(a, a["dlt"].astype(bool))
            g = se[se.index.isin(safety)]
            for field, col in _ROW_MEASURES.items():
                col = disc_key if field == "discontinuation" else col
                m = measures.get(col)
                usable = m is not None and m.collected and (field != "severe_severity" or basis == "severity")
                row[field] = _known_rate(g[col]) if usable else None
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
    return DoseSummary(unit=unit, rows=rows, n_subjects=len(subj),
                       measures={**{k: m.model_dump() for k, m in measures.items()},
                                 **({"discontinuation": measures[disc_key].model_dump()} if disc_key in measures
                                    else {})},
                       populations=analyse_populations(data, list(dose_levels), exposure_paramcd),
                       n_by_country=_by_country(subj), n_by_race=_by_column(subj, "race"))


def _by_country(subj: pd.DataFrame) -> dict[str, int]:
    return _by_column(subj, "country")


def _by_column(subj: pd.DataFrame, column: str) -> dict[str, int]:
    """Subjects by the (upper-cased) value of a subject-level column; blanks are not counted, and an absent
    or all-blank column gives {} (not collected)."""
    if column not in subj:
        return {}
    c = subj[column].fillna("").astype(str).str.strip().str.upper()
    return {k: int(v) for k, v in sorted(c[c.ne("")].value_counts().items())}
