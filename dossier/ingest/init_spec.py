"""``dossier init DATA_DIR``: a starting study spec from a folder of ADaM / SDTM files.

The folder (and its direct sub-folders, e.g. ``sdtm/``) is scanned for datasets in every format the
readers accept. Each file is recognised by its name (``adsl.xpt``, ``ex.xpt``) or, failing that, by
its content (ADSL: one record per subject with an arm; ADAE: AEDECOD; ADTTE: PARAMCD + CNSR; ADRS:
PARAMCD + response codes; ADPP / ADPC / ADEX by their variables; EX: EXDOSE). From ADSL it infers the
dose levels (DOSE01A / TRT01AN, else EXDOSE in EX, else numbers in the arm labels proposed as an
``arm_map``) and the control arms (dose 0, or placebo / control in the label); from the BDS
datasets the PARAMCDs that can serve as response, PFS and exposure.

What it cannot decide is written as a ``TODO`` marker: :func:`todo_markers` finds them, and
``dossier validate`` / ``dossier build`` refuse a spec that still has one, listing every key path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dossier.errors import DossierError
from dossier.ingest.readers import RawDataset, read_dataset
from dossier.spec import TODO, todo_markers  # noqa: F401  (re-exported: the markers this module writes)

DATASET_NAMES = ("adsl", "adex", "adae", "adpp", "adpc", "adrs", "adtte", "ex")
#: when one dataset is present in several formats, the first of these is used
FORMAT_PREFERENCE = (".xpt", ".json", ".ndjson", ".dsjc", ".parquet", ".csv", ".csv.gz")
CONTROL_WORDS = re.compile(r"\b(placebo|control|vehicle|standard of care|soc|observation)\b", re.I)
RESPONSE_CODES = ("BOR", "BESRSPI", "OVRINV", "CBOR", "OVRLRESP", "BESRSP")
PFS_CODES = ("PFS", "PFSINV", "PFSIRF")
EXPOSURE_CODES = ("AUCSS", "AUCTAU", "AUCINF", "AUCIFO", "AUCLST", "AUCALL", "CMAXSS", "CMAX", "CAVGSS")
MAX_SCAN_FILES = 200


@dataclass
class Found:
    name: str
    path: Path
    raw: RawDataset
    alternatives: list[Path] = field(default_factory=list)
    how: str = "name"


def _suffix(p: Path) -> str:
    name = p.name.lower()
    return ".csv.gz" if name.endswith(".csv.gz") else p.suffix.lower()


def _stem(p: Path) -> str:
    name = p.name.lower()
    return name[: -len(_suffix(p))] if _suffix(p) else name


def _candidates(data_dir: Path) -> list[Path]:
    files = [p for p in sorted(data_dir.iterdir()) if p.is_file()]
    for sub in sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files.extend(p for p in sorted(sub.iterdir()) if p.is_file())
    return [p for p in files if _suffix(p) in FORMAT_PREFERENCE][:MAX_SCAN_FILES]


def _columns(raw: RawDataset) -> set[str]:
    return {str(c).upper() for c in raw.frame.columns}


def _by_content(raw: RawDataset) -> str | None:
    cols = _columns(raw)
    df = raw.frame
    if "USUBJID" not in cols:
        return None
    if "EXDOSE" in cols:
        return "ex"
    if "AEDECOD" in cols or "AETERM" in cols:
        return "adae"
    if "PARAMCD" in cols and "CNSR" in cols:
        return "adtte"
    if "PARAMCD" in cols and ({"PPCAT", "PPSTRESU"} & cols or _params(raw) & set(EXPOSURE_CODES)):
        return "adpp"
    if "PARAMCD" in cols and ({"AFRLT", "ARELTM", "NFRLT", "PCTPT"} & cols):
        return "adpc"
    if "PARAMCD" in cols and "AVALC" in cols and _params(raw) & set(RESPONSE_CODES):
        return "adrs"
    if "PARAMCD" in cols and ({"DOSE", "NDOSE", "TDOSE", "DURD", "RDI"} & _params(raw)):
        return "adex"
    usubjid = next(c for c in df.columns if str(c).upper() == "USUBJID")
    if {"TRT01A", "ACTARM", "ARM"} & cols and df[usubjid].is_unique:
        return "adsl"
    return None


def _params(raw: RawDataset) -> set[str]:
    col = next((c for c in raw.frame.columns if str(c).upper() == "PARAMCD"), None)
    if col is None:
        return set()
    return {str(v).strip().upper() for v in raw.frame[col].dropna().unique()}


def find_datasets(data_dir: Path) -> tuple[dict[str, Found], list[str]]:
    """The datasets of the folder (first preferred format of each) and notes on files not used."""
    notes: list[str] = []
    by_name: dict[str, list[Path]] = {}
    unknown: list[Path] = []
    for p in _candidates(data_dir):
        stem = _stem(p)
        if stem in DATASET_NAMES:
            by_name.setdefault(stem, []).append(p)
        else:
            unknown.append(p)
    found: dict[str, Found] = {}
    for name, paths in by_name.items():
        paths.sort(key=lambda q: (len(q.relative_to(data_dir).parts), FORMAT_PREFERENCE.index(_suffix(q))))
        for p in paths:
            try:
                raw = read_dataset(p, p.name)
            except DossierError as err:
                notes.append(f"{p.relative_to(data_dir)} could not be read: {err.what}")
                continue
            found[name] = Found(name, p, raw, [q for q in paths if q != p], "name")
            break
    for p in unknown:
        try:
            raw = read_dataset(p, p.name)
        except DossierError:
            notes.append(f"{p.relative_to(data_dir)}: not a readable dataset; ignored")
            continue
        kind = _by_content(raw)
        if kind is None or kind in found:
            notes.append(f"{p.relative_to(data_dir)}: not used" + (f" (a second {kind.upper()})" if kind else ""))
            continue
        found[kind] = Found(kind, p, raw, [], "content")
    return found, notes


# -- inference -----------------------------------------------------------------------------------
def _col(raw: RawDataset, *names: str) -> str | None:
    upper = {str(c).upper(): c for c in raw.frame.columns}
    return next((upper[n] for n in names if n in upper), None)


def _text(s: pd.Series) -> pd.Series:
    return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass
class Proposal:
    lines: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)

    def todo(self, key: str, what: str) -> str:
        self.todos.append(f"{key}: {what}")
        return json.dumps(f"{TODO}: {what}")


def _arms_and_doses(adsl: Found, ex: Found | None, p: Proposal) -> dict:
    """levels, control arms, arm_map (and comments) from ADSL (and EX)."""
    raw = adsl.raw.frame
    arm_col = _col(adsl.raw, "TRT01A", "ACTARM", "ARM")
    dose_col = _col(adsl.raw, "DOSE01A", "TRT01AN")
    out: dict = {"arm_col": arm_col, "levels": [], "control": [], "arm_map": {}, "comments": []}
    if arm_col is None:
        return out
    arms = _text(raw[arm_col])
    labels = sorted(a for a in arms.unique() if a)
    if dose_col is not None:
        dose = pd.to_numeric(raw[dose_col], errors="coerce")
        by_arm = pd.DataFrame({"arm": arms, "dose": dose}).groupby("arm")["dose"].agg(lambda s: sorted(set(s.dropna())))
        out["levels"] = sorted({float(d) for d in dose.dropna() if d > 0})
        out["control"] = [a for a in labels if by_arm.get(a) == [0.0] or (CONTROL_WORDS.search(a) and not
                                                                         [d for d in by_arm.get(a, []) if d > 0])]
        out["comments"].append(f"dose levels from ADSL {dose_col}; arms from {arm_col}")
        return out
    out["control"] = [a for a in labels if CONTROL_WORDS.search(a)]
    active = [a for a in labels if a not in out["control"]]
    numbers = {a: re.findall(r"(\d+(?:\.\d+)?)\s*(?:mg|ug|µg|mcg|mg/kg|mg/m2)\b", a, re.I) for a in active}
    if active and all(len(v) == 1 for v in numbers.values()):
        out["arm_map"] = {a: float(v[0]) for a, v in numbers.items()}
        out["levels"] = sorted(set(out["arm_map"].values()))
        out["comments"].append(f"no numeric dose in ADSL: dose levels read from the {arm_col} labels")
        return out
    if ex is not None:
        exd = ex.raw.frame
        dcol, ucol = _col(ex.raw, "EXDOSE"), _col(ex.raw, "USUBJID")
        first = exd.assign(_d=pd.to_numeric(exd[dcol], errors="coerce")).groupby(ucol)["_d"].first()
        uid = _col(adsl.raw, "USUBJID")
        per_arm = pd.DataFrame({"arm": arms, "d": raw[uid].map(first)}).groupby("arm")["d"].agg(
            lambda s: s.dropna().mode().tolist())
        mapped = {a: float(per_arm[a][0]) for a in active if a in per_arm and len(per_arm[a]) == 1 and per_arm[a][0] > 0}
        if len(mapped) == len(active) and active:
            out["arm_map"] = mapped
            out["levels"] = sorted(set(mapped.values()))
            out["comments"].append(f"no numeric dose in ADSL: each arm's first EXDOSE (most common) in {ex.path.name}")
            return out
    out["arm_map"] = {a: None for a in active}
    out["comments"].append(f"no numeric dose in ADSL or the arm labels: give each {arm_col} arm its dose level")
    return out


def _pick(params: set[str], preferred: tuple[str, ...]) -> str | None:
    return next((c for c in preferred if c in params), None)


def propose_spec(data_dir: Path, spec_path: Path) -> tuple[str, list[str]]:
    """The text of a starting study.yaml for the datasets in data_dir, and the TODO items it holds."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DossierError(f"not a folder: {data_dir}", where=str(data_dir),
                           hint="pass the folder that holds the ADaM / SDTM files (adsl.xpt, adae.xpt, ...)")
    found, notes = find_datasets(data_dir)
    if "adsl" not in found:
        raise DossierError(f"no ADSL found in {data_dir}", where=str(data_dir),
                           hint="an ADSL (adsl.xpt, adsl.json, adsl.csv, ...) with USUBJID and TRT01A/ARM is needed; "
                                f"files seen: {', '.join(p.name for p in _candidates(data_dir)[:20]) or 'none'}")
    p = Proposal()
    adsl = found["adsl"]
    doses = _arms_and_doses(adsl, found.get("ex"), p)
    study_col = _col(adsl.raw, "STUDYID")
    study_id = _text(adsl.raw.frame[study_col]).iloc[0] if study_col is not None and len(adsl.raw.frame) else ""
    study_id = re.sub(r"[^A-Za-z0-9_.-]", "-", study_id).strip("-.") or data_dir.name
    if not re.match(r"^[A-Za-z0-9]", study_id):
        study_id = "study-" + study_id
    L = p.lines
    L += [f"# Starting spec written by `dossier init {data_dir}`.",
          "# Replace every TODO; `dossier validate` lists those left. Paths are relative to this file.",
          *(f"# note: {n}" for n in notes), "",
          "study:", f"  id: {json.dumps(study_id)}" + ("   # from ADSL STUDYID" if study_col else ""),
          (f"  title: {json.dumps('Study ' + study_id)}   # from ADSL STUDYID; the protocol title reads better"
           if study_col else f"  title: {p.todo('study.title', 'the study title')}"),
          f"  sponsor: {p.todo('study.sponsor', 'the sponsor')}",
          f"  compound: {p.todo('study.compound', 'the compound (INN or code)')}",
          "  modality: small_molecule   # assumed; or antibody, adc, other",
          f"  indication: {p.todo('study.indication', 'the indication')}",
          f"  therapeutic_area: {p.todo('study.therapeutic_area', 'the therapeutic area: oncology, neurology, ... (see `dossier schema`)')}",
          '  line_of_therapy: "not stated"', ""]
    L += ["doses:", "  unit: mg   # assumed; or mg/kg, mg/m2, ug, ug/kg", "  schedule: QD   # assumed; e.g. BID, Q3W"]
    L += [f"  # {c}" for c in doses["comments"]]
    levels = doses["levels"]
    L.append(f"  levels: {json.dumps(levels)}" if levels else
             f"  levels: {p.todo('doses.levels', 'the dose levels, increasing')}")
    if doses["control"]:
        L.append(f"  control_arms: {json.dumps(doses['control'])}   # dose 0 (placebo / control)")
    if doses["arm_map"]:
        L.append("  arm_map:")
        for arm, d in doses["arm_map"].items():
            value = _fmt(d) if d is not None else p.todo(f"doses.arm_map.{arm}", f"dose level of arm {arm}")
            L.append(f"    {json.dumps(arm)}: {value}")
    if doses["arm_col"] and doses["arm_col"].upper() != "TRT01A":
        L.append(f"  arm_variable: {doses['arm_col']}")
    rand_col = _col(adsl.raw, "RANDFL", "ITTFL")
    if rand_col is not None and len(levels) >= 2:
        L.append(f"randomized_dosages: {json.dumps(levels)}   # {rand_col} present; keep the randomized ones")
    choices = ", ".join(_fmt(x) for x in levels) or "a dose level"
    L.append(f"proposed_dosage: {p.todo('proposed_dosage', 'the dosage proposed, one of ' + choices)}")
    L += ["", "datasets:"]
    spec_dir = Path(spec_path).resolve().parent
    for name in DATASET_NAMES:
        f = found.get(name)
        if f is None:
            continue
        rel = os.path.relpath(f.path.resolve(), spec_dir)
        extra = []
        if f.how == "content":
            extra.append("recognised by its content")
        if f.alternatives:
            extra.append("also as " + ", ".join(q.name for q in f.alternatives[:3]))
        entry = {"path": rel}
        L.append(f"  {name}: {json.dumps(entry)}" + (f"   # {'; '.join(extra)}" if extra else ""))
        L.extend(_dataset_notes(name, f, p))
    L += ["", "filters:"]
    L.extend(_endpoint_filters(found, p))
    L += ["", "agencies: [fda, ema, pmda]", ""]
    return "\n".join(L), p.todos


