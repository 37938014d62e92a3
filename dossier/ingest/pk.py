"""PK concentrations for noncompartmental analysis: one typed table from ADPC, SDTM PC + EX or NONMEM CSV.

The table (``StudyData.pk_profiles``, columns in ``TABLE_COLUMNS["pk_profiles"]``) has one row per
sample: usubjid, analyte, profile, time (since the profile's dose), conc (NaN when not quantifiable),
blq, lloq, dose (the dose actually given before the sample), dose_source ("record" when the data give
it per record, "arm" when only the subject's dose level is known), tau (steady-state profiles), unit.

Layouts (taken from the columns unless ``pk.layout`` says):

- ``adpc`` (ADaM ADPC / ADNCA): USUBJID, AVAL, time since the reference dose ARRLT (else AFRLT/NFRLT),
  profile AVISIT (else one profile), dose DOSEA (else the subject's dose level from ADSL), LLOQ ALLOQ,
  BLQ when AVALC reads BLQ/BQL/"<..." or AVAL is missing with such a text, analyte PARAMCD.
- ``sdtm`` (PC + EX): PCSTRESN, PCSTRESC, PCLLOQ, PCTESTCD, sample date-time PCDTC; every EX record
  (EXSTDTC, EXDOSE) is a dose; a sample belongs to the latest dose at or before it (profile "dose N").
- ``nonmem`` (event records, e.g. nlmixr2data): ID, TIME, DV, AMT, EVID, optional MDV, DVID/CMT, OCC,
  II, SS, LLOQ/BLQ. Dose records are EVID 1 or 4 or rxode2 codes >= 100 with AMT > 0; observations EVID 0.
  A sample belongs to the latest dose at or before it (within OCC when present); profile = OCC or the
  dose number. Observation records with MDV = 1 are BLQ (``pk.mdv_observations``).

Every dropped record is counted with its reason in the ingest report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dossier.errors import DossierError
from dossier.ingest.readers import read_dataset
from dossier.ingest.report import DatasetCount, Exclusion, IngestReport, IssueCollector
from dossier.ingest.tables import TABLE_COLUMNS

if TYPE_CHECKING:
    from dossier.spec import DatasetSpec, PKSpec, StudySpec

COLUMNS = TABLE_COLUMNS["pk_profiles"]

CANDIDATES: dict[str, dict[str, tuple[str, ...]]] = {
    "adpc": {"usubjid": ("USUBJID",), "conc": ("AVAL",), "text": ("AVALC",), "time": ("ARRLT", "AFRLT", "NFRLT"),
             "profile": ("AVISIT", "APHASE"), "dose": ("DOSEA",), "lloq": ("ALLOQ", "LLOQ"),
             "analyte": ("PARAMCD",), "unit": ("AVALU",)},
    "sdtm": {"usubjid": ("USUBJID",), "conc": ("PCSTRESN",), "text": ("PCSTRESC", "PCORRES"),
             "datetime": ("PCDTC",), "lloq": ("PCLLOQ",), "analyte": ("PCTESTCD",), "unit": ("PCSTRESU",)},
    "ex": {"usubjid": ("USUBJID",), "datetime": ("EXSTDTC",), "dose": ("EXDOSE",)},
    "nonmem": {"usubjid": ("ID",), "time": ("TIME",), "conc": ("DV",), "amt": ("AMT",), "evid": ("EVID",),
               "mdv": ("MDV",), "analyte": ("DVID",), "profile": ("OCC",), "lloq": ("LLOQ",), "blq": ("BLQ",),
               "ii": ("II",), "ss": ("SS",)},
}
REQUIRED = {"adpc": ("usubjid", "conc", "time"), "sdtm": ("usubjid", "conc", "datetime"),
            "ex": ("usubjid", "datetime", "dose"), "nonmem": ("usubjid", "time", "conc", "amt", "evid")}
_BLQ_TEXT = re.compile(r"^\s*(BLQ|BQL|<\s*LLOQ|<)", re.IGNORECASE)


def detect_layout(columns) -> str:
    up = {str(c).upper() for c in columns}
    if {"EVID", "AMT"} <= up:
        return "nonmem"
    if "PCSTRESN" in up:
        return "sdtm"
    return "adpc"


def _resolve(frame: pd.DataFrame, layout: str, renames: dict[str, str], shown: str) -> dict[str, str]:
    """Field -> column of ``frame`` (case-insensitive; ``renames`` field -> column wins)."""
    present = {str(c).upper(): str(c) for c in frame.columns}
    out: dict[str, str] = {}
    for field_, cands in CANDIDATES[layout].items():
        if field_ in renames:
            col = renames[field_]
            if col.upper() not in present:
                raise DossierError(f"column {col!r} (pk columns: {field_}) is not in the dataset", where=shown,
                                   hint=f"columns present: {', '.join(list(present.values())[:25])}")
            out[field_] = present[col.upper()]
            continue
        for c in cands:
            if c in present:
                out[field_] = present[c]
                break
    unknown = set(renames) - set(CANDIDATES[layout])
    if unknown:
        raise DossierError(f"unknown pk column field(s) {sorted(unknown)} for layout {layout}", where=shown,
                           hint=f"fields: {', '.join(CANDIDATES[layout])}")
    missing = [f for f in REQUIRED[layout] if f not in out]
    if missing:
        raise DossierError(f"{layout} concentration data lack {', '.join(missing)} "
                           f"(looked for {', '.join('/'.join(CANDIDATES[layout][f]) for f in missing)})",
                           where=shown, hint="name the columns under pk.dataset.columns (field: column)")
    return out


def _num(frame: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(float)


def _text(frame: pd.DataFrame, col: str | None, default: str = "") -> np.ndarray:
    if col is None:
        return np.full(len(frame), default, dtype=object)
    v = frame[col]
    out = v.astype(object).where(v.notna(), "").astype(str).str.strip()
    # integer-valued numbers read from CSV as floats: "1.0" -> "1"
    if pd.api.types.is_numeric_dtype(v):
        num = pd.to_numeric(v, errors="coerce")
        integral = num.notna() & (num == num.round())
        out = out.where(~integral, num.round().astype("Int64").astype(str))
    return out.to_numpy(dtype=object)


def _analyte_filter(an: np.ndarray, wanted: str | None, shown: str, what: str) -> np.ndarray:
    values = sorted({a for a in an if a != ""})
    if wanted is None:
        if len(values) > 1:
            raise DossierError(f"the concentration data hold several analytes ({', '.join(values[:10])})",
                               where=f"{shown} ({what})", hint="choose one with pk.analyte")
        return np.ones(len(an), dtype=bool)
    keep = np.array([a.upper() == wanted.upper() for a in an])
    if not keep.any():
        raise DossierError(f"no record has analyte {wanted!r}", where=f"{shown} ({what})",
                           hint=f"values present: {', '.join(values[:10])}")
    return keep


class _Counter:
    def __init__(self, count: DatasetCount):
        self.count = count

    def drop(self, mask: np.ndarray, reason: str) -> None:
        n = int(np.sum(mask))
        if n:
            self.count.excluded.append(Exclusion(reason=reason, rows=n))


def _nonmem(frame: pd.DataFrame, cols: dict[str, str], pk: PKSpec, shown: str, c: _Counter) -> pd.DataFrame:
    uid = _text(frame, cols["usubjid"])
    t = _num(frame, cols["time"])
    evid = _num(frame, cols["evid"])
    amt = _num(frame, cols["amt"])
    occ = _text(frame, cols.get("profile"), "")
    is_dose = ((evid == 1) | (evid == 4) | (evid >= 100)) & (amt > 0)
    is_obs = evid == 0
    c.drop(~is_dose & ~is_obs, "event record that is neither a dose nor an observation")
    an = _text(frame, cols.get("analyte"))
    obs = is_obs & _analyte_filter(np.where(is_obs, an, ""), pk.analyte, shown, "DVID")
    c.drop(is_obs & ~obs, f"observation of another analyte than {pk.analyte}")
    mdv = _num(frame, cols.get("mdv"))
    blq_flag = _num(frame, cols.get("blq"))
    blq = (mdv == 1) & obs if pk.mdv_observations == "blq" else np.zeros(len(frame), dtype=bool)
    if pk.mdv_observations == "exclude":
        c.drop(obs & (mdv == 1), "observation with MDV = 1 (excluded by pk.mdv_observations)")
        obs &= ~(mdv == 1)
    blq |= blq_flag == 1
    key = pd.Series(uid).astype(str) + "\x00" + pd.Series(occ).astype(str)
    doses = pd.DataFrame({"key": key[is_dose].to_numpy(), "dose_time": t[is_dose], "dose": amt[is_dose],
                          "ii": _num(frame, cols.get("ii"))[is_dose], "ss": _num(frame, cols.get("ss"))[is_dose]})
    doses = doses.sort_values(["key", "dose_time"], kind="mergesort")
    doses["n"] = doses.groupby("key").cumcount() + 1
    o = pd.DataFrame({"key": key[obs].to_numpy(), "usubjid": uid[obs], "occ": occ[obs], "t": t[obs],
                      "conc": np.where(blq[obs], np.nan, _num(frame, cols["conc"])[obs]), "blq": blq[obs],
                      "lloq": _num(frame, cols.get("lloq"))[obs], "row": np.flatnonzero(obs)})
    o = o.sort_values("t", kind="mergesort")
    m = pd.merge_asof(o, doses.sort_values("dose_time"), left_on="t", right_on="dose_time", by="key",
                      direction="backward", allow_exact_matches=True).sort_values("row")
    before = m["dose_time"].isna().to_numpy()
    c.drop(before, "sample before the first dose")
    m = m[~before]
    profile = np.where(m["occ"] != "", m["occ"].astype(str), "dose " + m["n"].astype(int).astype(str))
    ss = (m["ss"] > 0) & (m["ii"] > 0)
    return pd.DataFrame({"usubjid": m["usubjid"], "analyte": pk.analyte or "", "profile": profile,
                         "time": (m["t"] - m["dose_time"]).to_numpy(), "conc": m["conc"].to_numpy(),
                         "blq": m["blq"].to_numpy(), "lloq": m["lloq"].to_numpy(), "dose": m["dose"].to_numpy(),
                         "dose_source": "record", "tau": np.where(ss, m["ii"], np.nan), "unit": pk.conc_unit or ""})


def _blq_from_text(conc: np.ndarray, text: np.ndarray) -> np.ndarray:
    return np.array([bool(_BLQ_TEXT.match(x)) for x in text]) & ~(conc > 0)


def _adpc(frame: pd.DataFrame, cols: dict[str, str], pk: PKSpec, shown: str, c: _Counter,
          subjects: pd.DataFrame | None) -> pd.DataFrame:
    uid = _text(frame, cols["usubjid"])
    keep = _analyte_filter(_text(frame, cols.get("analyte")), pk.analyte, shown, "PARAMCD")
    c.drop(~keep, f"record of another analyte than {pk.analyte}")
    conc = _num(frame, cols["conc"])
    text = _text(frame, cols.get("text"))
    blq = _blq_from_text(conc, text)
    t = _num(frame, cols["time"])
    no_time = np.isnan(t) & keep
    c.drop(no_time, "sample time missing")
    keep &= ~np.isnan(t)
    dose = _num(frame, cols.get("dose"))
    source = np.where(np.isfinite(dose), "record", "arm")
    if np.isnan(dose).any() and subjects is not None:
        arm = subjects.assign(usubjid=subjects["usubjid"].astype(str)).set_index("usubjid")["dose"]
        dose = np.where(np.isfinite(dose), dose, pd.Series(uid).map(arm).to_numpy(float))
    return pd.DataFrame({"usubjid": uid, "analyte": _text(frame, cols.get("analyte")),
                         "profile": _text(frame, cols.get("profile"), "1"), "time": t,
                         "conc": np.where(blq, np.nan, conc), "blq": blq, "lloq": _num(frame, cols.get("lloq")),
                         "dose": dose, "dose_source": source, "tau": np.nan,
                         "unit": _text(frame, cols.get("unit"), pk.conc_unit or "")})[keep]


def _sdtm(frame: pd.DataFrame, cols: dict[str, str], ex: pd.DataFrame, ex_cols: dict[str, str], pk: PKSpec,
          shown: str, c: _Counter) -> pd.DataFrame:
    keep = _analyte_filter(_text(frame, cols.get("analyte")), pk.analyte, shown, "PCTESTCD")
    c.drop(~keep, f"record of another analyte than {pk.analyte}")
    conc = _num(frame, cols["conc"])
    text = _text(frame, cols.get("text"))
    when = pd.to_datetime(frame[cols["datetime"]], errors="coerce", format="ISO8601")
    c.drop(keep & when.isna().to_numpy(), "sample date/time missing or not ISO 8601")
    keep &= when.notna().to_numpy()
    o = pd.DataFrame({"usubjid": _text(frame, cols["usubjid"]), "when": when, "conc": conc,
                      "blq": _blq_from_text(conc, text), "lloq": _num(frame, cols.get("lloq")),
                      "analyte": _text(frame, cols.get("analyte")),
                      "unit": _text(frame, cols.get("unit"), pk.conc_unit or ""), "row": np.arange(len(frame))})[keep]
    d = pd.DataFrame({"usubjid": _text(ex, ex_cols["usubjid"]),
                      "dose_when": pd.to_datetime(ex[ex_cols["datetime"]], errors="coerce", format="ISO8601"),
                      "dose": _num(ex, ex_cols["dose"])}).dropna(subset=["dose_when"])
    d = d.sort_values(["usubjid", "dose_when"], kind="mergesort")
    d["n"] = d.groupby("usubjid").cumcount() + 1
    m = pd.merge_asof(o.sort_values("when"), d.sort_values("dose_when"), left_on="when", right_on="dose_when",
                      by="usubjid", direction="backward").sort_values("row")
    before = m["dose_when"].isna().to_numpy()
    c.drop(before, "sample before the first dose (no EX record at or before it)")
    m = m[~before]
    hours = (m["when"] - m["dose_when"]).dt.total_seconds().to_numpy() / 3600.0
    return pd.DataFrame({"usubjid": m["usubjid"], "analyte": m["analyte"],
                         "profile": "dose " + m["n"].astype(int).astype(str), "time": hours,
                         "conc": np.where(m["blq"], np.nan, m["conc"]), "blq": m["blq"], "lloq": m["lloq"],
                         "dose": m["dose"], "dose_source": "record", "tau": np.nan, "unit": m["unit"]})


def _read(ds: DatasetSpec, base_dir: Path, name: str, report: IngestReport) -> tuple[pd.DataFrame, DatasetCount]:
    path = Path(ds.path)
    resolved = path if path.is_absolute() else base_dir / path
    raw = read_dataset(resolved, ds.path, ds.format, ds.encoding)
    count = DatasetCount(name=name, path=ds.path, table="pk_profiles", sha256=raw.sha256, format=raw.format,
                         encoding=raw.encoding, rows_in=len(raw.frame))
    report.datasets.append(count)
    return raw.frame, count


def pk_spec_of(spec: StudySpec) -> PKSpec | None:
    """The spec's PK section; ``datasets.adpc`` alone implies one with default settings."""
    from dossier.spec import PKSpec

    if spec.pk is not None:
        return spec.pk if spec.pk.dataset is not None or spec.datasets.adpc is None else \
            spec.pk.model_copy(update={"dataset": spec.datasets.adpc})
    if spec.datasets.adpc is not None:
        return PKSpec(dataset=spec.datasets.adpc)
    return None


