"""``exomir analyze`` killed with SIGKILL at random points while it replaces an existing results
folder: each time the folder is the old complete result or the new complete result, and the next
run leaves no staging folder behind.

The runs are forked from the test process (no interpreter start-up per run) on a small qPCR
cohort without panels; half the kill points fall anywhere in a run, half just after it starts
writing its results, where the results folder is swapped.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sys
import time

import pytest

from exomir.simulate import simulate_cohort, write_cohort

KILLS = 20


def _snapshot(folder) -> dict[str, str]:
    """Every file's SHA-256; run.log only by its presence (its lines carry the time they were said)."""
    return {str(p.relative_to(folder)): "present" if p.name == "run.log" else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _staging(out) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _args(paths, out) -> list[str]:
    return ["analyze", "--expression", str(paths["expression"]), "--clinical", str(paths["clinical"]),
            "--out", str(out), "--afp", "afp_ng_ml", "--control", "LC", "--no-panels", "--quiet"]


def _fork_analyze(args: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            from exomir.cli import main

            sys.argv = ["exomir", *args]
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    return pid


def _run(args: list[str]) -> float:
    started = time.monotonic()
    _, status = os.waitpid(_fork_analyze(args), 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    return time.monotonic() - started


def _wait_for_writing(out, pid: int, limit: float) -> bool:
    """Until the run writes its last result (the report appears in its staging folder); False if
    it ended first (it is then reaped)."""
    deadline = time.monotonic() + 2 * limit
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
        if any((out.parent / name / "report.html").exists() for name in _staging(out)):
            return True
        time.sleep(0.002)
    return True


@pytest.mark.slow
def test_sigkill_during_analyze_leaves_the_old_or_the_new_complete_result(tmp_path):
    inputs = {}
    for label, seed in (("a", 1), ("b", 2)):
        adata = simulate_cohort(32, measure="cq", n_mirnas=32, seed=seed)
        inputs[label] = write_cohort(adata, f"{tmp_path}/inputs/{label}/")
    # the complete results of each input, written at the same depth as the folder under test
    # (input paths in the report are relative to the results folder)
    complete, duration = {}, {}
    for label in inputs:
        ref = tmp_path / f"ref_{label}" / "results"
        duration[label] = _run(_args(inputs[label], ref))
        complete[label] = _snapshot(ref)
    assert complete["a"] != complete["b"]
    assert set(complete["a"]) >= {"report.html", "cohort.h5ad", "tables/differential.csv", "tables/roc.csv"}

    out = tmp_path / "work" / "results"
    shutil.copytree(tmp_path / "ref_a" / "results", out)
    current = "a"
    rng = random.Random(16)
    outcomes = {"old": 0, "new": 0, "staging left by the kill": 0}
    for kill in range(KILLS):
        other = "b" if current == "a" else "a"
        pid = _fork_analyze(_args(inputs[other], out))
        if kill % 2 == 0:
            time.sleep(rng.uniform(0.05, duration[other]))
            running = True
        else:
            running = _wait_for_writing(out, pid, duration[other])
            time.sleep(rng.uniform(0, 0.2))
        if running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        state = _snapshot(out)
        assert state in (complete[current], complete[other]), f"kill {kill}: a mixed folder"
        if state == complete[other]:
            outcomes["new"] += 1
            current = other
        else:
            outcomes["old"] += 1
        left = _staging(out)
        assert len(left) <= 1, f"kill {kill}: staging folders of earlier runs were not cleaned: {left}"
        outcomes["staging left by the kill"] += len(left)
    _run(_args(inputs["b" if current == "a" else "a"], out))
    assert _staging(out) == [], "the next run leaves no staging folder"
    print(f"\n{KILLS} SIGKILLs of analyze over an existing --out: {outcomes}")
    assert outcomes["old"] + outcomes["new"] == KILLS
