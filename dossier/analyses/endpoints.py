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
- ``grade3``: any TEAE of CTCAE grade >= 3 (CTCAE only; never the severity analogue).

Missing is not zero: every derived measure is a float column, 1 (yes), 0 (no) or NaN (unknown). A
subject's value is unknown when no qualifying event is known and some of the records that could hold
one are blank (e.g. AEACN blank, grade missing). A measure whose source variable is absent, or blank in
every record, is *not collected*: NaN for every subject. :func:`measure_status` describes each measure
(source variable, status, number of subjects with a known value, reason) and rates use the known values
as their denominator (:func:`known_rate`). ``withdrawn_study``: discontinuation of the study for an adverse event from
ADSL's reason for discontinuation (DCDECOD/DCSREAS = ADVERSE EVENT), labelled by that source; it is
reported where collected and stands in for ``withdrawn`` where AEACN was not collected.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from dossier.analyses.stats import Rate, Result, rate
from dossier.ingest.tables import StudyData
from dossier.labels import GRADE3_LABEL, SAFETY_ENDPOINTS
from dossier.wording import Phrase


def response_population(se: pd.DataFrame) -> pd.DataFrame:
    """The population of every response rate and response model: the efficacy-evaluable subjects (EFFFL, where
    the data have it) with a response record. A record of a subject who is not efficacy-evaluable (best
    response NE, EFFFL = N) is not a non-response."""
    evaluable = se["efficacy"].astype(bool) if "efficacy" in se else True
    return se[se["has_response"].astype(bool) & evaluable].dropna(subset=["responder"])


#: the ADSL-based discontinuation measure (reported where collected; its label names its source)
STUDY_DISCONTINUATION = "withdrawn_study"


#: derived measures and the ADaM variable(s) they come from
MEASURE_KEYS = ("any_teae", "severe", "grade3", "serious", "modified", "interrupted", "reduced", "withdrawn",
                "withdrawn_study", "persistent_low_grade")
#: measures reported only where collected (an optional second source, not a gap in the data)
OPTIONAL_MEASURES = ("withdrawn_study",)


class Measure(Result):
    """Whether a derived per-subject measure was collected, from which variable, and how many are known."""

    key: str
    label: str
    source: str  # e.g. "ADAE AEACN", "ADSL DCDECOD"
    status: Literal["collected", "partial", "not_collected"]
    n_subjects: int
    n_known: int
    reason: Phrase | None = None  # why it is not (fully) known, worded by templates/data/wording.yaml
    cause: Phrase | None = None  # a partly known measure: why values are unknown, without the counts (templates)

    @property
    def collected(self) -> bool:
        return self.status != "not_collected"


def known_rate(values: pd.Series) -> Rate:
    """Events among the subjects whose value is known (1/0; NaN = unknown is left out of the denominator)."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    known = v.dropna()
    return rate(int(known.sum()), len(known))


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


def _flag(s: pd.Series) -> pd.Series:
    """A yes/no/missing AE flag as plain booleans, missing (not known) as False: use only where knownness is
    tracked separately (``a_known`` below)."""
    return s.fillna(False).astype(bool)


def _teae(data: StudyData) -> pd.DataFrame:
    ae = data.adverse_events
    if ae is None:
        return pd.DataFrame(columns=["usubjid"])
    ae = ae.copy()
    ae["usubjid"] = ae["usubjid"].astype(str)
    for col, default in (("start_day", np.nan), ("end_day", np.nan), ("severity", ""), ("action", ""), ("term", ""),
                         ("teae", True), ("serious", False), ("dose_reduced", False), ("dose_interrupted", False),
                         ("drug_withdrawn", False)):
        if col not in ae:  # typed tables made by hand may leave out what a test does not use
            ae[col] = default
    if ae["teae"].any():
        ae = ae[ae["teae"].astype(bool)]
    return ae


def _any_known(flag: pd.Series, known: pd.Series, subjects: pd.Index) -> pd.Series:
    """Per subject: 1 if any record is flagged, 0 if every record is known and none flagged (or no record),
    NaN otherwise. ``flag`` and ``known`` are per-record booleans indexed like the records' usubjid."""
    frame = pd.DataFrame({"u": flag.index, "f": flag.to_numpy(bool), "k": known.to_numpy(bool)})
    g = frame.groupby("u")
    hit = g["f"].any().reindex(subjects).fillna(False).astype(bool)
    all_known = g["k"].all().reindex(subjects).fillna(True).astype(bool)
    return pd.Series(np.where(hit, 1.0, np.where(all_known, 0.0, np.nan)), index=subjects)


