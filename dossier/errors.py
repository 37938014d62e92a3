"""User-facing errors.

Every failure caused by the user's input (spec, data, command line) is a :class:`DossierError`
carrying *what* went wrong, *where* (file, key path, column, row) and a *hint* on how to fix it.
The CLI prints it as one block and exits with status 2; tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations


class DossierError(Exception):
    """A user-facing error: what went wrong, where, and how to fix it."""

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        lines = [f"Error: {self.what}"]
        if self.where:
            lines.append(f"  where: {self.where}")
        if self.hint:
            lines.append(f"  hint:  {self.hint}")
        return "\n".join(lines)


class SpecError(DossierError):
    """The study spec is invalid (unknown key, wrong type, value out of range)."""


class DataError(DossierError):
    """A dataset is missing, unreadable, or fails a content check."""


class DesignError(DossierError):
    """A dose-finding design was configured inconsistently."""


class BuildError(DossierError):
    """A build could not be completed (rendering, writing outputs, stale manifest)."""
