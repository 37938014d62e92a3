"""Fixtures of the rendering tests: one build of the CDISC pilot example (real ADaM data), shared by the
modules that read its documents."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cdisc(tmp_path_factory):
    """The CDISC pilot example's study folder, built once (its spec's agencies and formats)."""
    spec = REPO / "examples" / "cdisc_pilot" / "study.yaml"
    if not (REPO.parent / "shared" / "data").is_dir():
        pytest.skip("the CDISC pilot example reads the shared data folder (../shared/data)")
    from dossier.pipeline import build

    return build(spec, out_dir=tmp_path_factory.mktemp("cdisc"), workers=1).study_dir
