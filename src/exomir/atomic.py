"""Write outputs so that a failure never leaves a half-written file or folder behind.

Files are written to a temporary sibling and renamed into place; a results folder is built in
a hidden staging folder next to it and moved into place only when every step succeeded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
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


@contextlib.contextmanager
def staged_directory(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success its contents are moved into ``out``.

    Entries of ``out`` with the same names are replaced; other files already in ``out`` are left
    alone. On failure the staging folder is removed and ``out`` is untouched.
    """
    from exomir.progress import staged_as

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        with staged_as(str(staging), str(out)):
            yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _share_like_user_files(staging, directory=True)
    for inner in staging.rglob("*"):
        if inner.stat().st_mode & 0o777 in (0o600, 0o700):  # made by mkstemp/mkdtemp inside
            _share_like_user_files(inner, directory=inner.is_dir())
    if not out.exists():
        os.replace(staging, out)
        return
    for entry in sorted(staging.iterdir()):
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)
    staging.rmdir()