def _dataset_notes(name: str, f: Found, p: Proposal) -> list[str]:
    """Per-dataset comments and proposed mappings, indented under the dataset."""
    out: list[str] = []
    raw = f.raw
    if name == "adae":
        acn = _col(raw, "AEACN")
        if acn is None:
            out.append("  # no AEACN: dose modifications not collected (missing, not 'none')")
        else:
            vals = sorted(v for v in _text(raw.frame[acn]).unique() if v)
            if not vals:
                out.append("  # AEACN is blank in every record: dose modifications not collected")
            else:
                from dossier.ingest.mapping import default_action_meaning

                out.append("  # AEACN codes -> meanings (CDISC terms); to change one, add under adae:")
                out.append("  #   codelists: {AEACN: {" + ", ".join(
                    f"{json.dumps(v)}: {default_action_meaning(v)}" for v in vals[:12]) + "}}")
        if _col(raw, "AETOXGR", "ATOXGR") is None:
            out.append("  # no AETOXGR/ATOXGR: no CTCAE grade; AESEV is used where present")
    if name in ("adex", "adpp", "adrs"):
        pc = _col(raw, "PARCAT1")
        if pc is not None:
            cats = sorted(v for v in _text(raw.frame[pc]).unique() if v)
            if len(cats) > 1:
                out.append(f"  # PARCAT1 values {cats[:6]}: select records with e.g. filter: "
                           f"'PARCAT1 == {json.dumps(cats[0])}'")
        pc2 = _col(raw, "PARCAT2")
        if pc2 is not None and name == "adex":
            cats = sorted(v for v in _text(raw.frame[pc2]).unique() if v)
            if len(cats) > 1:
                out.append(f"  # PARCAT2 values {cats[:6]} (several treatments): dosing records of one of them "
                           f"are needed, e.g. filter: 'PARCAT2 == {json.dumps(cats[0])}'")
    return out


