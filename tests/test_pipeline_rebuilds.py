"""End-to-end rebuilds of copies of the example study: staleness checks, template-only rebuilds, atomic
replacement, escaping of dataset strings and spec errors (split from test_pipeline.py so that
pytest-xdist runs the two files' builds on different workers)."""

from __future__ import annotations

from pathlib import Path

import pyreadstat
import pytest
import yaml
from pypdf import PdfReader

from dossier.errors import DossierError, SpecError
from dossier.pipeline import build, check_outputs, plan_build
from dossier.render.preflight import preflight_pdf

AGENCIES = ("fda", "ema", "pmda")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "examplinib"


def test_unchanged_rebuild_is_up_to_date_and_check_passes(example_copy, tmp_path):
    out = tmp_path / "out"
    first = build(example_copy, formats="html", agencies="fda", out_dir=out)
    assert first.status == "built"
    second = build(example_copy, formats="html", agencies="fda", out_dir=out)
    assert second.status == "up-to-date"
    assert check_outputs(plan_build(example_copy, "fda", "html", out)) == []


def test_check_fails_after_an_input_changes_and_passes_after_rebuild(example_copy, tmp_path):
    out = tmp_path / "out"
    build(example_copy, formats="html", agencies="fda", out_dir=out)
    adsl_path = example_copy.parent / "data" / "adsl.xpt"
    df, meta = pyreadstat.read_xport(str(adsl_path))
    df.loc[0, "AGE"] = df.loc[0, "AGE"] + 1
    pyreadstat.write_xport(df, str(adsl_path), file_format_version=5, table_name="ADSL",
                           column_labels=meta.column_labels)
    problems = check_outputs(plan_build(example_copy, "fda", "html", out))
    assert any("input changed: adsl" in p for p in problems), problems
    build(example_copy, formats="html", agencies="fda", out_dir=out)
    assert check_outputs(plan_build(example_copy, "fda", "html", out)) == []


def test_template_change_reuses_evidence(example_copy, tmp_path, monkeypatch):
    out = tmp_path / "out"
    build(example_copy, formats="html", agencies="ema", out_dir=out)
    import dossier.pipeline as pipeline

    monkeypatch.setattr(pipeline, "templates_sha256", lambda: "changed")
    monkeypatch.setattr(pipeline, "compute_evidence", lambda *a, **k: pytest.fail("evidence recomputed"))
    again = build(example_copy, formats="html", agencies="ema", out_dir=out)
    assert again.status == "rendered"


def test_failed_build_leaves_previous_outputs_intact(example_copy, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = build(example_copy, formats="html", agencies="fda", out_dir=out)
    before = {p: p.read_bytes() for p in first.study_dir.rglob("*") if p.is_file()}
    import dossier.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("renderer crashed midway")

    monkeypatch.setattr(pipeline, "_manifest", boom)
    with pytest.raises(RuntimeError):
        build(example_copy, formats="html", agencies="fda", out_dir=out, force=True)
    after = {p: p.read_bytes() for p in first.study_dir.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in out.iterdir() if ".build-" in p.name or ".old-" in p.name], "temporary folders left behind"


def test_dataset_and_spec_strings_are_escaped(example_copy, tmp_path):
    evil = "<script>alert(1)</script>"
    adae_path = example_copy.parent / "data" / "adae.xpt"
    df, meta = pyreadstat.read_xport(str(adae_path))
    df.loc[df["AEDECOD"] == "Rash", "AEDECOD"] = evil
    pyreadstat.write_xport(df, str(adae_path), file_format_version=5, table_name="ADAE",
                           column_labels=meta.column_labels)
    spec = yaml.safe_load(example_copy.read_text())
    spec["study"]["title"] = f"Study {evil}"
    spec.pop("simulation_study", None)  # not needed to test escaping (keeps the suite fast)
    spec["design"]["scenarios"] = []
    example_copy.write_text(yaml.safe_dump(spec, allow_unicode=True))
    result = build(example_copy, agencies="fda", out_dir=tmp_path / "out")
    html = (result.study_dir / "fda" / "dossier.html").read_text()
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2, "both the spec title and the AE term are shown, escaped"
    pdf = result.study_dir / "fda" / "dossier.pdf"
    assert preflight_pdf(pdf, "letter") == []  # in particular: no JavaScript
    # shown as plain text; the title page carries the spec title, so the pages are read only up to the first
    # that shows it (text extraction of the whole PDF cost ~11 s of CPU)
    assert any("alert(1)" in (page.extract_text() or "") for page in PdfReader(str(pdf)).pages)


def test_unknown_agency_and_missing_dataset_are_dossier_errors(example_copy, tmp_path):
    with pytest.raises(SpecError, match="unknown agency"):
        build(example_copy, agencies="fda,fdaa", out_dir=tmp_path)
    (example_copy.parent / "data" / "adrs.xpt").unlink()
    with pytest.raises(DossierError, match="dataset file not found") as err:
        build(example_copy, out_dir=tmp_path)
    assert err.value.where == "datasets.adrs.path"
