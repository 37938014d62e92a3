"""Regression tests of the silent differences the corruption campaign (benchmarks/campaign_corruption.py)
found: each mutated input must give a clean located error, or a warning naming its file, column and row.

The studies are the campaign's own (``adam``: standard ADaM; ``mapped``: the same with SDTM EX, ADQS, ADPC,
arm_map, rename, a record filter and code lists), written as CSV so each mutation is one visible cell."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
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


# -- the 7 silent differences of the campaign on main (seed 20261203, 1,000 cases) --------------------------

def test_damaged_system_organ_class_is_warned_at_its_row(tmp_path):
    """Cases 152 (csv duplicate_range) and 487 (xpt zero_range): one AEBODSYS became
    'BLOOD AND LYMPHATIC SYSTEBLOOD AND ...' / 'BLOOD AND LYM' while the term's other records kept the SOC."""
    def edit(t):
        ae = t["adae"]
        i = int(ae.index[ae["AEDECOD"] == "NEUTROPENIA"][1])
        ae.loc[i, "AEBODSYS"] = "BLOOD AND LYM"
        edit.row = i + 1

    data, report = ingest(tmp_path, "adam", edit_tables=edit)
    hits = warnings_at(report, "adae.csv", "AEBODSYS", row=edit.row)
    assert len(hits) == 1 and "BLOOD AND LYMPHATIC SYSTEM DISORDERS" in hits[0].message, report.format_text()


def test_damaged_action_term_is_warned_at_its_row(tmp_path):
    """Cases 287 (csv bitflip) and 580 (json bitflip): AEACN 'DRQG INTERRUPTED', 'DOSE NOT CJANGED'."""
    def edit(t):
        t["adae"].loc[5, "AEACN"] = "DRQG INTERRUPTED"
        t["adae"].loc[15, "AEACN"] = "DOSE NOT CJANGED"

    data, report = ingest(tmp_path, "adam", edit_tables=edit, fmt="json")
    assert warnings_at(report, "adae.json", "AEACN", row=6) and warnings_at(report, "adae.json", "AEACN", row=16)
    assert len([w for w in report.warnings if w.column == "AEACN"]) == 2
    # the sponsor's own codes, declared in a code list, are not questioned (the mapped study)
    data, report = ingest(tmp_path / "mapped")
    assert not [w for w in report.warnings if w.column == "AEACN"]


def test_paramcd_that_breaks_the_paramcd_param_pairing_is_warned(tmp_path):
    """Case 733 (ndjson duplicate_range): ADPP PARAMCD 'CMAXSMAXSS' on a 'Cmax at steady state' record."""
    def edit(t):
        t["adpp"].loc[19, "PARAMCD"] = "CMAXSMAXSS"

    data, report = ingest(tmp_path, "adam", edit_tables=edit)
    hits = warnings_at(report, "adpp.csv", "PARAMCD", row=20)
    assert len(hits) == 1 and "'CMAXSS'" in hits[0].message, report.format_text()


def test_blank_exposure_value_is_warned(tmp_path):
    """Case 772 (csv blank_required): a blank ADEX AVAL (NDOSRED) became a missing n_reductions silently."""
    def edit(t):
        t["adex"]["AVAL"] = t["adex"]["AVAL"].astype(object)
        t["adex"].loc[14, "AVAL"] = None

    data, report = ingest(tmp_path, "adam", edit_tables=edit)
    assert warnings_at(report, "adex.csv", "AVAL", row=15), report.format_text()
    assert data.exposure["n_reductions"].isna().sum() == 1


