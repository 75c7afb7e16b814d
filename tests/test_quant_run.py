"""Many samples: outputs per GUIDE §3, agreement with cutadapt + bowtie, failures, resume, Dask."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from conftest import REPO, shared_path
from exomir.errors import InputError
from exomir.quant import QuantOptions, quantify
from exomir.quant import runner as runner_module

REAL = ["nextseq_truseq_1.fastq.gz", "nextseq_truseq_2.fastq.gz", "nextseq_qiaseq_umi.fastq.gz"]
REFERENCE = REPO / "tests" / "reference" / "quant" / "cutadapt_bowtie_counts.csv"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    files = [shared_path("fastq", f) for f in REAL]
    out = tmp_path_factory.mktemp("quant") / "out"
    run = quantify(files, out, mirbase=str(shared_path("mirbase_v22")), jobs=1)
    return files, out, run


def test_outputs_follow_the_contract(real_run):
    _, out, run = real_run
    assert run.ok and not run.reused
    counts = pd.read_csv(out / "counts.csv", index_col=0)
    assert list(counts.columns) == ["nextseq_truseq_1", "nextseq_truseq_2", "nextseq_qiaseq_umi"]
    assert counts.index.name == "mirna" and counts.index.str.startswith("hsa-").all()
    assert (counts.dtypes == "int64").all() and (counts.values >= 0).all()
    exact = pd.read_csv(out / "counts_exact.csv", index_col=0)
    assert (counts.values == exact.round().values).all() or (abs(counts - exact) <= 0.5).all().all()
    qc = pd.read_csv(out / "qc.csv")
    assert list(qc["status"]) == ["ok"] * 3
    parts = qc[["no_adapter", "adapter_dimer", "too_short", "too_long", "ambiguous_n", "reads_kept"]].sum(axis=1)
    assert (parts == qc["reads_in"]).all() and (qc["reads_in"] == 10000).all()
    assert (qc["assigned_mirna"] == counts_from_exact(exact).round().astype(int).values).all()
    qiaseq = qc.set_index("sample").loc["nextseq_qiaseq_umi"]
    assert qiaseq["adapter"] == "AACTGTAGGCACCATCAAT" and bool(qiaseq["umi"])
    assert qiaseq["molecules"] == qiaseq["reads_kept"] - qiaseq["umi_duplicates"]
    assert qc.set_index("sample").loc["nextseq_truseq_1", "top_mirnas"].startswith("hsa-miR-10a-5p:")
    gff = (out / "isomirs.gff3").read_text().splitlines()
    assert gff[0] == "## mirGFF3. VERSION 1.1"
    assert gff[2] == "## COLDATA: nextseq_truseq_1,nextseq_truseq_2,nextseq_qiaseq_umi"
    features = [line.split("\t") for line in gff if not line.startswith("#")]
    assert all(len(f) == 9 and f[2] in {"ref_miRNA", "isomiR"} for f in features)
    attrs = dict(kv.split(" ", 1) for kv in features[0][8].split("; "))
    assert set(attrs) == {"UID", "Read", "Name", "Parent", "Variant", "Cigar", "Expression", "Filter", "Hits"}
    # the reads of miR-21-5p (one hairpin, no shared sequences) in the GFF add up to its count
    reads = {}
    for f in features:
        a = dict(kv.split(" ", 1) for kv in f[8].split("; "))
        if a["Name"] == "hsa-miR-21-5p":
            assert a["Parent"] == "hsa-mir-21" and a["UID"].startswith(f"iso-{len(a['Read'])}-")
            reads[a["Read"]] = float(a["Expression"].split(",")[0])
    assert sum(reads.values()) == exact.loc["hsa-miR-21-5p", "nextseq_truseq_1"] > 0


def counts_from_exact(exact: pd.DataFrame) -> pd.Series:
    return exact.sum(axis=0)


def test_agrees_with_cutadapt_bowtie(real_run):
    _, out, _ = real_run
    reference = pd.read_csv(REFERENCE, index_col=0)
    ours = pd.read_csv(out / "counts_exact.csv", index_col=0)
    for sample in reference.columns:
        ref = reference[sample]
        keep = ref[ref >= 10].index
        assert len(keep) >= 30
        rho = spearmanr(ref[keep], ours[sample].reindex(keep).fillna(0)).correlation
        assert rho >= 0.98, (sample, rho)


def test_bad_sample_fails_alone_and_run_resumes(real_run, tmp_path, monkeypatch):
    files, first_out, first = real_run
    good = files[0]
    bad = tmp_path / "broken.fastq.gz"
    bad.write_bytes(good.read_bytes()[:60_000])
    empty = tmp_path / "empty.fastq"
    empty.write_text("")
    out = tmp_path / "out"
    run = quantify([good, bad, empty], out, jobs=1)
    assert set(run.results) == {"nextseq_truseq_1"}
    assert set(run.failed) == {"broken", "empty"}
    assert "broken.fastq.gz" in run.failed["broken"] and "record" in run.failed["broken"]
    qc = pd.read_csv(out / "qc.csv").set_index("sample")
    assert qc.loc["broken", "status"] == "failed" and "truncated" in qc.loc["broken", "error"]
    assert qc.loc["empty", "status"] == "failed" and "empty" in qc.loc["empty", "error"]
    assert list(pd.read_csv(out / "counts.csv", index_col=0).columns) == ["nextseq_truseq_1"]
    assert (out / ".samples" / "nextseq_truseq_1.json.gz").exists()
    assert not (out / ".samples" / "broken.json.gz").exists()
    before = (out / "counts.csv").read_bytes()
    # the good sample is counted exactly as in the run without failures
    alone = pd.read_csv(out / "counts.csv", index_col=0)["nextseq_truseq_1"]
    together = pd.read_csv(first_out / "counts.csv", index_col=0)["nextseq_truseq_1"]
    pd.testing.assert_series_equal(alone[alone > 0], together[together > 0])

    # a rerun recomputes nothing that finished (interruption = results saved so far)
    calls = []
    real = runner_module.quantify_file
    monkeypatch.setattr(runner_module, "quantify_file", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    again = quantify([good, bad, empty], out, jobs=1)
    assert again.reused == ["nextseq_truseq_1"] and set(again.failed) == {"broken", "empty"}
    assert [Path(c).name for c in calls] == ["broken.fastq.gz", "empty.fastq"]
    assert (out / "counts.csv").read_bytes() == before
    # other options: the saved result no longer applies
    calls.clear()
    changed = quantify([good], out, jobs=1, options=QuantOptions(min_length=18))
    assert changed.reused == [] and len(calls) == 1
    assert pd.read_csv(out / "qc.csv").set_index("sample").loc["nextseq_truseq_1", "too_short"] > \
        qc.loc["nextseq_truseq_1", "too_short"]  # min length 18 applied this time


def test_dask_and_process_pool_give_identical_counts(real_run, tmp_path):
    from distributed import Client, LocalCluster

    files, first_out, _ = real_run
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        run = quantify(files, tmp_path / "dask", scheduler=client)
    assert run.ok
    for name in ("counts.csv", "counts_exact.csv", "isomirs.gff3"):
        assert (tmp_path / "dask" / name).read_bytes() == (first_out / name).read_bytes()
    pooled = quantify(files, tmp_path / "pool", jobs=2)
    assert pooled.ok
    assert (tmp_path / "pool" / "counts.csv").read_bytes() == (first_out / "counts.csv").read_bytes()


def test_cli_exit_codes(tmp_path):
    from exomir.cli import app

    good = shared_path("fastq", "nextseq_truseq_2.fastq.gz")
    bad = tmp_path / "notfastq.fastq"
    bad.write_text(">read1\nACGT\n")
    runner = CliRunner()
    ok = runner.invoke(app, ["quantify", str(good), "--out", str(tmp_path / "a"), "--jobs", "1"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "a" / "counts.csv").exists()
    failed = runner.invoke(app, ["quantify", str(good), str(bad), "--out", str(tmp_path / "b"), "--jobs", "1",
                                 "--adapter", "TGGAATTCTCGGGTGCCAAGG", "--min-length", "18"])
    assert failed.exit_code == 1
    qc = pd.read_csv(tmp_path / "b" / "qc.csv").set_index("sample")
    assert qc.loc["notfastq", "status"] == "failed" and "not a FASTQ" in qc.loc["notfastq", "error"]
    assert qc.loc["nextseq_truseq_2", "adapter_source"] == "Illumina TruSeq Small RNA"


def test_two_core_pipeline_matches_serial(mirbase_dir, tmp_path):
    from exomir.quant import load_reference, quantify_file

    ref = load_reference(str(mirbase_dir))
    path = shared_path("fastq", "nextseq_qiaseq_umi.fastq.gz")
    serial = quantify_file(path, ref, chunk_reads=2000)
    piped = quantify_file(path, ref, chunk_reads=2000, workers=2)
    assert piped.mirna_counts == serial.mirna_counts and piped.qc == serial.qc and piped.inserts == serial.inserts
    bad = shared_path("fastq", "nextseq_truseq_1.fastq.gz").read_bytes()[:50_000]
    broken = tmp_path / "broken.fastq.gz"
    broken.write_bytes(bad)
    with pytest.raises(InputError) as err:  # a read error in the parent stops the child too
        quantify_file(broken, ref, chunk_reads=500, workers=2)
    assert "broken.fastq.gz" in str(err.value) and err.value.record > 1


def test_counts_load_into_analyze(real_run):
    io = pytest.importorskip("exomir.io")
    _, out, _ = real_run
    cohort = io.read(out / "counts.csv")
    assert list(cohort.obs_names) == ["nextseq_truseq_1", "nextseq_truseq_2", "nextseq_qiaseq_umi"]
    assert "counts" in cohort.layers and cohort.n_vars == len(pd.read_csv(out / "counts.csv"))
    assert cohort.var.loc["hsa-miR-21-5p", "mimat"] == "MIMAT0000076"


def test_run_log_says_what_each_sample_gave(real_run):
    files, out, run = real_run
    text = (out / "run.log").read_text(encoding="utf-8")
    assert text.startswith("exomir ") and "\ncommand: " in text and text.rstrip().split("\n")[-1].startswith("finished in")
    for name in ("nextseq_truseq_1", "nextseq_truseq_2"):
        qc = run.results[name].qc
        assert f" info    {name}: {qc['reads_in']:,} reads, adapter {qc['adapter']} " in text

