"""Patient-reported outcomes held as an ADaM BDS dataset (ADQS-like) -> the typed ``pro`` table.

One record per subject, item and assessment: USUBJID, PARAMCD (the item), AVAL (the item's numeric
response), and the timing (AVISIT/AVISITN and/or ADY); ABLFL marks the baseline record when present.
Two instruments are recognised from PARAMCD (case-insensitive):

- **PRO-CTCAE** (NCI item library v1.0): ``PROCTCAE_<n><A|B|C>[_SCL|_IND]`` as in the ProAE R package
  (e.g. ``PROCTCAE_16A_SCL``) or the 8-character ADaM form ``PRO<nn><A|B|C>`` (``PRO16A``). Scored items
  hold 0-4; presence items (``_IND``) 0/1.
- **EORTC QLQ-C30** (version 3.0) items 1-30: ``C30Q<nn>``, ``QLQC30<nn>`` or ``QLQ30<nn>`` (``C30Q01``).
  Items 1-28 hold 1-4; items 29-30 hold 1-7.

Records of any other PARAMCD (e.g. scale scores derived by the sponsor) are read and counted as
excluded: scales are always scored here from the items, by the instruments' published rules.

Baseline: ABLFL = "Y" when the column exists; otherwise the last record on or before study day 1 (ADY)
for each subject and item, or, without ADY, the visit named BASELINE. A record is post-baseline when it
comes after the subject's baseline (ADY > 1, or a larger AVISITN than the baseline visit).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dossier.ingest.mapping import DATASET_VARS, TABLE_OF, Mapper, Var, _finish

#: ADQS variables looked for (first present wins); registered with the shared mapper below
ADQS_VARS = [
    Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
    Var("paramcd", ("PARAMCD",), True, "parameter code (the questionnaire item)"),
    Var("value", ("AVAL",), True, "analysis value (the item's numeric response)"),
    Var("visit", ("AVISIT",), False, "analysis visit"),
    Var("visitn", ("AVISITN",), False, "analysis visit (N)"),
    Var("day", ("ADY",), False, "analysis relative day"),
    Var("baseline", ("ABLFL",), False, "baseline record flag"),
]
DATASET_VARS["adqs"] = ADQS_VARS
TABLE_OF["adqs"] = "pro"

PRO_CTCAE = "PRO-CTCAE"
QLQ_C30 = "QLQ-C30"
_PRO_CTCAE_CODE = re.compile(r"^(?:PROCTCAE_?|PRO)0*(\d{1,2})([ABC])(?:_(SCL|IND))?$")
_QLQ_C30_CODE = re.compile(r"^(?:C30Q|C30_Q|QLQC30_?|QLQ30_?)0*(\d{1,2})$")


def parse_paramcd(code: str) -> tuple[str, str, str] | None:
    """(instrument, item, kind) of a PARAMCD, or None when it is not a known PRO item.

    PRO-CTCAE items are "<n><part>" (``"16A"``), kind "SCL" or "IND"; QLQ-C30 items are "1".."30", kind "".
    """
    code = code.strip().upper()
    m = _PRO_CTCAE_CODE.match(code)
    if m and 1 <= int(m.group(1)) <= 80:
        return PRO_CTCAE, f"{int(m.group(1))}{m.group(2)}", m.group(3) or ""
    m = _QLQ_C30_CODE.match(code)
    if m and 1 <= int(m.group(1)) <= 30:
        return QLQ_C30, str(int(m.group(1))), ""
    return None


def map_adqs(m: Mapper) -> pd.DataFrame | None:
    """ADQS -> ``pro`` table (columns in :data:`dossier.ingest.tables.TABLE_COLUMNS`)."""
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    paramcd = m.text("paramcd", upper=True)
    parsed = {u: parse_paramcd(u) for u in pd.unique(pd.Series(paramcd, dtype=object))}
    for code in sorted(u for u, p in parsed.items() if p is None):
        m.exclude(paramcd == code, f"PARAMCD {code or '(blank)'} is not a PRO-CTCAE or QLQ-C30 item")
    instrument = np.array([(parsed[c] or ("", "", ""))[0] for c in paramcd], dtype=object)
    item = np.array([(parsed[c] or ("", "", ""))[1] for c in paramcd], dtype=object)
    kind = np.array([(parsed[c] or ("", "", ""))[2] for c in paramcd], dtype=object)
    value = m.number("value").to_numpy()
    m.exclude(np.isnan(value), "AVAL missing (item not answered)")
    if not m.has("visitn") and not m.has("day"):
        m.issues.error("ADQS has neither AVISITN nor ADY: the assessments cannot be put in time order",
                       file=m.file, column="AVISITN",
                       hint="add AVISITN or ADY, or map your column with `datasets.adqs.columns: {visitn: ...}`")
        return None
    _check_range(m, value, instrument, item, kind)
    visit = m.text("visit")
    visitn = m.number("visitn").to_numpy()
    day = m.number("day").to_numpy()
    usubjid = np.asarray(m.usubjid, dtype=object)
    baseline = _baseline(m, usubjid, paramcd, visit, visitn, day)
    post = _post_baseline(usubjid, paramcd, visitn, day, baseline, m.keep)
    _duplicate_assessments(m, usubjid, paramcd, visit, visitn, day)
    data = {"usubjid": usubjid, "instrument": instrument, "item": item, "paramcd": paramcd, "visit": visit,
            "visitn": visitn, "day": day, "value": value, "baseline": baseline, "post_baseline": post}
    return _finish("pro", data, m.keep)


def _check_range(m: Mapper, value: np.ndarray, instrument: np.ndarray, item: np.ndarray, kind: np.ndarray) -> None:
    c30 = instrument == QLQ_C30
    high_c30 = np.where(np.isin(item, ["29", "30"]), 7.0, 4.0)
    lo = np.where(c30, 1.0, 0.0)
    hi = np.where(c30, high_c30, np.where(kind == "IND", 1.0, 4.0))
    bad = np.flatnonzero(m.keep & ~np.isnan(value) & ((value < lo) | (value > hi) | (value != np.round(value))))
    if len(bad):
        m.report_rows("error", "value", bad, "item response outside the instrument's scale",
                      "PRO-CTCAE items hold 0-4 (presence items 0/1); QLQ-C30 items 1-28 hold 1-4, items 29-30 1-7",
                      values=value)
        m.keep[bad] = False


def _baseline(m: Mapper, usubjid: np.ndarray, paramcd: np.ndarray, visit: np.ndarray, visitn: np.ndarray,
              day: np.ndarray) -> np.ndarray:
    if m.has("baseline"):
        return m.flag("baseline") & m.keep
    frame = pd.DataFrame({"u": usubjid, "p": paramcd, "day": day, "visitn": visitn, "row": np.arange(m.n)})
    frame = frame[m.keep]
    if m.has("day"):
        cand = frame[frame["day"] <= 1].sort_values(["u", "p", "day", "row"])
        rule = "the last assessment on or before day 1 (ADY <= 1)"
    else:
        is_bl = np.array([v.upper() == "BASELINE" for v in visit], dtype=bool)
        cand = frame[is_bl[frame["row"].to_numpy()]].sort_values(["u", "p", "visitn", "row"])
        rule = "the visit named BASELINE"
    out = np.zeros(m.n, dtype=bool)
    out[cand.groupby(["u", "p"])["row"].last().to_numpy()] = True
    m.issues.warning(f"no ABLFL column: the baseline of each item is {rule}", file=m.file, column="ABLFL",
                     hint="add ABLFL or map it with `datasets.adqs.columns: {baseline: ...}`")
    return out


def _post_baseline(usubjid: np.ndarray, paramcd: np.ndarray, visitn: np.ndarray, day: np.ndarray,
                   baseline: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """After the subject's baseline of the item: by ADY when both records have it, else by AVISITN."""
    frame = pd.DataFrame({"u": usubjid, "p": paramcd, "day": day, "visitn": visitn})
    bl = frame[baseline & keep].groupby(["u", "p"])[["day", "visitn"]].first()
    ref = frame[["u", "p"]].merge(bl, left_on=["u", "p"], right_index=True, how="left")
    bday, bvis = ref["day"].to_numpy(), ref["visitn"].to_numpy()
    by_day = np.where(np.isnan(bday), day > 1, day > bday)
    by_visit = visitn > bvis
    after = np.where(~np.isnan(day), by_day, by_visit)
    return after & ~baseline & keep


