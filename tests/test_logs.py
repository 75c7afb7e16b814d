"""What exomir says: logging through rich on stderr, quiet mode, warnings of one kind folded into
one line with a count, and the run.log of every results folder (meta, train; quantify's in
test_quant_run, analyze's and demo's in test_results_folder and test_analyze)."""

from __future__ import annotations

import logging
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir import logs
from tests.conftest import shared_path

LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (info|warning|step|error) +\S")


@pytest.fixture
def wide(capsys):
    """stderr as a wide terminal shows it (one message, one line), not quiet; restored after."""
    old = logs.console.width
    logs.console.width = 10_000
    logs.set_quiet(False)
    logs.flush()
    capsys.readouterr()
    yield
    logs.flush()
    logs.console.width = old
    logs.set_quiet(False)


def _err_lines(capsys) -> list[str]:
    logs.flush()
    return capsys.readouterr().err.splitlines()


def test_warnings_of_one_kind_in_a_row_are_the_first_and_a_count(wide, capsys):
    log = logging.getLogger("exomir.test_logs")
    for i in range(5):
        log.warning(f"query miRNA 'hsa-mir-{i}' is ambiguous; all of MIMAT{i:07d}:a;MIMAT{i + 1:07d}:b are used")
    log.info("enrichment done")
    log.warning("sample S1 failed: file not found")
    log.warning("sample S2 failed: not a FASTQ file")  # other words: another kind, shown
    for reads, sample in ((10, "S1"), (12, "S2")):
        log.warning("%d reads of %s are too short", reads, sample)  # the same format string: folded
    assert _err_lines(capsys) == [
        "warning: query miRNA 'hsa-mir-0' is ambiguous; all of MIMAT0000000:a;MIMAT0000001:b are used",
        "warning: 4 more like the one above",
        "enrichment done",
        "warning: sample S1 failed: file not found",
        "warning: sample S2 failed: not a FASTQ file",
        "warning: 10 reads of S1 are too short",
        "warning: 1 more like the one above",
    ]


def test_quiet_shows_warnings_only_and_run_log_keeps_every_message(wide, capsys):
    log = logging.getLogger("exomir.test_logs")
    logs.set_quiet(True)
    with logs.recording() as lines:
        log.info("read 40 samples")
        for i in range(3):
            log.warning(f"sample S{i} has no reads")
        log.error("the last word", extra={"label": "failed"})
    assert _err_lines(capsys) == ["warning: sample S0 has no reads", "warning: 2 more like the one above (all in run.log)",
                                  "failed: the last word"]
    assert [line[20:] for line in lines] == ["info    read 40 samples", "warning sample S0 has no reads",
                                             "warning sample S1 has no reads", "warning sample S2 has no reads",
                                             "error   the last word"]
    assert all(LINE.match(line) for line in lines)


def test_messages_keep_brackets_and_errors_are_not_wrapped(capsys):
    logs.set_quiet(False)
    logs.console.width, old = 40, logs.console.width
    try:
        logging.getLogger("exomir.test_logs").info("sample [/x] in plate [bold]1[/bold]")
        logs.error("case group 'HCCX' not found in column 'group' of /data/some/long/path/clinical.csv")
        err = capsys.readouterr().err
    finally:
        logs.console.width = old
    assert "sample [/x] in plate [bold]1[/bold]" in err  # printed as written, never read as markup
    assert "error: case group 'HCCX' not found in column 'group' of /data/some/long/path/clinical.csv\n" in err