def _paramcd_filter(key: str, dataset: str, params: set[str], code: str | None, what: str, p: Proposal) -> str:
    """The line ``<key>: <code>`` proposing a PARAMCD of ``dataset``, or a TODO naming the codes found."""
    some = ", ".join(sorted(params)[:8])
    if code:
        return f"  {key}: {code}   # {dataset} PARAMCDs: {some}"
    return f"  {key}: {p.todo(f'filters.{key}', f'{dataset} PARAMCD of {what}, one of {some}')}"


def _endpoint_filters(found: dict[str, Found], p: Proposal) -> list[str]:
    out: list[str] = []
    for dataset, key, codes, what in (("adrs", "response_paramcd", RESPONSE_CODES, "best overall response"),
                                      ("adtte", "pfs_paramcd", PFS_CODES, "PFS"),
                                      ("adpp", "exposure_paramcd", EXPOSURE_CODES, "the exposure metric")):
        if dataset not in found:
            continue
        params = _params(found[dataset].raw)
        code = _pick(params, codes)
        if dataset == "adtte" and (code or len(params) == 1):
            # a PFS code found is proposed as it is; the only ADTTE parameter, with a warning
            out.append(f"  pfs_paramcd: {code}" if code else
                       f"  pfs_paramcd: {next(iter(params))}   # the only ADTTE parameter (not PFS: check)")
        else:
            out.append(_paramcd_filter(key, dataset.upper(), params, code, what, p))
    if "adex" in found:
        params = _params(found["adex"].raw)
        dose = sorted(params & {"DOSE", "DOSEA", "ADOSE"})
        if dose:
            out.append(f"  dose_paramcd: {json.dumps(dose)}   # ADEX per-record doses")
    if not out:
        out.append("  {}   # no ADRS / ADTTE / ADPP: the defaults apply")
    return out


def write_spec(data_dir: Path, out: Path, force: bool = False) -> list[str]:
    """Write the proposed spec to ``out``; returns its TODO items. Refuses to overwrite unless ``force``."""
    out = Path(out)
    if out.exists() and not force:
        raise DossierError(f"{out} exists; not overwritten", where=str(out),
                           hint="choose another --out, or pass --force to replace it")
    if out.exists() and not out.is_file():
        raise DossierError(f"{out} is not a file", where=str(out), hint="--out names the YAML file to write")
    text, todos = propose_spec(Path(data_dir), out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return todos
