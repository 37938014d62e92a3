"""CDISC Dataset-JSON v1.1 reader (JSON and NDJSON layouts).

The structure is checked against the official schema (cdisc-org/DataExchange-DatasetJson,
``schema/dataset.schema.json`` and ``dataset-ndjson-schema.json``): required top-level keys
(datasetJSONCreationDateTime, datasetJSONVersion 1.1.x, itemGroupOID, records, name, label,
columns), no unknown keys, columns with itemOID/name/label/dataType, dataType and targetDataType
from the schema's enums; then ``records`` must equal the number of rows and every row must have
one value per column.

Values are typed by ``dataType``/``targetDataType``:

- string, URI -> text; integer -> float64 (as SAS numerics read from XPT, so tables compare equal);
- decimal (and any column with targetDataType decimal) -> the JSON *string* is parsed with
  ``float(str)``, which is correctly rounded (IEEE-754 nearest), so 1E-7 stays 1e-7 and no digit is
  lost to an intermediate fixed-point format; ``decimals="decimal"`` keeps :class:`decimal.Decimal`;
- float, double -> float64; boolean -> True/False (object);
- date, datetime with targetDataType integer (SAS numeric dates, e.g. TRTSDT) -> pandas datetimes,
  as pyreadstat gives for the XPT; without targetDataType they are ISO 8601 character variables
  (e.g. RFSTDTC, possibly partial dates) and stay text, as in the XPT; time -> text.

A value of the wrong JSON type is a reported error with its row, never a silent coercion.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from dossier.errors import DataError
from dossier.ingest.raw import RawDataset, data_error, json_loads

DATA_TYPES = ("string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI")
TARGET_DATA_TYPES = ("integer", "decimal")
TOP_KEYS = {"datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID", "dbLastModifiedDateTime",
            "originator", "sourceSystem", "studyOID", "metaDataVersionOID", "metaDataRef", "itemGroupOID",
            "records", "name", "label", "columns", "rows"}
REQUIRED_TOP = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name",
                "label", "columns")
COLUMN_KEYS = {"itemOID", "name", "label", "dataType", "targetDataType", "length", "displayFormat",
               "keySequence"}
REQUIRED_COLUMN = ("itemOID", "name", "label", "dataType")
VERSION_RE = re.compile(r"^1.1(.(0|([1-9][0-9]*)))?$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
#: a JSON number (RFC 8259 section 6), ASCII digits only: what a decimal string may hold
JSON_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
HINT = "the file does not follow the CDISC Dataset-JSON 1.1 schema; re-export it with a conformant writer"
MAX_LISTED = 10


def _fail(what: str, shown: str, hint: str = HINT) -> DataError:
    return DataError(what, where=shown, hint=hint)


def validate_metadata(meta: object, shown: str, *, layout: str) -> list[dict]:
    """Check the top-level object and column definitions against the schema; returns the columns."""
    if not isinstance(meta, dict):
        raise _fail("Dataset-JSON must be a JSON object at the top level", shown)
    if "clinicalData" in meta or "referenceData" in meta:
        raise _fail("this is Dataset-JSON 1.0 (clinicalData/referenceData); version 1.1 is required", shown,
                    hint="convert the file to Dataset-JSON 1.1 (e.g. with the CDISC dataset-json tools)")
    problems = _top_level_problems(meta, layout)
    columns = meta.get("columns")
    if "columns" in meta and not isinstance(columns, list):
        problems.append("columns must be an array")
        columns = []
    problems += _column_problems(columns or [])
    if problems:
        shown_problems = problems[:MAX_LISTED] + ([f"... {len(problems) - MAX_LISTED} more"]
                                                  if len(problems) > MAX_LISTED else [])
        raise _fail("invalid Dataset-JSON 1.1 structure: " + "; ".join(shown_problems), shown)
    return columns


def _top_level_problems(meta: dict, layout: str) -> list[str]:
    """What is wrong with the top-level keys of the metadata (all of it, so that one message lists all)."""
    problems: list[str] = []
    missing = [k for k in REQUIRED_TOP if k not in meta]
    if missing:
        problems.append(f"missing required key(s) {missing}")
    unknown = sorted(set(meta) - TOP_KEYS - ({"rows"} if layout == "ndjson" else set()))
    if unknown:
        problems.append(f"unknown key(s) {unknown}")
    if layout == "ndjson" and "rows" in meta:
        problems.append("NDJSON metadata line must not hold `rows` (rows follow, one per line)")
    version = meta.get("datasetJSONVersion")
    if "datasetJSONVersion" in meta and not (isinstance(version, str) and VERSION_RE.match(version)):
        problems.append(f"datasetJSONVersion {version!r} is not 1.1.x")
    for key in ("datasetJSONCreationDateTime", "dbLastModifiedDateTime"):
        if key in meta and not (isinstance(meta[key], str) and DATETIME_RE.match(meta[key])):
            problems.append(f"{key} {meta[key]!r} is not an ISO 8601 date-time")
    records = meta.get("records")
    if "records" in meta and not (isinstance(records, int) and not isinstance(records, bool) and records >= 0):
        problems.append(f"records {records!r} is not a non-negative integer")
    for key in ("itemGroupOID", "name", "label", "fileOID", "studyOID", "originator"):
        if key in meta and not isinstance(meta[key], str):
            problems.append(f"{key} must be a string")
    return problems


def _column_problems(columns: list) -> list[str]:
    """What is wrong with the column definitions: keys, data types, names (unique, non-empty)."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, col in enumerate(columns):
        if not isinstance(col, dict):
            problems.append(f"columns[{i}] is not an object")
            continue
        miss = [k for k in REQUIRED_COLUMN if k not in col]
        if miss:
            problems.append(f"columns[{i}] misses {miss}")
        extra = sorted(set(col) - COLUMN_KEYS)
        if extra:
            problems.append(f"columns[{i}] has unknown key(s) {extra}")
        if col.get("dataType") not in DATA_TYPES and "dataType" in col:
            problems.append(f"columns[{i}] ({col.get('name')}) dataType {col.get('dataType')!r} is not one of "
                            f"{list(DATA_TYPES)}")
        if "targetDataType" in col and col["targetDataType"] not in TARGET_DATA_TYPES:
            problems.append(f"columns[{i}] ({col.get('name')}) targetDataType {col['targetDataType']!r} is not "
                            f"one of {list(TARGET_DATA_TYPES)}")
        name = col.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"columns[{i}] name must be a non-empty string")
        elif name in seen:
            problems.append(f"column name {name!r} appears twice")
        else:
            seen.add(name)
    return problems


