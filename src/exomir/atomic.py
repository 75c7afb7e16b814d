"""Write outputs so that a failure never leaves a half-written file or folder behind.

Files are written to a temporary sibling and renamed into place. A results folder is built in a
hidden staging folder next to it (``.OUT.*.partial``) and swapped with the old folder in one
step when every step succeeded: at any moment, even after a ``kill -9``, ``OUT`` is either the
old complete result or the new one. A staging folder left by a killed run is removed by the next
run that writes beside it (a running one is recognised by the lock it holds).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from exomir.errors import ExomirError, InputError
from exomir.logs import staged_as

try:  # locks held by a running writer on its staging folder; released by the kernel when it dies
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

STAGING_SUFFIX = ".partial"
_RENAME_EXCHANGE = 2  # linux/fs.h
_OUT_OF_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _share_like_user_files(path: Path, directory: bool) -> None:
    """Temporary files are created private (0600/0700); a finished output gets the permissions
    any other file the user writes would get (the umask decides)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_current_umask())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=STAGING_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _share_like_user_files(tmp_path, directory=False)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary file for writing; it becomes ``path`` only if the block succeeds."""
    if "newline" not in kwargs and "b" not in mode:
        kwargs["newline"] = ""  # same bytes on every platform
    if "encoding" not in kwargs and "b" not in mode:
        kwargs["encoding"] = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


# --- results folders ---------------------------------------------------------------------------


def check_output_folder(out: str | Path) -> Path:
    """Refuse, before any work, a results folder that cannot be written; returns the real path.

    ``out`` may be new (its nearest existing parent must be a writable folder) or an existing
    writable folder (its contents will be replaced). A symbolic link is followed.
    """
    out = Path(out)
    if out.is_symlink():
        out = out.resolve()
    if out.exists() and not out.is_dir():
        raise InputError("exists and is a file, not a folder", path=out,
                         expected="a new folder, or an existing results folder to replace")
    existing = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not existing.is_dir():
        raise InputError(f"cannot create the results folder: {existing} is a file, not a folder", path=out)
    for folder in {existing, out.parent} if out.exists() else {existing}:
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"cannot write the results folder: {folder} is read-only (permission denied)", path=out,
                             expected="a folder you may write in")
    return out


def clean_stale_staging(out: str | Path) -> list[Path]:
    """Remove the staging folders of ``out`` left by runs that were killed; returns them.

    When a killed run had moved the old results aside without putting the new ones in place
    (only on systems without an atomic swap), the old results are put back.
    """
    out = Path(out)
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    # mkdtemp's names: ".OUT." + 8 random characters + suffix (not those of a folder "OUT.v2")
    ours = re.compile(rf"\.{re.escape(out.name)}\.[a-z0-9_]{{8}}(\.previous)?{re.escape(STAGING_SUFFIX)}")
    for entry in sorted(out.parent.iterdir()):
        name = entry.name
        if not ours.fullmatch(name) or not entry.is_dir() or entry.is_symlink():
            continue
        with _lock(entry, wait=False) as held:
            if not held:
                continue  # a running writer's
            if name.endswith(".previous" + STAGING_SUFFIX) and not out.exists():
                os.rename(entry, out)
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def staged_directory(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``out`` in one step.

    What the staging folder holds wins; entries of an existing ``out`` that it does not hold
    (files the user put there, quantify's resume state) are carried over into the new folder.
    On failure the staging folder is removed and ``out`` is untouched.
    """
    final = check_output_folder(out)
    clean_stale_staging(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=STAGING_SUFFIX, dir=final.parent))
    except OSError as exc:
        raise InputError(f"cannot create the results folder ({exc.strerror or exc})", path=out) from None
    with _lock(staging, wait=True):
        try:
            with staged_as(str(staging), str(out)):
                yield staging
            _share_staged(staging)
            _swap_into_place(staging, final)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in _OUT_OF_SPACE:
                raise ExomirError(f"cannot write the results into {out} ({exc.strerror}); nothing was changed "
                                  "there") from None
            raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _share_staged(staging: Path) -> None:
    _share_like_user_files(staging, directory=True)
    for inner in staging.rglob("*"):
        if not inner.is_symlink() and inner.stat().st_mode & 0o777 in (0o600, 0o700):  # made by mkstemp/mkdtemp
            _share_like_user_files(inner, directory=inner.is_dir())


def _swap_into_place(staging: Path, final: Path) -> None:
    """Make the complete ``staging`` folder ``final`` in one step; the old one is removed after."""
    if not final.exists():
        os.replace(staging, final)
        return
    for entry in sorted(final.iterdir()):
        if not os.path.lexists(staging / entry.name):
            _link_tree(entry, staging / entry.name)
    if _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # now the old results
        return
    # No atomic exchange here: move the old folder aside under a name the next run recognises,
    # so that a kill between the two renames is repaired (the old results are put back).
    previous = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".previous" + STAGING_SUFFIX, dir=final.parent))
    with _lock(previous, wait=True):
        os.replace(final, previous)
        os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)


def _link_tree(source: Path, target: Path) -> None:
    """Carry ``source`` into the new folder without copying data (hard links; copies if refused)."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, target)


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _lock(folder: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive lock on a folder; yields False if another process holds it (wait=False)."""
    if fcntl is None:  # pragma: no cover
        yield True
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        except OSError:  # a file system without locks: only the process that made it removes it
            yield wait
            return
        yield True
    finally:
        os.close(fd)
