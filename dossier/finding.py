"""A finding: one statement of the spec that the evidence does not bear out (the rules that make them are in
:mod:`dossier.findings`). Kept apart from those rules so that the evidence and the analyses can hold findings
without importing the checks."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dossier.errors import DossierError


class Finding(BaseModel):
    """One statement the evidence does not bear out."""

    kind: str  # number | direction | fact | dose_steps | dosage
    where: str  # spec key path, e.g. questions[0].position
    what: str
    evidence: list[str] = Field(default_factory=list)  # evidence ids checked against
    hint: str = ""

    def format(self) -> str:
        ev = f" [{', '.join(self.evidence)}]" if self.evidence else ""
        return f"{self.where}: {self.what}{ev}" + (f"\n    hint: {self.hint}" if self.hint else "")


class FindingsError(DossierError):
    """``--strict``: the build has findings (exit status 1, like ``dossier check``; user errors are 2)."""

    exit_code = 1

    def __init__(self, findings: list[Finding], where: str):
        self.findings = findings
        lines = "\n    ".join(f.format().replace("\n", "\n    ") for f in findings)
        super().__init__(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} (--strict): nothing was "
                         f"written, the previous outputs are untouched\n    {lines}", where=where,
                         hint="correct the spec's text (or cite values with {ev:KEY}); `dossier check SPEC` "
                              "lists the findings")
