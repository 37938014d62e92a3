"""Actual dosing over time: titration, dose changes and dose intensity per starting dose.

Built from the per-record ``dosing`` table (ADEX dose records or SDTM EX) through
:func:`dossier.ingest.dosing.dosing_summary`. Each group is the subjects of one ADSL dose (or
control arm); it reports how many started, stayed on, changed, reduced, escalated and interrupted
their dose, the modal dose actually given, and the median cumulative dose and relative dose
intensity (actual / planned cumulative dose). Missing quantities (an open-ended last record, an
unknown frequency) are left out of the medians and counted as ``n_*_known``, never taken as 0.
"""

from __future__ import annotations

import numpy as np

from dossier.analyses.stats import Result
from dossier.ingest.tables import StudyData


class DosingGroup(Result):
    dose: float
    control: bool
    n_subjects: int
    n_with_records: int
    n_dose_changed: int
    n_reduced: int
    n_escalated: int
    n_interrupted: int
    n_ended_on_start_dose: int
    modal_doses: dict[str, int]  # modal dose actually given -> subjects
    median_cumulative_dose: float | None
    n_cumulative_known: int
    median_rdi_pct: float | None
    n_rdi_known: int


class DosingSubject(Result):
    usubjid: str
    dose: float
    start_dose: float | None
    last_dose: float | None
    modal_dose: float | None
    n_dose_changes: int
    cumulative_dose: float | None
    rdi_pct: float | None


class DosingResult(Result):
    """Per starting dose, and the subjects whose dose changed (titration is visible here)."""

    source: str
    groups: list[DosingGroup]
    changed: list[DosingSubject]


def _num(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def _median(values: np.ndarray) -> tuple[float | None, int]:
    v = values[~np.isnan(values)]
    return (float(np.median(v)) if len(v) else None), int(len(v))


def analyse_dosing(data: StudyData) -> DosingResult | None:
    """Dosing summary by ADSL dose; ``None`` without dosing records."""
    if data.dosing is None or data.dosing.empty:
        return None
    summary = data.dosing_summary()
    subjects = data.subjects.assign(usubjid=data.subjects["usubjid"].astype(str))
    s = summary.assign(usubjid=summary["usubjid"].astype(str)).merge(
        subjects[["usubjid", "dose", "control"]], on="usubjid", how="right")
    groups: list[DosingGroup] = []
    for dose, g in s.groupby("dose", sort=True):
        rec = g[g["n_records"].notna()]
        modal = rec["modal_dose"].dropna()
        cum, n_cum = _median(rec["cumulative_dose"].to_numpy(float))
        rdi, n_rdi = _median(rec["rdi_pct"].to_numpy(float))
        groups.append(DosingGroup(
            dose=float(dose), control=bool(g["control"].astype(bool).all()), n_subjects=len(g),
            n_with_records=len(rec), n_dose_changed=int((rec["n_dose_changes"] > 0).sum()),
            n_reduced=int((rec["n_reductions"] > 0).sum()), n_escalated=int((rec["n_escalations"] > 0).sum()),
            n_interrupted=int((rec["n_interruptions"] > 0).sum()),
            n_ended_on_start_dose=int((rec["last_dose"] == rec["start_dose"]).sum()),
            modal_doses={f"{k:g}": int(v) for k, v in modal.value_counts().sort_index().items()},
            median_cumulative_dose=cum, n_cumulative_known=n_cum, median_rdi_pct=rdi, n_rdi_known=n_rdi))
    changed = s[s["n_dose_changes"] > 0].sort_values("usubjid")
    rows = [DosingSubject(usubjid=r.usubjid, dose=float(r.dose), start_dose=_num(r.start_dose),
                          last_dose=_num(r.last_dose), modal_dose=_num(r.modal_dose),
                          n_dose_changes=int(r.n_dose_changes), cumulative_dose=_num(r.cumulative_dose),
                          rdi_pct=_num(r.rdi_pct)) for r in changed.itertuples()]
    source = ", ".join(sorted(set(data.dosing["source"].astype(str))))
    return DosingResult(source=source, groups=groups, changed=rows)