def test_a_flipped_mantissa_bit_is_classified_as_a_number_changed_in_the_file(tmp_path):
    """Case 744 (xpt bitflip): WEIGHTBL 67.6 -> 67.598046875, a valid IBM double that no reader can tell
    from real data; the campaign counts it apart (number-changed-in-file), and a text change is not one."""
    import adam_synthetic as synthetic

    tables = campaign.STUDIES["adam"]()
    spec = synthetic.write_study(tmp_path, fmt="xpt", tables=tables)
    path = tmp_path / "adsl.xpt"
    original = path.read_bytes()
    from dossier.ingest import read_dataset

    before = read_dataset(path, "adsl.xpt").frame
    col = list(before.columns).index("WEIGHTBL")
    data = bytearray(original)
    # the first observation starts after the OBS header; flip a low mantissa bit of its WEIGHTBL double
    # (character variables are stored as wide as their longest value, numbers in 8 bytes)
    obs = original.index(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!") + 80
    offset = 0
    for c in before.columns[:col]:
        numeric = before[c].dtype.kind in "fM"
        offset += 8 if numeric else max(1, int(before[c].astype(str).str.len().max()))
    data[obs + offset + 5] ^= 0x01
    path.write_bytes(bytes(data))
    after = read_dataset(path, "adsl.xpt").frame
    changed = after["WEIGHTBL"] != before["WEIGHTBL"]
    assert changed.sum() == 1 and abs(after["WEIGHTBL"][changed].iloc[0] - before["WEIGHTBL"][changed].iloc[0]) < 0.1
    assert campaign._numbers_changed_in_file(tmp_path, spec, "adsl", original)
    # a text cell changed is not a number change
    adae = tmp_path / "adae.xpt"
    good = adae.read_bytes()
    adae.write_bytes(good.replace(b"NAUSEA", b"NAUSEB", 1))
    assert not campaign._numbers_changed_in_file(tmp_path, spec, "adae", good)


# -- items of issue 19 without a test before ----------------------------------------------------------------

def test_adsl_cut_short_is_blamed_on_adsl_first(tmp_path):
    """A truncated ADSL (cut at a line boundary: a valid, shorter CSV) used to be reported only as errors of
    the other files ("subject is not in ADSL" at adex.csv, ...); the first error now names ADSL."""
    import adam_synthetic as synthetic
    from ingest_helpers import build_spec

    from dossier.ingest import load_study

    spec = synthetic.write_study(tmp_path, fmt="csv", tables=campaign.STUDIES["adam"]())
    lines = (tmp_path / "adsl.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "adsl.csv").write_text("".join(lines[:7]), encoding="utf-8")  # header + 6 of 12 subjects
    try:
        load_study(build_spec(spec), tmp_path)
    except DossierError as err:
        first = err.report.errors[0]
        assert first.file == "adsl.csv" and first.column == "USUBJID"
        assert first.message.startswith("6 subject(s) that other datasets hold are missing from ADSL")
        assert "cut short" in first.hint and err.where.startswith("adsl.csv")
    else:
        raise AssertionError("a cut-short ADSL was accepted")


def test_partial_dates_are_not_imputed_silently(tmp_path):
    """'2024' was read as 2024-01-01 and '2024-03' as 2024-03-01; partial dates are now not collected, warned."""
    def edit(t):
        t["adsl"]["TRTSDT"] = t["adsl"]["TRTSDT"].dt.strftime("%Y-%m-%d").astype(object)
        t["adsl"].loc[2, "TRTSDT"] = "2024"
        t["adsl"].loc[3, "TRTSDT"] = "2024-03"

    data, report = ingest(tmp_path, "adam", edit_tables=edit)
    assert [w.row for w in report.warnings if w.column == "TRTSDT" and "partial date" in w.message] == [3, 4]
    dates = data.subjects["first_dose_date"]
    assert dates.iloc[2:4].isna().all() and dates.drop(index=[2, 3]).notna().all()


def test_dataset_path_too_long_is_a_located_error(tmp_path):
    """Campaign case 183 (mapped csv.gz spec_hostile_value): a 5,000-character path made Path.exists() raise
    OSError (ENAMETOOLONG), a traceback out of ingest."""
    def edit(spec):
        spec["datasets"]["adqs"]["path"] = "x" * 5000

    err = ingest(tmp_path, edit_spec=edit)
    assert isinstance(err, DossierError)
    first = err.report.errors[0]
    assert first.file.startswith("xxx") and "File name too long" in first.message
    assert "path:" in first.hint and len(err.format()) < 3000


def test_huge_questionnaire_day_is_warned_at_its_adqs_row(tmp_path):
    """Campaign (seed 7) case 113 (mapped ndjson huge_number): ADQS ADY = 1e15 was accepted silently."""
    def edit(t):
        t["adqs"].loc[6, "ADY"] = 1e15

    data, report = ingest(tmp_path, edit_tables=edit, fmt="ndjson")
    hits = warnings_at(report, "adqs.ndjson", "ADY", row=7)
    assert hits and "3650" in hits[0].message, report.format_text()


# -- case 370 (mapped json duplicate_range): a damaged AEDECOD; the coding cross-checks and value substitution --

ALT = "ALANINE AMINOTRANSFERASE INCREASED"


def test_damaged_preferred_term_is_warned_against_its_coding_columns(tmp_path):
    """Case 370: one AEDECOD became 'ALANINE AMINOTRANSFERANOTRANSFERASE INCREASED' (a duplicated byte range)
    while AEBODSYS stayed INVESTIGATIONS: the term is new, so its SOC had nothing to differ from. A coded ADAE
    also carries AETERM, AELLT and AEPTCD (as the CDISC pilot's does); the damaged term no longer pairs with
    them and is warned at its row, once per broken pairing (AELLT, AEPTCD, AETERM -> AEDECOD)."""
    def damage(llt):
        def edit(t):
            ae = t["adae"]
            edit.row = int(ae.index[(ae["AEDECOD"] == ALT) & (ae["AELLT"] == llt)][0]) + 1
            ae.loc[edit.row - 1, "AEDECOD"] = "ALANINE AMINOTRANSFERANOTRANSFERASE INCREASED"
        return edit

    edit = damage("ALT INCREASED")  # 4 records share this AELLT (and AETERM), 6 this AEPTCD
    data, report = ingest(tmp_path, edit_tables=edit, fmt="json")
    hits = warnings_at(report, "adae.json", "AEDECOD", row=edit.row)
    whys = ("MedDRA places each lowest level term under one preferred term",
            "a preferred term and its MedDRA code name each other", "a study codes each verbatim term to one")
    assert len(hits) == 3 and all(any(w in h.message for h in hits) for w in whys), report.format_text()
    assert all(f"'{ALT}'" in h.message for h in hits)
    assert len(report.warnings) == 3  # nothing else is questioned
    # 2 records share 'ALT RAISED': one against one, neither can be told right, so both are warned (by AELLT and
    # AETERM); the code's 5 other records still single out the damaged one
    edit = damage("ALT RAISED")
    data, report = ingest(tmp_path / "tie", edit_tables=edit, fmt="json")
    rows = sorted(w.row for w in report.warnings)
    assert len(rows) == 5 and rows.count(edit.row) == 3 and len(set(rows)) == 2, report.format_text()


def test_substituted_preferred_term_is_seen_by_its_code_and_soc(tmp_path):
    """A valid term replaced by another valid term (RASH -> NAUSEA) is caught where the record carries a column
    that pairs with it: AEPTCD (and AELLT, AETERM, AEBODSYS)."""
    def edit(t):
        ae = t["adae"]
        edit.row = int(ae.index[ae["AEDECOD"] == "RASH"][0]) + 1
        ae.loc[edit.row - 1, "AEDECOD"] = "NAUSEA"

    data, report = ingest(tmp_path, "adam", edit_tables=edit)
    columns = {w.column for w in report.warnings if w.row == edit.row}
    assert columns == {"AEDECOD", "AEBODSYS", "AEPTCD"}, report.format_text()


@pytest.mark.parametrize("folder", ["cdisc-pilot-adam", "random-cdisc-data"])
def test_coding_checks_are_quiet_on_real_adae_and_see_a_damaged_record(folder):
    """Real ADAE (the CDISC pilot: 1,191 records, 242 preferred terms with AETERM/AELLT/AELLTCD/AEPTCD;
    random.cdisc.data: AETERM/AELLT) is coded consistently: the cross-checks question no record of it. One
    damaged AEDECOD in a copy is warned at its row, once per column that pairs with it."""
    import dataclasses

    from ingest_helpers import shared

    from dossier.ingest.mapping import Mapper, map_adae
    from dossier.ingest.readers import read_dataset
    from dossier.ingest.report import DatasetCount, IngestReport, IssueCollector

    raw = read_dataset(shared(folder, "adae.xpt"), "adae.xpt")

    def coding_warnings(frame):
        rep = IngestReport()
        m = Mapper("adae", dataclasses.replace(raw, frame=frame), {}, IssueCollector(rep),
                   DatasetCount(name="adae", path="adae.xpt"))
        map_adae(m)
        return [(w.column, w.row) for w in rep.warnings if "differs from the other records" in w.message]

    assert coding_warnings(raw.frame) == []
    damaged = raw.frame.copy()
    damaged.loc[10, "AEDECOD"] = str(damaged.loc[10, "AEDECOD"]) + "X"
    pairing = [c for c in ("AELLT", "AEPTCD", "AETERM") if c in damaged and str(damaged.loc[10, c]).strip()
               not in ("", "nan")]
    assert coding_warnings(damaged) == [("AEDECOD", 11)] * len(pairing) and pairing


def test_value_substitution_class_is_narrow(tmp_path):
    """The campaign's ``value-substituted`` class holds a file whose only change is a value replaced by another
    value of the same column; a garbled value, a blanked value or a lost row is not in it (those are silent
    differences unless ingest warns), and numbers changed into numbers are their own class."""
    import adam_synthetic as synthetic

    spec = synthetic.write_study(tmp_path, fmt="csv", tables=campaign.STUDIES["adam"]())
    path = tmp_path / "adrs.csv"
    original = path.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    col = lines[0].rstrip("\n").split(",").index("AVALC")

    def rewrite(row: int, value: str | None) -> str:
        cells = lines[row].rstrip("\n").split(",")
        if value is None:
            return "".join(lines[:row] + lines[row + 1:])
        cells[col] = value
        return "".join(lines[:row] + [",".join(cells) + "\n"] + lines[row + 1:])

    held = {ln.rstrip("\n").split(",")[col] for ln in lines[1:]}
    first = lines[1].rstrip("\n").split(",")[col]
    other = sorted(held - {first})[0]
    cases = {other: "value-substituted", first + "X": None, "": None}
    for value, expected in cases.items():
        path.write_text(rewrite(1, value))
        assert campaign._substitution_in_file(tmp_path, spec, "adrs", original) == expected, value
    path.write_text(rewrite(1, None))  # a row lost
    assert campaign._substitution_in_file(tmp_path, spec, "adrs", original) is None
    # the substitute_value mutation replaces a cell by another value of its own column, nothing else
    tables = campaign.STUDIES["adam"]()
    before = {k: v.copy() for k, v in tables.items()}
    import numpy as np

    campaign.substitute_value(tables, np.random.default_rng(3))
    changed = [(k, c) for k in tables for c in tables[k].columns
               if not tables[k][c].astype(str).equals(before[k][c].astype(str))]
    assert len(changed) == 1
    k, c = changed[0]
    diff = tables[k][c].astype(str) != before[k][c].astype(str)
    assert diff.sum() == 1 and tables[k][c][diff].iloc[0] in set(before[k][c].astype(str))


# -- items of issue 19 whose regression test was missing ------------------------------------------------------

@pytest.mark.parametrize("position", [0.3, 0.6, 0.9])
def test_one_flipped_bit_in_a_dsjc_deflate_body_is_a_clean_error(tmp_path, position):
    """Issue 19: a corrupt .dsjc (gzip-compressed Dataset-JSON) was a zlib.error traceback."""
    def edit(spec):
        path = tmp_path / spec["datasets"]["adae"]["path"]
        data = bytearray(path.read_bytes())
        data[int(len(data) * position)] ^= 0x10
        path.write_bytes(bytes(data))

    err = ingest(tmp_path, "adam", edit_spec=edit, fmt="dsjc")
    assert isinstance(err, DossierError) and err.report.errors[0].file == "adae.dsjc", err


def test_toxicity_grade_9_stored_as_text_is_an_error_at_its_row(tmp_path):
    """Issue 19: AETOXGR '9' (a text column) was accepted as a grade."""
    def edit(t):
        t["adae"]["AETOXGR"] = t["adae"]["AETOXGR"].astype(str)
        t["adae"]["ATOXGR"] = t["adae"]["ATOXGR"].astype(str)
        t["adae"].loc[6, "ATOXGR"] = "9"

    err = ingest(tmp_path, "adam", edit_tables=edit, fmt="json")
    assert isinstance(err, DossierError)
    hits = [e for e in err.report.errors if e.file == "adae.json" and e.row == 7]
    assert len(hits) == 1 and "grade outside 1-5" in hits[0].message, err.report.format_text()


@pytest.mark.parametrize("ds", ["adex", "adtte"])
def test_xpt_cut_at_a_row_boundary_is_reported_by_the_subjects_it_loses(tmp_path, ds):
    """Issue 19: an XPT v5 file cut at a row boundary (and at a multiple of 80 bytes, so the format cannot
    tell) read as fewer rows with no warning. The subjects it lost are now reported, naming the file."""
    import adam_synthetic as synthetic

    from dossier.ingest.readers import read_dataset

    spec = synthetic.write_study(tmp_path, fmt="xpt", tables=campaign.STUDIES["adam"]())
    path = tmp_path / f"{ds}.xpt"
    data = path.read_bytes()
    n = len(read_dataset(path, path.name).frame)
    obs = data.index(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!") + 80
    for cut in range(obs + 80, len(data), 80):  # the first 80-byte boundary that is also a row boundary
        path.write_bytes(data[:cut])
        try:
            if 0 < len(read_dataset(path, path.name).frame) < n:
                break
        except DossierError:
            continue
    else:
        raise AssertionError("no row boundary at a multiple of 80 bytes")
    data_, report = campaign.ingest(tmp_path, yaml.safe_dump(spec, sort_keys=False))
    hits = [w for w in report.warnings if w.file == f"{ds}.xpt" and "have no record in this dataset" in w.message]
    assert len(hits) == 1, report.format_text()


# -- the 2 silent differences of the full campaign on this branch (seed 20261203, 1,000 cases) ----------------

def test_race_damaged_in_its_xpt_padding_is_warned_at_its_row(tmp_path):
    """Case 246 (adam xpt bitflip): a flipped bit of ADSL RACE's blank padding made 'ASIAN' into
    'ASIAN              (' (a new category of race). RACE and SEX are now checked against their CDISC
    codelists (C74457, C66731, non-extensible)."""
    def edit(t):
        t["adsl"].loc[1, "RACE"] = "ASIAN              ("
        t["adsl"].loc[4, "SEX"] = "X"

    data, report = ingest(tmp_path, "adam", edit_tables=edit, fmt="xpt")
    assert [(w.column, w.row) for w in report.warnings] == [("SEX", 5), ("RACE", 2)], report.format_text()
    assert "C74457" in report.warnings[1].message and "'ASIAN              ('" in report.warnings[1].message


@pytest.mark.parametrize("path", [("cdisc-pilot-adam", "adsl.xpt"), ("cdisc-pilot-adam", "sdtm", "dm.xpt"),
                                  ("random-cdisc-data", "adsl.xpt")])
def test_real_demographics_are_cdisc_terms(path):
    """The codelists are those real data use: every RACE and SEX of the CDISC pilot (ADSL, DM) and of
    random.cdisc.data (all six races of it, MULTIPLE included) is a term."""
    from ingest_helpers import shared

    from dossier.ingest.mapping import DEMOGRAPHIC_TERMS
    from dossier.ingest.readers import read_dataset

    frame = read_dataset(shared(*path), path[-1]).frame
    for field, (terms, _) in DEMOGRAPHIC_TERMS.items():
        values = {str(v).strip().upper() for v in frame[field.upper()].dropna()} - {""}
        assert values and values <= terms, (field, values - terms)


def test_a_repeated_questionnaire_visit_on_another_day_is_warned(tmp_path):
    """Case 206 (mapped csv.gz conflicting_duplicate): a second ADQS PRO16A record of a subject at WEEK 8, on
    day 58 beside day 57, was used silently (121 PRO records instead of 120). A repeat of a scheduled visit
    is now warned at its row (real ADaM flags the analysed one with ANL01FL; the CDISC pilot ADCIBC has 25
    such pairs); unscheduled visits are not."""
    def edit(t):
        qs = t["adqs"]
        row = qs[(qs["PARAMCD"] == "PRO16A") & (qs["AVISIT"] == "WEEK 8")].iloc[[0]].assign(ADY=58.0)
        unscheduled = qs.iloc[[0, 0]].assign(AVISIT="UNSCHEDULED", AVISITN=99.0, ADY=[40.0, 41.0])
        t["adqs"] = pd.concat([qs, row, unscheduled], ignore_index=True)

    data, report = ingest(tmp_path, edit_tables=edit)
    hits = [w for w in report.warnings if w.file == "adqs.csv"]
    assert [(w.column, w.row) for w in hits] == [("AVISIT", 121)], report.format_text()
    assert len(data.pro) == 123  # every record is used, as the warning says
