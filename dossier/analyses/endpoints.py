"""Subject-level endpoint derivations shared by the analyses (one row per subject).

Every binary safety endpoint is derived once here from the typed tables, so tolerability, the
randomized comparison, dose-response and exposure-response count the same events:

- ``severe``: any treatment-emergent AE of CTCAE grade >= 3; when no AE carries a grade (e.g. the CDISC
  pilot, which records AESEV only) the analogue is severity SEVERE, and ``severity_basis`` says so.
- ``serious``: any serious TEAE. ``interrupted`` / ``reduced`` / ``withdrawn``: any TEAE leading to dose
  interruption, reduction or discontinuation (AEACN), or a count > 0 in the exposure table.
- ``modified``: reduced or interrupted. ``persistent_low_grade``: a grade 1-2 (or MILD/MODERATE) TEAE that
  lasted longer than ``low_grade_days`` days (an AE still ongoing counts until the end of treatment).
- ``first_modification_day`` / ``modification_event``: time to the first AE leading to a dose reduction
  or interruption, censored at the end of treatment (or the last AE day) otherwise.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from dossier.ingest.tables import StudyData

SAFETY_ENDPOINTS: dict[str, str] = {
    "severe": "grade >= 3 TEAE",
    "serious": "serious TEAE",
    "modified": "TEAE leading to dose reduction or interruption",
    "interrupted": "TEAE leading to dose interruption",
    "reduced": "TEAE leading to dose reduction",
    "withdrawn": "TEAE leading to discontinuation",
    "persistent_low_grade": "persistent low-grade TEAE",
}


def aesi_key(term: str) -> str:
    """Endpoint key of an adverse event of special interest: ``aesi_`` + the term in lower snake case."""
    return "aesi_" + "_".join(str(term).lower().split())


def severity_basis(data: StudyData) -> Literal["grade", "severity", "none"]:
    ae = data.adverse_events
    if ae is None or ae.empty:
        return "none"
    if ae["grade"].notna().any():
        return "grade"
    if "severity" in ae and (ae["severity"].fillna("").astype(str).str.len() > 0).any():
        return "severity"
    return "none"


def _teae(data: StudyData) -> pd.DataFrame:
    ae = data.adverse_events
    if ae is None:
        return pd.DataFrame(columns=["usubjid"])
    ae = ae.copy()
    ae["usubjid"] = ae["usubjid"].astype(str)
    if ae["teae"].any():
        ae = ae[ae["teae"].astype(bool)]
    return ae


def subject_endpoints(data: StudyData, low_grade_days: int = 28, aesi_terms: list[str] | tuple[str, ...] = ()
                      ) -> pd.DataFrame:
    """One row per subject (index usubjid) with dose, population flags and the derived endpoints.

    ``aesi_terms``: adverse events of special interest (preferred terms, case-insensitive); each gives a
    column :func:`aesi_key` (any TEAE with that term).
    """
    subj = data.subjects.copy()
    subj["usubjid"] = subj["usubjid"].astype(str)
    out = pd.DataFrame(index=pd.Index(subj["usubjid"], name="usubjid"))
    for col in ("dose", "randomized", "safety", "efficacy", "dlt_evaluable", "control", "weight_kg", "age"):
        if col in subj:
            out[col] = subj[col].to_numpy()
    out["part"] = subj["part"].astype(str).fillna("").to_numpy() if "part" in subj else ""
    out["arm"] = subj["arm"].astype(str).to_numpy() if "arm" in subj else ""
    out["sex"] = subj["sex"].astype(str).to_numpy() if "sex" in subj else ""
    if "control" not in out:
        out["control"] = False
    ae = _teae(data)
    basis = severity_basis(data)
    has_ae = data.adverse_events is not None
    if has_ae and not ae.empty:
        grade = ae["grade"].astype("Float64")
        sev = ae["severity"].fillna("").astype(str).str.upper() if "severity" in ae else pd.Series("", index=ae.index)
        if basis == "grade":
            is_severe = (grade >= 3).fillna(False).astype(bool)
            is_low = grade.isin([1, 2]).fillna(False).astype(bool)
        else:
            is_severe = sev.eq("SEVERE")
            is_low = sev.isin(["MILD", "MODERATE"])
        ae = ae.assign(_severe=is_severe.to_numpy(), _low=is_low.to_numpy())
        end_tx = None
        if data.exposure is not None:
            end_tx = data.exposure.assign(usubjid=data.exposure["usubjid"].astype(str)).set_index("usubjid")[
                "duration_days"]
        end = ae["end_day"].astype(float)
        if end_tx is not None:
            end = end.fillna(ae["usubjid"].map(end_tx).astype(float))
        length = end - ae["start_day"].astype(float) + 1
        ae["_persist"] = ae["_low"] & (length > low_grade_days).fillna(False)
        g = ae.groupby("usubjid")
        flags = pd.DataFrame({
            "any_teae": g.size() > 0,
            "severe": g["_severe"].any(),
            "serious": g["serious"].any(),
            "interrupted": g["dose_interrupted"].any(),
            "reduced": g["dose_reduced"].any(),
            "withdrawn": g["drug_withdrawn"].any(),
            "persistent_low_grade": g["_persist"].any(),
        })
        # AEACN not known is missing (NA) in the table; here it does not count as a modification
        mod = ae[ae["dose_reduced"].fillna(False).astype(bool) | ae["dose_interrupted"].fillna(False).astype(bool)]
        first_mod = mod.groupby("usubjid")["start_day"].min()
        last_day = ae.groupby("usubjid")[["start_day", "end_day"]].max().max(axis=1)
        out = out.join(flags)
        terms_upper = ae["term"].fillna("").astype(str).str.upper()
        for t in aesi_terms:
            hit = ae.loc[terms_upper == str(t).upper(), "usubjid"]
            out[aesi_key(t)] = out.index.isin(set(hit))
        out["first_mod_day"] = first_mod.reindex(out.index).astype(float)
        out["last_ae_day"] = last_day.reindex(out.index).astype(float)
    else:
        for c in ("any_teae", "severe", "serious", "interrupted", "reduced", "withdrawn", "persistent_low_grade"):
            out[c] = False
        out["first_mod_day"] = np.nan
        out["last_ae_day"] = np.nan
        for t in aesi_terms:
            out[aesi_key(t)] = False
    for c in ("any_teae", "severe", "serious", "interrupted", "reduced", "withdrawn", "persistent_low_grade"):
        out[c] = out[c].astype("boolean").fillna(False).astype(bool)
    out["rdi_pct"] = np.nan
    out["duration_days"] = np.nan
    if data.exposure is not None:
        ex = data.exposure.assign(usubjid=data.exposure["usubjid"].astype(str)).set_index("usubjid")
        out["rdi_pct"] = ex["rdi_pct"].reindex(out.index).astype(float)
        out["duration_days"] = ex["duration_days"].reindex(out.index).astype(float)
        out["reduced"] |= (ex["n_reductions"].reindex(out.index).astype(float) > 0).fillna(False).to_numpy()
        out["interrupted"] |= (ex["n_interruptions"].reindex(out.index).astype(float) > 0).fillna(False).to_numpy()
    out["modified"] = out["reduced"] | out["interrupted"]
    # time to first dose modification: event at the first modifying AE, else censored at end of treatment
    cens = out["duration_days"].fillna(out["last_ae_day"])
    out["mod_event"] = out["first_mod_day"].notna()
    out["mod_time"] = out["first_mod_day"].where(out["mod_event"], cens)
    # efficacy
    out["responder"] = np.nan
    out["has_response"] = False
    if data.response is not None and not data.response.empty:
        rs = data.response.assign(usubjid=data.response["usubjid"].astype(str)).drop_duplicates("usubjid")
        rs = rs.set_index("usubjid")
        out["has_response"] = out.index.isin(rs.index)
        out["responder"] = rs["responder"].reindex(out.index).astype("Float64").astype(float)
    out.attrs["severity_basis"] = basis
    out.attrs["has_adverse_events"] = has_ae
    return out


def time_to_event(data: StudyData, paramcd: str | None) -> pd.DataFrame | None:
    """The time-to-event records of one parameter (default: the first parameter present)."""
    tte = data.time_to_event
    if tte is None or tte.empty:
        return None
    tte = tte.assign(usubjid=tte["usubjid"].astype(str), paramcd=tte["paramcd"].astype(str))
    if paramcd and (tte["paramcd"] == paramcd).any():
        tte = tte[tte["paramcd"] == paramcd]
    else:
        tte = tte[tte["paramcd"] == tte["paramcd"].iloc[0]]
    return tte.drop_duplicates("usubjid").set_index("usubjid")[["paramcd", "time", "event"]]
