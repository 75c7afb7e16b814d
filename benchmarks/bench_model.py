"""Locked model: training time, file size and verification, scoring throughput; and how often a
new cohort's AUC falls within the interval reported at training.

Workload: simulated serum small RNA-seq (exomir.simulate), HCC against LC + CHB + healthy.
* training: 400 samples × 300 miRNAs, default tuning (5 outer × 5 inner folds, panels of 5/10/20
  miRNAs, six penalties, elastic net);
* scoring: 5,000 new samples, in memory (``score_cohort``) and from a CSV (``score_files``);
* validity: for several seeds, a model trained on 160 samples scores (a) 400 held-out samples of
  the same simulated population and (b) 600 samples simulated with the next seed; the share of
  new AUCs inside the training nested-CV DeLong interval is reported. Cohorts use the simulator's
  32 miRNAs of fixed abundance, so that the next seed is the same population.

Run: ``python benchmarks/bench_model.py [--quick]``. Writes ``benchmarks/results/model.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from exomir.model import LockedModel, load_model, save_model, score_cohort, score_files, train_model  # noqa: E402
from exomir.progress import set_quiet  # noqa: E402
from exomir.simulate import simulate_cohort, write_cohort  # noqa: E402
from exomir.simulate import _effects as fx  # noqa: E402
from exomir.stats import roc  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "model.json"
FAST = dict(inner_folds=3, max_features=(3, 6), Cs=(0.1, 1.0))


def timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


def is_case(adata) -> np.ndarray:
    return (adata.obs["group"].astype(str) == "HCC").to_numpy()


def validity(seeds: list[int]) -> dict:
    n = len(fx.FIXED_CPM)
    rows = []
    for seed in seeds:
        big = simulate_cohort(560, n_mirnas=n, seed=seed)
        train, held = big[:160].copy(), big[160:].copy()
        model = LockedModel(train_model(train, seed=0, **FAST))
        perf = model.content["performance"]
        new = simulate_cohort(600, n_mirnas=n, seed=seed + 1)
        row = {"seed": seed, "cv_auc": perf["cv_auc"], "ci": [perf["cv_auc_ci_low"], perf["cv_auc_ci_high"]]}
        for label, cohort in (("held_out", held), ("next_seed", new)):
            scores = score_cohort(model, cohort)
            y = is_case(cohort)
            auc = roc.roc_auc(scores["probability"].to_numpy(), y, "higher_in_case").auc
            called = (scores["class"] == "HCC").to_numpy()
            row[label] = {"auc": auc, "inside_ci": bool(perf["cv_auc_ci_low"] <= auc <= perf["cv_auc_ci_high"]),
                          "sensitivity": float(called[y].mean()), "specificity": float((~called[~y]).mean()),
                          "mean_probability": float(scores["probability"].mean()), "prevalence": float(y.mean())}  # fmt: skip
        rows.append(row)
    return {
        "runs": rows,
        "held_out_inside": sum(r["held_out"]["inside_ci"] for r in rows),
        "next_seed_inside": sum(r["next_seed"]["inside_ci"] for r in rows),
        "n": len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workload (for a smoke run)")
    args = parser.parse_args()
    set_quiet(True)
    n_train, n_score = (200, 1000) if args.quick else (400, 5000)
    cohort = simulate_cohort(n_train, n_mirnas=300, seed=0)
    wall, cpu, content = timed(lambda: train_model(cohort, seed=0))
    model = LockedModel(content)
    out: dict = {"machine": platform.platform(), "python": platform.python_version(),
                 "train": {"samples": n_train, "mirnas": 300, "wall_s": wall, "cpu_s": cpu,
                           "features": len(model.features), "cv_auc": model.content["performance"]["cv_auc"]}}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = save_model(model, Path(folder) / "model.json")
        wall, cpu, _ = timed(lambda: load_model(path))
        out["file"] = {"bytes": path.stat().st_size, "load_verify_s": wall}
        new = simulate_cohort(n_score, n_mirnas=300, seed=1)
        wall, cpu, scores = timed(lambda: score_cohort(model, new))
        out["score_memory"] = {"samples": n_score, "wall_s": wall, "cpu_s": cpu, "samples_per_s": n_score / wall}
        paths = write_cohort(new, f"{folder}/new/")
        wall, cpu, _ = timed(lambda: score_files(path, paths["expression"]))
        out["score_csv"] = {"samples": n_score, "wall_s": wall, "cpu_s": cpu, "samples_per_s": n_score / wall}
    out["validity"] = validity([11, 21, 31, 41] if args.quick else [11, 21, 31, 41, 51, 61, 71, 81, 91, 101])

    print(f"{'step':<28}{'wall s':>10}{'cpu s':>10}  note")
    print(f"{'train (nested CV + fit)':<28}{out['train']['wall_s']:>10.2f}{out['train']['cpu_s']:>10.2f}  "
          f"{n_train} × 300, {out['train']['features']} features, CV AUC {out['train']['cv_auc']:.3f}")  # fmt: skip
    print(f"{'load + verify checksum':<28}{out['file']['load_verify_s']:>10.4f}{'':>10}  {out['file']['bytes']:,} bytes")
    for key, label in (("score_memory", "score (in memory)"), ("score_csv", "score (CSV, read + QC)")):
        s = out[key]
        print(f"{label:<28}{s['wall_s']:>10.2f}{s['cpu_s']:>10.2f}  {s['samples_per_s']:,.0f} samples/s")
    v = out["validity"]
    print(f"new AUC inside the training CI: held-out same population {v['held_out_inside']}/{v['n']}, "
          f"next seed {v['next_seed_inside']}/{v['n']}")
    for r in v["runs"]:
        print(f"  seed {r['seed']:>3}: CV {r['cv_auc']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]  "
              f"held-out {r['held_out']['auc']:.3f}  next seed {r['next_seed']['auc']:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
