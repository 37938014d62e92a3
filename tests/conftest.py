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
    """One full build (3 agencies x HTML + PDF) of the example study, shared by the end-to-end tests.

    Under pytest-xdist the workers share it: the first worker builds into the run's common temporary folder
    while holding a file lock; the others wait and get the same outputs back (the build finds them up to
    date), so the suite makes this build once, not once per worker."""
    import fcntl
    import os

    from dossier.pipeline import build

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = root / "shared-example-build"
    with open(root / "shared-example-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            result = build(EXAMPLE_SPEC, out_dir=out)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return result


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A private copy of the example study (spec + data) that a test may modify; returns the spec path."""
    dst = tmp_path / "examplinib"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst / "study.yaml"


# -- shared data are required in CI --------------------------------------------------------------------------
# Tests that read the sibling `shared` folder (real data, reference values) skip when it is absent, so that
# the suite runs anywhere; in CI (environment variable CI set to true/1/yes, as `.ci/run` does) such a skip is
# a failure, so that a missing or moved shared folder can never make CI pass with those tests unrun.

def in_ci() -> bool:
    import os

    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def is_shared_data_skip(reason: str) -> bool:
    """Whether a skip reason is about the shared data folder (every shared-data skip names it or its path)."""
    return "shared" in reason.lower()


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        reason = _skip_reason(report)
        if is_shared_data_skip(reason):
            report.outcome = "failed"
            report.longrepr = (f"shared data are required in CI, but this test skipped: {reason}\n"
                               f"(mount the sibling `shared` folder, or unset CI to run outside CI)")


# -- order of the files under pytest-xdist ----------------------------------------------------------------------
# `make test` runs `--dist loadfile`: each file goes whole to one worker. xdist would hand out the files with the
# most tests first, so the few-test files with whole builds (the wheel, the rebuilds) came last and one worker
# ran them alone at the end. The files below (the expensive ones, most CPU first, measured with a per-test CPU
# clock) are handed out first and the many cheap files fill the gaps (longest-processing-time-first).
HEAVY_FILES = (
    "tests/render/test_documents.py",      # the shared example build (3 agencies, HTML + PDF) and page texts
    "tests/test_pipeline.py",
    "tests/test_pipeline_rebuilds.py",
    "tests/test_wheel.py",
    "tests/render/test_docx.py",
    "tests/test_pipeline_obd_builds.py",
    "tests/test_findings.py",
    "tests/ingest/test_pk.py",
    "tests/test_cli.py",
    "tests/render/test_figures.py",
    "tests/render/test_machine_independence.py",
    "tests/analyses/test_run_analyses.py",
)


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep the collection order set below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(HEAVY_FILES)}

    def key(item):
        path = item.nodeid.split("::", 1)[0]
        return rank.get(path, len(rank))

    items.sort(key=key)  # stable: the order inside a file and among the other files is kept