def test_tcga_ambiguous_precursor_names_fold_into_two_lines_each(wide, capsys):
    """TCGA gives precursor names (hsa-mir-21): each is ambiguous between its two arms. Enrichment of
    them warned once per name, query and background: hundreds of lines of one kind."""
    counts = shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz")
    shared_path("mirbase_v22")
    shared_path("targets", "mirtarbase_strong_evidence_human.csv")
    from exomir.tools import enrich

    names = pd.read_csv(counts, usecols=[0]).iloc[:, 0].astype(str).tolist()
    assert len(names) == 1046
    with logs.recording() as lines:
        enrich(names[:300], background_mirnas=names, gene_sets="kegg_2016")
    err = _err_lines(capsys)
    recorded = {role: sum(f"warning {role} miRNA '" in line and "is ambiguous" in line for line in lines)
                for role in ("query", "background")}
    assert recorded["query"] > 100 and recorded["background"] > 400  # each name's warning is in run.log
    shown = [line for line in err if "is ambiguous" in line]
    assert len(shown) == 2 and shown[0].startswith("warning: query miRNA 'hsa-") and \
        shown[1].startswith("warning: background miRNA 'hsa-")
    for role, first in zip(("query", "background"), shown):
        after = err[err.index(first) + 1]
        assert after == f"warning: {recorded[role] - 1:,} more like the one above (all in run.log)", role
    assert len(err) < 12  # was one line per ambiguous name: more than 500


# --- run.log in every results folder --------------------------------------------------------------

def run_log_text(path) -> str:
    """run.log as written: a head (version, command), timed lines, the time the run took."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("exomir ") and "\ncommand: " in text
    assert re.search(r"\nfinished in \d+\.\d s\n$", text)
    body = text.splitlines()[2:-1]
    assert body and all(LINE.match(line) for line in body)
    return text


def test_meta_writes_run_log(tmp_path):
    from exomir.cli import app

    shared_path("mirbase_v22")
    table = tmp_path / "studies.csv"
    table.write_text("study,mirna,hr,hr_ci_low,hr_ci_high\nS1,miR-215-5p,2.1,1.2,3.7\nS2,miR-215,1.8,1.1,2.9\n"
                     "S3,hsa-miR-215-5p,2.6,1.3,5.2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["meta", str(table), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    text = run_log_text(tmp_path / "m" / "run.log")
    assert f"info    meta-analysis of 1 miRNA(s) across 3 cohort(s) (log_hr, REML) → {tmp_path / 'm'}" in text


def test_train_writes_run_log_beside_the_model(tmp_path):
    from exomir.cli import app
    from exomir.io import write_h5ad
    from exomir.simulate import simulate_cohort

    write_h5ad(simulate_cohort(120, n_mirnas=40, seed=3), tmp_path / "train.h5ad")
    result = CliRunner().invoke(app, ["-q", "train", "--cohort", str(tmp_path / "train.h5ad"), "--out",
                                      str(tmp_path / "hcc.json"), "--inner-folds", "3", "--outer-folds", "3",
                                      "--max-features", "3"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hcc.json", "hcc.run.log", "train.h5ad"]
    text = run_log_text(tmp_path / "hcc.run.log")
    assert re.search(r" info    \S+hcc\.json: 3 features; nested-CV AUC 0\.\d{3} ", text)


def test_quiet_cli_prints_no_status_lines(tmp_path):
    from exomir.cli import app

    runner = CliRunner()
    loud = runner.invoke(app, ["simulate", "--out", f"{tmp_path}/a/", "--n", "40", "--n-mirnas", "40"])
    quiet = runner.invoke(app, ["-q", "simulate", "--out", f"{tmp_path}/b/", "--n", "40", "--n-mirnas", "40"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "expression: " in loud.output and quiet.output == ""


def test_the_same_warning_from_another_call_is_said_again(wide, capsys):
    """Only a loop folds: the same warning said from another place (the next file read, a notebook
    cell, another test) is shown in full."""
    log = logging.getLogger("exomir.test_logs")

    def read(folder):
        log.warning(f"no hairpin sequences in {folder}: precursor names will not resolve")

    read("/data/plate1")
    read("/data/plate2")
    for folder in ("/data/plate3", "/data/plate4"):
        read(folder)
    assert _err_lines(capsys) == ["warning: no hairpin sequences in /data/plate1: precursor names will not resolve",
                                  "warning: no hairpin sequences in /data/plate2: precursor names will not resolve",
                                  "warning: no hairpin sequences in /data/plate3: precursor names will not resolve",
                                  "warning: 1 more like the one above"]
