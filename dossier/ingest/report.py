"""The ingest report: every problem found in the input data, and what happened to every row.

Checks never stop at the first problem: they add :class:`Issue` records to an :class:`IngestReport`
(errors are fatal, warnings are things a reviewer would ask about). The report also records, for
each dataset, its file hash, detected format and the rows read in and kept, with the reason for
every excluded row, so that nothing is lost silently. It serializes to JSON for ``evidence.json``
(``model_dump(mode="json")``) and prints as text for ``dossier validate``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

#: at most this many individual issues are listed per (file, column, message kind); the rest are
#: summarized in one issue so that a file with 200,000 bad cells gives a readable report.
MAX_ISSUES_PER_CHECK = 10


class Issue(BaseModel):
    """One problem in the input: where it is and how to fix it."""

    file: str | None = None
    column: str | None = None
    row: int | None = Field(None, description="1-based data row (record) number in the file")
    usubjid: str | None = None
    message: str
    hint: str | None = None

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.column:
            parts.append(f"column {self.column}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.usubjid:
            parts.append(f"USUBJID {self.usubjid}")
        return ", ".join(parts) or "(study)"

    def format_text(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.hint:
            text += f"\n      hint: {self.hint}"
        return text


class Exclusion(BaseModel):
    """Rows of a dataset that were read but not carried into the typed tables, and why."""

    reason: str
    rows: int


class DatasetCount(BaseModel):
    """Provenance and row accounting of one input dataset."""

    name: str = Field(description="dataset key in the spec, e.g. adsl")
    path: str
    sha256: str | None = None
    format: str | None = None
    encoding: str | None = None
    rows_in: int = 0
    rows_out: int = 0
    table: str | None = Field(None, description="the StudyData table this dataset feeds")
    excluded: list[Exclusion] = Field(default_factory=list)


class IngestReport(BaseModel):
    """Everything ingest found: errors, warnings and row counts per dataset."""

    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    datasets: list[DatasetCount] = Field(default_factory=list)

    def has_errors(self) -> bool:
        return bool(self.errors)

    def format_text(self) -> str:
        lines: list[str] = []
        if self.datasets:
            lines.append("Datasets:")
            for d in self.datasets:
                fmt = d.format or "?"
                lines.append(f"  {d.name:<6} {d.path} [{fmt}] rows in {d.rows_in}, out {d.rows_out}"
                             + (f" -> {d.table}" if d.table else ""))
                for ex in d.excluded:
                    lines.append(f"         excluded {ex.rows}: {ex.reason}")
        for title, issues in (("Errors", self.errors), ("Warnings", self.warnings)):
            if issues:
                lines.append(f"{title} ({len(issues)}):")
                lines.extend(f"  - {i.format_text()}" for i in issues)
        verdict = (f"FAILED: {len(self.errors)} error(s), {len(self.warnings)} warning(s)" if self.errors
                   else f"OK: no errors, {len(self.warnings)} warning(s)")
        lines.append(verdict)
        return "\n".join(lines)


class IssueCollector:
    """Adds issues to a report, capping how many are listed per check (the rest are summarized)."""

    def __init__(self, report: IngestReport):
        self.report = report
        self._counts: dict[tuple[str, str | None, str | None, str], int] = {}

    def add(self, level: str, message: str, *, file: str | None = None, column: str | None = None,
            row: int | None = None, usubjid: str | None = None, hint: str | None = None,
            kind: str | None = None) -> None:
        key = (level, file, column, kind or message)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n > MAX_ISSUES_PER_CHECK:
            return
        issue = Issue(file=file, column=column, row=row, usubjid=usubjid, message=message, hint=hint)
        (self.report.errors if level == "error" else self.report.warnings).append(issue)

    def bump(self, level: str, file: str | None, column: str | None, kind: str, n: int) -> None:
        """Count n more occurrences of a check without listing them."""
        key = (level, file, column, kind)
        self._counts[key] = self._counts.get(key, 0) + n

    def error(self, message: str, **kw) -> None:
        self.add("error", message, **kw)

    def warning(self, message: str, **kw) -> None:
        self.add("warning", message, **kw)

    def rows(self, level: str, message: str, rows: Iterable[tuple[int, str | None]], *, file: str,
             column: str | None, hint: str | None = None) -> int:
        """One issue per (row, usubjid) listed, capped; returns how many rows were affected."""
        n = 0
        for row, usubjid in rows:
            n += 1
            self.add(level, message, file=file, column=column, row=row, usubjid=usubjid, hint=hint,
                     kind=message)
        return n

    def finish(self) -> None:
        """Append a summary issue for every check that hit the listing cap."""
        for (level, file, column, kind), n in self._counts.items():
            if n > MAX_ISSUES_PER_CHECK:
                issue = Issue(file=file, column=column,
                              message=f"{n - MAX_ISSUES_PER_CHECK} more row(s) with the same problem: {kind}")
                (self.report.errors if level == "error" else self.report.warnings).append(issue)
        self._counts = {k: min(v, MAX_ISSUES_PER_CHECK) for k, v in self._counts.items()}