def _parse_rows_ndjson(lines: list[bytes], shown: str) -> list:
    rows = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json_loads(line, shown))
        except DataError as err:
            raise data_error(f"row {i} is not valid JSON: {err.what.removeprefix('the file is not valid JSON: ')}",
                             shown, row=i, hint="the file may be truncated; re-export it") from None
    return rows


def read_dataset_json(data: bytes, shown: str, *, layout: str = "dataset-json", encoding: str | None = None,
                      decimals: str = "float") -> RawDataset:
    """Read Dataset-JSON 1.1 (``layout`` "dataset-json" or "ndjson") from bytes."""
    if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError) as err:
            raise DataError(f"cannot decode the file as {encoding}: {err}", where=shown,
                            hint="Dataset-JSON is UTF-8; remove `encoding:` or fix it") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if layout == "ndjson":
        first, _, rest = data.partition(b"\n")
        meta = json_loads(first, shown)
        columns = validate_metadata(meta, shown, layout="ndjson")
        rows = _parse_rows_ndjson(rest.split(b"\n"), shown)
    else:
        meta = json_loads(data, shown)
        columns = validate_metadata(meta, shown, layout="dataset-json")
        rows = meta.get("rows", [])
        if not isinstance(rows, list):
            raise _fail("rows must be an array of arrays", shown)
    ncol = len(columns)
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != ncol:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise data_error(f"row {i} has {got} values but {ncol} columns are defined", shown, row=i,
                             hint="the file is corrupt or truncated; re-export it")
    if meta["records"] != len(rows):
        raise DataError(f"`records` says {meta['records']} rows but the file holds {len(rows)}", where=shown,
                        hint="the file is truncated or was edited; re-export it")
    raw = RawDataset(frame=pd.DataFrame(), path=shown, format=layout, sha256="", encoding="utf-8",
                     format_version=meta.get("datasetJSONVersion"), name=meta.get("name"))
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    frame: dict[str, object] = {}
    for j, col in enumerate(columns):
        name = col["name"]
        raw.labels[name] = col.get("label", "")
        if col.get("displayFormat"):
            raw.formats[name] = col["displayFormat"]
        frame[name] = _typed_column(values[j], col, shown, raw, decimals)
    raw.frame = pd.DataFrame(frame, index=pd.RangeIndex(len(rows)))
    return raw


