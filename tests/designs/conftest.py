"""Shared fixtures for the designs tests: the published reference values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "published.json"


@pytest.fixture(scope="session")
def published() -> dict:
    """../shared/reference/published.json (numbers from publications and reference packages)."""
    if not REFERENCE.exists():
        pytest.skip(f"reference values not available: {REFERENCE} is missing")
    return json.loads(REFERENCE.read_text())



@pytest.fixture(scope="session")
def comb_reference():
    """BOIN 2.7.2 get.oc.comb results (data/combination_oc_r.json): name, matrix -> (p_true, result, ntrial)."""
    import numpy as np

    ref = json.loads((Path(__file__).parent / "data" / "combination_oc_r.json").read_text())

    def get(name: str, matrix: str):
        r = ref[name]
        return np.array(ref["matrices"][matrix]), r, int(r["call"].split("ntrial=")[1].split(",")[0])

    return get
