"""Ingest: read the study's ADaM datasets (XPT, Dataset-JSON, CSV, Parquet), check them, and map
them to the typed tables of :class:`~dossier.ingest.tables.StudyData`.

- :func:`check_study` reads and checks everything and returns an :class:`IngestReport` with every
  error and warning (never raises for data problems).
- :func:`load_study` does the same and returns ``(StudyData, IngestReport)``, raising a
  :class:`~dossier.errors.DataError` that lists the errors (file, column, row, USUBJID) if any.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dossier.errors import DataError, DossierError
from dossier.ingest.biomarker import map_adpd
from dossier.ingest.delivery import check_delivery
from dossier.ingest.mapping import (
    TABLE_OF,
    Mapper,
    map_adae,
    map_adex,
    map_adpc,
    map_adpp,
    map_adrs,
    map_adsl,
    map_adtte,
    map_ex,
)
from dossier.ingest.pk import pk_spec_of, read_pk_concentrations, subjects_from_pk
from dossier.ingest.pro import map_adqs
from dossier.ingest.readers import RawDataset, read_dataset
from dossier.ingest.report import DatasetCount, Exclusion, IngestReport, Issue, IssueCollector
from dossier.ingest.tables import TABLE_COLUMNS, StudyData

if TYPE_CHECKING:
    from dossier.spec import DatasetSpec, StudySpec

__all__ = ["load_study", "check_study", "IngestReport", "Issue", "DatasetCount", "Exclusion", "StudyData",
           "TABLE_COLUMNS", "read_dataset", "RawDataset"]

DATASET_ORDER = ("adsl", "adex", "ex", "adae", "adpp", "adpc", "adrs", "adtte", "adqs", "adpd")
MAX_ERRORS_IN_MESSAGE = 15


def control_arms(spec: StudySpec) -> list[str]:
    """Arms the spec declares as control (placebo) arms: their subjects have dose 0."""
    return list(getattr(spec.doses, "control_arms", None) or [])


def _ingest(spec: StudySpec, base_dir: Path) -> tuple[dict[str, pd.DataFrame | None], IngestReport, dict[str, str]]:
    report = IngestReport()
    issues = IssueCollector(report)
    tables: dict[str, pd.DataFrame | None] = {}
    sources: dict[str, str] = {}
    base_dir = Path(base_dir)
    for name in DATASET_ORDER:
        ds = getattr(spec.datasets, name)
        if ds is None:
            continue
        path = Path(ds.path)
        resolved = path if path.is_absolute() else base_dir / path
        shown = ds.path
        count = DatasetCount(name=name, path=shown, table=TABLE_OF[name])
        report.datasets.append(count)
        sources[TABLE_OF[name]] = str(resolved)
        try:
            raw = read_dataset(resolved, shown, ds.format, ds.encoding)
        except DossierError as err:
            report.errors.append(Issue(file=getattr(err, "file", shown), column=getattr(err, "column", None),
                                       row=getattr(err, "row", None), message=err.what, hint=err.hint))
            tables[TABLE_OF[name]] = None
            continue
        count.sha256, count.format, count.encoding, count.rows_in = raw.sha256, raw.format, raw.encoding, len(raw.frame)
        if raw.format == "xpt" and raw.format_version:
            count.format = f"xpt v{raw.format_version}"
        for level, column, row, message, hint in raw.notes:
            issues.add(level, message, file=shown, column=column, row=row, hint=hint)
        try:
            check_delivery(resolved, shown, raw, issues)
        except Exception as err:  # a defect must not surface as a traceback to the user
            issues.warning(f"the define.xml and checksum cross-checks failed ({type(err).__name__}: {err})",
                           file=shown, hint="this is a defect of dossier, not of your data; please report it")
        try:
            m, table = _map(name, raw, ds, spec, issues, count)
        except Exception as err:  # a defect must not surface as a traceback to the user
            issues.error(f"{name.upper()} could not be mapped ({type(err).__name__}: {err})", file=shown,
                         hint="this is a defect of dossier, not of your data; please report it with the file's "
                              "column names and types")
            tables[TABLE_OF[name]] = None
            continue
        if name == "ex" and tables.get("dosing") is not None:
            issues.error("per-record doses come from both ADEX and EX", file=shown,
                         hint="keep one source of dosing records: drop the EX dataset or the ADEX dose "
                              "records (filters.dose_paramcd: [])")
        tables[TABLE_OF[name]] = table
        if name == "ex":
            tables["_dosing_file"] = shown
        count.rows_out = 0 if table is None else int(m.keep.sum())
        if m.extra.get("dosing") is not None:
            tables["_dosing_file"] = shown
            if tables.get("dosing") is not None:
                issues.error("per-record doses come from both ADEX and EX", file=shown,
                             hint="keep one source of dosing records: drop the EX dataset or the ADEX dose "
                                  "records (filters.dose_paramcd: [])")
            tables["dosing"] = m.extra["dosing"]
            count.rows_out += len(m.extra["dosing"])
        tables[f"_mapper_{name}"] = m  # type: ignore[assignment]
        variables = tables.setdefault("_variables", {})
        variables.update({f"{TABLE_OF[name]}.{k}": str(v) for k, v in m.cols.items() if v})
    pk_spec = pk_spec_of(spec)
    if pk_spec is not None:
        tables["pk_profiles"] = read_pk_concentrations(pk_spec, base_dir, report, issues, tables.get("subjects"))
        if pk_spec.dataset is not None:
            sources["pk_profiles"] = str(base_dir / pk_spec.dataset.path)
        if spec.datasets.adsl is None and tables["pk_profiles"] is not None:  # PK-only study
            tables["subjects"] = subjects_from_pk(tables["pk_profiles"], list(spec.doses.levels), spec.doses.unit,
                                                  issues, pk_spec.dataset.path)
    if spec.combination is not None and spec.combination.data is not None:
        from dossier.ingest.combination import read_combination

        tables["combination"] = read_combination(spec.combination, base_dir, issues)  # type: ignore[assignment]
    try:
        _cross_checks(spec, tables, issues, report)
    except Exception as err:  # a defect must not surface as a traceback to the user
        issues.error(f"cross-dataset checks failed ({type(err).__name__}: {err})",
                     hint="this is a defect of dossier, not of your data; please report it")
    try:
        from dossier.ingest.plausibility import check_plausibility

        check_plausibility(tables, issues, getattr(spec.study, "document_date", None))
    except Exception as err:  # a defect must not surface as a traceback to the user
        issues.error(f"plausibility checks failed ({type(err).__name__}: {err})",
                     hint="this is a defect of dossier, not of your data; please report it")
    issues.finish()
    for key in [k for k in tables if k.startswith("_") and k != "_variables"]:  # the variables travel on
        del tables[key]
    return tables, report, sources


def _map(name: str, raw: RawDataset, ds: DatasetSpec, spec: StudySpec, issues: IssueCollector,
         count: DatasetCount) -> tuple[Mapper, pd.DataFrame | None]:
    columns = dict(ds.columns)
    if name == "adsl" and spec.doses.arm_variable and "arm" not in columns:
        columns["arm"] = spec.doses.arm_variable
    optional = frozenset({"dose"}) if name == "adsl" and spec.doses.arm_map else frozenset()
    m = Mapper(name, raw, columns, issues, count, ds, optional)
    f = spec.filters
    if not m.filter_ok:
        return m, None
    if name == "adsl":
        table = map_adsl(m, list(spec.doses.levels), control_arms(spec), dict(spec.doses.arm_map))
    elif name == "ex":
        table = map_ex(m, spec.doses.schedule, spec.doses.unit)
    elif name == "adex":
        table = map_adex(m, list(f.dose_paramcd), spec.doses.schedule, spec.doses.unit)
    elif name == "adae":
        table = map_adae(m)
    elif name == "adpp":
        table = map_adpp(m)
    elif name == "adpc":
        table = map_adpc(m)
    elif name == "adrs":
        table = map_adrs(m, f.response_paramcd, list(f.responders))
    elif name == "adqs":
        table = map_adqs(m)
    elif name == "adpd":
        table = map_adpd(m, {b.paramcd: (b.unit, b.visit) for b in spec.biomarkers})
    else:
        table = map_adtte(m, f.pfs_paramcd)
    return m, table


def _cross_checks(spec: StudySpec, tables: dict, issues: IssueCollector, report: IngestReport) -> None:
    subjects = tables.get("subjects")
    adsl_m: Mapper | None = tables.get("_mapper_adsl")
    if subjects is None or adsl_m is None:
        return
    known = set(subjects["usubjid"].astype(str))
    # subjects read from ADSL but excluded there (never treated): their records are excluded too
    excluded = set(pd.Series(adsl_m.usubjid[~adsl_m.keep], dtype=object).astype(str)) - known
    _subjects_missing_from_adsl(tables, known | excluded, issues, adsl_m.file)
    for name in DATASET_ORDER[1:]:
        m: Mapper | None = tables.get(f"_mapper_{name}")
        table_name = TABLE_OF[name]
        if m is None or tables.get(table_name) is None or m.usubjid is None:
            continue
        u = pd.Series(m.usubjid, dtype=object).astype(str)
        gone = u.isin(excluded).to_numpy() & m.keep
        if gone.any():
            m.exclude(gone, "subject excluded from ADSL (not treated)")
        orphan = np.flatnonzero(m.keep & ~u.isin(known).to_numpy() & u.ne("").to_numpy())
        if len(orphan):
            m.report_rows("error", "usubjid", orphan, "subject is not in ADSL",
                          "every subject must have an ADSL record; check USUBJID spelling or the ADSL file")
        if gone.any():
            t = tables[table_name]
            tables[table_name] = t[~t["usubjid"].astype(str).isin(excluded)].reset_index(drop=True)
            m.count.rows_out = int(m.keep.sum())
    _dosing_checks(tables, issues)
    # warnings a reviewer would ask about
    pk = tables.get("pk")
    if pk is not None:
        code = spec.filters.exposure_paramcd.upper()
        if not (pk["paramcd"] == code).any():
            m = tables["_mapper_adpp"]
            issues.error(f"no ADPP record has PARAMCD {code} (filters.exposure_paramcd)", file=m.file,
                         column=m.cols.get("paramcd"),
                         hint=f"set filters.exposure_paramcd to one of {sorted(set(pk['paramcd']))[:10]}")
        else:
            with_pk = set(pk.loc[pk["paramcd"] == code, "usubjid"].astype(str))
            treated = subjects[(subjects["dose"] > 0) & subjects["safety"]]
            adsl_rows = {u: i + 1 for i, u in enumerate(adsl_m.usubjid)}
            for u in treated["usubjid"].astype(str):
                if u not in with_pk:
                    issues.add("warning", f"treated subject has no {code} record in ADPP", file=adsl_m.file,
                               row=adsl_rows.get(u), usubjid=u, kind="no PK",
                               hint="check the subject's PK sampling; exposure-response analyses omit the subject")


def _subjects_missing_from_adsl(tables: dict, known: set[str], issues: IssueCollector, adsl_file: str) -> None:
    """Subjects that other datasets hold but ADSL lacks: reported on ADSL first (a cut-short ADSL is the usual
    cause), before the per-row errors of each other dataset."""
    missing: dict[str, list[str]] = {}
    for name in DATASET_ORDER[1:]:
        m: Mapper | None = tables.get(f"_mapper_{name}")
        if m is None or tables.get(TABLE_OF[name]) is None or m.usubjid is None:
            continue
        u = pd.Series(m.usubjid, dtype=object).astype(str)[m.keep]
        for subject in sorted(set(u[u.ne("")]) - known):
            missing.setdefault(subject, []).append(m.file)
    if missing:
        first = sorted(missing)[:3]
        files = sorted({f for fs in missing.values() for f in fs})
        issues.error(f"{len(missing)} subject(s) that other datasets hold are missing from ADSL (first: "
                     f"{', '.join(first)}; in {', '.join(files)})", file=adsl_file, column="USUBJID",
                     kind="subjects missing from ADSL",
                     hint="if ADSL was cut short (an interrupted copy or export), re-export it; otherwise check "
                          "the USUBJID spelling in the other datasets")


def _dosing_checks(tables: dict, issues: IssueCollector) -> None:
    """Dosing records: study days from dates where only dates are given, overlapping records with
    different doses, the dose at each AE's onset, and exposure totals the ADEX overall records lack."""
    from dossier.ingest.dosing import dose_at, dosing_summary, effective_intervals

    dosing, subjects = tables.get("dosing"), tables.get("subjects")
    if dosing is None or subjects is None:
        return
    dosing = dosing[dosing["usubjid"].astype(str).isin(set(subjects["usubjid"].astype(str)))].reset_index(drop=True)
    first = dosing["usubjid"].astype(str).map(subjects.set_index(subjects["usubjid"].astype(str))["first_dose_date"])
    first = first.astype("datetime64[ns]")
    if first.isna().all() and dosing["start_date"].notna().any():
        first = dosing.groupby("usubjid")["start_date"].transform("min").astype("datetime64[ns]")
    for day, date in (("start_day", "start_date"), ("end_day", "end_date")):
        delta = (dosing[date].dt.normalize() - first.dt.normalize()).dt.days.astype("float64")
        derived = np.where(delta >= 0, delta + 1, delta)  # ADaM: no day 0
        dosing[day] = dosing[day].where(dosing[day].notna(), pd.Series(derived, index=dosing.index))
    from dossier.ingest.dosing import administrations

    missing_n = dosing["n_admin"].isna() & dosing["end_day"].notna()
    if missing_n.any():
        dosing.loc[missing_n, "n_admin"] = administrations(
            dosing.loc[missing_n, "start_day"].to_numpy(float), dosing.loc[missing_n, "end_day"].to_numpy(float),
            dosing.loc[missing_n, "frequency"].astype(str).to_numpy())
    eff = effective_intervals(dosing)
    for _u, g in eff.groupby("usubjid", sort=False):
        same = g[g.duplicated("start_day", keep=False) & g["start_day"].notna()]
        for _day, h in same.groupby("start_day"):
            if h["dose"].nunique() > 1:
                rows = [int(r) for r in h["row"]]
                issues.error(f"dosing records at rows {', '.join(map(str, rows))} start on the same day "
                             f"({_day:g}) with different doses {sorted(h['dose'].unique().tolist())}",
                             file=str(tables.get("_dosing_file", "dosing")), row=rows[-1],
                             usubjid=str(_u), kind="overlapping dosing records",
                             hint="select one treatment's records with a record filter (e.g. PARCAT2 == \"Drug A\")")
    tables["dosing"] = dosing
    ae = tables.get("adverse_events")
    if ae is not None and len(ae):
        ae["dose_at_onset"] = dose_at(dosing, ae["usubjid"].astype(str).to_numpy(), ae["start_day"].to_numpy(float))
    summary = dosing_summary(dosing, subjects.set_index(subjects["usubjid"].astype(str))["planned_dose"])
    derived = summary.set_index(summary["usubjid"].astype(str))
    derived = pd.DataFrame({"duration_days": derived["days_on_treatment"], "rdi_pct": derived["rdi_pct"],
                            "n_reductions": derived["n_reductions"], "n_interruptions": derived["n_interruptions"]})
    ex = tables.get("exposure")
    if ex is None:
        ex = pd.DataFrame({"usubjid": pd.array(derived.index.to_numpy(dtype=object), dtype="string")})
        for c in derived.columns:
            ex[c] = derived[c].to_numpy(float)
    else:
        keyed = ex.set_index(ex["usubjid"].astype(str))
        for c in derived.columns:
            keyed[c] = keyed[c].where(keyed[c].notna(), derived[c].reindex(keyed.index))
        extra = derived.index.difference(keyed.index)
        if len(extra):
            add = derived.loc[extra].reset_index(names="usubjid")
            keyed = pd.concat([keyed.reset_index(drop=True), add], ignore_index=True)
        ex = keyed.reset_index(drop=True)
        ex["usubjid"] = ex["usubjid"].astype("string")
    tables["exposure"] = ex[list(TABLE_COLUMNS["exposure"])].astype(TABLE_COLUMNS["exposure"])