def _duplicate_assessments(m: Mapper, usubjid: np.ndarray, paramcd: np.ndarray, visit: np.ndarray,
                           visitn: np.ndarray, day: np.ndarray) -> None:
    keys = pd.DataFrame({"u": usubjid, "p": paramcd, "v": visit, "n": visitn, "d": day})[m.keep]
    dup = keys.duplicated(keep="first").to_numpy()
    idx = np.flatnonzero(m.keep)[dup]
    if len(idx):
        m.report_rows("error", "paramcd", idx, "more than one ADQS record for this subject, item and assessment",
                      "keep one record per subject, PARAMCD and visit (e.g. filter ANL01FL = Y)")
    # the same scheduled visit again on another day (a repeat in the visit window, or a damaged day): ADaM flags
    # the analysed record with ANL01FL; without a filter on it every record is used, so each repeat is said
    named = np.array([v != "" and "UNSCHED" not in v.upper() for v in visit], dtype=bool)
    visits = pd.DataFrame({"u": usubjid, "p": paramcd, "v": visit})
    sel = m.keep & named
    again = np.zeros(m.n, dtype=bool)
    again[np.flatnonzero(sel)] = visits[sel].duplicated(keep="first").to_numpy()
    again[idx] = False
    rep = np.flatnonzero(again)
    if len(rep):
        m.report_rows("warning", "visit", rep, "another ADQS record of this subject and item at the same visit "
                      "(another day or visit number); every record is used",
                      "flag the analysed record (ANL01FL = Y) and filter on it, or correct the visit",
                      values=day)