def _or3(a: pd.Series, b: pd.Series) -> pd.Series:
    """Three-valued OR: 1 if either is 1, 0 if both are 0, NaN otherwise."""
    out = np.where((a == 1) | (b == 1), 1.0, np.where((a == 0) & (b == 0), 0.0, np.nan))
    return pd.Series(out, index=a.index)


def _why(code: str, **values) -> Phrase:
    """Why a measure is not known: ``analysis.measure.<code>`` of the wording table."""
    return Phrase(code=f"analysis.measure.{code}", values=values)


def _status(key: str, label: str, source: str, values: pd.Series, collected: bool, reason: Phrase | None) -> Measure:
    n, k = len(values), int(values.notna().sum())
    if not collected:
        return Measure(key=key, label=label, source=source, status="not_collected", n_subjects=n, n_known=0,
                       reason=reason)
    status = "collected" if k == n else "partial"
    cause = None if k == n else (reason or _why("source_blank"))
    why = None if k == n else _why("partial", unknown=n - k, n=n, why=reason)
    return Measure(key=key, label=label, source=source, status=status, n_subjects=n, n_known=k, reason=why,
                   cause=cause)


def subject_endpoints(data: StudyData, low_grade_days: int = 28, aesi_terms: list[str] | tuple[str, ...] = ()
                      ) -> pd.DataFrame:
    """One row per subject (index usubjid) with dose, population flags and the derived endpoints.

    Endpoint columns are 1.0 / 0.0 / NaN (unknown); ``attrs["measures"]`` holds a :class:`Measure` per
    endpoint. ``aesi_terms``: adverse events of special interest (preferred terms, case-insensitive); each
    gives a column :func:`aesi_key` (any TEAE with that term).
    """
    subj = data.subjects.copy()
    subj["usubjid"] = subj["usubjid"].astype(str)
    idx = pd.Index(subj["usubjid"], name="usubjid")
    out = pd.DataFrame(index=idx)
    for col in ("dose", "randomized", "safety", "efficacy", "dlt_evaluable", "control", "weight_kg", "age"):
        if col in subj:
            out[col] = subj[col].to_numpy()
    out["part"] = subj["part"].astype(str).fillna("").to_numpy() if "part" in subj else ""
    out["arm"] = subj["arm"].astype(str).to_numpy() if "arm" in subj else ""
    out["sex"] = subj["sex"].astype(str).to_numpy() if "sex" in subj else ""
    if "control" not in out:
        out["control"] = False
    variables = getattr(data, "variables", {}) or {}
    ae_all = data.adverse_events
    has_ae = ae_all is not None
    basis = severity_basis(data)
    measures: dict[str, Measure] = {}
    ae = _teae(data)
    nan = pd.Series(np.nan, index=idx)
    if has_ae:
        ae = ae.set_index("usubjid", drop=False)
        ae.index.name = None
        grade = ae["grade"].astype("Float64")
        sev = ae["severity"].fillna("").astype(str).str.upper() if "severity" in ae else pd.Series("", index=ae.index)
        grade_var = variables.get("adverse_events.grade", "AETOXGR")
        sev_var = variables.get("adverse_events.severity", "AESEV")
        has_grade = bool(ae_all["grade"].notna().any())
        g_known = grade.notna().fillna(False).astype(bool)
        g3_flag = (grade >= 3).fillna(False).astype(bool)
        out["any_teae"] = out.index.isin(set(ae["usubjid"])).astype(float)
        measures["any_teae"] = _status("any_teae", "any TEAE", "ADAE", out["any_teae"], True, None)
        if has_grade:
            out["grade3"] = _any_known(g3_flag, g_known, idx)
        else:
            out["grade3"] = nan
        measures["grade3"] = _status("grade3", GRADE3_LABEL, f"ADAE {grade_var}", out["grade3"],
                                     has_grade, _why("grade_missing") if has_grade else
                                     _why("no_grade", var=grade_var))
        if basis == "grade":
            out["severe"] = out["grade3"]
            measures["severe"] = measures["grade3"].model_copy(update={"key": "severe"})
            low_known, is_low = g_known, grade.isin([1, 2]).fillna(False).astype(bool)
        else:
            s_known = sev.isin(["MILD", "MODERATE", "SEVERE"])
            out["severe"] = _any_known(sev.eq("SEVERE"), s_known, idx) if basis == "severity" else nan
            measures["severe"] = _status("severe", "severe TEAE (severity, not CTCAE grade)", f"ADAE {sev_var}",
                                         out["severe"], basis == "severity",
                                         _why("severity_missing") if basis == "severity" else
                                         _why("no_grade_nor_severity", grade_var=grade_var, sev_var=sev_var))
            low_known, is_low = s_known, sev.isin(["MILD", "MODERATE"])
        ser_var = variables.get("adverse_events.serious")
        ser_collected = ser_var is not None or not variables  # tables built without ingest: trust the flag
        out["serious"] = _any_known(ae["serious"].astype(bool), pd.Series(True, index=ae.index), idx) \
            if ser_collected else nan
        measures["serious"] = _status("serious", SAFETY_ENDPOINTS["serious"], f"ADAE {ser_var or 'AESER'}",
                                      out["serious"], ser_collected, None if ser_collected else
                                      _why("no_serious_flag"))
        # action taken with study treatment (AEACN): blank = unknown for that record
        act_var = variables.get("adverse_events.action", "AEACN")
        action = ae["action"].fillna("").astype(str).str.strip() if "action" in ae else pd.Series("", index=ae.index)
        flagged = _flag(ae["dose_reduced"]) | _flag(ae["dose_interrupted"]) | _flag(ae["drug_withdrawn"])
        # a record's action is known when AEACN is not blank and its meaning is not "unknown" (ingest leaves the
        # flags missing then: AEACN UNKNOWN / NOT EVALUABLE, or a code-list meaning of unknown)
        a_known = (action.ne("") & ae["dose_reduced"].notna()) | flagged
        if not variables:  # typed tables made without ingest: their flags are the data
            a_known = pd.Series(True, index=ae.index)
        act_collected = bool(a_known.any()) or (ae_all is not None and ae_all.empty)
        act_missing = (_why("blank_everywhere", var=act_var) if "adverse_events.action" in variables
                       else _why("no_action"))
        # why a record's action is unknown: blank, or coded with a meaning of unknown (UNKNOWN, NOT EVALUABLE)
        unknown = ~a_known
        act_why = _why("action_unknown", var=act_var, blank=bool((unknown & action.eq("")).any()),
                       coded=bool((unknown & action.ne("")).any()))
        ex = None
        if data.exposure is not None:
            ex = data.exposure.assign(usubjid=data.exposure["usubjid"].astype(str)).set_index("usubjid")
        for key, col, excol in (("interrupted", "dose_interrupted", "n_interruptions"),
                                ("reduced", "dose_reduced", "n_reductions"), ("withdrawn", "drug_withdrawn", None)):
            v = _any_known(_flag(ae[col]), a_known, idx) if act_collected else nan.copy()
            source, collected = f"ADAE {act_var}", act_collected
            if excol is not None and ex is not None and ex[excol].notna().any():
                counts = ex[excol].reindex(idx).astype(float)
                from_ex = pd.Series(np.where(counts > 0, 1.0, np.where(counts == 0, 0.0, np.nan)), index=idx)
                v = _or3(v, from_ex) if act_collected else from_ex
                source = f"ADAE {act_var} and ADEX" if act_collected else "ADEX"
                collected = True
            out[key] = v
            measures[key] = _status(key, SAFETY_ENDPOINTS[key], source, v, collected,
                                    act_why if collected else act_missing)
        out["modified"] = _or3(out["reduced"], out["interrupted"])
        mod_ok = measures["reduced"].collected or measures["interrupted"].collected
        measures["modified"] = _status("modified", SAFETY_ENDPOINTS["modified"], measures["reduced"].source,
                                       out["modified"], mod_ok,
                                       (measures["reduced"].cause or measures["interrupted"].cause) if mod_ok
                                       else measures["reduced"].reason)
        # persistent low-grade toxicity
        end_tx = None
        if data.exposure is not None:
            end_tx = data.exposure.assign(usubjid=data.exposure["usubjid"].astype(str)).set_index("usubjid")[
                "duration_days"]
        end = ae["end_day"].astype(float)
        if end_tx is not None:
            end = end.fillna(ae["usubjid"].map(end_tx).astype(float))
        length = end - ae["start_day"].astype(float) + 1
        persist = (is_low & (length > low_grade_days).fillna(False)).astype(bool)
        plg_ok = basis != "none"
        out["persistent_low_grade"] = _any_known(persist, low_known | ~is_low, idx) if plg_ok else nan
        measures["persistent_low_grade"] = _status(
            "persistent_low_grade", SAFETY_ENDPOINTS["persistent_low_grade"],
            f"ADAE {grade_var if basis == 'grade' else sev_var}", out["persistent_low_grade"], plg_ok,
            None if plg_ok else _why("no_grade_nor_severity"))
        terms_upper = ae["term"].fillna("").astype(str).str.upper()
        for t in aesi_terms:
            hit = ae.loc[terms_upper == str(t).upper(), "usubjid"]
            out[aesi_key(t)] = out.index.isin(set(hit)).astype(float)
        mod_rows = ae[_flag(ae["dose_reduced"]) | _flag(ae["dose_interrupted"])]
        out["first_mod_day"] = mod_rows.groupby("usubjid")["start_day"].min().reindex(idx).astype(float)
        last_day = ae.groupby("usubjid")[["start_day", "end_day"]].max().max(axis=1) if not ae.empty else None
        out["last_ae_day"] = last_day.reindex(idx).astype(float) if last_day is not None else np.nan
    else:
        for c in MEASURE_KEYS:
            out[c] = np.nan
            measures[c] = _status(c, SAFETY_ENDPOINTS.get(c, c), "ADAE", out[c], False, _why("no_adae"))
        out["first_mod_day"] = np.nan
        out["last_ae_day"] = np.nan
        for t in aesi_terms:
            out[aesi_key(t)] = np.nan
    _adsl_discontinuation(data, subj, idx, out, measures)
    out["rdi_pct"] = np.nan
    out["duration_days"] = np.nan
    if data.exposure is not None:
        ex = data.exposure.assign(usubjid=data.exposure["usubjid"].astype(str)).set_index("usubjid")
        out["rdi_pct"] = ex["rdi_pct"].reindex(out.index).astype(float)
        out["duration_days"] = ex["duration_days"].reindex(out.index).astype(float)
    # time to first dose modification: event at the first modifying AE, else censored at end of treatment
    cens = out["duration_days"].fillna(out["last_ae_day"])
    mod_known = "modified" in measures and measures["modified"].collected
    out["mod_event"] = out["first_mod_day"].notna()
    out["mod_time"] = out["first_mod_day"].where(out["mod_event"], cens) if mod_known else np.nan
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
    out.attrs["measures"] = measures
    return out


