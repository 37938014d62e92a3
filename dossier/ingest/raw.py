"""A dataset as read from its file (:class:`RawDataset`), and the errors and JSON parsing the readers share.

Below both :mod:`dossier.ingest.readers` (the format dispatch) and :mod:`dossier.ingest.dataset_json` (the
Dataset-JSON reader), so that the dispatch can call the Dataset-JSON reader without an import cycle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from dossier.errors import DataError


@dataclass
class RawDataset:
    """A dataset as read from its file, before ADaM mapping."""

    frame: pd.DataFrame
    path: str  # as shown to users (the spec's path)
    format: str  # xpt | dataset-json | ndjson | csv | parquet
    sha256: str
    encoding: str | None = None
    format_version: str | None = None  # "5"/"8" for XPT, "1.1.0" for Dataset-JSON
    name: str | None = None  # member / dataset name inside the file
    labels: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    #: problems found while reading that are not fatal to reading (checked into the report)
    notes: list[tuple[str, str | None, int | None, str, str | None]] = field(default_factory=list)


def data_error(what: str, shown: str, hint: str | None = None, *, row: int | None = None,
               column: str | None = None) -> DataError:
    """A DataError that also carries the row/column it is about (for the ingest report)."""
    where = ", ".join([shown] + ([f"column {column}"] if column else []) + ([f"row {row}"] if row else []))
    err = DataError(what, where=where, hint=hint)
    err.file, err.row, err.column = shown, row, column  # type: ignore[attr-defined]
    return err



def json_loads(data: bytes, shown: str) -> object:
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"the file is not valid JSON: {err}", where=shown,
                        hint="the file may be truncated or hand-edited; re-export it") from None
    except RecursionError:
        raise DataError("the JSON is nested too deeply to be a dataset", where=shown,
                        hint="Dataset-JSON nests three levels; the file is corrupt or not a dataset") from None


def _no_constant(name: str) -> object:
    """NaN / Infinity are not JSON (RFC 8259); Python's json accepts them unless told not to."""
    raise ValueError(f"{name} is not a JSON number")
