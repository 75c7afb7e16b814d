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
    from exomir.progress import info, set_quiet

    set_quiet(False)
    with staged_directory(tmp_path / "results") as staging:
        info(f"read {staging / 'input' / 'expression.csv'}")
    err = capsys.readouterr().err
    assert str(tmp_path / "results" / "input" / "expression.csv") in err.replace("\n", "")
    assert ".partial" not in err

