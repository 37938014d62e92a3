"""The CLI: user mistakes print one error block and exit 2, never a traceback; --debug shows it."""

from __future__ import annotations

import json

from dossier.cli import main


def test_schema_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "StudySpec"


def test_unknown_agency_is_one_error_block_exit_2(example_spec_path, tmp_path, capsys):
    rc = main(["build", str(example_spec_path), "--agency", "fda,mhra", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Error: unknown agency 'mhra'" in err and "hint:" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(example_spec_path, tmp_path, capsys):
    rc = main(["--debug", "build", str(example_spec_path), "--agency", "mhra", "--out", str(tmp_path)])
    assert rc == 2
    assert "Traceback" in capsys.readouterr().err


def test_bad_spec_names_key_path(tmp_path, example_spec_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(example_spec_path.read_text().replace("target: 0.30", "target: 3.0"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "design.target" in err and "Traceback" not in err


def test_validate_example_ok(example_spec_path, capsys):
    assert main(["validate", str(example_spec_path)]) == 0
    assert "no errors" in capsys.readouterr().out


def test_usage_error_exit_2(capsys):
    assert main(["build"]) == 2


def test_build_check_and_diff_commands(example_copy, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(example_copy), "--check", "--out", str(out)]) == 1
    assert "never built" in capsys.readouterr().err
    assert main(["build", str(example_copy), "--format", "html", "--out", str(out), "-q"]) == 0
    assert main(["build", str(example_copy), "--format", "html", "--check", "--out", str(out)]) == 0
    study = out / "examplinib-EXM-101"
    report = tmp_path / "diff.html"
    capsys.readouterr()
    assert main(["diff", str(study / "fda"), str(study / "pmda"), "--json", "--html", str(report)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["core_identical"] is True and "mrct_consistency" in d["sections_only_b"]
    assert "Core evidence identical" in report.read_text()


def test_preflight_command(built_example, tmp_path, capsys):
    pdf = built_example.study_dir / "ema" / "dossier.pdf"
    assert main(["preflight", str(pdf), "--paper", "a4"]) == 0
    assert main(["preflight", str(pdf), "--paper", "letter"]) == 1
    assert "page size" in capsys.readouterr().err
    assert main(["preflight", str(tmp_path / "missing.pdf")]) == 2


def test_unknown_executor_is_one_error_block_exit_2(example_spec_path, tmp_path, capsys):
    rc = main(["build", str(example_spec_path), "--executor", "threads", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown executor" in err and "inprocess, processes, dask" in err and "Traceback" not in err
    assert main(["build", str(example_spec_path), "--workers", "0", "--out", str(tmp_path)]) == 2
