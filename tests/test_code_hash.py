"""The cached evidence depends on the package's own code and data files (dossier/**/*.py, *.yaml, *.csv outside
the templates): a change to an analysis within one package version makes ``dossier build --check`` report the
outputs stale and the next build recompute the evidence, while a template change still reuses it."""

from __future__ import annotations

import shutil
import time

import pytest

import dossier.pipeline as pipeline
from dossier.pipeline import check_outputs, code_files, code_sha256, evidence_for, plan_build


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A byte-identical copy of the package's code, data and templates (fonts and bytecode left out), which the
    code hash reads instead of the installed package; the per-process cache is cleared before and after."""
    dst = tmp_path / "dossier"
    shutil.copytree(pipeline._PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__", "*.otf"))
    code_sha256.cache_clear()
    monkeypatch.setattr(pipeline, "_PACKAGE_DIR", dst)
    yield dst
    code_sha256.cache_clear()


def _code_problems(plan) -> list[str]:
    return [p for p in check_outputs(plan) if p.startswith("package code or data changed")]


def test_code_files_are_the_package_code_and_data_not_templates_or_bytecode():
    files = code_files()
    assert "pipeline.py" in files and "analyses/justification.py" in files
    assert any(f.endswith(".yaml") for f in files) and any(f.endswith(".csv") for f in files)
    assert not [f for f in files if f.startswith("templates/") or "__pycache__" in f]
    assert files == sorted(files)


def test_code_hash_is_cheap_and_cached():
    code_sha256.cache_clear()
    t = time.perf_counter()
    first = code_sha256()
    elapsed = time.perf_counter() - t
    # ~100 files, ~1.4 MB: a few ms on an idle machine; the bound leaves room for a loaded CI runner
    assert elapsed < 0.25, elapsed
    t = time.perf_counter()
    assert code_sha256() == first
    assert time.perf_counter() - t < 1e-3  # the second call is the cached value


def test_analysis_code_change_makes_outputs_stale_and_evidence_recomputed(built_example, example_spec_path,
                                                                          package_copy, monkeypatch):
    out, spec = built_example.study_dir.parent, example_spec_path

    class Recomputed(Exception):
        pass

    def recompute(*args, **kwargs):
        raise Recomputed

    monkeypatch.setattr(pipeline, "compute_evidence", recompute)
    plan = plan_build(spec, out_dir=out)
    key = plan.evidence_key()
    # the copy has the same bytes and relative paths: same hash, nothing stale, the cached evidence is read
    assert _code_problems(plan) == []
    assert evidence_for(spec, out_dir=out).study.id == built_example.study_dir.name
    # a template edit does not touch the code hash (templates are hashed apart)
    (package_copy / "templates" / "base" / "macros.html.j2").write_text("{# edited #}\n", encoding="utf-8")
    code_sha256.cache_clear()
    assert _code_problems(plan) == [] and plan.evidence_key() == key
    # one changed byte in an analysis module: stale, a new evidence key, and the evidence is recomputed
    target = package_copy / "analyses" / "justification.py"
    target.write_bytes(target.read_bytes().replace(b"def ", b"def  ", 1))
    code_sha256.cache_clear()
    assert len(_code_problems(plan)) == 1
    assert plan.evidence_key() != key
    with pytest.raises(Recomputed):
        evidence_for(spec, out_dir=out)


def test_data_file_change_changes_the_code_hash(package_copy):
    before = code_sha256()
    csv = next(package_copy.rglob("*.csv"))
    csv.write_bytes(csv.read_bytes() + b"\n")
    code_sha256.cache_clear()
    assert code_sha256() != before
