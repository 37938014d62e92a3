"""Readers: XPT v5/v8 (labels, formats, encodings, dates), Dataset-JSON 1.1 (schema structure, types,
exact decimals), CSV, Parquet, and format detection from content."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from dossier.errors import DataError
from dossier.ingest.dataset_json import read_dataset_json
from dossier.ingest.readers import read_dataset, sas_kind, sniff_format


def dsj(columns: list[dict], rows: list[list], **extra) -> dict:
    """A minimal valid Dataset-JSON 1.1 object (keys required by the official schema)."""
    cols = [{"itemOID": f"IT.{c['name']}", "label": c["name"].title(), **c} for c in columns]
    return {"datasetJSONCreationDateTime": "2025-01-01T10:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": "IG.ADPP", "records": len(rows), "name": "ADPP", "label": "PK Parameters",
            "columns": cols, "rows": rows, **extra}


def write_json(tmp_path: Path, obj: dict, name: str = "ds.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# -- XPT ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [5, 8])
def test_xpt_v5_and_v8_keep_labels_formats_and_dates(tmp_path, version):
    df = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "TRTSDT": [23376.0, np.nan], "AVAL": [1.5, 2.0]})
    path = tmp_path / "adsl.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=version, table_name="ADSL",
                           column_labels=["Unique Subject Identifier", "Date of First Exposure", "Value"],
                           variable_format={"TRTSDT": "DATE9."})
    raw = read_dataset(path, "adsl.xpt")
    assert raw.format == "xpt" and raw.format_version == str(version)
    assert raw.labels["USUBJID"] == "Unique Subject Identifier"
    assert raw.formats["TRTSDT"].startswith("DATE9")
    assert raw.frame["TRTSDT"].iloc[0] == pd.Timestamp("2024-01-01")  # 23376 days after 1960-01-01
    assert pd.isna(raw.frame["TRTSDT"].iloc[1])
    assert len(raw.sha256) == 64


def test_xpt_v8_long_names_and_text_over_200_bytes(tmp_path):
    long = "x" * 300
    df = pd.DataFrame({"USUBJID": ["S-1"], "LONGVARIABLENAME": [long]})
    path = tmp_path / "long.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=8)
    raw = read_dataset(path, "long.xpt")
    assert raw.frame["LONGVARIABLENAME"].iloc[0] == long
    assert raw.notes == []  # v8 has no 200-byte limit


def test_xpt_v5_text_at_200_bytes_is_flagged_as_possibly_truncated(tmp_path):
    df = pd.DataFrame({"USUBJID": ["S-1"], "AETERM": ["y" * 200]})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    raw = read_dataset(path, "ae.xpt")
    assert raw.notes and raw.notes[0][1] == "AETERM" and "200 bytes" in raw.notes[0][3]


def _cp1252_xpt(tmp_path: Path) -> Path:
    df = pd.DataFrame({"USUBJID": ["S-1"], "AEDECOD": ["naive"], "AVAL": [1.0]})
    path = tmp_path / "enc.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    data = path.read_bytes().replace(b"naive", "na\u00efve".encode("windows-1252"))
    path.write_bytes(data)
    return path


def test_xpt_windows_1252_needs_and_honours_the_encoding_option(tmp_path):
    path = _cp1252_xpt(tmp_path)
    with pytest.raises(DataError) as exc:
        read_dataset(path, "enc.xpt")
    assert "encoding" in exc.value.hint and exc.value.where == "enc.xpt"
    raw = read_dataset(path, "enc.xpt", encoding="windows-1252")
    assert raw.frame["AEDECOD"].iloc[0] == "na\u00efve"


def test_truncated_xpt_is_a_data_error(tmp_path):
    df = pd.DataFrame({"USUBJID": [f"S-{i}" for i in range(50)], "AVAL": np.arange(50.0)})
    path = tmp_path / "t.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError) as exc:
        read_dataset(path, "t.xpt")
    assert exc.value.where == "t.xpt" and "corrupt" in exc.value.hint


def test_sas_format_kinds():
    assert sas_kind("DATE9.") == "date" and sas_kind("E8601DA10.") == "date" and sas_kind("YYMMDD10") == "date"
    assert sas_kind("DATETIME20.") == "datetime" and sas_kind("E8601DT19.") == "datetime"
    assert sas_kind("8.2") is None and sas_kind("$CHAR20.") is None and sas_kind(None) is None


# -- format detection --------------------------------------------------------------------------
def test_format_is_taken_from_content_not_extension(tmp_path):
    df = pd.DataFrame({"USUBJID": ["S-1"], "AVAL": [1.0]})
    path = tmp_path / "looks_like.csv"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    assert read_dataset(path, "looks_like.csv").format == "xpt"
    with pytest.raises(DataError) as exc:
        read_dataset(path, "looks_like.csv", declared_format="csv")
    assert "format: xpt" in exc.value.hint


def test_sniff_format():
    assert sniff_format(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000") == "xpt"
    assert sniff_format(b"PAR1\x15\x04") == "parquet"
    assert sniff_format(b'{"a": 1}\n["x"]\n') == "ndjson"
    assert sniff_format(b'{"a": 1, "rows": [["x"]]}') == "dataset-json"
    assert sniff_format(b"USUBJID,AVAL\nS-1,2\n") == "csv"
    assert sniff_format(b"\x00\x01\x02binary") is None


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.xpt").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_dataset(tmp_path / "empty.xpt", "empty.xpt")
    with pytest.raises(DataError, match="not found") as exc:
        read_dataset(tmp_path / "nope.xpt", "nope.xpt")
    assert "relative paths" in exc.value.hint


# -- Dataset-JSON ------------------------------------------------------------------------------
def test_dataset_json_decimals_are_exact_and_tiny_values_are_not_zero(tmp_path):
    values = ["4.9E-7", "0.0000001", "123456789.123456789", "0.1", "-2.5e-12", None]
    obj = dsj([{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "decimal"}],
              [[f"S-{i}", v] for i, v in enumerate(values)])
    raw = read_dataset(write_json(tmp_path, obj), "ds.json")
    got = raw.frame["AVAL"].tolist()
    assert got[:5] == [4.9e-7, 1e-7, 123456789.123456789, 0.1, -2.5e-12] and np.isnan(got[5])
    # decimals="decimal" keeps the exact decimal strings
    from decimal import Decimal

    exact = read_dataset_json(json.dumps(obj).encode(), "ds.json", decimals="decimal").frame["AVAL"]
    assert exact[2] == Decimal("123456789.123456789")


def test_dataset_json_types_honour_data_type_and_target_data_type(tmp_path):
    obj = dsj([{"name": "USUBJID", "dataType": "string"}, {"name": "N", "dataType": "integer"},
               {"name": "F", "dataType": "double"}, {"name": "B", "dataType": "boolean"},
               {"name": "TRTSDT", "dataType": "date", "targetDataType": "integer"},
               {"name": "ADTM", "dataType": "datetime", "targetDataType": "integer"},
               {"name": "RFSTDTC", "dataType": "datetime"},
               {"name": "S", "dataType": "string", "targetDataType": "decimal"}],
              [["S-1", 3, 1.25, True, "2024-01-01", "2024-01-01T08:30:00", "2024-01", "0.5"],
               ["S-2", None, None, None, None, None, None, None]])
    f = read_dataset(write_json(tmp_path, obj), "ds.json").frame
    assert f["N"].tolist()[0] == 3.0 and f["F"].tolist()[0] == 1.25 and f["B"].tolist()[0] is True
    assert f["TRTSDT"].iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(f["TRTSDT"].iloc[1])
    assert f["ADTM"].iloc[0] == pd.Timestamp("2024-01-01 08:30")
    assert f["RFSTDTC"].iloc[0] == "2024-01"  # ISO character variable: kept as text (partial date)
    assert f["S"].iloc[0] == 0.5


def test_dataset_json_wrong_value_types_are_reported_by_row(tmp_path):
    obj = dsj([{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "double"},
               {"name": "D", "dataType": "date", "targetDataType": "integer"}],
              [["S-1", "abc", "2024-01-01"], ["S-2", 1.0, "not a date"]])
    raw = read_dataset(write_json(tmp_path, obj), "ds.json")
    errs = {(n[1], n[2]) for n in raw.notes if n[0] == "error"}
    assert errs == {("AVAL", 1), ("D", 2)}


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o.pop("itemGroupOID"), "missing required key"),
    (lambda o: o.update(datasetJSONVersion="1.0.0"), "not 1.1"),
    (lambda o: o.update(extraKey=1), "unknown key"),
    (lambda o: o["columns"][0].update(dataType="text"), "dataType 'text'"),
    (lambda o: o["columns"][1].update(targetDataType="float"), "targetDataType"),
    (lambda o: o["columns"][0].pop("itemOID"), "misses ['itemOID']"),
    (lambda o: o.update(records=5), "`records` says 5"),
    (lambda o: o["rows"][0].pop(), "row 1 has 1 values"),
    (lambda o: o.update(datasetJSONCreationDateTime="yesterday"), "ISO 8601"),
])
def test_dataset_json_schema_structure_violations(tmp_path, mutate, expected):
    obj = dsj([{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "double"}], [["S-1", 1.0]])
    mutate(obj)
    with pytest.raises(DataError) as exc:
        read_dataset(write_json(tmp_path, obj), "ds.json")
    assert expected in exc.value.what and exc.value.where.startswith("ds.json")


def test_dataset_json_1_0_is_recognised_and_refused(tmp_path):
    obj = {"creationDateTime": "2023-01-01T00:00:00", "datasetJSONVersion": "1.0.0", "clinicalData": {}}
    with pytest.raises(DataError, match="1.0"):
        read_dataset(write_json(tmp_path, obj), "ds.json")


def test_ndjson_and_gzip_layouts_equal_json(tmp_path):
    obj = dsj([{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "decimal"}],
              [["S-1", "1.5"], ["S-2", "0.000000123"]])
    meta = {k: v for k, v in obj.items() if k != "rows"}
    nd = tmp_path / "ds.ndjson"
    nd.write_text("\n".join([json.dumps(meta)] + [json.dumps(r) for r in obj["rows"]]) + "\n")
    gz = tmp_path / "ds.dsjc"
    gz.write_bytes(gzip.compress(json.dumps(obj).encode()))
    a = read_dataset(write_json(tmp_path, obj), "ds.json")
    b, c = read_dataset(nd, "ds.ndjson"), read_dataset(gz, "ds.dsjc")
    assert b.format == "ndjson" and c.format == "dataset-json"
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.frame, c.frame)


def test_truncated_json_is_a_data_error(tmp_path):
    obj = dsj([{"name": "USUBJID", "dataType": "string"}], [["S-1"], ["S-2"]])
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(obj)[:-20])
    with pytest.raises(DataError, match="not valid JSON"):
        read_dataset(path, "ds.json")


# -- CSV / Parquet -----------------------------------------------------------------------------
def test_csv_reads_text_and_detects_separator(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("USUBJID;AVAL\nS-1;1,5\nS-2;NA\n", encoding="utf-8")
    raw = read_dataset(path, "a.csv")
    assert raw.format == "csv" and raw.frame["AVAL"].tolist() == ["1,5", "NA"]


def test_csv_in_windows_1252_needs_encoding(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("USUBJID,AEDECOD\nS-1,na\u00efve\n".encode("windows-1252"))
    with pytest.raises(DataError) as exc:
        read_dataset(path, "a.csv")
    assert exc.value.row == 1 and "encoding" in exc.value.hint
    assert read_dataset(path, "a.csv", encoding="windows-1252").frame["AEDECOD"].iloc[0] == "na\u00efve"


def test_parquet_and_corrupt_parquet(tmp_path):
    df = pd.DataFrame({"USUBJID": ["S-1"], "AVAL": [2.0]})
    path = tmp_path / "a.parquet"
    df.to_parquet(path)
    assert read_dataset(path, "a.parquet").frame["AVAL"].tolist() == [2.0]
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="Parquet"):
        read_dataset(path, "a.parquet")
