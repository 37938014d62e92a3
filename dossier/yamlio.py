"""Reading YAML input files safely (``yaml.safe_load``) with user-facing errors that say where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dossier.errors import SpecError


def read_yaml(path: str | Path, what: str, missing_hint: str) -> Any:
    """The parsed content of a YAML file; a SpecError naming the file (and line) when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{what} not found: {path}", where=str(path), hint=missing_hint)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SpecError(f"the {what} is not valid YAML: {getattr(err, 'problem', err)}", where=where,
                        hint="check indentation and quoting at that line") from None
    except UnicodeDecodeError:
        raise SpecError(f"the {what} is not UTF-8 text", where=str(path), hint="save the file as UTF-8") from None
