"""Bounded work and clean errors on hostile or damaged inputs: gzip bombs and corrupt deflate, parser limits
(CSV cell size, JSON nesting), non-regular files, encodings by canonical name, Dataset-JSON numbers by the
JSON grammar only, and error messages that never echo a file's content."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pandas as pd
import pytest

import dossier.ingest.readers as readers
from dossier.errors import DataError
from dossier.ingest.dataset_json import read_dataset_json
from dossier.ingest.readers import canonical_encoding, gunzip, read_dataset

CSV = "USUBJID,AGE,SEX\nS-001,54,F\nS-002,61,M\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# -- gzip --------------------------------------------------------------------------------------------------

def test_gzip_csv_reads_like_the_plain_file(tmp_path):
    plain = read_dataset(write(tmp_path, "a.csv", CSV.encode()), "a.csv")
    packed = read_dataset(write(tmp_path, "a.csv.gz", gzip.compress(CSV.encode())), "a.csv.gz")
    pd.testing.assert_frame_equal(plain.frame, packed.frame)


def test_multi_member_gzip_is_read_whole(tmp_path):
    data = gzip.compress(CSV.encode()) + gzip.compress(b"S-003,70,F\n")
    raw = read_dataset(write(tmp_path, "a.csv.gz", data), "a.csv.gz")
    assert list(raw.frame["USUBJID"]) == ["S-001", "S-002", "S-003"]


@pytest.mark.parametrize("position", [0.3, 0.5, 0.8])
def test_one_flipped_bit_in_the_deflate_body_is_a_clean_error(tmp_path, position):
    body = (CSV + "".join(f"S-{i:04d},{20 + i % 60},{'MF'[i % 2]}\n" for i in range(3000))).encode()
    packed = bytearray(gzip.compress(body))
    i = int(len(packed) * position)
    packed[i] ^= 0x04
    with pytest.raises(DataError) as err:
        read_dataset(write(tmp_path, "a.csv.gz", bytes(packed)), "a.csv.gz")
    assert "a.csv.gz" in err.value.where


def test_truncated_gzip_is_a_clean_error(tmp_path):
    body = "".join(f"S-{i:04d},{i % 90},F\n" for i in range(5000)).encode()
    packed = gzip.compress(b"USUBJID,AGE,SEX\n" + body)
    with pytest.raises(DataError, match="truncated|corrupt"):
        read_dataset(write(tmp_path, "a.csv.gz", packed[: len(packed) // 2]), "a.csv.gz")


def test_decompression_bomb_is_refused_by_ratio_without_inflating_it(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_RATIO_FREE_BYTES", 1 << 20)
    bomb = gzip.compress(b"USUBJID,AGE\n" + b"0" * (64 << 20), compresslevel=9)  # 64 MiB -> ~65 KB
    with pytest.raises(DataError, match="expands more than 200-fold"):
        gunzip(write(tmp_path, "bomb.csv.gz", bomb), "bomb.csv.gz")


def test_decompressed_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_DECOMPRESSED_BYTES", 100_000)
    data = os.urandom(150_000)  # incompressible: the ratio cap does not apply, the size cap does
    with pytest.raises(DataError, match="more than 100,000 bytes"):
        gunzip(write(tmp_path, "big.gz", gzip.compress(data)), "big.gz")


# -- parser limits, file kinds -----------------------------------------------------------------------------

def test_csv_cell_over_the_limit_is_a_located_error(tmp_path):
    text = "USUBJID,NOTE\nS-1,ok\nS-2,\"" + "x" * (readers.MAX_CSV_CELL + 10) + "\"\n"
    with pytest.raises(DataError) as err:
        read_dataset(write(tmp_path, "a.csv", text.encode()), "a.csv")
    assert "131,072" in err.value.what and "a.csv" in err.value.where


def test_ndjson_nested_deeply_is_a_located_error(tmp_path):
    meta = {"datasetJSONCreationDateTime": "2024-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": "IG.ADSL", "records": 1, "name": "ADSL", "label": "x",
            "columns": [{"itemOID": "a", "name": "USUBJID", "label": "u", "dataType": "string"}]}
    data = json.dumps(meta).encode() + b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    with pytest.raises(DataError) as err:
        read_dataset(write(tmp_path, "a.ndjson", data), "a.ndjson")
    assert "row 1" in err.value.what and "nested" in err.value.what


def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "adsl.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_dataset(fifo, "adsl.csv")


def test_a_system_file_as_dataset_never_shows_its_content(tmp_path):
    hashed = "$6$" + "s" * 16 + "$" + "SECRETHASH" * 9  # a SHA-512 crypt entry, as in /etc/shadow
    secret = f"root:{hashed}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
    p = write(tmp_path, "shadow", secret.encode())
    with pytest.raises(DataError) as err:
        read_dataset(p, "/etc/shadow")
    assert "SECRETHASH" not in err.value.format() and "not a CSV header" in err.value.what


# -- encodings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, canonical", [("latin-1", "iso8859-1"), ("latin1", "iso8859-1"),
                                             ("ISO-8859-1", "iso8859-1"), ("windows-1252", "cp1252"),
                                             ("UTF-16", "utf-16"), ("utf8", "utf-8")])
def test_encodings_by_canonical_name(name, canonical):
    assert canonical_encoding(name, "x") == canonical


def test_unknown_encoding_is_a_clean_error():
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        canonical_encoding("klingon", "a.csv")


@pytest.mark.parametrize("declared", ["latin-1", "windows-1252"])
def test_legacy_encoded_csv_reads_with_its_declared_name(tmp_path, declared):
    text = "USUBJID,SITE\nS-1,Köln\nS-2,Besançon\n"
    raw = read_dataset(write(tmp_path, "a.csv", text.encode("latin-1")), "a.csv", encoding=declared)
    assert list(raw.frame["SITE"]) == ["Köln", "Besançon"]


def test_utf8_file_declared_latin1_is_an_error_not_mojibake(tmp_path):
    text = "USUBJID,SITE\nS-1,Köln\n"
    with pytest.raises(DataError, match="declared latin-1 but its text is UTF-8"):
        read_dataset(write(tmp_path, "a.csv", text.encode("utf-8")), "a.csv", encoding="latin-1")


def test_windows_1252_file_declared_latin1_is_an_error(tmp_path):
    text = "USUBJID,NOTE\nS-1,“quoted”\n"
    with pytest.raises(DataError, match="probably windows-1252"):
        read_dataset(write(tmp_path, "a.csv", text.encode("cp1252")), "a.csv", encoding="latin-1")


@pytest.mark.parametrize("declared", [None, "utf-16"])
def test_utf16_csv_with_bom(tmp_path, declared):
    raw = read_dataset(write(tmp_path, "a.csv", CSV.encode("utf-16")), "a.csv", encoding=declared)
    assert list(raw.frame.columns) == ["USUBJID", "AGE", "SEX"] and list(raw.frame["AGE"]) == ["54", "61"]


def test_xpt_accepts_latin_1_spelled_with_a_hyphen(tmp_path):
    import pyreadstat

    df = pd.DataFrame({"USUBJID": ["S-1"], "SITE": ["Köln"]})
    p = tmp_path / "a.xpt"
    pyreadstat.write_xport(df, str(p), file_format_version=5, table_name="ADSL")
    # pyreadstat writes UTF-8; read back as the declared legacy names must both work identically
    a = read_dataset(p, "a.xpt", encoding="latin1")
    b = read_dataset(p, "a.xpt", encoding="latin-1")
    pd.testing.assert_frame_equal(a.frame, b.frame)


# -- Dataset-JSON numbers ---------------------------------------------------------------------------------

def _dsj(col: dict, values: list) -> bytes:
    meta = {"datasetJSONCreationDateTime": "2024-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": "IG.X", "records": len(values), "name": "X", "label": "x", "columns": [col],
            "rows": [[v] for v in values]}
    return json.dumps(meta).encode()


@pytest.mark.parametrize("text", ["1_000", "１２", " 1.5", "0x10", "1e400", "Infinity", "+1", ".5"])
def test_decimal_strings_follow_the_json_number_grammar(text):
    raw = read_dataset_json(_dsj({"itemOID": "a", "name": "A", "label": "a", "dataType": "decimal"},
                                 ["2.5", text]), "x.json")
    assert raw.frame["A"].iloc[0] == 2.5 and pd.isna(raw.frame["A"].iloc[1])
    assert [(n[0], n[2]) for n in raw.notes] == [("error", 2)]


def test_nan_literal_is_not_json():
    data = _dsj({"itemOID": "a", "name": "A", "label": "a", "dataType": "float"}, [1.0]).replace(b"1.0", b"NaN")
    with pytest.raises(DataError, match="not valid JSON"):
        read_dataset_json(data, "x.json")


def test_date_beyond_the_analysable_range_is_a_located_error():
    raw = read_dataset_json(_dsj({"itemOID": "a", "name": "TRTSDT", "label": "a", "dataType": "date",
                                  "targetDataType": "integer"}, ["2024-01-01", "9999-12-31"]), "x.json")
    assert [(n[0], n[1], n[2]) for n in raw.notes] == [("error", "TRTSDT", 2)]
    assert pd.isna(raw.frame["TRTSDT"].iloc[1])


def test_csv_with_two_columns_of_one_name_is_an_error(tmp_path):
    with pytest.raises(DataError, match="names column AGE twice") as err:
        read_dataset(write(tmp_path, "a.csv", b"USUBJID,AGE,AGE\nS-1,54,55\n"), "a.csv")
    assert "column AGE" in err.value.where


def test_csv_without_final_newline_is_warned(tmp_path):
    raw = read_dataset(write(tmp_path, "a.csv", CSV.rstrip("\n").encode()), "a.csv")
    assert [(n[0], n[2]) for n in raw.notes] == [("warning", 2)]
    assert read_dataset(write(tmp_path, "b.csv", CSV.encode()), "b.csv").notes == []
