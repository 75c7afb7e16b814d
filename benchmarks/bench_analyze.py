"""Time ``exomir demo``: simulate a cohort and run the whole analyze pipeline on it, step by step.

Target: the demo (400 samples × 300 miRNAs, counts; HCC vs LC, CHB and healthy donors with AFP,
panels and DFS) finishes well under 5 minutes on a 2-core machine.

Run: ``python benchmarks/bench_analyze.py [--n 400] [--n-mirnas 300] [--measure counts]``
Writes ``benchmarks/results/analyze.json`` (and the demo folder into a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "analyze.json"
STEPS = ("_quality_control", "_normalize", "_differential", "_roc", "_panels", "_roc_curves", "_survival",
         "_evidence", "_enrichment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--n-mirnas", type=int, default=300)
    parser.add_argument("--measure", default="counts", choices=("counts", "cq"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from exomir.analysis import output, pipeline
    from exomir.analysis.demo import run_demo
    from exomir.progress import set_quiet

    set_quiet(True)
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)

    def timed(name, function):
        def wrapper(*a, **k):
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return function(*a, **k)
            finally:
                wall[name] += time.perf_counter() - start
                cpu[name] += time.process_time() - start_cpu
        return wrapper

    for name in STEPS:
        setattr(pipeline, name, timed(name.strip("_"), getattr(pipeline, name)))
    output.write_results = timed("write (tables, h5ad, report)", output.write_results)
    with tempfile.TemporaryDirectory() as folder:
        start, start_cpu = time.perf_counter(), time.process_time()
        run_demo(Path(folder) / "demo", n=args.n, n_mirnas=args.n_mirnas, measure=args.measure, seed=args.seed)
        total_wall, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        report_mb = (Path(folder) / "demo" / "report.html").stat().st_size / 1e6
    rows = [(name, wall[name], cpu[name]) for name in wall]
    print(f"exomir demo: {args.n} samples × {args.n_mirnas} miRNAs ({args.measure}), seed {args.seed}")
    print(f"{'step':<32}{'wall s':>10}{'cpu s':>10}")
    for name, w, c in rows:
        print(f"{name:<32}{w:>10.1f}{c:>10.1f}")
    print(f"{'total (incl. simulation)':<32}{total_wall:>10.1f}{total_cpu:>10.1f}")
    print(f"report.html: {report_mb:.1f} MB; target: total wall < 300 s → {'met' if total_wall < 300 else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "workload": {"n": args.n, "n_mirnas": args.n_mirnas, "measure": args.measure, "seed": args.seed},
        "steps": {name: {"wall_s": round(w, 2), "cpu_s": round(c, 2)} for name, w, c in rows},
        "total_wall_s": round(total_wall, 2),
        "total_cpu_s": round(total_cpu, 2),
        "report_mb": round(report_mb, 2),
        "target_wall_s": 300,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
