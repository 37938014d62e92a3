"""Writing outputs without ever losing a user's files.

- :func:`write_atomic`: a temporary file in the same folder, fsync, then rename over the target.
- The study output folder ``<out>/<study>`` is *owned*: a build writes only into folders it created.
  A folder is the build's when it holds the marker file (:data:`MARKER`) or a ``manifest.json`` of the
  same study, and nothing besides the files that manifest lists.  :func:`check_replaceable` refuses
  (exit 2) to replace anything else, and refuses ``--out`` at ``/`` or the home folder and any study
  folder that holds the spec or its data.
- :func:`study_lock` serializes builds of one study on a lock file (``fcntl.flock``), so a second build
  waits for the first (with a message) instead of racing it.
- :func:`recover` finishes or undoes a swap that a killed build left half done (the previous output
  renamed to ``.<study>.old-<pid>``) and removes stage folders (``.<study>.build-*``) of killed builds.
- :func:`swap_in` replaces the study folder by a complete stage folder with two renames.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from dossier.errors import BuildError

#: the file that marks a folder as a dossier build output (it names the study)
MARKER = ".dossier-output"
MANIFEST = "manifest.json"
#: how long a build waits for another build of the same study before giving up
LOCK_TIMEOUT_S = float(os.environ.get("DOSSIER_LOCK_TIMEOUT", "1800"))


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def os_error(err: OSError, doing: str, path: str | Path | None = None) -> BuildError:
    """A user-facing error for a failed file operation (read-only folder, full disk, ...)."""
    hints = {
        errno.ENOSPC: "the disk is full: free some space (or choose another --out) and build again",
        errno.EDQUOT: "the disk quota is exceeded: free some space (or choose another --out) and build again",
        errno.EROFS: "the file system is read-only: choose a writable --out folder",
        errno.EACCES: "you lack permission there: choose a writable --out folder or fix its permissions",
        errno.EPERM: "the operation is not permitted there (an immutable or protected folder): choose another --out",
        errno.ENOTDIR: "a part of the path is a file, not a folder: choose another --out",
        errno.EEXIST: "a file of that name is in the way: choose another --out",
    }
    where = str(path if path is not None else (err.filename or "(output folder)"))
    return BuildError(f"cannot {doing}: {err.strerror or err}", where=where,
                      hint=hints.get(err.errno or 0, "check the folder is writable and has free space; "
                                     "the previous outputs are intact"))


# -- the bundled assets -------------------------------------------------------------------------------

def check_assets(assets_dir: Path) -> None:
    """The package's CSS and fonts are present and readable (a damaged installation is one clean error
    before any work, not a traceback from the renderer): the CSS decodes as UTF-8, and each font file
    that the CSS names opens as an OpenType font with a character map."""
    hint = "the dossier installation is damaged: reinstall the package (pip install --force-reinstall dossier)"
    css_path = assets_dir / "dossier.css"
    try:
        css = css_path.read_bytes().decode("utf-8")
    except OSError as err:
        raise BuildError(f"cannot read the bundled style sheet: {err.strerror or err}", where=str(css_path),
                         hint=hint) from None
    except UnicodeDecodeError:
        raise BuildError("the bundled style sheet is not UTF-8 text (corrupt)", where=str(css_path),
                         hint=hint) from None
    from fontTools.ttLib import TTFont, TTLibError

    for name in sorted(set(re.findall(r'url\("fonts/([A-Za-z0-9_.-]+\.otf)"\)', css))):
        path = assets_dir / "fonts" / name
        try:
            with TTFont(str(path), lazy=True) as font:
                font["cmap"].getBestCmap()
        except OSError as err:
            raise BuildError(f"cannot read the bundled font {name}: {err.strerror or err}", where=str(path),
                             hint=hint) from None
        except (TTLibError, KeyError, ValueError, AssertionError, EOFError, IndexError, TypeError) as err:
            raise BuildError(f"the bundled font {name} is corrupt ({type(err).__name__})", where=str(path),
                             hint=hint) from None


# -- the output folder ---------------------------------------------------------------------------------

def marker_text(study_id: str) -> str:
    return json.dumps({"created_by": "dossier", "study": study_id}, sort_keys=True) + "\n"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def foreign_files(folder: Path, study_id: str) -> list[str] | None:
    """None when ``folder`` is a build output of ``study_id`` (marker or manifest of that study, and no file
    the manifest does not list); otherwise what makes it someone else's (relative paths, at most a few)."""
    marker = _read_json(folder / MARKER)
    manifest = _read_json(folder / MANIFEST)
    ours = (marker is not None and marker.get("study") == study_id) or \
        (manifest is not None and manifest.get("study") == study_id)
    listed = {MARKER, MANIFEST}
    if not ours:
        listed = set()
    elif manifest is not None:
        listed |= {str(o.get("path")) for o in manifest.get("outputs", []) if isinstance(o, dict)}
    extra = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink() or (not p.is_dir() and rel not in listed):
            extra.append(rel)
            if len(extra) >= 5:
                break
    if not ours:
        return ["no dossier marker or manifest of this study"] + extra
    return extra or None


def _resolved(p: Path) -> Path:
    return Path(os.path.realpath(p))


def check_out_dir(out_dir: Path) -> None:
    """``--out`` must be a folder (or creatable as one), and neither ``/`` nor the home folder."""
    real = _resolved(out_dir)
    home = _resolved(Path.home())
    if real == Path(real.anchor):
        raise BuildError(f"refusing to write outputs at the file-system root ({real})", where="--out",
                         hint="choose a dedicated output folder, e.g. --out output")
    if real == home:
        raise BuildError(f"refusing to write study folders directly into the home folder ({real})", where="--out",
                         hint="choose a dedicated output folder, e.g. --out ~/dossiers")
    for parent in [real, *real.parents]:
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == real else f"is under a file ({parent})"
                raise BuildError(f"the output folder {out_dir} {what}", where="--out",
                                 hint="choose a folder path; a file of that name is in the way")
            break


