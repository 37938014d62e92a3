"""Plausibility warnings: values that can be read but that a reviewer would question, with stated ranges.

The ranges are wide on purpose (a warning is a question, not a rejection) and are stated in every warning:

==========================  =======================================  ============================================
table.column                plausible range                           why
==========================  =======================================  ============================================
subjects.weight_kg          30-250 kg                                 adult oncology patients
subjects.age                18-100 years                              adult oncology trials (paediatric: warned)
subjects.first_dose_date    1990-01-01 .. the spec's document date    a dose cannot follow the dossier's date
exposure.duration_days      0-3,650 days                              ten years of treatment at most
exposure.rdi_pct            0-150 %                                   relative dose intensity
exposure.n_reductions etc.  0-50                                      modifications per patient
pk.value                    > 0 and < 1e9                             an exposure of 0 or 1e300 is not measured
adverse_events.start_day    -365 .. 3,650 days                        study days around treatment
adverse_events              start_day <= end_day                      an event ends after it starts
dosing.start_day, end_day   -365 .. 3,650 days                        study days of a dosing record (EX, ADEX)
dosing                      start_day <= end_day                      a dosing record ends after it starts
dosing.dose                 0 .. 10 x the highest planned dose        a dose per administration
concentrations.value        0 .. 1e9                                  a measured concentration
concentrations.time_h       -8,760 .. 87,600 h                        a year before to ten years after dosing
pro.day                     -365 .. 3,650 days                        study days of an ADQS assessment
time_to_event.time          0-3,650 days (unit DAYS)                  follow-up of ten years at most
==========================  =======================================  ============================================

Warnings name the file, column and row (the first few rows of each check; the rest are counted) and carry
``kind="implausible"`` so the ingest report counts them. Truncation cross-check: subjects treated in ADSL
with no record in a dataset that has records for other subjects are listed (a dataset cut short loses
whole subjects).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: (table, column, low, high, unit, why)
RANGES = (
    ("subjects", "weight_kg", 30.0, 250.0, "kg", "adult oncology patients"),
    ("subjects", "age", 18.0, 100.0, "years", "adult oncology trials"),
    ("exposure", "duration_days", 0.0, 3650.0, "days", "ten years of treatment at most"),
    ("exposure", "rdi_pct", 0.0, 150.0, "%", "relative dose intensity"),
    ("exposure", "n_reductions", 0.0, 50.0, "", "dose reductions per patient"),
    ("exposure", "n_interruptions", 0.0, 50.0, "", "dose interruptions per patient"),
    ("pk", "value", 1e-12, 1e9, "", "a measured exposure is positive and finite"),
    ("adverse_events", "start_day", -365.0, 3650.0, "days", "study days around treatment"),
    ("adverse_events", "end_day", -365.0, 3650.0, "days", "study days around treatment"),
    ("time_to_event", "time", 0.0, 3650.0, "days", "ten years of follow-up at most"),
    ("dosing", "start_day", -365.0, 3650.0, "days", "study days of a dosing record"),
    ("dosing", "end_day", -365.0, 3650.0, "days", "study days of a dosing record"),
    ("concentrations", "value", 0.0, 1e9, "", "a measured concentration"),
    ("concentrations", "time_h", -8760.0, 87600.0, "h", "a year before to ten years after dosing"),
    ("pro", "day", -365.0, 3650.0, "days", "study days of a questionnaire assessment"),
)
MAPPER_OF = {"subjects": "adsl", "exposure": "adex", "adverse_events": "adae", "pk": "adpp",
             "response": "adrs", "time_to_event": "adtte", "concentrations": "adpc", "pro": "adqs"}
#: a dose per administration above this multiple of the highest planned dose is questioned
DOSE_FACTOR = 10.0
KIND = "implausible"


def _file_rows(m, idx: np.ndarray) -> list[int | None]:
    """1-based file rows of table rows ``idx`` (tables hold the kept rows of the file, in order)."""
    kept = np.flatnonzero(m.keep) if m is not None and getattr(m, "keep", None) is not None else None
    if kept is None:
        return [None] * len(idx)
    return [int(kept[i]) + 1 if i < len(kept) else None for i in idx]


def _source(m, column: str) -> tuple[str | None, str | None]:
    if m is None:
        return None, column
    return m.file, (getattr(m, "cols", {}) or {}).get(column, column)


def check_plausibility(tables: dict, issues, document_date: str | None = None) -> int:
    """Add a warning for each implausible value; returns how many values were flagged."""
    flagged = 0
    for table, column, lo, hi, unit, why in RANGES:
        df = tables.get(table)
        if df is None or column not in df:
            continue
        if table == "time_to_event" and "unit" in df:
            days = df["unit"].astype(str).str.upper().isin(["DAYS", "DAY", "D", ""])
        else:
            days = pd.Series(True, index=df.index)
        vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(~np.isnan(vals) & ((vals < lo) | (vals > hi)) & days.to_numpy())
        flagged += _report(tables, issues, table, column, bad, vals,
                           f"implausible value outside {lo:g}-{hi:g}{(' ' + unit) if unit else ''} ({why})")
    ae = tables.get("adverse_events")
    if ae is not None and {"start_day", "end_day"} <= set(ae):
        s = pd.to_numeric(ae["start_day"], errors="coerce").to_numpy(dtype="float64")
        e = pd.to_numeric(ae["end_day"], errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(~np.isnan(s) & ~np.isnan(e) & (e < s))
        flagged += _report(tables, issues, "adverse_events", "end_day", bad, e,
                           "adverse event ends before it starts (end day < start day)")
    flagged += _dosing(tables, issues)
    subjects = tables.get("subjects")
    if subjects is not None and "first_dose_date" in subjects:
        d = pd.to_datetime(subjects["first_dose_date"], errors="coerce")
        latest = pd.Timestamp(document_date) if document_date else pd.Timestamp("2100-01-01")
        bad = np.flatnonzero((d.notna() & ((d < pd.Timestamp("1990-01-01")) | (d > latest))).to_numpy())
        flagged += _report(tables, issues, "subjects", "first_dose_date", bad, d.astype(str).to_numpy(),
                           f"first dose date outside 1990-01-01 .. {latest.date()} (the document date)")
    for table, column, what in BLANK_CHECKS:
        df = tables.get(table)
        if df is None or column not in df:
            continue
        col = df[column]
        blank = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy() if col.dtype != float \
            else col.isna().to_numpy()
        flagged += _report(tables, issues, table, column, np.flatnonzero(blank), col.astype(str).to_numpy(),
                           f"{what} is blank (kept as not collected)")
    flagged += _missing_subjects(tables, issues)
    return flagged


#: values that a record needs to be interpretable; blank ones are read as "not collected" and warned
BLANK_CHECKS = (("subjects", "arm", "the actual treatment arm"), ("pk", "paramcd", "the PK parameter code"),
                ("pk", "value", "the PK value"),
                ("adverse_events", "term", "the adverse event term"),
                ("time_to_event", "paramcd", "the time-to-event parameter code"))


def _dosing(tables, issues) -> int:
    """Dosing records that end before they start, and doses far above every planned dose."""
    dosing, subjects = tables.get("dosing"), tables.get("subjects")
    if dosing is None or not len(dosing):
        return 0
    flagged = 0
    s = pd.to_numeric(dosing["start_day"], errors="coerce").to_numpy(dtype="float64")
    e = pd.to_numeric(dosing["end_day"], errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isnan(s) & ~np.isnan(e) & (e < s))
    flagged += _report(tables, issues, "dosing", "end_day", bad, e,
                       "dosing record ends before it starts (end day < start day)")
    if subjects is not None and len(subjects):
        planned = pd.to_numeric(subjects.get("planned_dose", subjects.get("dose")), errors="coerce")
        top = np.nanmax(np.r_[planned.to_numpy(dtype="float64"),
                              pd.to_numeric(subjects["dose"], errors="coerce").to_numpy(dtype="float64"), np.nan])
        if np.isfinite(top) and top > 0:
            dose = pd.to_numeric(dosing["dose"], errors="coerce").to_numpy(dtype="float64")
            bad = np.flatnonzero(~np.isnan(dose) & ((dose < 0) | (dose > DOSE_FACTOR * top)))
            flagged += _report(tables, issues, "dosing", "dose", bad, dose,
                               f"implausible dose per administration outside 0-{DOSE_FACTOR * top:g} "
                               f"({DOSE_FACTOR:g} x the highest planned dose)")
    return flagged


def _dosing_source(tables):
    """The mapper of the dataset the dosing records come from (SDTM EX or ADEX)."""
    file = tables.get("_dosing_file")
    for name in ("ex", "adex"):
        m = tables.get(f"_mapper_{name}")
        if m is not None and (file is None or m.file == file):
            return m
    return None


def _report(tables, issues, table, column, bad, vals, message) -> int:
    if not len(bad):
        return 0
    if table == "dosing":  # dosing rows carry their file row
        m = _dosing_source(tables)
        field = "value" if column == "dose" and getattr(m, "name", None) == "adex" else column
        file, col = _source(m, field)
        rows = [None if pd.isna(r) else int(r) for r in tables["dosing"]["row"].to_numpy()[bad]]
    else:
        m = tables.get(f"_mapper_{MAPPER_OF[table]}")
        file, col = _source(m, column)
        rows = _file_rows(m, bad)
    usub = tables[table]["usubjid"].astype(str).to_numpy() if "usubjid" in tables[table] else None
    for i, row in zip(bad, rows, strict=True):
        issues.add("warning", f"{message}: {vals[i]}", file=file, column=col, row=row,
                   usubjid=None if usub is None else usub[i], kind=f"{KIND} {table}.{column}",
                   hint="check the value against the source data; it is used as given")
    return len(bad)


def _missing_subjects(tables, issues) -> int:
    """Treated ADSL subjects with no record in a dataset that has records for others (a dataset cut short)."""
    subjects = tables.get("subjects")
    if subjects is None or "usubjid" not in subjects:
        return 0
    treated = subjects
    if "dose" in subjects:
        treated = subjects[pd.to_numeric(subjects["dose"], errors="coerce").fillna(0) > 0]
    if "safety" in treated:
        treated = treated[treated["safety"].astype(bool)]
    ids = set(treated["usubjid"].astype(str))
    flagged = 0
    for table in ("exposure", "response", "time_to_event"):
        df = tables.get(table)
        if df is None or df.empty or "usubjid" not in df:
            continue
        missing = sorted(ids - set(df["usubjid"].astype(str)))
        if not missing:
            continue
        m = tables.get(f"_mapper_{MAPPER_OF[table]}")
        share = len(missing) / max(len(ids), 1)
        issues.add("warning", f"{len(missing)} of {len(ids)} treated ADSL subjects ({share:.0%}) have no record in "
                              f"this dataset (first: {', '.join(missing[:3])})", file=_source(m, "usubjid")[0],
                   kind=f"{KIND} missing subjects {table}",
                   hint="if the file was cut short (an interrupted copy or export), re-export it; otherwise "
                        "confirm these subjects have no data")
        flagged += len(missing)
    return flagged
