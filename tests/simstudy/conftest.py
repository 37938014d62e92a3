"""Shared fixtures for the simulation-study tests: small grids that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossier.simstudy import parse_study_spec

DATA = Path(__file__).resolve().parent / "data"
SKELETON = [0.05, 0.12, 0.22, 0.33, 0.45]


def small_grid(**overrides) -> dict:
    """2 designs x 2 scenarios (+ a BOIN sweep over n_cohorts: 3 configurations), 1,000 trials in blocks
    of 250, one unit per task: 24 units, 24 tasks."""
    grid = {
        "name": "tiny", "seed": 11, "n_trials": 1000, "block_trials": 250, "trials_per_task": 1,
        "designs": [{"name": "boin", "label": "BOIN", "sweep": {"n_cohorts": [8, 10]}},
                    {"name": "crm", "label": "CRM", "options": {"skeleton": SKELETON}}],
        "scenarios": [{"name": "MTD at 4", "true_tox": [0.05, 0.10, 0.20, 0.30, 0.45]},
                      {"name": "MTD at 2", "true_tox": [0.10, 0.28, 0.42, 0.55, 0.65]}],
    }
    grid.update(overrides)
    return grid


@pytest.fixture
def grid_spec():
    return parse_study_spec(small_grid())


@pytest.fixture
def grid_yaml() -> Path:
    return DATA / "grid.yaml"


@pytest.fixture
def make_grid():
    """small_grid(**overrides) -> a grid mapping (validate with parse_study_spec)."""
    return small_grid
