"""Helpers shared by the ingest tests: where the real public datasets are, and spec builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossier.spec import Doses, StudySpec

#: /work/shared/data: the `shared` folder is a sibling of the repository root
SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
REPO = Path(__file__).resolve().parents[2]

HAS_CONTROL_ARMS = "control_arms" in Doses.model_fields


class _DosesWithControl(Doses):
    """Doses plus ``control_arms`` until spec.py has the field (see the ingest report to the lead)."""

    control_arms: list[str] = []


def build_spec(data: dict) -> StudySpec:
    """A StudySpec from a dict; ``doses.control_arms`` works whether or not spec.py has the field yet."""
    data = dict(data)
    doses = dict(data["doses"])
    if "control_arms" in doses and not HAS_CONTROL_ARMS:
        data["doses"] = _DosesWithControl(**doses)
    return StudySpec.model_validate(data)


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (the shared data folder is not mounted)")
    return path


STUDY = {"id": "CDISCPILOT01", "title": "CDISC pilot", "sponsor": "CDISC", "compound": "xanomeline",
         "modality": "small_molecule", "therapeutic_area": "neurology", "indication": "Alzheimer's disease", "line_of_therapy": "n/a"}


def pilot_spec(folder_files: dict[str, str], **filters) -> StudySpec:
    return build_spec({
        "study": STUDY, "doses": {"levels": [54, 81], "control_arms": ["Placebo"]}, "proposed_dosage": 54,
        "datasets": {k: {"path": v} for k, v in folder_files.items()},
        "filters": {"pfs_paramcd": "TTDE", **filters},
    })
