"""Cross-checks of the datasets against the delivery files beside them (dossier/ingest/delivery.py): a
Define-XML 2.0/2.1 document and checksum files.

The define.xml here is written in the structure of the R Consortium pilot 1 define.xml (a real FDA
submission, Define-XML 2.0: ODM 1.3.2 root, MetaDataVersion, one ItemGroupDef per dataset with ItemRef
(KeySequence on the keys) and def:leaf xlink:href, ItemDef names); checked by hand against that file and its
datasets, on which the checks report nothing. Define-XML declares no record count, so a file cut at a row
boundary is caught by a checksum file, or where subjects go missing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from test_corruption_regressions import campaign

from dossier.errors import DossierError

KEYS = {"adsl": ["USUBJID"], "adae": ["USUBJID", "AESEQ"], "adex": ["USUBJID", "PARAMCD"],
        "adpp": ["USUBJID", "PARAMCD"], "adrs": ["USUBJID", "PARAMCD"], "adtte": ["USUBJID", "PARAMCD"]}


def define_xml(tables: dict, files: dict[str, str], version: str = "2.0", no_data: tuple[str, ...] = (),
               extra_variable: str | None = None) -> str:
    ns = f"http://www.cdisc.org/ns/def/v{version}"
    groups, items = [], []
    for name, df in tables.items():
        up = name.upper()
        refs = []
        columns = list(df.columns) + ([extra_variable] if extra_variable and name == "adae" else [])
        for k, col in enumerate(columns, 1):
            key = KEYS.get(name, [])
            seq = f' KeySequence="{key.index(col) + 1}"' if col in key else ""
            refs.append(f'<ItemRef ItemOID="IT.{up}.{col}" OrderNumber="{k}" Mandatory="No"{seq}/>')
            items.append(f'<ItemDef OID="IT.{up}.{col}" Name="{col}" DataType="text" Length="200"/>')
        nodata = ' def:HasNoData="Yes"' if name in no_data else ""
        groups.append(f'<ItemGroupDef OID="IG.{up}" Name="{up}" Repeating="Yes" IsReferenceData="No" '
                      f'SASDatasetName="{up}" Purpose="Analysis" def:Structure="x" def:ArchiveLocationID="LF.{up}"'
                      f'{nodata}>{"".join(refs)}<def:leaf ID="LF.{up}" xlink:href="{files[name]}">'
                      f'<def:title>{files[name]}</def:title></def:leaf></ItemGroupDef>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="{ns}" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" ODMVersion="1.3.2" FileType="Snapshot" FileOID="F">'
            f'<Study OID="S"><MetaDataVersion OID="MDV" Name="m" def:DefineVersion="{version}.0">'
            + "".join(groups) + "".join(items) + "</MetaDataVersion></Study></ODM>\n")


def study(folder: Path, edit_tables=None, **define):
    """The campaign's ``adam`` study as CSV with a define.xml describing it (``define=None``: without one)."""
    tables = {k: v.copy() for k, v in campaign.STUDIES["adam"]().items()}
    spec = campaign.write_case_study(folder, "csv", tables, "adam")
    if define.pop("write", True):
        files = {n: d["path"] for n, d in spec["datasets"].items()}
        (folder / "define.xml").write_text(define_xml(tables, files, **define), encoding="utf-8")
    if edit_tables:
        edit_tables(folder)
    return spec


def ingest(folder: Path, spec: dict):
    try:
        return campaign.ingest(folder, yaml.safe_dump(spec, sort_keys=False))
    except DossierError as err:
        return err


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_a_define_xml_that_describes_the_files_is_quiet(tmp_path, version):
    data, report = ingest(tmp_path, study(tmp_path, version=version))
    assert report.errors == [] and report.warnings == []


def test_records_in_a_dataset_declared_without_data_are_an_error_with_both_counts(tmp_path):
    err = ingest(tmp_path, study(tmp_path, version="2.1", no_data=("adrs",)))
    assert isinstance(err, DossierError)
    [e] = [e for e in err.report.errors if e.file == "adrs.csv"]
    assert "declares ADRS has no data (def:HasNoData, 0 records) but the file holds 12 records" in e.message
    assert "define.xml" in e.message