def check_replaceable(study_dir: Path, study_id: str, protected: Iterable[Path] = ()) -> None:
    """Refuse (BuildError, exit 2) to replace ``study_dir`` unless it is this study's build output and holds
    none of ``protected`` (the spec and its data)."""
    real = _resolved(study_dir)
    home = _resolved(Path.home())
    if real == Path(real.anchor) or real == home or real in home.parents:
        raise BuildError(f"refusing to replace {real}: it is the root or the home folder", where=str(study_dir),
                         hint="choose a dedicated --out folder")
    for p in protected:
        rp = _resolved(p)
        if rp == real or real in rp.parents:
            raise BuildError(f"refusing to replace {study_dir}: it holds the build's own input {p}",
                             where=str(study_dir),
                             hint="choose an --out folder outside the study's spec and data folder, e.g. "
                                  "--out output")
    if not os.path.lexists(study_dir):
        return
    if study_dir.is_symlink() or not study_dir.is_dir():
        raise BuildError(f"{study_dir} exists and is not a dossier output folder (it is a "
                         f"{'link' if study_dir.is_symlink() else 'file'})", where=str(study_dir),
                         hint="move it away or choose another --out folder; dossier never replaces it")
    if not any(study_dir.iterdir()):
        return  # an empty folder holds nothing to lose
    foreign = foreign_files(study_dir, study_id)
    if foreign:
        raise BuildError(f"refusing to replace {study_dir}: it was not created by a dossier build of study "
                         f"'{study_id}' (found: {', '.join(foreign)})", where=str(study_dir),
                         hint="move those files away, or choose another --out folder; dossier replaces only "
                              "folders it created")


# -- interrupted builds ------------------------------------------------------------------------------------

def _old_dirs(out_dir: Path, study_id: str) -> list[Path]:
    pat = re.compile(rf"^\.{re.escape(study_id)}\.old-\d+$")
    return sorted((p for p in out_dir.iterdir() if pat.match(p.name) and p.is_dir() and not p.is_symlink()),
                  key=lambda p: p.stat().st_mtime, reverse=True)


def _stage_dirs(out_dir: Path, study_id: str) -> list[Path]:
    pat = re.compile(rf"^\.{re.escape(study_id)}\.build-[A-Za-z0-9_]{{8}}$")
    return [p for p in out_dir.iterdir() if pat.match(p.name) and p.is_dir() and not p.is_symlink()]


def interrupted_swap(out_dir: Path, study_id: str) -> Path | None:
    """The previous output a killed build left renamed aside (``.<study>.old-<pid>``), if any."""
    if not out_dir.is_dir():
        return None
    olds = [p for p in _old_dirs(out_dir, study_id) if foreign_files(p, study_id) is None]
    return olds[0] if olds else None


def recover(out_dir: Path, study_id: str, say: Callable[[str], None] | None = None) -> list[str]:
    """Undo what killed builds left (call with the study lock held): restore the previous output when only
    its renamed copy exists, drop renamed copies the swap had already replaced, and remove stage folders.
    Folders that are not this study's build outputs are left alone. Returns what was done."""
    done: list[str] = []
    if not out_dir.is_dir():
        return done
    study_dir = out_dir / study_id
    for old in _old_dirs(out_dir, study_id):
        if foreign_files(old, study_id) is not None:
            continue  # not ours: leave it
        if not os.path.lexists(study_dir):
            os.replace(old, study_dir)
            done.append(f"restored the previous output from {old.name} (a build was interrupted)")
        else:
            shutil.rmtree(old)
            done.append(f"removed {old.name} left by an interrupted build")
    for stage in _stage_dirs(out_dir, study_id):
        shutil.rmtree(stage)
        done.append(f"removed the unfinished build folder {stage.name}")
    for msg in done:
        if say:
            say(msg)
    return done


def swap_in(stage_dir: Path, study_dir: Path) -> None:
    """Replace study_dir by stage_dir with two renames; the old folder survives any failure before them
    (and a kill between them leaves it as ``.<study>.old-<pid>``, restored by :func:`recover`)."""
    old = None
    if os.path.lexists(study_dir):
        old = study_dir.with_name(f".{study_dir.name}.old-{os.getpid()}")
        if os.path.lexists(old):
            shutil.rmtree(old)
        os.replace(study_dir, old)
    try:
        os.replace(stage_dir, study_dir)
    except OSError:
        if old is not None:
            os.replace(old, study_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- the lock ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def study_lock(out_dir: Path, study_id: str, say: Callable[[str], None] | None = None,
               timeout_s: float | None = None) -> Iterator[None]:
    """Hold ``<out>/.<study>.lock`` (an exclusive ``flock``) for the block; wait for another holder with a
    message; a BuildError after ``timeout_s`` (default :data:`LOCK_TIMEOUT_S`)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; builds are not serialized
        yield
        return
    timeout_s = LOCK_TIMEOUT_S if timeout_s is None else timeout_s
    path = out_dir / f".{study_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            (say or (lambda _m: None))(f"waiting for another build of study '{study_id}' (process {holder}) "
                                       f"to finish")
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise BuildError(f"another build of study '{study_id}' (process {holder}) has held the "
                                         f"output lock for over {timeout_s:.0f} s", where=str(path),
                                         hint="wait for it to finish, or stop it; the lock is released when "
                                              "its process ends") from None
                    time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
