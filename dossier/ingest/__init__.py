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
)
from dossier.ingest.pk import pk_spec_of, read_pk_concentrations, subjects_from_pk
from dossier.ingest.readers import RawDataset, read_dataset
from dossier.ingest.report import DatasetCount, Exclusion, IngestReport, Issue, IssueCollector
from dossier.ingest.tables import TABLE_COLUMNS, StudyData

if TYPE_CHECKING:
    from dossier.spec import StudySpec

__all__ = ["load_study", "check_study", "IngestReport", "Issue", "DatasetCount", "Exclusion", "StudyData",
           "TABLE_COLUMNS", "read_dataset", "RawDataset"]

DATASET_ORDER = ("adsl", "adex", "adae", "adpp", "adpc", "adrs", "adtte")
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
            m, table = _map(name, raw, ds.columns, spec, issues, count)
        except Exception as err:  # a defect must not surface as a traceback to the user
            issues.error(f"{name.upper()} could not be mapped ({type(err).__name__}: {err})", file=shown,
                         hint="this is a defect of dossier, not of your data; please report it with the file's "
                              "column names and types")
            tables[TABLE_OF[name]] = None
            continue
        tables[TABLE_OF[name]] = table
        count.rows_out = 0 if table is None else int(m.keep.sum())
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
    for key in [k for k in tables if k.startswith("_mapper_")]:
        del tables[key]
    return tables, report, sources


def _map(name: str, raw: RawDataset, columns: dict[str, str], spec: StudySpec, issues: IssueCollector,
         count: DatasetCount) -> tuple[Mapper, pd.DataFrame | None]:
    m = Mapper(name, raw, dict(columns), issues, count)
    f = spec.filters
    if name == "adsl":
        table = map_adsl(m, list(spec.doses.levels), control_arms(spec))
    elif name == "adex":
        table = map_adex(m)
    elif name == "adae":
        table = map_adae(m)
    elif name == "adpp":
        table = map_adpp(m)
    elif name == "adpc":
        table = map_adpc(m)
    elif name == "adrs":
        table = map_adrs(m, f.response_paramcd, list(f.responders))
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


def _to_study_data(tables: dict, sources: dict[str, str]) -> StudyData:
    return StudyData(subjects=tables["subjects"], exposure=tables.get("exposure"),
                     adverse_events=tables.get("adverse_events"), pk=tables.get("pk"),
                     concentrations=tables.get("concentrations"), pk_profiles=tables.get("pk_profiles"),
                     response=tables.get("response"),
                     time_to_event=tables.get("time_to_event"), sources=sources,
                     variables=dict(tables.get("_variables") or {}))


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
