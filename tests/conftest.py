"""Fixtures shared by the whole suite: the example study and one full build of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "examplinib"
EXAMPLE_SPEC = EXAMPLE / "study.yaml"


@pytest.fixture(scope="session")
def example_spec_path() -> Path:
    return EXAMPLE_SPEC


@pytest.fixture(scope="session")
def built_example(tmp_path_factory):
    """One full build (3 agencies x HTML + PDF) of the example study, shared by the end-to-end tests."""
    from dossier.pipeline import build

    out = tmp_path_factory.mktemp("build")
    result = build(EXAMPLE_SPEC, out_dir=out)
    return result


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A private copy of the example study (spec + data) that a test may modify; returns the spec path."""
    dst = tmp_path / "examplinib"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst / "study.yaml"
