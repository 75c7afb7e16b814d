"""Atomic outputs: nothing half-written on failure, and finished files shared like the user's own."""

from __future__ import annotations

import os
import stat

import pytest

from exomir.atomic import atomic_open, staged_directory


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_open_writes_only_on_success(tmp_path):
    target = tmp_path / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("stop")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_open(target) as handle:
        handle.write("a,b\n")
    assert target.read_bytes() == b"a,b\n"


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "file.txt") as handle:
            handle.write("x")
        with staged_directory(tmp_path / "out") as staging:
            (staging / "tables").mkdir()
            with atomic_open(staging / "tables" / "t.csv") as handle:
                handle.write("y")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "file.txt") == 0o644
    assert _mode(tmp_path / "out") == 0o755
    assert _mode(tmp_path / "out" / "tables" / "t.csv") == 0o644


def test_staged_directory_leaves_nothing_on_failure_and_keeps_other_files(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(ValueError):
        with staged_directory(out) as staging:
            (staging / "report.html").write_text("partial")
            raise ValueError("bad input")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "report.html").write_text("old")
    with staged_directory(out) as staging:
        (staging / "report.html").write_text("new")
    assert (out / "report.html").read_text() == "new"
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_messages_name_the_final_folder_while_staging(tmp_path, capsys):
    from logging import getLogger

    from exomir.logs import set_quiet

    info = getLogger("exomir.atomic").info

    set_quiet(False)
    with staged_directory(tmp_path / "results") as staging:
        info(f"read {staging / 'input' / 'expression.csv'}")
    err = capsys.readouterr().err
    assert str(tmp_path / "results" / "input" / "expression.csv") in err.replace("\n", "")
    assert ".partial" not in err



# --- replacing an existing results folder ----------------------------------------------------------

import signal  # noqa: E402

from exomir import atomic  # noqa: E402
from exomir.errors import InputError  # noqa: E402


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write_result(staging, label: str) -> None:
    (staging / "tables").mkdir()
    for name in ("differential", "roc", "survival"):
        (staging / "tables" / f"{name}.csv").write_text(f"{name},{label}\n")
    (staging / "cohort.h5ad").write_text(f"cohort {label}")
    (staging / "report.html").write_text(f"<html>{label}</html>")


def _old_and_new(out):
    """The folder as the old run left it (with a file of the user's) and as the new run must leave it."""
    with atomic.staged_directory(out) as staging:
        _write_result(staging, "old")
    (out / "notes.txt").write_text("mine")
    (out / "tables" / "extra.csv").write_text("stale table of the old run")
    old = _tree(out)
    new = {k: v.replace(b"old", b"new") for k, v in old.items() if k != "tables/extra.csv"}
    new["notes.txt"] = b"mine"
    return old, new


def _staging_left(out) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_existing_folder_is_swapped_whole_and_keeps_the_users_files(tmp_path):
    out = tmp_path / "results"
    old, new = _old_and_new(out)
    with atomic.staged_directory(out) as staging:
        _write_result(staging, "new")
        assert _tree(out) == old  # untouched until the end
    assert _tree(out) == new  # the old run's extra table is gone with the old folder; notes.txt carried over
    assert _staging_left(out) == []


def _kill_at(step: int, out, exchange: bool) -> int:
    """Fork a writer of ``out`` that SIGKILLs itself before or after its ``step``-th file-system call
    of the swap; returns the child's wait status (killed or exited 0 when there were fewer calls)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        calls = [0]

        def counted(fn):
            def wrapper(*args, **kwargs):
                for when in (0, 1):
                    calls[0] += 1
                    if calls[0] == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    if when == 0:
                        result = fn(*args, **kwargs)
                return result
            return wrapper

        try:
            atomic.os.replace = counted(os.replace)
            atomic.os.rename = counted(os.rename)
            atomic.shutil.rmtree = counted(shutil_rmtree)
            atomic._link_tree = counted(atomic._link_tree)
            atomic._exchange = counted(atomic._exchange if exchange else (lambda a, b: False))
            with atomic.staged_directory(out) as staging:
                _write_result(staging, "new")
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


import shutil  # noqa: E402

shutil_rmtree = shutil.rmtree


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_a_kill_at_any_step_of_the_swap_leaves_old_or_new_and_the_next_run_cleans_up(tmp_path, exchange):
    out = tmp_path / "results"
    killed_steps = 0
    for step in range(1, 40):
        shutil.rmtree(tmp_path)
        tmp_path.mkdir()
        old, new = _old_and_new(out)
        status = _kill_at(step, out, exchange)
        if os.WIFEXITED(status):  # the swap made fewer calls than this: every step was tried
            assert _tree(out) == new and _staging_left(out) == []
            break
        assert os.WTERMSIG(status) == signal.SIGKILL
        killed_steps += 1
        if exchange:
            assert _tree(out) in (old, new), step
        else:
            # between the two renames there is no folder: the next run puts the old one back
            assert not out.exists() or _tree(out) in (old, new), step
        atomic.clean_stale_staging(out)
        assert _tree(out) in (old, new) and _staging_left(out) == [], step
        with atomic.staged_directory(out) as staging:  # the next run
            _write_result(staging, "new")
        assert _tree(out) == new and _staging_left(out) == [], step
    # link the user's file, exchange, remove the old folder (+ move aside and back without exchange)
    assert killed_steps == (6 if exchange else 10)


def test_stale_staging_is_removed_but_a_running_writers_is_not(tmp_path):
    out = tmp_path / "results"
    stale = tmp_path / ".results.abcd1234.partial"
    stale.mkdir()
    (stale / "report.html").write_text("killed run")
    other = tmp_path / ".results.v2.abcd1234.partial"  # staging of another folder, "results.v2"
    other.mkdir()
    with atomic.staged_directory(out) as staging:
        assert not stale.exists() and other.exists()
        # a second writer beside this one leaves the running staging folder alone
        assert atomic.clean_stale_staging(out) == [] and staging.exists()
        (staging / "report.html").write_text("new")
    assert (out / "report.html").read_text() == "new"
    assert _staging_left(out) == [other.name]  # another folder's is not this one's to remove


def test_an_unusable_out_is_refused_before_any_work(tmp_path):
    afile = tmp_path / "results.txt"
    afile.write_text("not a folder")
    ran = []
    with pytest.raises(InputError, match="is a file, not a folder"):
        with atomic.staged_directory(afile):
            ran.append(1)
    with pytest.raises(InputError, match="results.txt is a file"):
        with atomic.staged_directory(afile / "sub" / "out"):
            ran.append(1)
    assert ran == [] and afile.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_out_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        with pytest.raises(InputError, match="read-only"):
            with atomic.staged_directory(locked / "results"):
                pass
    finally:
        os.chmod(locked, 0o755)


def test_a_full_disk_is_an_error_without_traceback_and_without_output(tmp_path):
    import errno

    from exomir.errors import ExomirError

    out = tmp_path / "results"
    with pytest.raises(ExomirError, match="No space left on device"):
        with atomic.staged_directory(out) as staging:
            (staging / "report.html").write_text("half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []
