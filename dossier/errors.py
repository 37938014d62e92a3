"""User-facing errors.

Every failure caused by the user's input (spec, data, command line) is a :class:`DossierError`
carrying *what* went wrong, *where* (file, key path, column, row) and a *hint* on how to fix it.
The CLI prints it as one block and exits with status 2; tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


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


# pydantic validation errors of the study spec and of a simulation study's spec, as one SpecError
def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(top level)"


def format_validation_error(err: ValidationError, source: str,
                            missing_hints: dict[tuple[str, ...], str] | None = None) -> SpecError:
    """Turn a pydantic ValidationError into one SpecError listing every key path and what is allowed.
    ``missing_hints`` replaces pydantic's "Field required" for the given key paths by a message saying what
    to add."""
    problems = []
    for e in err.errors():
        # pydantic puts union members / function names into loc; keep only real keys
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = e["msg"]
        if e["type"] == "missing" and missing_hints and loc in missing_hints:
            msg = missing_hints[loc]
        elif e["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here; check spelling, see `dossier schema`)"
        elif e["type"] in ("literal_error", "enum"):
            msg = f"{msg}"
        problems.append(f"{_loc(loc)}: {msg}")
    what = f"the study spec is invalid ({len(problems)} problem{'s' if len(problems) != 1 else ''})"
    return SpecError(what + ":\n    " + "\n    ".join(problems), where=source,
                     hint="fix the keys listed above; `dossier schema` prints every allowed key and value")
