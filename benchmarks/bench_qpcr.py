"""Time the RT-qPCR path: reading exports, merging replicates, non-detects, global mean, QC, geNorm/NormFinder.

Workload (default): a discovery study on TaqMan OpenArray-sized panels, 96 sera × 754 miRNA
assays in duplicate (144,768 wells) written as 24 Applied Biosystems text exports (4 sera per
plate, ``[Results]`` section, ~10 % Undetermined wells), then 20 reference candidates for
geNorm and NormFinder.

Run: ``python benchmarks/bench_qpcr.py [--samples N] [--assays N] [--plates N] [--repeats R]``
Writes ``benchmarks/results/qpcr.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from exomir.io.qpcr import read_qpcr
from exomir.preprocess.qc import quality_control
from exomir.preprocess.qpcr import censor_nondetects, global_mean_dcq
from exomir.preprocess.reference_genes import genorm, normfinder
from exomir.progress import set_quiet

RESULTS = Path(__file__).parent / "results" / "qpcr.json"


def write_exports(folder: Path, samples: int, assays: int, plates: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    names = [f"hsa-miR-{1000 + j}-5p" for j in range(assays - 2)] + ["hsa-miR-23a-3p", "hsa-miR-451a"]
    base = rng.uniform(18, 36, assays)
    shift = rng.normal(0, 0.6, samples)
    per_plate = int(np.ceil(samples / plates))
    paths = []
    header = "\t".join(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "CT"])
    for p in range(plates):
        lines = [f"* Experiment Name = bench_{p:02d}", "* Instrument Type = QuantStudio 12K Flex", "", "[Results]", header]
        well = 1
        for i in range(p * per_plate, min(samples, (p + 1) * per_plate)):
            values = base + shift[i] + rng.normal(0, 0.2, (2, assays))
            for j, name in enumerate(names):
                for rep in range(2):
                    v = values[rep, j]
                    text = "Undetermined" if v > 36.5 or rng.random() < 0.02 else f"{v:.3f}"
                    lines.append(f"{well}\tW{well}\tfalse\tS{i:03d}\t{name}\tUNKNOWN\tFAM\tNFQ-MGB\t{text}")
                    well += 1
        path = folder / f"plate_{p:02d}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def timed(fn, repeats: int):
    """Best wall time of ``repeats`` runs, then one more run under tracemalloc for the peak memory
    (tracing slows Python allocations several-fold, so it never overlaps the timed runs)."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), peak / 2**20, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=96)
    parser.add_argument("--assays", type=int, default=754)
    parser.add_argument("--plates", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    set_quiet(True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_exports(Path(tmp), args.samples, args.assays, args.plates)
        wells = args.samples * args.assays * 2
        seconds, mib, data = timed(lambda: read_qpcr(paths), args.repeats)
        rows.append(("read_qpcr (parse + merge replicates)", seconds, mib, f"{wells / seconds:,.0f} wells/s"))
        cohort = data.to_cohort(annotate=False)
        seconds, mib, censored = timed(lambda: censor_nondetects(cohort, lod=35.0, max_fraction=0.5), args.repeats)
        rows.append(("censor_nondetects", seconds, mib, f"{censored.n_vars} of {cohort.n_vars} miRNAs kept"))
        seconds, mib, _ = timed(lambda: global_mean_dcq(censored.copy()), args.repeats)
        rows.append(("global_mean_dcq", seconds, mib, ""))
        seconds, mib, _ = timed(lambda: quality_control(cohort.copy()), args.repeats)
        rows.append(("quality_control", seconds, mib, ""))
        candidates = list(censored.var_names[np.isfinite(censored.layers["cq"]).all(axis=0)][:20])
        seconds, mib, _ = timed(lambda: genorm(censored, candidates), args.repeats)
        rows.append((f"genorm ({len(candidates)} candidates)", seconds, mib, ""))
        groups = np.arange(censored.n_obs) % 3
        seconds, mib, _ = timed(lambda: normfinder(censored, groups, candidates), args.repeats)
        rows.append((f"normfinder ({len(candidates)} candidates, 3 groups)", seconds, mib, ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  {'peak MiB':>8}  note")
    for name, seconds, mib, note in rows:
        print(f"{name:<{width}}  {seconds:>8.3f}  {mib:>8.1f}  {note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "workload": {"samples": args.samples, "assays": args.assays, "plates": args.plates, "wells": wells},
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "results": [{"step": n, "seconds": round(s, 4), "peak_mib": round(m, 1), "note": note} for n, s, m, note in rows],
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
