"""Sample sheets, output checks, flagged samples, integer QC columns, workers that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from exomir.errors import InputError
from exomir.quant import quantify
from exomir.quant.samples import check_out, read_sample_sheet
from exomir.quant.simulate import TRUSEQ


def test_sample_sheet_rows_and_errors(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("sample,fastq,adapter,umi\nA,a.fastq.gz,,\nB,/data/b.fq,TGGAATTCTCGGGTGCCAAGG,no\n")
    a, b = read_sample_sheet(sheet)
    assert (a.sample, a.fastq, a.adapter, a.umi) == ("A", tmp_path / "a.fastq.gz", None, None)
    assert (b.fastq, b.adapter, b.umi) == (Path("/data/b.fq"), TRUSEQ, False)
    cases = {
        "sample,file\nA,a.fq\n": "no 'fastq' column",
        "sample,fastq\nA,a.fq\nA,b.fq\n": "line 3",
        "sample,fastq,umi\nA,a.fq,maybe\n": "not yes/no",
        "sample,fastq,adapter\nA,a.fq,TGGZZ\n": "not a DNA/RNA sequence",
        "sample,fastq\nA,a.fq,extra\n": "3 fields",
        "sample,fastq\n": "no samples",
    }
    for text, words in cases.items():
        sheet.write_text(text)
        with pytest.raises(InputError) as err:
            read_sample_sheet(sheet)
        assert words in str(err.value) and "sheet.csv" in str(err.value)


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_out(target)
    result = subprocess.run([sys.executable, "-m", "exomir", "quantify",
                             str(shared_path("fastq", "nextseq_truseq_1.fastq.gz")), "--out", str(target)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr and target.read_text() == "keep me"


def test_dimer_only_sample_is_flagged_and_left_out(tmp_path):
    from exomir.cli import app

    dimers = tmp_path / "dimers.fastq"
    dimers.write_text("".join(f"@r{i}\n{(TRUSEQ + 'ATCTCGTATGCCGTCTTCTGCTTG' + 'A' * 10)[:50]}\n+\n{'I' * 50}\n" for i in range(300)))
    good = shared_path("fastq", "nextseq_truseq_1.fastq.gz")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"sample,fastq\ngood,{good}\ndimers,{dimers}\n")
    result = CliRunner().invoke(app, ["quantify", "--samples", str(sheet), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "flagged" in result.output
    qc = pd.read_csv(tmp_path / "out" / "qc.csv").set_index("sample")
    assert qc.loc["dimers", "status"] == "flagged" and "adapter dimer" in qc.loc["dimers", "error"]
    assert qc.loc["dimers", "adapter_dimer"] == 300 and qc.loc["good", "status"] == "ok"
    assert list(pd.read_csv(tmp_path / "out" / "counts.csv", index_col=0).columns) == ["good"]
    # integers stay integers beside a failed or flagged row
    text = (tmp_path / "out" / "qc.csv").read_text()
    assert ",10000," in text and "10000.0" not in text
    html = (tmp_path / "out" / "quantify_report.html").read_text()
    assert "dimers" in html and "plotly" in html and '<script src="http' not in html


def test_rna_types_in_qc_and_close_to_mirtrace(tmp_path):
    files = [shared_path("fastq", f"nextseq_truseq_{i}.fastq.gz") for i in (1, 2)]
    run = quantify(files, tmp_path / "out", ncrna=str(shared_path("ncrna")))
    reference = pd.read_csv(shared_path("fastq", "mirtrace_rnatype_reference.tsv"), sep="\t", comment="#",
                            index_col=0)
    for sample in reference.columns:
        qc = run.results[sample].qc
        mirtrace = reference[sample] / reference[sample].sum()
        assert abs(qc["share_mirna"] - mirtrace["miRNA"]) < 0.05
        assert abs(qc["share_trna"] - mirtrace["tRNA"]) < 0.05
        assert qc["share_rrna"] is None  # no rRNA reference in the local copy: not measured, not zero
        assert 40 <= qc["mirna_complexity_95"] <= 120 and qc["insert_lengths"].startswith("16:")
        total = sum(qc[f"rna_{t}"] for t in ("mirna", "trna", "artifact", "unknown"))
        assert total == qc["reads_in"] - qc["no_adapter"] - qc["too_short"]
    # miRBase entries that are tRNA fragments are named as such
    assert run.ncrna_like.get("hsa-miR-3182") == "trna" and "hsa-miR-21-5p" not in run.ncrna_like
    assert (tmp_path / "out" / "ncrna_like_mirnas.csv").read_text().startswith("mirna,rna_type,reads\n")


_ORPHAN_SCRIPT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from exomir.quant.runner import _kill_with_parent
pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"), initializer=_kill_with_parent)
futures = [pool.submit(time.sleep, 60) for _ in range(2)]
time.sleep(1.5)
print(" ".join(str(p) for p in pool._processes), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_pool_workers_die_with_a_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        alive = [p for p in workers if _alive(p)]
        time.sleep(0.1)
    assert not alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
