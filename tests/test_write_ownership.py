"""The output folder is owned: a build replaces only folders it created, never the user's files, and
recovers from killed builds; environment failures (full disk, read-only folder, bad --out) are one clean
error block with exit 2.

The rendering stages are replaced by a fake (an evidence stub and one written file) so that every test
exercises the real planning, locking, recovery and swap code in well under a second."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest
import yaml

import dossier.pipeline as pipeline
from dossier.cli import main
from dossier.errors import BuildError
from dossier.render import write


class FakeEvidence:
    simulation_study = None
    findings: list = []

    def canonical_json(self) -> str:
        return "{}"

    def content_hash(self) -> str:
        return "0" * 64


@pytest.fixture
def fast_build(monkeypatch):
    """Builds that skip the analyses and rendering (they write one file per build)."""
    calls = []

    def fake_render(plan, evidence, stage_dir, *args, **kwargs):
        calls.append(stage_dir)
        (stage_dir / "fda").mkdir()
        out = stage_dir / "fda" / "dossier.html"
        out.write_text(f"build {len(calls)}\n", encoding="utf-8")
        return [out]

    monkeypatch.setattr(pipeline, "compute_evidence", lambda *a, **k: FakeEvidence())
    monkeypatch.setattr(pipeline, "render_variants", fake_render)
    return calls


def flat(text: str) -> str:
    """The CLI's message with the terminal's line wrapping undone."""
    return " ".join(text.split())


def set_study_id(spec_path: Path, study_id: str) -> None:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec["study"]["id"] = study_id
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- H1 reproducers -------------------------------------------------------------------------------------

def test_a_folder_the_build_did_not_create_is_never_replaced(example_copy, tmp_path, capsys, fast_build):
    out = tmp_path / "out"
    (out / "precious").mkdir(parents=True)
    (out / "precious" / "thesis.docx").write_text("work", encoding="utf-8")
    set_study_id(example_copy, "precious")
    rc = main(["build", str(example_copy), "--out", str(out), "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2
    assert "not created by a dossier build" in err and "thesis.docx" in err
    assert "Traceback" not in err
    assert (out / "precious" / "thesis.docx").read_text(encoding="utf-8") == "work"
    assert fast_build == [], "refused before any work"


def test_the_folder_holding_the_spec_and_data_is_never_replaced(example_copy, capsys, fast_build):
    study = example_copy.parent  # .../examplinib/study.yaml + data/
    set_study_id(example_copy, study.name)
    before = snapshot(study)
    rc = main(["build", str(example_copy), "--out", str(study.parent), "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and "holds the build's own input" in err
    assert snapshot(study) == before


def test_a_folder_holding_the_data_elsewhere_is_protected_too(example_copy, tmp_path, capsys, fast_build):
    # the data live in out/<id>/ (an absolute dataset path), the spec elsewhere
    spec = yaml.safe_load(example_copy.read_text(encoding="utf-8"))
    data_dir = tmp_path / "out" / "mystudy"
    data_dir.mkdir(parents=True)
    adsl = data_dir / "adsl.xpt"
    adsl.write_bytes((example_copy.parent / "data" / "adsl.xpt").read_bytes())
    spec["datasets"]["adsl"]["path"] = str(adsl)
    spec["study"]["id"] = "mystudy"
    example_copy.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    # even with a manifest of the study in it, a folder holding an input is never replaced
    (data_dir / "manifest.json").write_text(json.dumps({"study": "mystudy", "outputs": [
        {"path": "adsl.xpt"}]}), encoding="utf-8")
    rc = main(["build", str(example_copy), "--out", str(tmp_path / "out"), "-q"])
    assert rc == 2 and "holds the build's own input" in flat(capsys.readouterr().err)
    assert adsl.is_file()


@pytest.mark.parametrize("where", ["root", "home"])
def test_out_at_the_root_or_home_is_refused(example_copy, tmp_path, monkeypatch, capsys, fast_build, where):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = "/" if where == "root" else str(home)
    rc = main(["build", str(example_copy), "--out", out, "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and "refusing" in err and "Traceback" not in err
    assert list(home.iterdir()) == []
    assert fast_build == []


@pytest.mark.parametrize("under", [False, True])
def test_out_naming_a_file_or_a_path_under_a_file(example_copy, tmp_path, capsys, fast_build, under):
    f = tmp_path / "notes.txt"
    f.write_text("keep", encoding="utf-8")
    out = f / "sub" if under else f
    rc = main(["build", str(example_copy), "--out", str(out), "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and "file" in err and "Traceback" not in err
    assert f.read_text(encoding="utf-8") == "keep"


def test_a_file_in_place_of_the_study_folder_is_kept(example_copy, tmp_path, capsys, fast_build):
    out = tmp_path / "out"
    out.mkdir()
    (out / "examplinib-EXM-101").write_text("mine", encoding="utf-8")
    assert main(["build", str(example_copy), "--out", str(out), "-q"]) == 2
    assert (out / "examplinib-EXM-101").read_text(encoding="utf-8") == "mine"


# -- owned folders are replaced; user files added to them are not lost -----------------------------------

def test_own_output_is_replaced_and_marked(example_copy, tmp_path, fast_build):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    marker = json.loads((first.study_dir / write.MARKER).read_text(encoding="utf-8"))
    assert marker == {"created_by": "dossier", "study": "examplinib-EXM-101"}
    second = pipeline.build(example_copy, out_dir=out, force=True)
    assert (second.study_dir / "fda" / "dossier.html").read_text(encoding="utf-8") == "build 2\n"
    assert sorted(p.name for p in out.iterdir()) == [".cache", ".examplinib-EXM-101.lock", "examplinib-EXM-101"] \
        or sorted(p.name for p in out.iterdir()) == [".examplinib-EXM-101.lock", "examplinib-EXM-101"]


def test_a_user_file_added_to_the_output_folder_blocks_the_rebuild(example_copy, tmp_path, fast_build):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    (first.study_dir / "fda" / "my-review-notes.txt").write_text("notes", encoding="utf-8")
    with pytest.raises(BuildError, match="my-review-notes.txt"):
        pipeline.build(example_copy, out_dir=out, force=True)
    assert (first.study_dir / "fda" / "my-review-notes.txt").read_text(encoding="utf-8") == "notes"


def test_legacy_output_with_manifest_only_is_still_ours(tmp_path):
    d = tmp_path / "s"
    (d / "fda").mkdir(parents=True)
    (d / "fda" / "dossier.html").write_text("x", encoding="utf-8")
    (d / "manifest.json").write_text(json.dumps({"study": "s", "outputs": [{"path": "fda/dossier.html"}]}),
                                     encoding="utf-8")
    assert write.foreign_files(d, "s") is None
    assert write.foreign_files(d, "other") is not None  # another study's output is not this one's
    write.check_replaceable(d, "s")
    (d / "fda" / "extra.docx").write_text("x", encoding="utf-8")
    assert write.foreign_files(d, "s") == ["fda/extra.docx"]


# -- killed builds ---------------------------------------------------------------------------------------

def test_kill_between_the_renames_is_recovered_by_check_and_next_build(example_copy, tmp_path, fast_build, capsys):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    before = snapshot(first.study_dir)
    # a build killed between its two renames: the output exists only as .<id>.old-<pid>, plus its stage
    old = out / ".examplinib-EXM-101.old-4242"
    os.replace(first.study_dir, old)
    stage = out / ".examplinib-EXM-101.build-abcd1234"
    stage.mkdir()
    (stage / "evidence.json").write_text("{}", encoding="utf-8")
    assert main(["build", str(example_copy), "--check", "--out", str(out)]) == 1
    assert "interrupted build" in flat(capsys.readouterr().err)
    plan = pipeline.plan_build(example_copy, out_dir=out)
    assert pipeline.check_outputs(plan)
    result = pipeline.build(example_copy, out_dir=out)
    assert result.status == "up-to-date", "the restored output is the previous, complete one"
    assert snapshot(first.study_dir) == before
    assert not old.exists() and not stage.exists()


def test_finished_swap_leftover_old_folder_is_removed_but_foreign_ones_kept(example_copy, tmp_path, fast_build):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    old = out / ".examplinib-EXM-101.old-99"
    old.mkdir()
    (old / write.MARKER).write_text(write.marker_text("examplinib-EXM-101"), encoding="utf-8")
    foreign = out / ".examplinib-EXM-101.old-98"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("work", encoding="utf-8")
    done = write.recover(out, "examplinib-EXM-101")
    assert not old.exists() and (foreign / "thesis.docx").is_file()
    assert len(done) == 1 and first.study_dir.is_dir()


# -- concurrent builds ------------------------------------------------------------------------------------

def test_concurrent_builds_serialize_on_the_lock(tmp_path):
    out = tmp_path
    messages: list[str] = []
    order: list[str] = []
    with write.study_lock(out, "s"):
        def second():
            with write.study_lock(out, "s", say=messages.append):
                order.append("second")

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.4)
        order.append("first done")
    t.join(5)
    assert order == ["first done", "second"]
    assert messages and "waiting for another build of study 's'" in messages[0]


def test_concurrent_builds_of_one_study_all_finish_without_enotempty(example_copy, tmp_path, fast_build):
    """Issue 19: the loser of two concurrent swaps got an ENOTEMPTY traceback (both renamed the output to the
    same .old-<pid> folder). Three forced builds of one study at once now queue on the lock: each finishes,
    the output is one complete build, and no stage or old folder is left."""
    out = tmp_path / "out"
    results, errors = [], []

    def run():
        try:
            results.append(pipeline.build(example_copy, out_dir=out, force=True))
        except Exception as err:  # noqa: BLE001 - the test reports any failure of the racing builds
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 3 and len(fast_build) == 3
    study_dir = results[0].study_dir
    assert (study_dir / write.MARKER).is_file()
    assert (study_dir / "fda" / "dossier.html").read_text(encoding="utf-8") in {f"build {k}\n" for k in (1, 2, 3)}
    assert not [p.name for p in out.iterdir() if ".build-" in p.name or ".old-" in p.name]


def test_lock_timeout_is_a_clean_error(tmp_path):
    with write.study_lock(tmp_path, "s"):
        errors = []

        def second():
            try:
                with write.study_lock(tmp_path, "s", timeout_s=0.2):
                    pass
            except BuildError as err:
                errors.append(err)

        t = threading.Thread(target=second)
        t.start()
        t.join(5)
    assert errors and "has held the output lock" in errors[0].what


# -- environment failures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code, phrase", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                          (errno.EACCES, "permission")])
def test_write_failures_are_one_block_exit_2_and_keep_the_previous_output(example_copy, tmp_path, monkeypatch,
                                                                          capsys, fast_build, code, phrase):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    before = snapshot(first.study_dir)

    def failing_swap(stage_dir, study_dir):
        raise OSError(code, os.strerror(code), str(study_dir))

    monkeypatch.setattr(write, "swap_in", failing_swap)
    rc = main(["build", str(example_copy), "--out", str(out), "--force", "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and phrase in err and "Traceback" not in err
    assert snapshot(first.study_dir) == before
    assert not [p for p in out.iterdir() if ".build-" in p.name]


def test_unwritable_output_folder_is_a_clean_error(example_copy, tmp_path, monkeypatch, capsys, fast_build):
    def ro(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "out"))

    monkeypatch.setattr(pipeline.tempfile, "mkdtemp", ro)
    rc = main(["build", str(example_copy), "--out", str(tmp_path / "out"), "-q"])
    assert rc == 2 and "read-only" in flat(capsys.readouterr().err)


def test_any_os_error_reaching_the_cli_is_one_block(example_copy, tmp_path, monkeypatch, capsys):
    def gone(*a, **k):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "templates/assets/dossier.css")

    monkeypatch.setattr(pipeline, "compute_evidence", gone)
    rc = main(["build", str(example_copy), "--out", str(tmp_path / "out"), "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and "dossier.css" in err and "Traceback" not in err


# -- a disk that fills up while the outputs are written (a monkeypatched write raising ENOSPC) -------------
@pytest.mark.parametrize("victim", ["evidence.json", "manifest.json", "dossier.html"])
def test_disk_full_while_writing_an_output_file(example_copy, tmp_path, monkeypatch, capsys, fast_build, victim):
    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    before = snapshot(first.study_dir)
    real_write_text = Path.write_text

    def write_text(self, data, *args, **kwargs):
        if self.name == victim:
            with open(self, "w", encoding="utf-8") as fh:  # a partial file, as a full disk leaves it
                fh.write(str(data)[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    rc = main(["build", str(example_copy), "--out", str(out), "--force", "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2, err
    assert "disk is full" in err and "Traceback" not in err and victim in err
    monkeypatch.undo()
    assert snapshot(first.study_dir) == before
    assert not [p.name for p in out.iterdir() if ".build-" in p.name or ".old-" in p.name]


def test_disk_full_while_writing_a_pdf(example_copy, tmp_path, monkeypatch, capsys, fast_build):
    """The same through the atomic writer (a full disk often surfaces only when the data are flushed)."""
    from dossier.render import write

    out = tmp_path / "out"
    first = pipeline.build(example_copy, out_dir=out)
    before = snapshot(first.study_dir)
    real_render = pipeline.render_variants

    def render_then_pdf(plan, evidence, stage_dir, *args, **kwargs):
        written = real_render(plan, evidence, stage_dir, *args, **kwargs)
        write.write_atomic(stage_dir / "fda" / "dossier.pdf", b"%PDF-1.7\n" + b"x" * 1000)
        return written

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline, "render_variants", render_then_pdf)
    monkeypatch.setattr(write.os, "fsync", full_disk)
    rc = main(["build", str(example_copy), "--out", str(out), "--force", "-q"])
    err = flat(capsys.readouterr().err)
    monkeypatch.undo()
    assert rc == 2 and "disk is full" in err and "Traceback" not in err, err
    assert snapshot(first.study_dir) == before
    assert not [p.name for p in out.iterdir() if ".build-" in p.name]
    assert not list(out.rglob(".dossier.pdf.*.tmp"))


# -- a damaged installation: a missing or corrupt bundled style sheet or font --------------------------------

@pytest.mark.parametrize("damage, phrase", [
    (lambda a: (a / "dossier.css").unlink(), "cannot read the bundled style sheet"),
    (lambda a: (a / "dossier.css").write_bytes(b"\xff\xfe\x00garbage"), "style sheet is not UTF-8"),
    (lambda a: (a / "fonts" / "DossierSans-Latin-Regular-subset.otf").unlink(), "cannot read the bundled font"),
    (lambda a: (a / "fonts" / "NotoSansJP-Bold-subset.otf").write_bytes(b"OTTO" + b"\x00" * 100),
     "bundled font NotoSansJP-Bold-subset.otf is corrupt"),
])
def test_missing_or_corrupt_asset_is_one_block_exit_2(example_copy, tmp_path, monkeypatch, capsys, fast_build,
                                                      damage, phrase):
    import shutil

    from dossier.render import assets as package_assets
    from dossier.render import html

    assets = tmp_path / "assets"
    shutil.copytree(package_assets.ASSETS_DIR, assets)
    damage(assets)
    monkeypatch.setattr(package_assets, "ASSETS_DIR", assets)  # where the build's asset check looks
    monkeypatch.setattr(html, "ASSETS_DIR", assets)  # and the renderer's copy of the name
    out = tmp_path / "out"
    rc = main(["build", str(example_copy), "--out", str(out), "-q"])
    err = flat(capsys.readouterr().err)
    assert rc == 2 and phrase in err and "reinstall" in err and "Traceback" not in err, err
    assert not fast_build  # refused before any work
