"""Benchmark of ``exomir quantify``: speed against cutadapt, accuracy on known truth and real reads.

    .venv/bin/python benchmarks/bench_quant.py [--reads 4000000] [--repeats 2]

1. Simulates a realistic gzipped 50-nt small RNA library (exomir.quant.simulate: 400 miRNAs with
   a steep abundance distribution, isomiRs, 3 % adapter dimers, 27 % other-RNA fragments,
   0.1–0.4 % substitution errors along the read) of ``--reads`` reads.
2. Times, side by side and alternately (best of ``--repeats``), exomir end to end (gzip FASTQ →
   per-miRNA counts, reference already loaded; one sample on two cores) and ``cutadapt -j 2``
   trimming alone (same adapter, error rate, overlap and length limits; output discarded):
   wall time and CPU time (user + system of all processes). On a shared machine the wall times
   depend on the load (recorded); CPU time does much less.
3. Accuracy on the simulated library (Pearson of true and counted per-miRNA totals) and per read
   on a second, smaller library (share of miRNA reads given to their true miRNA).
4. Agreement with cutadapt + bowtie on the real reads of ../shared/data/fastq (Spearman over
   miRNAs with ≥ 10 reads in tests/reference/quant/cutadapt_bowtie_counts.csv).

Prints a table and writes benchmarks/results/quant.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EXOMIR_SHARED_DATA", REPO.parent / "shared" / "data"))
ADAPTER = "TGGAATTCTCGGGTGCCAAGG"


def _load() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "n/a"


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=4_000_000)
    parser.add_argument("--eval-reads", type=int, default=400_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "quant.json")
    args = parser.parse_args()

    from exomir.quant import load_reference, quantify, quantify_file
    from exomir.quant.simulate import evaluate_assignment, simulate_library

    mirbase = DATA / "mirbase_v22"
    t0 = time.perf_counter()
    ref = load_reference(str(mirbase))
    reference_s = time.perf_counter() - t0
    cutadapt = Path(sys.executable).with_name("cutadapt")
    results: dict = {"reads": args.reads, "read_length": 50, "cores": os.cpu_count(),
                     "python": platform.python_version(), "reference_load_s": round(reference_s, 3)}

    with tempfile.TemporaryDirectory() as tmp:
        fastq = Path(tmp) / "library.fastq.gz"
        t0 = time.perf_counter()
        lib = simulate_library(fastq, ref, reads=args.reads, seed=args.seed)
        results["simulate_s"] = round(time.perf_counter() - t0, 2)
        results["fastq_gz_bytes"] = fastq.stat().st_size
        load_before = _load()
        exomir_times, cutadapt_times, single_times = [], [], []
        exomir_cpu, cutadapt_cpu = [], []
        counted = None
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), _cpu()
            counted = quantify_file(fastq, ref, workers=2)
            exomir_times.append(time.perf_counter() - t0)
            exomir_cpu.append(_cpu() - c0)
            t0, c0 = time.perf_counter(), _cpu()
            subprocess.run([str(cutadapt), "-j", "2", "-a", ADAPTER, "-e", "0.1", "-O", "3", "-m", "16", "-M", "30",
                            "--quiet", "-o", os.devnull, str(fastq)], check=True)
            cutadapt_times.append(time.perf_counter() - t0)
            cutadapt_cpu.append(_cpu() - c0)
        t0 = time.perf_counter()
        quantify_file(fastq, ref, workers=1)
        single_times.append(time.perf_counter() - t0)
        results["load_average_before"] = load_before
        results["load_average_after"] = _load()
        ex, cu, one = min(exomir_times), min(cutadapt_times), min(single_times)
        results.update({
            "exomir_s": round(ex, 3), "exomir_reads_per_s": round(args.reads / ex),
            "exomir_1core_s": round(one, 3), "exomir_1core_reads_per_s": round(args.reads / one),
            "cutadapt_j2_s": round(cu, 3), "cutadapt_j2_reads_per_s": round(args.reads / cu),
            "speedup_vs_cutadapt_j2": round(cu / ex, 2),
            "exomir_cpu_s": round(min(exomir_cpu), 3), "cutadapt_j2_cpu_s": round(min(cutadapt_cpu), 3),
            "exomir_reads_per_cpu_s": round(args.reads / min(exomir_cpu)),
            "cutadapt_j2_reads_per_cpu_s": round(args.reads / min(cutadapt_cpu)),
            "cpu_ratio_cutadapt_over_exomir": round(min(cutadapt_cpu) / min(exomir_cpu), 2),
            "all_exomir_s": [round(x, 3) for x in exomir_times], "all_cutadapt_s": [round(x, 3) for x in cutadapt_times],
        })
        names = sorted(set(lib.truth) | set(counted.mirna_counts))
        truth = np.array([lib.truth.get(n, 0) for n in names], float)
        got = np.array([counted.mirna_counts.get(n, 0.0) for n in names])
        results["pearson_true_vs_counted"] = round(float(np.corrcoef(truth, got)[0, 1]), 6)
        results["mirna_reads_true"] = lib.mirna_reads
        results["mirna_reads_counted"] = round(float(got.sum()), 1)
        results["distinct_inserts"] = counted.qc["distinct_inserts"]

        small = Path(tmp) / "eval.fastq.gz"
        simulate_library(small, ref, reads=args.eval_reads, seed=args.seed + 1)
        evaluation = evaluate_assignment(small, ref)
        results["per_read_accuracy"] = round(evaluation["accuracy"], 5)
        results["per_read_wrong"] = round(evaluation["wrong"] / evaluation["mirna_reads"], 5)
        results["per_read_unassigned"] = round(evaluation["unassigned"] / evaluation["mirna_reads"], 5)

        real = [DATA / "fastq" / f for f in ("nextseq_truseq_1.fastq.gz", "nextseq_truseq_2.fastq.gz",
                                            "nextseq_qiaseq_umi.fastq.gz")]
        if all(p.exists() for p in real):
            run = quantify(real, Path(tmp) / "real", mirbase=str(mirbase), jobs=1)
            ours = pd.read_csv(Path(tmp) / "real" / "counts_exact.csv", index_col=0)
            reference = pd.read_csv(REPO / "tests" / "reference" / "quant" / "cutadapt_bowtie_counts.csv", index_col=0)
            spearman = {}
            for sample in reference.columns:
                keep = reference.index[reference[sample] >= 10]
                rho = spearmanr(reference.loc[keep, sample], ours[sample].reindex(keep).fillna(0)).correlation
                spearman[sample] = {"mirnas": len(keep), "spearman": round(float(rho), 4)}
            results["real_vs_cutadapt_bowtie"] = spearman
            results["real_fraction_assigned"] = {s: r.qc["fraction_assigned"] for s, r in run.results.items()}

    rows = [
        ("reads (simulated, gzip, 50 nt)", f"{args.reads:,}"),
        ("exomir end to end, 2 cores", f"{results['exomir_s']:.2f} s  ({results['exomir_reads_per_s']:,} reads/s)"),
        ("exomir end to end, 1 core", f"{results['exomir_1core_s']:.2f} s  ({results['exomir_1core_reads_per_s']:,} reads/s)"),
        ("cutadapt -j 2, trimming only", f"{results['cutadapt_j2_s']:.2f} s  ({results['cutadapt_j2_reads_per_s']:,} reads/s)"),
        ("speed-up vs cutadapt -j 2 (wall)", f"{results['speedup_vs_cutadapt_j2']:.1f}x"),
        ("CPU time exomir / cutadapt -j 2", f"{results['exomir_cpu_s']:.2f} s / {results['cutadapt_j2_cpu_s']:.2f} s "
                                            f"({results['cpu_ratio_cutadapt_over_exomir']:.1f}x less)"),
        ("exomir reads per CPU-second", f"{results['exomir_reads_per_cpu_s']:,}"),
        ("Pearson true vs counted", f"{results['pearson_true_vs_counted']:.5f}"),
        ("per-read accuracy", f"{results['per_read_accuracy']:.4%}  (wrong {results['per_read_wrong']:.3%}, "
                              f"unassigned {results['per_read_unassigned']:.3%})"),
    ]
    for sample, v in results.get("real_vs_cutadapt_bowtie", {}).items():
        rows.append((f"Spearman vs cutadapt+bowtie: {sample}", f"{v['spearman']:.4f} over {v['mirnas']} miRNAs"))
    rows.append(("load average before/after", f"{results['load_average_before']} / {results['load_average_after']}"))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
