"""The wheel carries everything a build needs: installed into a fresh virtual environment (no checkout, no
environment variable), run from another working directory, it builds the example byte for byte as the
editable checkout does.

The fresh venv gets the wheel by pip (``--no-deps --no-index``); its third-party dependencies are made
visible through a ``.pth`` line naming this interpreter's site-packages. A path line in a ``.pth`` file is
only appended to ``sys.path`` (the ``.pth`` files inside that folder, such as the editable finder of the
checkout, are not run), so ``import dossier`` in the new venv can only find the installed wheel; the test
asserts that too. No network is used: the wheel is built without build isolation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The fresh venv must see only its own site-packages (and, through deps.pth, the dependencies): no
# PYTHONPATH pointing at a checkout.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
SPEC = REPO / "examples" / "examplinib" / "study.yaml"


def _run(cmd: list[str], cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _files(root: Path) -> dict[str, bytes]:
    """The build's outputs (the build's lock file is not an output)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(REPO)], cwd=tmp)
    wheels = list(dist.glob("dossier-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    py = venv / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=tmp).stdout.strip())
    # The wheel first, while the venv sees nothing else (pip would otherwise take the checkout's metadata,
    # visible through deps.pth, for an installed dossier); then the dependencies.
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
          str(wheels[0])], cwd=tmp, env=CLEAN_ENV)
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_installed_wheel_finds_its_own_package_and_version(wheel_venv, tmp_path):
    py = wheel_venv / "bin" / "python"
    where = _run([str(py), "-c", "import dossier; print(dossier.__file__)"], cwd=tmp_path, env=CLEAN_ENV).stdout.strip()
    assert str(wheel_venv) in where and str(REPO) not in where, where
    version = _run([str(wheel_venv / "bin" / "dossier"), "--version"], cwd=tmp_path, env=CLEAN_ENV).stdout.strip()
    assert version.startswith("dossier ") and version.split()[1][0].isdigit(), version


def test_wheel_build_equals_editable_build(wheel_venv, built_example, tmp_path):
    """Same spec, same version: the installed wheel, run from a folder that is not the checkout, writes the
    bytes the checkout wrote (the suite's shared build of the example): evidence.json and the FDA variant's
    HTML, PDF and variant.json."""
    common = ["build", str(SPEC), "--agency", "fda", "--format", "html,pdf", "-q"]
    wheel_out = tmp_path / "wheel-out"
    (tmp_path / "a").mkdir()
    _run([str(wheel_venv / "bin" / "dossier"), *common, "--out", str(wheel_out)], cwd=tmp_path / "a", env=CLEAN_ENV)
    a = _files(wheel_out / built_example.study_dir.name)
    b = _files(built_example.study_dir)
    compared = ["evidence.json"] + [f"fda/{n}" for n in ("dossier.html", "dossier.pdf", "variant.json")]
    assert all(name in a and name in b for name in compared), (sorted(a), sorted(b))
    differing = [name for name in compared if a[name] != b[name]]
    assert not differing, f"outputs differ between the wheel and the editable install: {differing}"
