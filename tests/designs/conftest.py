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