def _adsl_discontinuation(data: StudyData, subj: pd.DataFrame, idx: pd.Index, out: pd.DataFrame,
                          measures: dict[str, Measure]) -> None:
    """Discontinuation for an adverse event from ADSL (DCDECOD/DCSREAS) when AEACN is not collected."""
    var = (getattr(data, "variables", {}) or {}).get("subjects.discontinuation_reason")
    reason = (subj["discontinuation_reason"].fillna("").astype(str).str.upper().str.strip()
              if var is not None and "discontinuation_reason" in subj else pd.Series("", index=subj.index))
    ok = bool(reason.ne("").any())
    # DCDECOD codes every subject's disposition (COMPLETED included): blank is unknown. DCSREAS is the reason for
    # discontinuation, null when the subject did not discontinue (ADaMIG): blank is "did not discontinue"
    blank = 0.0 if var == "DCSREAS" else np.nan
    v = np.where(reason.eq(""), blank, reason.str.contains("ADVERSE EVENT").astype(float)) if ok else np.nan
    out["withdrawn_study"] = pd.Series(v, index=idx)
    measures["withdrawn_study"] = _status(
        "withdrawn_study", f"discontinued the study because of an adverse event (ADSL {var or 'DCDECOD'})",
        f"ADSL {var or 'DCDECOD'}", out["withdrawn_study"], ok,
        _why("blank", var=var) if ok else _why("no_discontinuation_reason"))


def measure_status(se: pd.DataFrame) -> dict[str, Measure]:
    """The :class:`Measure` of each derived endpoint of a :func:`subject_endpoints` frame."""
    return dict(se.attrs.get("measures") or {})


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
