"""Per-record dosing: the dose actually given over time, from ADEX dose records or SDTM EX.

The ``dosing`` table (see :data:`~dossier.ingest.tables.TABLE_COLUMNS`) holds one row per dosing
record: subject, study days (ADaM convention: day 1 is the day of first dose, there is no day 0),
dose per administration in the spec's unit, and the number of administrations when it is known.
From it:

- :func:`effective_intervals` closes records without an end at the day before the subject's next
  record (the last open record stays open: its dose applies from its start onwards);
- :func:`dose_at` gives the dose in effect on a study day (NaN before the first dose, in gaps
  between records, and for subjects without records) — used for each adverse event's onset, and
  for PK samples (:func:`day_of_hours` converts hours since first dose to the study day);
- :func:`dosing_summary` gives, per subject, the start, last and modal dose, the number of dose
  changes, reductions, escalations and interruptions (records of dose 0 after a dose), the
  cumulative dose, the days on treatment, the dose intensity (cumulative dose per day) and the
  relative dose intensity (actual / planned cumulative dose, planned = the ADSL planned dose at the
  record frequency over the same days; ICH E3-style RDI as used in oncology, e.g. Longo et al.,
  J Clin Oncol 1991;9:2042).

Quantities that the records cannot give (an open last record, an unknown frequency) are missing,
never 0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: administrations per day for the usual CDISC EXDOSFRQ / schedule terms
FREQUENCY_PER_DAY = {"QD": 1.0, "Q24H": 1.0, "DAILY": 1.0, "BID": 2.0, "Q12H": 2.0, "TID": 3.0, "Q8H": 3.0,
                     "QID": 4.0, "Q6H": 4.0, "QOD": 0.5, "Q2D": 0.5, "QW": 1 / 7, "Q1W": 1 / 7, "EVERY WEEK": 1 / 7,
                     "Q2W": 1 / 14, "Q3W": 1 / 21, "Q4W": 1 / 28, "Q6W": 1 / 42}
ONCE = {"ONCE", "SINGLE", "ONE TIME"}


def per_day(frequency: str) -> float:
    """Administrations per day of a frequency term; NaN when unknown (ONCE is handled by the caller)."""
    f = re.sub(r"\s+", " ", str(frequency or "").strip().upper())
    return FREQUENCY_PER_DAY.get(f, np.nan)


def administrations(start: np.ndarray, end: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """Administrations in [start, end] (study days, inclusive) at each record's frequency."""
    out = np.full(len(start), np.nan)
    for i, (s, e, f) in enumerate(zip(start, end, frequency, strict=True)):
        term = str(f or "").strip().upper()
        if term in ONCE:
            out[i] = 1.0
            continue
        rate = per_day(term)
        if np.isnan(s) or np.isnan(e) or np.isnan(rate) or e < s:
            continue
        days = e - s + 1
        # intermittent schedules: the record's first day carries an administration
        out[i] = days * rate if rate >= 1 else float(np.ceil(days * rate))
    return out


def effective_intervals(dosing: pd.DataFrame) -> pd.DataFrame:
    """Records sorted by subject and start day, with ``eff_end``: the end day, or the day before the
    subject's next record when the end is missing (NaN for an open last record)."""
    d = dosing.assign(usubjid=dosing["usubjid"].astype(str)).sort_values(
        ["usubjid", "start_day", "end_day"], kind="mergesort").reset_index(drop=True)
    nxt = d.groupby("usubjid")["start_day"].shift(-1)
    d["eff_end"] = d["end_day"].where(d["end_day"].notna(), nxt - 1)
    return d


def dose_at(dosing: pd.DataFrame | None, usubjid, day) -> np.ndarray:
    """Dose in effect for each (subject, study day) pair; NaN where no record covers the day.

    ``usubjid`` and ``day`` are scalars or equal-length sequences. Where records overlap, the one that
    started last wins."""
    subj = np.atleast_1d(np.asarray(usubjid, dtype=object)).astype(str)
    days = np.atleast_1d(np.asarray(day, dtype=float))
    if subj.shape != days.shape:
        subj = np.broadcast_to(subj, np.broadcast(subj, days).shape)
        days = np.broadcast_to(days, subj.shape)
    out = np.full(subj.shape, np.nan)
    if dosing is None or dosing.empty:
        return out
    d = effective_intervals(dosing)
    for u, g in d.groupby("usubjid", sort=False):
        idx = np.flatnonzero(subj == u)
        if not len(idx):
            continue
        start, end, dose = (g[c].to_numpy(float) for c in ("start_day", "eff_end", "dose"))
        t = days[idx][:, None]
        cover = (t >= start[None, :]) & ((t <= end[None, :]) | np.isnan(end)[None, :]) & ~np.isnan(start)[None, :]
        # the last record (by start) covering the day
        last = np.where(cover.any(axis=1), cover.shape[1] - 1 - np.argmax(cover[:, ::-1], axis=1), -1)
        out[idx] = np.where(last >= 0, dose[np.maximum(last, 0)], np.nan)
    return out


