"""Readers: one function per file format, each returning a :class:`RawDataset`.

Formats are recognised from the file's bytes (:func:`sniff_format`), never from the extension alone:

- SAS transport (XPT) v5 and v8, read with pyreadstat (pandas cannot read v8 and drops labels);
  variable labels and SAS formats are kept; date/datetime formats become pandas datetimes.
- CDISC Dataset-JSON v1.1, as one JSON object (``.json``, also gzip-compressed ``.dsjc``) or as
  NDJSON (metadata on line 1, one row array per line); see :mod:`dossier.ingest.dataset_json`.
- CSV (all cells read as text; typing happens in the ADaM mapping so bad cells are reported by row).
- Parquet (pyarrow).

Every failure to read (missing, truncated, corrupt file, wrong encoding) raises a
:class:`~dossier.errors.DataError` naming the file and how to fix it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import stat
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from dossier.errors import DataError
from dossier.ingest.raw import RawDataset, data_error

XPT_V5_MAGIC = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
XPT_V8_MAGIC = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"
PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
#: XPT v5 character variables hold at most 200 bytes; values this long may have been cut.
XPT_V5_MAX_CHAR = 200
#: decompressed size limits of gzip input (``.csv.gz``, ``.dsjc``): an absolute cap, and a ratio cap that
#: applies beyond :data:`MAX_RATIO_FREE_BYTES` (real ADaM data compress 5-50x; zip bombs 1,000x and more)
MAX_DECOMPRESSED_BYTES = int(os.environ.get("DOSSIER_MAX_DECOMPRESSED_BYTES", 2 << 30))
MAX_COMPRESSION_RATIO = 200
MAX_RATIO_FREE_BYTES = 64 << 20
#: the longest CSV cell accepted (characters), as Python's csv module's default field limit
MAX_CSV_CELL = 131_072


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gunzip(path: Path, shown: str, limit: int | None = None) -> bytes:
    """The decompressed content of a gzip file (all members), streamed with the size and ratio caps;
    ``limit`` stops early after that many bytes (for sniffing). Corrupt or truncated data is a DataError."""
    compressed_size = max(path.stat().st_size, 1)
    cap = MAX_DECOMPRESSED_BYTES if limit is None else limit
    hint = "re-export or re-download the file; it may have been damaged in transfer"
    out = bytearray()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        with path.open("rb") as fh:
            buf = b""
            while True:
                if not buf:
                    buf = fh.read(1 << 16)
                    if not buf:
                        break
                if d.eof:
                    if not buf.strip(b"\x00"):  # zero padding after the last member
                        buf = b""
                        continue
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a further gzip member
                out += d.decompress(buf, max(cap + 1 - len(out), 1))
                buf = d.unused_data if d.eof else d.unconsumed_tail
                if limit is not None and len(out) >= limit:
                    return bytes(out[:limit])
                _check_inflated(len(out), compressed_size, shown)
    except zlib.error as err:
        raise DataError(f"the gzip-compressed file is corrupt ({err})", where=shown, hint=hint) from None
    except OSError as err:
        raise DataError(f"cannot read the gzip-compressed file: {err.strerror or err}", where=shown,
                        hint=hint) from None
    if not d.eof and limit is None:
        raise DataError("the gzip-compressed file is truncated (its compressed stream ends early)", where=shown,
                        hint=hint)
    return bytes(out)


def _check_inflated(size: int, compressed: int, shown: str) -> None:
    if size > MAX_DECOMPRESSED_BYTES:
        raise DataError(f"the gzip-compressed file decompresses to more than {MAX_DECOMPRESSED_BYTES:,} bytes",
                        where=shown, hint="decompress it yourself and check its content; dossier refuses "
                                          "larger inputs (DOSSIER_MAX_DECOMPRESSED_BYTES)")
    if size > MAX_RATIO_FREE_BYTES and size > MAX_COMPRESSION_RATIO * compressed:
        raise DataError(f"the gzip-compressed file expands more than {MAX_COMPRESSION_RATIO}-fold "
                        f"({compressed:,} bytes to over {size:,}): a decompression bomb or not a dataset",
                        where=shown, hint="decompress it yourself and check its content")


#: iconv names (used by pyreadstat for XPT) of Python's canonical codec names
_ICONV = {"latin-1": "ISO-8859-1", "iso8859-1": "ISO-8859-1", "cp1252": "WINDOWS-1252", "utf-8": "UTF-8",
          "ascii": "ASCII", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE",
          "iso8859-15": "ISO-8859-15", "cp1250": "WINDOWS-1250", "shift_jis": "SHIFT_JIS", "cp932": "CP932",
          "euc_jp": "EUC-JP", "utf-8-sig": "UTF-8"}
_SINGLE_BYTE_LEGACY = ("latin-1", "iso8859-1", "cp1252", "iso8859-15", "cp1250")


def canonical_encoding(encoding: str | None, shown: str) -> str | None:
    """Python's canonical name of a declared encoding (``latin1``, ``ISO-8859-1`` -> ``iso8859-1``,
    ``windows-1252`` -> ``cp1252``); an unknown name is a DataError."""
    if encoding is None:
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", where=shown,
                        hint="use an encoding name such as utf-8, windows-1252, latin-1, utf-16") from None
    return "iso8859-1" if name == "latin-1" else name


def decode_text(data: bytes, encoding: str | None, shown: str) -> str:
    """Text of a file in its declared encoding (UTF-8 when none; a BOM decides UTF-16/32). Bytes that do not
    decode, and text that is evidently in another encoding than declared, are located DataErrors."""
    enc = canonical_encoding(encoding, shown)
    if enc is None:
        enc = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    elif enc == "utf-8":
        enc = "utf-8-sig"
    hint = "set `encoding:` for this dataset in the spec to the file's encoding, e.g. `encoding: windows-1252`"
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise data_error(f"the file is not valid {encoding or 'UTF-8'} text (byte {data[err.start:err.start + 1]!r} "
                         f"on line {line})", shown, row=max(line - 1, 1), hint=hint) from None
    if enc in _SINGLE_BYTE_LEGACY and any(b > 0x7F for b in data[:1 << 20]):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise DataError(f"the file is declared {encoding} but its text is UTF-8 (reading it as {encoding} "
                            f"would garble every accented character)", where=shown,
                            hint="remove `encoding:` (UTF-8 is the default) or re-export the file in the "
                                 "declared encoding")
        c1 = next((i for i, ch in enumerate(text) if "\x80" <= ch <= "\x9f"), None)
        if c1 is not None:
            line = text[:c1].count("\n") + 1
            raise data_error(f"the file decodes as {encoding} to control characters (U+{ord(text[c1]):04X} on "
                             f"line {line}): it is probably windows-1252", shown, row=max(line - 1, 1),
                             hint="declare `encoding: windows-1252`")
    return text


def sniff_format(head: bytes) -> str | None:
    """The format of a file from its first bytes (at least 4 KiB recommended), or None if unknown.

    Returns one of xpt, parquet, dataset-json, ndjson, csv, or "gzip" (to be decompressed and sniffed).
    """
    if head.startswith(XPT_V5_MAGIC) or head.startswith(XPT_V8_MAGIC):
        return "xpt"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        # NDJSON: a complete metadata object on the first line, then row arrays on the next lines
        first, nl, rest = text.partition(b"\n")
        if nl and rest.lstrip().startswith(b"["):
            return "ndjson"
        return "dataset-json"
    if not text:
        return None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text with its byte-order mark
        try:
            decoded = head[:len(head) - len(head) % 2].decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return None
        return sniff_format(decoded)
    if b"\x00" in head[:4096]:
        return None  # binary of an unknown kind
    return "csv"


def _display_format(fmt: str) -> str:
    return {"gzip": "gzip-compressed data"}.get(fmt, fmt)


def read_dataset(path: Path, shown: str, declared_format: str | None = None,
                 encoding: str | None = None) -> RawDataset:
    """Read one dataset file in whatever supported format its content shows."""
    try:
        path.stat()
    except FileNotFoundError:
        pass  # reported just below
    except OSError as err:  # a name too long, a loop of links, a path through a file, no permission
        short = shown if len(shown) <= 120 else f"{shown[:80]}...{shown[-30:]} ({len(shown):,} characters)"
        raise data_error(f"cannot use the dataset path: {err.strerror or err}", short,
                         hint="check `path:` in the spec; it must name a readable data file") from None
    if not path.exists():
        raise DataError(f"dataset file not found: {path}", where=shown,
                        hint="check `path:` in the spec; relative paths are taken from the spec file's folder")
    if path.is_dir():
        raise DataError(f"dataset path is a folder, not a file: {path}", where=shown,
                        hint="point `path:` at the .xpt/.json/.ndjson/.csv/.parquet file")
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise DataError(f"cannot read dataset file: {err.strerror or err}", where=shown,
                        hint="check the file exists and is readable") from None
    if not stat.S_ISREG(mode):
        raise DataError("the dataset path is not a regular file (a pipe, socket or device)", where=shown,
                        hint="point `path:` at a data file; dossier does not read from pipes or devices")
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as err:
        raise DataError(f"cannot read dataset file: {err.strerror or err}", where=shown,
                        hint="check the file exists and is readable") from None
    if not head:
        raise DataError("the dataset file is empty (0 bytes)", where=shown,
                        hint="re-export the dataset; the file may have been truncated by a failed copy")
    sniffed = sniff_format(head)
    compressed = sniffed == "gzip"
    if compressed:
        head = gunzip(path, shown, limit=8192)
        sniffed = sniff_format(head)
        if sniffed not in ("dataset-json", "ndjson", "csv"):
            raise DataError("gzip-compressed file does not hold Dataset-JSON, NDJSON or CSV", where=shown,
                            hint="decompress it and check what it holds")
    if sniffed is None:
        raise DataError("unrecognised file content: not SAS XPT, Dataset-JSON, NDJSON, CSV or Parquet",
                        where=shown, hint="export the dataset as SAS XPT (v5/v8), Dataset-JSON 1.1, CSV or Parquet")
    if declared_format and declared_format != sniffed:
        # Dataset-JSON and NDJSON are the same model; accept either spelling for either layout
        if {declared_format, sniffed} != {"dataset-json", "ndjson"}:
            raise DataError(f"the spec declares format '{declared_format}' but the file content is "
                            f"{_display_format(sniffed)}", where=shown,
                            hint=f"set `format: {sniffed}` (or remove `format:` to detect it) or fix `path:`")
    # hash in a thread while the parser runs (hashlib releases the GIL on large blocks)
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    sha_future = pool.submit(file_sha256, path)
    try:
        if sniffed == "xpt":
            raw = read_xpt(path, shown, encoding)
        elif sniffed == "parquet":
            raw = read_parquet(path, shown)
        elif sniffed in ("dataset-json", "ndjson"):
            from dossier.ingest.dataset_json import read_dataset_json

            data = gunzip(path, shown) if compressed else path.read_bytes()
            raw = read_dataset_json(data, shown, layout=sniffed, encoding=encoding)
        else:
            data = gunzip(path, shown) if compressed else path.read_bytes()
            raw = read_csv(data, shown, encoding)
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"cannot read the {sniffed} file: {getattr(err, 'strerror', None) or err}", where=shown,
                        hint="the file may be truncated or corrupt; re-export it") from None
    except MemoryError:
        raise DataError(f"the {sniffed} file is too large for the available memory", where=shown,
                        hint="split the dataset or run on a machine with more memory") from None
    finally:
        pool.shutdown(wait=True)
    raw.sha256 = sha_future.result()
    return raw


def read_xpt(path: Path, shown: str, encoding: str | None = None) -> RawDataset:
    """SAS transport v5 or v8 via pyreadstat, keeping labels and formats; dates become datetimes."""
    import pyreadstat

    py_encoding = canonical_encoding(encoding, shown)
    iconv = None if py_encoding is None else _ICONV.get(py_encoding, py_encoding.upper().replace("_", "-"))
    try:
        # dict output: pyreadstat's own DataFrame building converts every text column to pandas
        # strings, which costs more than the parse on big files; the mapping types what it uses
        columns, meta = pyreadstat.read_xport(str(path), encoding=iconv, disable_datetime_conversion=True,
                                              output_format="dict")
    except UnicodeDecodeError as err:
        raise DataError(f"text in the XPT file is not valid {encoding or 'UTF-8'} "
                        f"(byte {err.object[err.start:err.start + 1]!r})", where=shown,
                        hint="set `encoding:` for this dataset in the spec, e.g. `encoding: windows-1252`") from None
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", where=shown,
                        hint="use a Python codec name such as utf-8, windows-1252, latin-1") from None
    except Exception as err:  # pyreadstat raises ReadstatError/PyreadstatError for corrupt input
        raise DataError(f"cannot read the SAS XPT file ({type(err).__name__}: {err})", where=shown,
                        hint="the file is truncated or corrupt; re-export it with SAS/haven/pyreadstat") from None
    types = meta.readstat_variable_types or {}
    df = pd.DataFrame({name: pd.Series(np.array(values, dtype=object), dtype=object) if types.get(name) == "string"
                       else pd.Series(np.array(values, dtype="float64"))  # missing (None) -> NaN
                       for name, values in columns.items()}, columns=list(columns))
    with path.open("rb") as fh:
        version = "8" if fh.read(len(XPT_V8_MAGIC)) == XPT_V8_MAGIC else "5"
    _check_xpt_complete(path, shown, len(df), sum((meta.variable_storage_width or {}).values()))
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    formats = {k: v for k, v in (meta.original_variable_types or {}).items() if v}
    raw = RawDataset(frame=df, path=shown, format="xpt", sha256="", encoding=encoding or meta.file_encoding,
                     format_version=version, name=meta.table_name, labels=labels, formats=formats)
    _convert_sas_dates(raw)
    widths = meta.variable_storage_width or {}
    if version == "5":
        for col in df.columns:
            # only a variable stored 200 bytes wide can hold a value cut at the v5 limit
            if types.get(col) == "string" and len(df) and widths.get(col, 0) >= XPT_V5_MAX_CHAR:
                lengths = np.fromiter((len(str(v).encode(py_encoding or "utf-8", "replace")) if v else 0
                                       for v in df[col]), dtype=np.int64, count=len(df))
                if (lengths >= XPT_V5_MAX_CHAR).any():
                    row = int((lengths >= XPT_V5_MAX_CHAR).nonzero()[0][0]) + 1
                    raw.notes.append(("warning", col, row,
                                      f"values reach the XPT v5 limit of {XPT_V5_MAX_CHAR} bytes and may be truncated",
                                      "export as XPT v8 or Dataset-JSON to keep long text"))
    return raw


def _check_xpt_complete(path: Path, shown: str, n_rows: int, row_len: int) -> None:
    """Detect truncation, which readstat does not report (it returns the rows it could read).

    An XPT file is a sequence of 80-byte records; the observations of a (single-member) file run from
    the OBS header to the end, padded with blanks to a multiple of 80 bytes. Anything after the last
    complete row other than that padding means rows were cut off. V8 headers also state the row count.
    """
    size = path.stat().st_size
    hint = "the file is truncated (an interrupted copy or export); re-export or re-copy it"
    if size % 80:
        raise DataError(f"the XPT file size ({size} bytes) is not a multiple of 80 bytes", where=shown, hint=hint)
    with path.open("rb") as fh:
        head = fh.read(min(size, 1 << 20))
        while len(head) < size and b"HEADER RECORD*******OBS" not in head:
            head += fh.read(1 << 20)  # a header with very many variables
        markers = [head.find(m) for m in (b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!",
                                          b"HEADER RECORD*******OBSV8   HEADER RECORD!!!!!!!")]
        pos = max(markers)
        if pos < 0 or head.count(b"HEADER RECORD*******MEMBER") > 1 or row_len <= 0:
            return  # several members (not used for ADaM) or no variables: nothing more to check
        declared = head[pos + 48:pos + 80].strip()
        if declared.isdigit() and set(declared) != {ord("0")} and int(declared) != n_rows:
            raise DataError(f"the XPT header declares {int(declared)} rows but {n_rows} could be read",
                            where=shown, hint=hint)
        end_of_rows = pos + 80 + n_rows * row_len
        fh.seek(min(end_of_rows, size))
        leftover = fh.read()
    if end_of_rows > size or len(leftover) >= 80 or leftover.strip(b" ") != b"":
        raise DataError(f"the XPT file ends inside a row after {n_rows} complete rows", where=shown, hint=hint)


SAS_EPOCH = pd.Timestamp("1960-01-01")
SAS_DATE_FORMATS = ("DATE", "YYMMDD", "MMDDYY", "DDMMYY", "E8601DA", "IS8601DA", "B8601DA", "MONYY", "WEEKDATE",
                    "WORDDATE", "NLDATE", "YYMMN", "YYQ", "JULIAN", "MINGUO", "NENGO")
SAS_DATETIME_FORMATS = ("DATETIME", "E8601DT", "IS8601DT", "B8601DT", "DTDATE", "NLDATM", "DATEAMPM", "MDYAMPM")
SAS_DATE_LIMIT = 3_000_000  # days from 1960: about the year 10,000


def sas_kind(fmt: str | None) -> str | None:
    """"date" / "datetime" for a SAS format name such as DATE9. or E8601DT19., else None."""
    if not fmt:
        return None
    name = fmt.upper().rstrip("0123456789.").lstrip("$")
    if name.startswith(SAS_DATETIME_FORMATS):
        return "datetime"
    if name.startswith(SAS_DATE_FORMATS):
        return "date"
    return None


def _convert_sas_dates(raw: RawDataset) -> None:
    """SAS dates (days since 1960-01-01) and datetimes (seconds) to pandas datetimes; bad values reported."""
    for col, fmt in raw.formats.items():
        kind = sas_kind(fmt)
        if kind is None or col not in raw.frame or not pd.api.types.is_numeric_dtype(raw.frame[col]):
            continue
        vals = raw.frame[col].astype("float64")
        limit = SAS_DATE_LIMIT * (86400 if kind == "datetime" else 1)
        bad = vals.abs() > limit
        if bad.any():
            for i in bad.to_numpy().nonzero()[0][:10]:
                raw.notes.append(("error", col, int(i) + 1, f"SAS {kind} value {vals.iloc[i]:g} is out of range",
                                  f"a {fmt} value counts {'seconds' if kind == 'datetime' else 'days'} from 1960-01-01"))
            vals = vals.where(~bad)
        unit = "s" if kind == "datetime" else "D"
        raw.frame[col] = (SAS_EPOCH + pd.to_timedelta(vals, unit=unit)).astype("datetime64[ns]")


def read_parquet(path: Path, shown: str) -> RawDataset:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        df = table.to_pandas()  # decoding (e.g. of a damaged UTF-8 string page) happens here too
    except Exception as err:  # ArrowInvalid, OSError on truncated footers, UnicodeDecodeError in pages
        raise DataError(f"cannot read the Parquet file ({type(err).__name__}: {str(err)[:200]})", where=shown,
                        hint="the file is truncated or corrupt; re-export it") from None
    return RawDataset(frame=df, path=shown, format="parquet", sha256="")


def _sniff_separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] else ","


def read_csv(data: bytes, shown: str, encoding: str | None = None) -> RawDataset:
    """CSV with every cell as text (typing and its errors happen in the mapping, by row)."""
    enc = canonical_encoding(encoding, shown) or "utf-8-sig"
    text = decode_text(data, encoding, shown)
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    sep = _sniff_separator(first)
    _check_duplicate_names(first, sep, shown)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                         skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise DataError("the CSV file has no header line", where=shown,
                        hint="the first line must name the columns") from None
    except pd.errors.ParserError as err:
        raise DataError(f"the CSV file cannot be parsed: {err}", where=shown,
                        hint="check quoting and that every line has the same number of fields") from None
    df.columns = [str(c).strip() for c in df.columns]
    _check_csv_header(list(df.columns), shown)
    _check_csv_fields(text.lstrip("\ufeff"), sep, len(df.columns), shown)
    raw = RawDataset(frame=df, path=shown, format="csv", sha256="", encoding=enc)
    if text and not text.endswith(("\n", "\r")) and len(df):
        raw.notes.append(("warning", None, len(df), "the file does not end with a line break: its last line may "
                          "have been cut short", "compare the row count with the source; re-export if it is short"))
    return raw


def _check_duplicate_names(first_line: str, sep: str, shown: str) -> None:
    """Two columns of one name: pandas would rename the second and the first would be used silently."""
    import csv

    try:
        names = [n.strip() for n in next(csv.reader([first_line], delimiter=sep))]
    except (csv.Error, StopIteration):
        return
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        if name and name.upper() in seen and len(name) <= MAX_CSV_NAME:
            raise data_error(f"the header names column {name} twice (again as column {i})", shown, column=name,
                             hint="rename or remove one of the two columns; dossier does not guess which is meant")
        seen.add(name.upper())


#: the longest column name accepted in a CSV header (CDISC names have at most 32 characters)
MAX_CSV_NAME = 64


def _check_csv_header(names: list[str], shown: str) -> None:
    """A header names columns; a first line that cannot be one (a very long or control-character "name", as
    in a password or log file) is refused *without echoing it*, since the file may not be meant to be shown."""
    for i, name in enumerate(names, start=1):
        if len(name) > MAX_CSV_NAME or any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in name):
            raise DataError(f"the first line is not a CSV header: column {i}'s name has {len(name)} characters "
                            f"(at most {MAX_CSV_NAME}) or control characters; its content is not shown",
                            where=shown, hint="check `path:` points at the dataset; the first line must name the "
                                              "columns")


def _check_csv_fields(text: str, sep: str, ncol: int, shown: str) -> None:
    """Every record must have as many fields as the header (pandas silently pads short rows)."""
    import csv

    reader = csv.reader(io.StringIO(text), delimiter=sep)
    i = 0
    try:
        for i, rec in enumerate(reader):
            if i and rec and len(rec) != ncol:
                raise data_error(f"row {i} has {len(rec)} fields but the header names {ncol} columns", shown, row=i,
                                 hint="the file is truncated or a value holds an unquoted separator; re-export it")
    except csv.Error as err:
        row = reader.line_num - 1
        raise data_error(f"the CSV file cannot be parsed near line {reader.line_num}: {err} (a cell holds at most "
                         f"{MAX_CSV_CELL:,} characters)", shown, row=max(row, 1),
                         hint="check quoting: an unclosed quote makes the rest of the file one cell") from None
