"""The dose-pair data of a two-agent combination escalation (``combination.data`` of the study spec).

Read with the same reader as ``dossier combination decide`` (one row per subject: dose_a, dose_b, dlt; or
per pair with n), on the spec's agent levels; a problem is an ingest error located at the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dossier.designs.comb_base import pairs_to_grid
from dossier.designs.combination import parse_numbers
from dossier.errors import DataError, DossierError

if TYPE_CHECKING:
    from dossier.ingest.report import IssueCollector
    from dossier.spec import CombinationSpec


def read_combination(cs: CombinationSpec, base_dir: Path, issues: IssueCollector) -> dict | None:
    """{"n", "dlt", "levels_a", "levels_b"} per dose pair, or None (no data, or an error reported)."""
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


def read_pairs(path: Path, levels_a: str | None = None, levels_b: str | None = None):
    """Patients and DLTs per dose pair from a CSV of subjects or dose pairs (see the module doc)."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"file not found: {path}", str(path))
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise DataError(f"cannot read {path}: {exc}", str(path)) from None
    cols = {c.strip().lower(): c for c in df.columns}
    missing = [c for c in ("dose_a", "dose_b", "dlt") if c not in cols]
    if missing:
        raise DataError(f"{path.name} lacks the columns {missing}", str(path),
                        "one row per subject: dose_a, dose_b, dlt (0/1); or per pair: dose_a, dose_b, n, dlt")
    for c in ("dose_a", "dose_b", "dlt") + (("n",) if "n" in cols else ()):
        bad = pd.to_numeric(df[cols[c]], errors="coerce").isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise DataError(f"{path.name}: column {cols[c]} has a missing or non-numeric value", f"{path}:{row}",
                            "a missing DLT is not collected: remove the subject or record the outcome")
    return pairs_to_grid(df[cols["dose_a"]].to_numpy(float), df[cols["dose_b"]].to_numpy(float),
                         df[cols["dlt"]].to_numpy(float), df[cols["n"]].to_numpy(float) if "n" in cols else None,
                         parse_numbers(levels_a, "--levels-a") if levels_a else None,
                         parse_numbers(levels_b, "--levels-b") if levels_b else None)