def _bad(raw: RawDataset, name: str, idx: list[int], what: str, values: tuple) -> None:
    for i in idx[:MAX_LISTED]:
        raw.notes.append(("error", name, i + 1, f"{what} (value {values[i]!r})",
                          "fix the value or the column's dataType in the file"))
    if len(idx) > MAX_LISTED:
        raw.notes.append(("error", name, None, f"{len(idx) - MAX_LISTED} more value(s): {what}", None))


def _typed_column(vals: tuple, col: dict, shown: str, raw: RawDataset, decimals: str) -> object:
    name, dtype, target = col["name"], col["dataType"], col.get("targetDataType")
    if dtype in ("string", "URI") and target != "decimal" or (dtype in ("date", "datetime", "time")
                                                                and target != "integer"):
        bad = [i for i, v in enumerate(vals) if v is not None and not isinstance(v, str)]
        _bad(raw, name, bad, f"dataType {dtype} needs a JSON string", vals)
        return pd.array([v if isinstance(v, str) else None for v in vals], dtype="string")
    if dtype == "boolean":
        bad = [i for i, v in enumerate(vals) if v is not None and not isinstance(v, bool)]
        _bad(raw, name, bad, "dataType boolean needs true/false", vals)
        return pd.array([v if isinstance(v, bool) else None for v in vals], dtype="boolean")
    if dtype in ("date", "datetime"):
        bad = [i for i, v in enumerate(vals) if v is not None and not isinstance(v, str)]
        text = pd.Series([v if isinstance(v, str) and v != "" else None for v in vals], dtype="object")
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        unparsed = [i for i in np.flatnonzero(parsed.isna().to_numpy() & text.notna().to_numpy())]
        _bad(raw, name, bad, f"dataType {dtype} needs an ISO 8601 string", vals)
        _bad(raw, name, [int(i) for i in unparsed], f"unparseable ISO 8601 {dtype}", vals)
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        lo, hi = np.datetime64(pd.Timestamp.min.ceil("D")), np.datetime64(pd.Timestamp.max.floor("D"))
        stamps = parsed.to_numpy()
        outside = [int(i) for i in np.flatnonzero(parsed.notna().to_numpy() & ((stamps < lo) | (stamps > hi)))]
        _bad(raw, name, outside, f"{dtype} outside the years 1678-2261 that can be analysed", vals)
        if outside:
            parsed = parsed.where(~parsed.index.isin(outside))
        return parsed.astype("datetime64[ns]").to_numpy()
    if dtype == "decimal" or target == "decimal":
        # decimals are JSON strings (schema); numbers are accepted but strings are parsed exactly
        out = np.full(len(vals), np.nan)
        keep: list[object] = [None] * len(vals) if decimals == "decimal" else []
        bad = []
        for i, v in enumerate(vals):
            if v is None or v == "":
                continue
            if isinstance(v, bool):
                bad.append(i)
                continue
            try:
                if isinstance(v, str) and not JSON_NUMBER_RE.fullmatch(v):
                    raise InvalidOperation  # Python also reads "1_000", " 1", full-width digits: JSON does not
                d = Decimal(v) if isinstance(v, str) else Decimal(repr(v))
                if not d.is_finite() or not np.isfinite(float(d)):
                    raise InvalidOperation
            except (InvalidOperation, ValueError, TypeError):
                bad.append(i)
                continue
            out[i] = float(d)
            if keep:
                keep[i] = d
        _bad(raw, name, bad, "not a decimal number", vals)
        return keep if decimals == "decimal" else out
    # integer, float, double: JSON numbers
    ok = [v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in vals]
    bad = [i for i, good in enumerate(ok) if not good]
    if dtype == "integer":
        bad += [i for i, v in enumerate(vals) if isinstance(v, float) and not float(v).is_integer()]
    _bad(raw, name, sorted(bad), f"dataType {dtype} needs a JSON number", vals)
    return np.array([float(v) if good and v is not None else np.nan for v, good in zip(vals, ok, strict=True)],
                    dtype="float64")
