"""Biomarker / pharmacodynamic measurements held as an ADaM BDS dataset (ADPD- or ADLB-like) -> ``biomarker``.

One record per subject, parameter and assessment: USUBJID, PARAMCD, AVAL, optionally CHG and BASE, the
timing (AVISIT/AVISITN and/or ADY), ABLFL (baseline flag) and AVALU (unit). Only the PARAMCDs the spec
names in ``biomarkers`` are kept (the others are counted as excluded). The baseline is the ABLFL = "Y"
record; without ABLFL, the last record on or before study day 1 (ADY), or the visit named BASELINE. Change
from baseline is CHG when the dataset has it, else AVAL minus the baseline AVAL; a subject without a
baseline has no change (missing, never 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dossier.ingest.mapping import DATASET_VARS, TABLE_OF, Mapper, Var, _check_units, _duplicates, _finish

ADPD_VARS = [
    Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
    Var("paramcd", ("PARAMCD",), True, "parameter code (the marker)"),
    Var("value", ("AVAL",), True, "analysis value"),
    Var("change", ("CHG",), False, "change from baseline"),
    Var("visit", ("AVISIT",), False, "analysis visit"),
    Var("visitn", ("AVISITN",), False, "analysis visit (N)"),
    Var("day", ("ADY",), False, "analysis relative day"),
    Var("baseline", ("ABLFL",), False, "baseline record flag"),
    Var("unit", ("AVALU",), False, "unit of the value"),
]
DATASET_VARS["adpd"] = ADPD_VARS
TABLE_OF["adpd"] = "biomarker"


def map_adpd(m: Mapper, markers: dict[str, tuple[str, str | None]]) -> pd.DataFrame | None:
    """ADPD -> ``biomarker`` table. ``markers``: PARAMCD -> (unit, visit) from the spec's ``biomarkers``."""
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    paramcd = m.text("paramcd", upper=True)
    wanted = {k.upper() for k in markers}
    for code in sorted(set(paramcd[m.keep]) - wanted):
        m.exclude(paramcd == code, f"PARAMCD {code or '(blank)'} is not a biomarker named in the spec")
    present = set(paramcd[m.keep])
    for i, code in enumerate(markers):
        if code.upper() not in present:
            m.issues.error(f"biomarkers[{i}].paramcd {code} has no records in the dataset", file=m.file,
                           column=m.cols.get("paramcd") or "PARAMCD",
                           hint=f"PARAMCDs present: {', '.join(sorted(set(paramcd))[:20]) or '(none)'}")
    value = m.number("value").to_numpy()
    m.exclude(np.isnan(value), "AVAL missing (sample not analysed)")
    if not m.has("visitn") and not m.has("day") and not m.has("visit"):
        m.issues.error("the biomarker dataset has none of AVISIT, AVISITN, ADY: the assessments have no time",
                       file=m.file, column="AVISITN",
                       hint="add AVISITN or ADY, or map your column with `datasets.adpd.columns: {visitn: ...}`")
        return None
    unit = m.text("unit")
    if m.has("unit"):
        _check_units(m, paramcd, unit, "PARAMCD")
        for code, (spec_unit, _) in markers.items():
            bad = np.flatnonzero(m.keep & (paramcd == code.upper()) & (unit != "") & (unit != spec_unit))
            if len(bad):
                m.report_rows("error", "unit", bad[:10], f"AVALU of {code} differs from the spec's unit "
                              f"{spec_unit!r}", "convert the values or correct biomarkers[].unit", values=unit)
                m.keep[bad] = False
    visit = m.text("visit")
    upper_visit = m.text("visit", upper=True)
    for i, (code, (_, wanted_visit)) in enumerate(markers.items()):
        if wanted_visit and not np.any(m.keep & (paramcd == code.upper()) & (upper_visit == wanted_visit.upper())):
            m.issues.error(f"biomarkers[{i}].visit {wanted_visit!r} is not an AVISIT of {code}", file=m.file,
                           column=m.cols.get("visit") or "AVISIT",
                           hint="visits present: " + ", ".join(sorted(set(visit[m.keep & (paramcd == code.upper())]))[:20]))
    visitn = m.number("visitn").to_numpy()
    day = m.number("day").to_numpy()
    usubjid = np.asarray(m.usubjid, dtype=object)
    _duplicates(m, [usubjid, paramcd, visit, visitn, day],
                "more than one biomarker record for this subject, PARAMCD and assessment",
                "keep one record per subject, PARAMCD and visit (e.g. filter ANL01FL == \"Y\")")
    baseline = _baseline(m, usubjid, paramcd, upper_visit, day)
    frame = pd.DataFrame({"u": usubjid, "p": paramcd, "v": value, "d": day, "n": visitn, "b": baseline})
    base = frame[baseline & m.keep].groupby(["u", "p"])[["v", "d", "n"]].first()
    ref = frame[["u", "p"]].merge(base, left_on=["u", "p"], right_index=True, how="left")
    bval, bday, bvis = (ref[c].to_numpy(float) for c in ("v", "d", "n"))
    has_base = ~np.isnan(bval)
    by_visit = np.where(~np.isnan(visitn) & ~np.isnan(bvis), visitn > bvis, True)  # AVISIT only: not baseline
    after = np.where(~np.isnan(day) & ~np.isnan(bday), day > bday, by_visit)
    post = has_base & after & ~baseline & m.keep
    change = m.number("change").to_numpy() if m.has("change") else value - bval
    change = np.where(post, change, np.where(baseline, 0.0, np.nan))
    data = {"usubjid": usubjid, "paramcd": paramcd, "visit": visit, "visitn": visitn, "day": day, "value": value,
            "base": bval, "change": change, "baseline": baseline, "post_baseline": post, "unit": unit}
    return _finish("biomarker", data, m.keep)


def _baseline(m: Mapper, usubjid: np.ndarray, paramcd: np.ndarray, upper_visit: np.ndarray,
              day: np.ndarray) -> np.ndarray:
    if m.has("baseline"):
        return m.flag("baseline") & m.keep
    frame = pd.DataFrame({"u": usubjid, "p": paramcd, "day": day, "row": np.arange(m.n)})[m.keep]
    if m.has("day"):
        cand = frame[frame["day"] <= 1].sort_values(["u", "p", "day", "row"])
        rule = "the last record on or before day 1 (ADY <= 1)"
    else:
        cand = frame[upper_visit[frame["row"].to_numpy()] == "BASELINE"].sort_values(["u", "p", "row"])
        rule = "the visit named BASELINE"
    out = np.zeros(m.n, dtype=bool)
    out[cand.groupby(["u", "p"])["row"].last().to_numpy()] = True
    m.issues.warning(f"no ABLFL column: the baseline of each biomarker is {rule}", file=m.file, column="ABLFL",
                     hint="add ABLFL or map it with `datasets.adpd.columns: {baseline: ...}`")
    return out
