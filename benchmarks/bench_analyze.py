"""Time ``exomir demo``: simulate a cohort and run the whole analyze pipeline on it, step by step.

Target: the demo (400 samples × 300 miRNAs, counts; HCC vs LC, CHB and healthy donors with AFP,
panels and DFS) finishes well under 5 minutes on a 2-core machine.

Run: ``python benchmarks/bench_analyze.py [--n 400] [--n-mirnas 300] [--measure counts]``
Writes ``benchmarks/results/analyze.json`` (and the demo folder into a temporary directory).

``--panels-only --n 5000 --n-mirnas 2656`` times the panel step alone with analyze's default panel
options (the scale target: cost bounded in n) into ``benchmarks/results/analyze_panels.json``.
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
    parser.add_argument("--panels-only", action="store_true",
                        help="time only the panel step (default options) of HCC vs all controls pooled; "
                             "writes benchmarks/results/analyze_panels.json")
    args = parser.parse_args()
    if args.panels_only:
        panels_only(args)
        return

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


def panels_only(args) -> None:
    """The panel step of analyze with its default options (3 CV repeats, 5 × 5 folds, full grid,
    permutation test above its sample limit replaced by the corrected t-test) on a simulated cohort."""
    import resource

    from exomir.preprocess.normalize import normalize
    from exomir.progress import set_quiet
    from exomir.simulate import simulate_cohort
    from exomir.tools import panel as panel_analysis

    set_quiet(True)
    adata = simulate_cohort(args.n, measure=args.measure, n_mirnas=args.n_mirnas, seed=args.seed)
    normalize(adata)
    adata.obs["dx"] = ["HCC" if g == "HCC" else "control" for g in adata.obs["group"].astype(str)]
    start, start_cpu = time.perf_counter(), time.process_time()
    result = panel_analysis(adata, "dx", "HCC", "control", afp="afp_ng_ml", stage="stage", seed=args.seed)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = result.summary.set_index("mirna")
    print(f"panels, HCC vs all controls: {args.n} samples × {args.n_mirnas} miRNAs ({args.measure}), seed {args.seed}")
    print(f"{'model':<18}{'AUC':>8}{'95% CI':>18}  p method")
    for name, row in summary.iterrows():
        print(f"{name:<18}{row['auc']:>8.3f}   {row['auc_ci_low']:.3f}–{row['auc_ci_high']:.3f}  {row['pvalue_method']}")
    print(f"wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {rss_mb:.0f} MB (load average at the end: {os.getloadavg()[0]:.1f})")
    out = RESULTS.parent / "analyze_panels.json"
    out.write_text(json.dumps({
        "workload": {"n": args.n, "n_mirnas": args.n_mirnas, "measure": args.measure, "seed": args.seed,
                     "comparison": "HCC vs all controls pooled", "panel_options": "defaults"},
        "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(rss_mb),
        "load_average_end": round(os.getloadavg()[0], 1),
        "models": {name: {"auc": round(float(row["auc"]), 4), "ci": [round(float(row["auc_ci_low"]), 4),
                                                                      round(float(row["auc_ci_high"]), 4)],
                          "pvalue_method": row["pvalue_method"]} for name, row in summary.iterrows()},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