def read_pk_concentrations(pk: PKSpec, base_dir: Path, report: IngestReport, issues: IssueCollector,
                           subjects: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Read the concentration dataset of ``pk`` into the typed PK table (problems go to ``issues``)."""
    if pk.dataset is None:
        return None
    shown = pk.dataset.path
    try:
        frame, count = _read(pk.dataset, Path(base_dir), "pk", report)
        layout = pk.layout or detect_layout(frame.columns)
        cols = _resolve(frame, layout, dict(pk.dataset.columns), shown)
        c = _Counter(count)
        if layout == "nonmem":
            out = _nonmem(frame, cols, pk, shown, c)
        elif layout == "adpc":
            out = _adpc(frame, cols, pk, shown, c, subjects)
        else:
            if pk.ex is None:
                raise DossierError("SDTM PC needs the dosing records of SDTM EX", where=shown,
                                   hint="give pk.ex: {path: ex.xpt}")
            ex, _ = _read(pk.ex, Path(base_dir), "pk_ex", report)
            out = _sdtm(frame, cols, ex, _resolve(ex, "ex", dict(pk.ex.columns), pk.ex.path), pk, shown, c)
    except DossierError as err:
        issues.error(err.what, file=shown, hint=err.hint)
        return None
    if out.empty:
        issues.error("no usable concentration record", file=shown, hint="check pk.analyte and the time columns")
        return None
    if pk.tau is not None and pk.steady_state_profiles:
        ss = out["profile"].isin(pk.steady_state_profiles)
        out["tau"] = np.where(ss, pk.tau, out["tau"])
    if pk.lloq is not None:
        out["lloq"] = out["lloq"].fillna(pk.lloq)
    if (out["dose_source"] == "arm").any():
        issues.warning("dose per sample not in the data: the subject's dose level is used", file=shown,
                       hint="give DOSEA (ADPC) or use SDTM PC + EX so that the dose actually given is known")
    if not (out["unit"].astype(str) != "").any():
        issues.warning("the concentration unit is not given: NCA parameters are shown without units", file=shown,
                       hint="set pk.conc_unit (e.g. ng/mL)")
    no_dose = out["dose"].isna()
    if no_dose.any():
        issues.warning(f"{int(no_dose.sum())} sample(s) without a known dose: CL/F and Vz/F not estimable for "
                       "their profiles", file=shown)
    keys = ["usubjid", "analyte", "profile", "time"]
    dup = out.duplicated(keys, keep=False)
    if dup.any() and pk.replicates == "error":
        r = out[dup].iloc[0]
        issues.error(f"{int(dup.sum())} samples share a time with another sample of the same profile (first: "
                     f"subject {r['usubjid']}, profile {r['profile']}, time {r['time']:g})", file=shown,
                     usubjid=str(r["usubjid"]),
                     hint="set pk.replicates to mean or first, or filter the records")
        return None
    if dup.any():
        extra = out.duplicated(keys, keep="first")
        if pk.replicates == "mean":  # mean of the quantified replicates; BLQ only when all are BLQ
            mean = out.groupby(keys, sort=False)["conc"].transform("mean")
            out["conc"] = np.where(dup, mean, out["conc"])
            out["blq"] = np.where(dup, out["conc"].isna(), out["blq"])
        c.drop(extra.to_numpy(), f"replicate sample at the same time ({pk.replicates} kept)")
        out = out[~extra]
    count.rows_out = len(out)
    out = out.sort_values(["usubjid", "analyte", "profile", "time"], kind="mergesort").reset_index(drop=True)
    return out.astype({k: v for k, v in COLUMNS.items() if k not in ("blq",)}).astype({"blq": bool})[list(COLUMNS)]


def subjects_from_pk(table: pd.DataFrame, levels: list[float], dose_unit: str, issues: IssueCollector,
                     shown: str) -> pd.DataFrame | None:
    """The subjects table of a PK-only study (no ADSL): one subject per usubjid, its dose level the dose of
    its first profile, which must be one of the spec's dose levels; every subject in the safety population."""
    from dossier.ingest.mapping import _finish, _snap

    first = table.sort_values(["usubjid", "profile", "time"], kind="mergesort").drop_duplicates("usubjid")
    dose = first["dose"].to_numpy(float)
    snapped = _snap(dose, np.asarray(sorted(levels), float))
    bad = np.isnan(snapped)
    if bad.any():
        u, d = first["usubjid"].iloc[int(np.argmax(bad))], dose[int(np.argmax(bad))]
        issues.error(f"{int(bad.sum())} subject(s) have a dose that is not one of the spec's dose levels (first: "
                     f"subject {u}, {d:g} {dose_unit})", file=shown, usubjid=str(u),
                     hint="list the doses given in doses.levels (same unit), or give ADSL")
        return None
    n = len(first)
    nan = np.full(n, np.nan)
    empty = np.full(n, "", dtype=object)
    no = np.zeros(n, dtype=bool)
    data = {"usubjid": first["usubjid"].to_numpy(object), "arm": np.array([f"{x:g} {dose_unit}" for x in snapped],
                                                                           dtype=object),
            "dose": snapped, "planned_dose": snapped, "part": empty, "randomized": no, "safety": ~no,
            "efficacy": no, "dlt_evaluable": no, "weight_kg": nan, "age": nan, "sex": empty, "race": empty,
            "country": empty, "region": empty, "first_dose_date": np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
            "control": no, "discontinuation_reason": empty}
    return _finish("subjects", data, np.ones(n, dtype=bool))
