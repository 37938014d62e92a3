"""The CI rule "shared data are required": a test that skips for missing shared data fails when CI is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_demo_skip_for_missing_shared_data():
    """Skips (for a missing shared folder) only when the rule is being demonstrated in a subprocess."""
    if os.environ.get("DOSSIER_SKIP_RULE_DEMO") == "1":
        pytest.skip("real data not available: ../shared/data/demo is absent (the shared data folder is not mounted)")
    if os.environ.get("DOSSIER_SKIP_RULE_DEMO") == "other":
        pytest.skip("dask.distributed is not installed")


def _run(ci: str, demo: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": ci, "DOSSIER_SKIP_RULE_DEMO": demo, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           f"{__file__}::test_demo_skip_for_missing_shared_data"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_shared_data_skip_fails_in_ci():
    res = _run("true", "1")
    assert res.returncode == 1, res.stdout
    assert "shared data are required in CI" in res.stdout


def test_shared_data_skip_is_a_skip_outside_ci():
    res = _run("", "1")
    assert res.returncode == 0 and "1 skipped" in res.stdout, res.stdout


def test_other_skips_stay_skips_in_ci():
    res = _run("true", "other")
    assert res.returncode == 0 and "1 skipped" in res.stdout, res.stdout
