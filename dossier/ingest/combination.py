"""The dose-pair data of a two-agent combination escalation (``combination.data`` of the study spec).

Read with the same reader as ``dossier combination decide`` (one row per subject: dose_a, dose_b, dlt; or
per pair with n), on the spec's agent levels; a problem is an ingest error located at the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dossier.errors import DossierError

if TYPE_CHECKING:
    from dossier.ingest.report import IssueCollector
    from dossier.spec import CombinationSpec


def read_combination(cs: CombinationSpec, base_dir: Path, issues: IssueCollector) -> dict | None:
    """{"n", "dlt", "levels_a", "levels_b"} per dose pair, or None (no data, or an error reported)."""
    from dossier.commands.combination import read_pairs

    if cs.data is None:
        return None
    path = Path(cs.data.path)
    resolved = path if path.is_absolute() else Path(base_dir) / path
    try:
        n, dlt, la, lb = read_pairs(resolved, ",".join(f"{v:g}" for v in cs.agents[0].levels),
                                    ",".join(f"{v:g}" for v in cs.agents[1].levels))
    except DossierError as err:
        issues.error(err.what, file=cs.data.path, hint=err.hint or "see examples/combination/data/dose_pairs.csv")
        return None
    return {"n": n.tolist(), "dlt": dlt.tolist(), "levels_a": list(la), "levels_b": list(lb)}