def _to_study_data(tables: dict, sources: dict[str, str]) -> StudyData:
    return StudyData(subjects=tables["subjects"], exposure=tables.get("exposure"),
                     adverse_events=tables.get("adverse_events"), pk=tables.get("pk"),
                     concentrations=tables.get("concentrations"), pk_profiles=tables.get("pk_profiles"),
                     response=tables.get("response"),
                     time_to_event=tables.get("time_to_event"), sources=sources,
                     variables=dict(tables.get("_variables") or {}), dosing=tables.get("dosing"), pro=tables.get("pro"),
                     biomarker=tables.get("biomarker"), combination=tables.get("combination"))


def check_study(spec: StudySpec, base_dir: Path) -> IngestReport:
    """Read and check every dataset of the spec; collect all problems (never raises for data problems)."""
    _, report, _ = _ingest(spec, Path(base_dir))
    return report


def load_study(spec: StudySpec, base_dir: Path) -> tuple[StudyData, IngestReport]:
    """Read, check and map the spec's datasets. Raises DataError listing the problems if any is an error."""
    tables, report, sources = _ingest(spec, Path(base_dir))
    if report.has_errors() or tables.get("subjects") is None:
        raise ingest_error(report)
    return _to_study_data(tables, sources), report


def ingest_error(report: IngestReport) -> DataError:
    """One DataError summarizing the report's errors (the first locates it); ``.report`` holds all."""
    errors = report.errors or [Issue(message="ADSL could not be read")]
    first = errors[0]
    listed = [f"- {e.format_text()}" for e in errors[:MAX_ERRORS_IN_MESSAGE]]
    if len(errors) > MAX_ERRORS_IN_MESSAGE:
        listed.append(f"- ... and {len(errors) - MAX_ERRORS_IN_MESSAGE} more")
    what = (f"the input data have {len(errors)} error{'s' if len(errors) != 1 else ''}:\n    "
            + "\n    ".join(listed))
    err = DataError(what, where=first.location(),
                    hint=(first.hint + "; " if first.hint else "") + "`dossier validate SPEC` prints the full report")
    err.report = report  # type: ignore[attr-defined]
    return err