def day_of_hours(hours) -> np.ndarray:
    """Study day of a time in hours since the first dose (0-24 h is day 1; ADaM has no day 0)."""
    h = np.asarray(hours, dtype=float)
    return np.where(h >= 0, np.floor(h / 24.0) + 1, np.floor(h / 24.0))


SUMMARY_COLUMNS = ["usubjid", "n_records", "start_dose", "last_dose", "modal_dose", "n_dose_changes",
                   "n_reductions", "n_escalations", "n_interruptions", "first_day", "last_day", "days_on_treatment",
                   "cumulative_dose", "dose_intensity_per_day", "planned_cumulative_dose", "rdi_pct"]


def dosing_summary(dosing: pd.DataFrame | None, planned_dose: pd.Series | None = None) -> pd.DataFrame:
    """One row per subject (columns :data:`SUMMARY_COLUMNS`); ``planned_dose`` maps usubjid -> planned
    dose per administration (ADSL), for the relative dose intensity."""
    if dosing is None or dosing.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c == "usubjid" else "float64") for c in SUMMARY_COLUMNS})
    d = effective_intervals(dosing)
    planned = {} if planned_dose is None else {str(k): float(v) for k, v in planned_dose.items()}
    rows = []
    for u, g in d.groupby("usubjid", sort=True):
        dose = g["dose"].to_numpy(float)
        start, end = g["start_day"].to_numpy(float), g["eff_end"].to_numpy(float)
        given = dose[~np.isnan(dose)]
        nonzero = given[given > 0]
        changes = np.diff(nonzero) if len(nonzero) > 1 else np.array([])
        interruptions = int(np.sum((given[1:] == 0) & (given[:-1] > 0))) if len(given) > 1 else 0
        length = end - start + 1
        by_dose: dict[float, float] = {}
        for x, n in zip(dose, length, strict=True):
            if not np.isnan(x) and x > 0:
                by_dose[x] = by_dose.get(x, 0.0) + (n if not np.isnan(n) else 0.0)
        modal = min(by_dose, key=lambda x: (-by_dose[x], x)) if by_dose else np.nan
        n_admin = g["n_admin"].to_numpy(float)
        cumulative = float(np.sum(dose * n_admin)) if not np.isnan(dose * n_admin).any() else np.nan
        first, last = (float(np.nanmin(start)) if (~np.isnan(start)).any() else np.nan,
                       float(np.max(end)) if not np.isnan(end).any() else np.nan)
        days = last - first + 1 if not (np.isnan(first) or np.isnan(last)) else np.nan
        p = planned.get(str(u), np.nan)
        admin_planned = np.where(dose > 0, n_admin, np.where(dose == 0, length * _rate(g), np.nan))
        planned_cum = float(p * np.sum(admin_planned)) if not np.isnan(admin_planned).any() and p > 0 else np.nan
        rows.append({
            "usubjid": str(u), "n_records": float(len(g)),
            "start_dose": float(given[0]) if len(given) else np.nan,
            "last_dose": float(given[-1]) if len(given) else np.nan, "modal_dose": modal,
            "n_dose_changes": float(np.sum(changes != 0)), "n_reductions": float(np.sum(changes < 0)),
            "n_escalations": float(np.sum(changes > 0)), "n_interruptions": float(interruptions),
            "first_day": first, "last_day": last, "days_on_treatment": days, "cumulative_dose": cumulative,
            "dose_intensity_per_day": cumulative / days if days and not np.isnan(days) else np.nan,
            "planned_cumulative_dose": planned_cum,
            "rdi_pct": 100.0 * cumulative / planned_cum if planned_cum and not np.isnan(planned_cum) else np.nan,
        })
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["usubjid"] = out["usubjid"].astype("string")
    return out


def _rate(g: pd.DataFrame) -> np.ndarray:
    """Planned administrations per day of each record (its frequency)."""
    return np.array([per_day(f) for f in g["frequency"]], dtype=float)