def test_a_variable_the_define_declares_but_the_file_lacks_is_warned(tmp_path):
    data, report = ingest(tmp_path, study(tmp_path, extra_variable="AEOUT"))
    [w] = report.warnings
    assert (w.file, w.column) == ("adae.csv", "AEOUT") and "the file lacks 1: AEOUT" in w.message


def test_records_sharing_the_declared_key_are_warned_at_their_rows(tmp_path):
    def edit(folder):
        path = folder / "adrs.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        cells = lines[3].split(",")
        cells[-1] = "PD\n" if cells[-1].strip() != "PD" else "CR\n"  # the same subject again, another response
        path.write_text("".join(lines[:4] + [",".join(cells)] + lines[4:]), encoding="utf-8")

    err = ingest(tmp_path, study(tmp_path, edit_tables=edit))
    # a conflicting duplicate of the dataset's own key is an error already; the define.xml's key adds its word
    report = err.report
    hits = [w for w in report.warnings if "share the key USUBJID + PARAMCD" in w.message]
    assert len(hits) == 1 and hits[0].file == "adrs.csv" and "rows 3, 4" in hits[0].message, report.format_text()


@pytest.mark.parametrize("text, phrase", [
    ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     "<ODM>&b;</ODM>", "document type declaration"),
    ("<ODM><Study>", "not well-formed XML"),
    ('<?xml version="1.0"?><root/>', "declares no dataset"),
])
def test_a_hostile_or_broken_define_xml_is_not_used_and_never_stops_ingest(tmp_path, text, phrase):
    spec = study(tmp_path, write=False)
    (tmp_path / "define.xml").write_text(text, encoding="utf-8")
    data, report = ingest(tmp_path, spec)
    assert len(data.subjects) == 12 and report.errors == []
    assert {w.file for w in report.warnings} == {"define.xml"} and all(phrase in w.message for w in report.warnings)


# -- checksum files ---------------------------------------------------------------------------------------

def cut_adae_at_a_line(folder: Path) -> bytes:
    """Cut the last 5 AE records at a line boundary (a valid, shorter CSV with its final newline); returns the
    original bytes."""
    path = folder / "adae.csv"
    original = path.read_bytes()
    lines = original.decode("utf-8").splitlines(keepends=True)
    path.write_bytes("".join(lines[:-5]).encode("utf-8"))
    return original


def test_a_cut_at_a_row_boundary_is_invisible_to_the_format(tmp_path):
    """Why the checksum files matter: the cut ADAE reads as 25 AE records with no error (AEs are not one per
    subject, so no subject cross-check can see it)."""
    spec = study(tmp_path, write=False)
    cut_adae_at_a_line(tmp_path)
    data, report = ingest(tmp_path, spec)
    assert len(data.adverse_events) == 25 and report.errors == []


@pytest.mark.parametrize("style", ["adae.csv.sha256", "SHA256SUMS", "adae.csv.md5", "MD5SUMS"])
def test_a_checksum_file_beside_the_dataset_catches_the_cut(tmp_path, style):
    spec = study(tmp_path, write=False)
    algo = "md5" if "md5" in style.lower() else "sha256"
    digest = hashlib.new(algo, (tmp_path / "adae.csv").read_bytes()).hexdigest()
    other = hashlib.new(algo, (tmp_path / "adsl.csv").read_bytes()).hexdigest()
    listing = f"{other}  adsl.csv\n{digest} *adae.csv\n"  # a listing names each file (binary mode: *name)
    (tmp_path / style).write_text(listing if style.endswith("SUMS") else f"{digest}  adae.csv\n", encoding="utf-8")
    data, report = ingest(tmp_path, spec)
    assert report.errors == [] and report.warnings == []  # the intact files match their checksums
    cut_adae_at_a_line(tmp_path)
    err = ingest(tmp_path, spec)
    assert isinstance(err, DossierError)
    [e] = [e for e in err.report.errors if e.file == "adae.csv"]
    cut = hashlib.new(algo, (tmp_path / "adae.csv").read_bytes()).hexdigest()
    assert f"the file's {algo.upper()} is {cut} but {style} declares {digest}" in e.message
