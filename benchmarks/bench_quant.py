"""Benchmark of ``exomir quantify``: speed against cutadapt, accuracy on known truth and real reads.

    EXOMIR_SHARED_DATA=../shared/data .venv/bin/python benchmarks/bench_quant.py [--reads 2000000] [--repeats 3]

1. Simulates two gzipped 50-nt libraries with known truth (exomir.quant.simulate):
   * plasma-like: 27 % miRNA reads (400 miRNAs, isomiRs, errors), 3 % adapter dimers, 35 %
     random inserts from a pool (16–45 nt) and 35 % fragments of 300 fixed long RNAs (18–45 nt,
     repeating as tRNA/rRNA fragments do): about 70 % non-miRNA and hundreds of thousands of
     distinct inserts;
   * tissue-like: 67 % miRNA reads, 10 % random inserts, 20 % long-RNA fragments.
2. For each, times side by side and alternately (``--repeats`` rounds; the median of each and the
   median of the per-round ratios) exomir end to end (gzip FASTQ → per-miRNA counts and QC, the
   reference loaded, a fresh assignment store each time: nothing carried over between rounds,
   ``--threads`` = cores) and ``cutadapt -j 2`` trimming alone (same adapter, error rate, overlap
   and length limits; output discarded). Wall and CPU time (user + system, all threads and
   children). The load average is recorded: the machine may be shared.
3. Accuracy per read on each library (share of miRNA reads given to their true miRNA; spurious
   = non-miRNA reads given to a miRNA, as a share of the miRNA reads).
4. Throughput against the number of distinct inserts: plasma-like libraries of the same depth
   whose random pool grows.
5. Agreement with cutadapt + bowtie on the real reads of ../shared/data/fastq (Spearman over
   miRNAs with ≥ 10 reads in tests/reference/quant/cutadapt_bowtie_counts.csv).

Prints a table and writes benchmarks/results/quant.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
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
LIBRARIES = {
    "plasma": dict(mirna_fraction=0.27, dimer_fraction=0.03, random_fraction=0.35, random_pool=400_000,
                   fragment_fraction=0.35),
    "tissue": dict(mirna_fraction=0.67, dimer_fraction=0.03, random_fraction=0.10, random_pool=100_000,
                   fragment_fraction=0.20),
}


def _load() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "n/a"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _exomir(fastq: Path, ref, threads: int):
    from exomir.quant.sample import quantify_file
    from exomir.quant.store import AssignmentStore

    return quantify_file(fastq, ref, workers=threads, store=AssignmentStore(ref))


def _cutadapt(fastq: Path) -> None:
    cutadapt = Path(sys.executable).with_name("cutadapt")
    subprocess.run([str(cutadapt), "-j", "2", "-a", ADAPTER, "-e", "0.1", "-O", "3", "-m", "16", "-M", "30",
                    "--quiet", "-o", os.devnull, str(fastq)], check=True)


def side_by_side(fastq: Path, ref, reads: int, repeats: int, threads: int) -> dict:
    """Alternating rounds of exomir and cutadapt -j 2 on one file."""
    ours, theirs, ours_cpu, theirs_cpu, ratios = [], [], [], [], []
    result = None
    _exomir(fastq, ref, threads)  # compiled kernels and the hairpin screen are ready before timing
    load_before = _load()
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), _cpu()
        result = _exomir(fastq, ref, threads)
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(_cpu() - c0)
        t0, c0 = time.perf_counter(), _cpu()
        _cutadapt(fastq)
        theirs.append(time.perf_counter() - t0)
        theirs_cpu.append(_cpu() - c0)
        ratios.append(theirs[-1] / ours[-1])
    ex, cu = statistics.median(ours), statistics.median(theirs)
    return {
        "reads": reads, "distinct_inserts": result.qc["distinct_inserts"],
        "exomir_s": round(ex, 3), "exomir_reads_per_s": round(reads / ex),
        "cutadapt_j2_s": round(cu, 3), "cutadapt_j2_reads_per_s": round(reads / cu),
        "ratio_vs_cutadapt_j2_median": round(statistics.median(ratios), 2),
        "exomir_cpu_s": round(statistics.median(ours_cpu), 3), "cutadapt_j2_cpu_s": round(statistics.median(theirs_cpu), 3),
        "exomir_reads_per_cpu_s": round(reads / statistics.median(ours_cpu)),
        "all_exomir_s": [round(x, 3) for x in ours], "all_cutadapt_s": [round(x, 3) for x in theirs],
        "load_average_before": load_before, "load_average_after": _load(),
        "qc": {k: result.qc[k] for k in ("reads_in", "reads_kept", "too_long", "adapter_dimer", "assigned_mirna",
                                         "fraction_assigned", "mirnas_detected")},
    }, result


def accuracy(fastq: Path, ref, lib, counted) -> dict:
    from exomir.quant.simulate import evaluate_assignment

    names = sorted(set(lib.truth) | set(counted.mirna_counts))
    truth = np.array([lib.truth.get(n, 0) for n in names], float)
    got = np.array([counted.mirna_counts.get(n, 0.0) for n in names])
    evaluation = evaluate_assignment(fastq, ref)
    n = evaluation["mirna_reads"]
    return {
        "pearson_true_vs_counted": round(float(np.corrcoef(truth, got)[0, 1]), 6),
        "per_read_right": round(evaluation["accuracy"], 5),
        "per_read_wrong": round(evaluation.get("wrong", 0) / n, 5),
        "per_read_unassigned": round(evaluation.get("unassigned", 0) / n, 5),
        "spurious_reads": int(evaluation.get("spurious", 0)),
        "spurious_share_of_mirna_reads": round(evaluation["spurious_share"], 6),
        "mirna_reads_true": lib.mirna_reads, "other_reads_true": lib.other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--curve", type=int, nargs="*", default=[20_000, 100_000, 400_000, 1_500_000],
                        help="random-pool sizes of the throughput curve (empty: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "quant.json")
    args = parser.parse_args()

    from exomir.quant import load_reference, quantify
    from exomir.quant.simulate import simulate_library

    mirbase = DATA / "mirbase_v22"
    t0 = time.perf_counter()
    ref = load_reference(str(mirbase))
    threads = os.cpu_count() or 1
    results: dict = {"reads": args.reads, "read_length": 50, "cores": os.cpu_count(), "threads": threads,
                     "python": platform.python_version(), "reference_load_s": round(time.perf_counter() - t0, 3),
                     "libraries": {}, "curve": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, params in LIBRARIES.items():
            fastq = Path(tmp) / f"{name}.fastq.gz"
            lib = simulate_library(fastq, ref, reads=args.reads, seed=args.seed, **params)
            timing, counted = side_by_side(fastq, ref, args.reads, args.repeats, threads)
            timing.update(accuracy(fastq, ref, lib, counted))
            results["libraries"][name] = timing
            print(f"{name}: {timing['exomir_reads_per_s']:,} reads/s, {timing['ratio_vs_cutadapt_j2_median']}x "
                  f"cutadapt -j 2, right {timing['per_read_right']:.4%}, spurious "
                  f"{timing['spurious_share_of_mirna_reads']:.4%}", flush=True)
            fastq.unlink()
        for pool in args.curve:
            fastq = Path(tmp) / f"curve{pool}.fastq.gz"
            simulate_library(fastq, ref, reads=args.reads // 2, seed=args.seed + 1,
                             **{**LIBRARIES["plasma"], "random_pool": pool})
            timing, _ = side_by_side(fastq, ref, args.reads // 2, 1, threads)
            results["curve"].append({k: timing[k] for k in ("distinct_inserts", "exomir_reads_per_s",
                                                            "cutadapt_j2_reads_per_s", "ratio_vs_cutadapt_j2_median",
                                                            "exomir_reads_per_cpu_s", "load_average_before")})
            print(f"curve: {timing['distinct_inserts']:,} distinct: {timing['exomir_reads_per_s']:,} reads/s "
                  f"({timing['ratio_vs_cutadapt_j2_median']}x cutadapt)", flush=True)
            fastq.unlink()

        real = [DATA / "fastq" / f for f in ("nextseq_truseq_1.fastq.gz", "nextseq_truseq_2.fastq.gz",
                                            "nextseq_qiaseq_umi.fastq.gz")]
        if all(p.exists() for p in real):
            run = quantify(real, Path(tmp) / "real", mirbase=str(mirbase), ncrna=False)
            ours = pd.read_csv(Path(tmp) / "real" / "counts_exact.csv", index_col=0)
            reference = pd.read_csv(REPO / "tests" / "reference" / "quant" / "cutadapt_bowtie_counts.csv", index_col=0)
            spearman = {}
            for sample in reference.columns:
                keep = reference.index[reference[sample] >= 10]
                rho = spearmanr(reference.loc[keep, sample], ours[sample].reindex(keep).fillna(0)).correlation
                spearman[sample] = {"mirnas": len(keep), "spearman": round(float(rho), 4)}
            results["real_vs_cutadapt_bowtie"] = spearman
            results["real_fraction_assigned"] = {s: r.qc["fraction_assigned"] for s, r in run.results.items()}

    rows = []
    for name, r in results["libraries"].items():
        rows += [
            (f"{name}: reads / distinct inserts", f"{r['reads']:,} / {r['distinct_inserts']:,}"),
            (f"{name}: exomir end to end", f"{r['exomir_s']:.2f} s ({r['exomir_reads_per_s']:,} reads/s), "
                                           f"CPU {r['exomir_cpu_s']:.2f} s"),
            (f"{name}: cutadapt -j 2 trimming only", f"{r['cutadapt_j2_s']:.2f} s ({r['cutadapt_j2_reads_per_s']:,} "
                                                     f"reads/s), CPU {r['cutadapt_j2_cpu_s']:.2f} s"),
            (f"{name}: ratio (median of rounds)", f"{r['ratio_vs_cutadapt_j2_median']:.2f}x"),
            (f"{name}: miRNA reads right / spurious", f"{r['per_read_right']:.4%} / "
                                                      f"{r['spurious_share_of_mirna_reads']:.4%}"),
            (f"{name}: load average before/after", f"{r['load_average_before']} / {r['load_average_after']}"),
        ]
    for point in results["curve"]:
        rows.append((f"curve: {point['distinct_inserts']:,} distinct inserts",
                     f"{point['exomir_reads_per_s']:,} reads/s ({point['ratio_vs_cutadapt_j2_median']:.2f}x)"))
    for sample, v in results.get("real_vs_cutadapt_bowtie", {}).items():
        rows.append((f"Spearman vs cutadapt+bowtie: {sample}", f"{v['spearman']:.4f} over {v['mirnas']} miRNAs"))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # figures of bench_quant_many.py live in the same file
        kept = json.loads(args.out.read_text()).get("many_samples")
        if kept is not None:
            results["many_samples"] = kept
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
