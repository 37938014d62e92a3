"""Regression tests of the silent differences the corruption campaign (benchmarks/campaign_corruption.py)
found: each mutated input must give a clean located error, or a warning naming its file, column and row.

The studies are the campaign's own (``adam``: standard ADaM; ``mapped``: the same with SDTM EX, ADQS, ADPC,
arm_map, rename, a record filter and code lists), written as CSV so each mutation is one visible cell."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from dossier.errors import DossierError

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "campaign_corruption.py"
_SPEC = importlib.util.spec_from_file_location("campaign_corruption", _PATH)
campaign = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(campaign)


def ingest(folder: Path, study: str = "mapped", edit_tables=None, edit_spec=None, fmt: str = "csv"):
    """Write the campaign's study (with ``edit_tables`` applied to its frames and ``edit_spec`` to its spec)
    and ingest it; returns (data, report) or the DossierError."""
    tables = {k: v.copy() for k, v in campaign.STUDIES[study]().items()}
    if edit_tables:
        edit_tables(tables)
    spec = campaign.write_case_study(folder, fmt, tables, study)
    if edit_spec:
        edit_spec(spec)
    try:
        return campaign.ingest(folder, yaml.safe_dump(spec, sort_keys=False))
    except DossierError as err:
        return err


def warnings_at(report, file: str, column: str, row: int | None = None) -> list:
    return [w for w in report.warnings if w.file == file and w.column == column and (row is None or w.row == row)]


def test_the_mapped_study_reads_cleanly(tmp_path):
    data, report = ingest(tmp_path)
    assert report.errors == [] and report.warnings == []
    assert len(data.dosing) == 24 and len(data.pro) == 120 and len(data.pk_profiles) == 72


def test_huge_dosing_end_day_is_warned_at_its_ex_row(tmp_path):
    """Campaign case 10 (mapped parquet huge_number): EXENDY = 1e300 changed the dose at AE onset silently."""
    def edit(t):
        t["ex"].loc[3, "EXENDY"] = 1e300

    data, report = ingest(tmp_path, edit_tables=edit)
    hits = warnings_at(report, "ex.csv", "EXENDY", row=4)
    assert hits and "3650" in hits[0].message, report.format_text()


def test_dosing_record_ending_before_it_starts_and_huge_dose_are_warned(tmp_path):
    def edit(t):
        t["ex"].loc[5, "EXENDY"] = 10.0  # starts on day 22
        t["ex"].loc[7, "EXDOSE"] = 1e15

    data, report = ingest(tmp_path, edit_tables=edit)
    assert warnings_at(report, "ex.csv", "EXENDY", row=6), report.format_text()
    hits = warnings_at(report, "ex.csv", "EXDOSE", row=8)
    assert hits and "highest planned dose" in hits[0].message
