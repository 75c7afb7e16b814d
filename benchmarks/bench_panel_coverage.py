"""Simulation study of the panel AUC interval and of the panel permutation p-value.

Coverage: for n = 40, 100 and 400 (half cases), under the null (no miRNA differs) and under an
effect (5 of 30 candidates shifted by 0.6 SD in cases), each replicate runs the panel procedure's
nested CV (``exomir.stats.panel.nested_cv``: selection by AUC, L2 logistic tuned over C by inner
CV, 5 outer folds, 3 repeats) and the interval ``analyze`` reports: the bootstrap of the whole
nested procedure (``--boots`` draws, as many as analyze's default; ``exomir.stats.panel.bootstrap_aucs``
and ``bootstrap_cv_interval``: logit scale, variance over 1.8, a ratio set on pilot runs with other
seeds than the default one here). The interval should cover the AUC that the procedure reaches when
trained on n·4/5 samples: 0.5 under the null, and under the effect the mean AUC, on 20,000 new
samples, of the procedure fitted to fresh training sets of that size. Scored beside it: the
corrected repeated-CV t interval (``--bootstraps 0``) and the old interval (DeLong on the pooled
out-of-fold probabilities).

Permutation: on null data sets (n = 40) the label-permutation p-value of the whole nested
procedure (``permutation_test``) should be uniform; a Kolmogorov-Smirnov test checks it on the
same rank with ties broken at random (exactly uniform under exchangeable labels), and the share
of reported p-values (ties counted against the panel) at or below 0.05 and 0.10 shows their size.

Run: ``python benchmarks/bench_panel_coverage.py [--part coverage|permutation] [--reps 100]
[--sizes 40 100 400] [--scenarios null effect]``; each cell has its own seeded stream, so cells run
in separate processes give the same numbers, and ``--merge a.json b.json`` combines them.
Writes ``benchmarks/results/panel_coverage.json`` or ``panel_permutation.json`` (and a
``.partial.json`` after every cell or data set, so a stopped run keeps what it did).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

RESULTS = Path(__file__).parent / "results"
N_FEATURES, N_INFORMATIVE, EFFECT = 30, 5, 0.6
SIZES = (40, 100, 400)
PROCEDURE = {"penalty": "l2", "Cs": (0.1, 1.0), "max_features": (5,), "inner_folds": 3, "outer_folds": 5,
             "repeats": 3}
# the permutation study refits thousands of nested CVs: fixed hyper-parameters (selection still per fold)
PERMUTATION_PROCEDURE = {"penalty": "l2", "Cs": (1.0,), "max_features": (5,), "inner_folds": 3, "outer_folds": 5}


def draw(rng: np.random.Generator, n: int, shift: float) -> tuple[pd.DataFrame, np.ndarray]:
    y = np.zeros(n, dtype=bool)
    y[: n // 2] = True
    x = rng.standard_normal((n, N_FEATURES))
    x[y, :N_INFORMATIVE] += shift
    return pd.DataFrame(x, columns=[f"m{i}" for i in range(N_FEATURES)]), y


def target_auc(rng: np.random.Generator, n_train: int, shift: float, fits: int) -> tuple[float, float]:
    """Mean (and its standard error) of the AUC of the procedure trained on ``n_train`` samples."""
    from exomir.stats import _panel_model as pm
    from exomir.stats import _roc_core as core

    test_x, test_y = draw(rng, 20_000, shift)
    aucs = []
    for _ in range(fits):
        x, y = draw(rng, n_train, shift)
        tuned = pm.tune(x.to_numpy(), y, penalty=PROCEDURE["penalty"], n_forced=0, seed=0,
                        inner_folds=PROCEDURE["inner_folds"], Cs=PROCEDURE["Cs"], l1_ratios=(0.5,),
                        max_features=PROCEDURE["max_features"])  # fmt: skip
        aucs.append(core.placements(tuned.predict_proba(test_x.to_numpy())[:, 1][None, :], test_y).auc[0])
    return float(np.mean(aucs)), float(np.std(aucs, ddof=1) / np.sqrt(fits))


def coverage_cell(rng: np.random.Generator, n: int, shift: float, reps: int, target: float, boots: int) -> dict:
    from exomir.stats import _roc_core as core
    from exomir.stats import panel

    hits, widths, estimates, spreads, t_hits, old_hits = [], [], [], [], [], []
    for _ in range(reps):
        x, y = draw(rng, n, shift)
        seed = int(rng.integers(2**31))
        r = panel.nested_cv(x, y, seed=seed, progress=False, **PROCEDURE)
        boot = panel.bootstrap_aucs(x, y, n_boot=boots, seed=seed, **{k: v for k, v in PROCEDURE.items() if k != "repeats"})
        low, high, _, _ = panel.bootstrap_cv_interval(r.auc, boot, n // 2, n - n // 2, r.auc_by_repeat)
        hits.append(low <= target <= high)
        widths.append(high - low)
        estimates.append(r.auc)
        spreads.append(float(np.std(r.auc_by_repeat, ddof=1)))
        t_hits.append(r.auc_ci_low <= target <= r.auc_ci_high)  # the corrected CV t interval (bootstraps=0)
        placed = core.placements(r.probability_by_repeat[0][None, :], y)
        lo, hi = core.normal_ci(placed.auc, core.delong_variance(placed), 0.95)
        old_hits.append(lo[0] <= target <= hi[0])
    k = int(np.sum(hits))
    low, high = stats.binomtest(k, reps).proportion_ci(0.95, method="wilson")
    return {
        "n": n, "scenario": "null" if shift == 0 else "effect", "target_auc": round(target, 4), "reps": reps,
        "bootstraps": boots, "coverage": round(k / reps, 4), "coverage_ci95": [round(low, 4), round(high, 4)],
        "mean_auc": round(float(np.mean(estimates)), 4), "mean_width": round(float(np.mean(widths)), 4),
        "sd_auc": round(float(np.std(estimates, ddof=1)), 4), "mean_repeat_sd": round(float(np.mean(spreads)), 4),
        "corrected_t_coverage": round(float(np.mean(t_hits)), 4),
        "old_delong_pooled_coverage": round(float(np.mean(old_hits)), 4),
    }


def run_coverage(reps: int, fits: int, seed: int, sizes=SIZES, scenarios=("null", "effect"), save=None,
                 boots: int = 40) -> dict:
    cells = []
    for n in sizes:
        for shift in (0.0, EFFECT):
            if ("null" if shift == 0 else "effect") not in scenarios:
                continue
            # one stream per cell: cells can run in separate processes and give the same numbers
            rng = np.random.default_rng([seed, n] if shift == 0 else [seed, n, 1])
            start = time.perf_counter()
            target, target_se = (0.5, 0.0) if shift == 0 else target_auc(rng, n * 4 // 5, shift, fits)
            cell = coverage_cell(rng, n, shift, reps, target, boots)
            cell["target_se"] = round(target_se, 4)
            cell["seconds"] = round(time.perf_counter() - start, 1)
            cells.append(cell)
            if save is not None:
                save({"cells": cells})
            print(f"n={n:<4} {cell['scenario']:<7} target {cell['target_auc']:.3f}  mean AUC {cell['mean_auc']:.3f}  "
                  f"coverage {cell['coverage']:.3f} {cell['coverage_ci95']}  width {cell['mean_width']:.3f}  "
                  f"corrected t {cell['corrected_t_coverage']:.3f}  old DeLong {cell['old_delong_pooled_coverage']:.3f}  "
                  f"({cell['seconds']} s)", flush=True)
    ok = all(0.90 <= c["coverage"] <= 0.98 for c in cells)
    return {"cells": cells, "nominal": 0.95, "criterion": "coverage in [0.90, 0.98] in every cell", "met": ok,
            "procedure": {k: list(v) if isinstance(v, tuple) else v for k, v in PROCEDURE.items()},
            "data": {"features": N_FEATURES, "informative": N_INFORMATIVE, "shift_sd": EFFECT, "cases": "n/2"},
            "target_fits": fits, "seed": seed}


def run_permutation(datasets: range, perms: int, n: int, seed: int, save=None) -> dict:
    from exomir.stats import panel

    pvalues, randomized = [], []
    for i in datasets:
        rng = np.random.default_rng([seed, i])  # one stream per data set: ranges can run in separate processes
        x, y = draw(rng, n, 0.0)
        s = int(rng.integers(2**31))
        observed = panel.nested_cv(x, y, seed=s, progress=False, **PERMUTATION_PROCEDURE).auc
        p, null = panel.permutation_test(x, y, observed, n_perm=perms, seed=s, **PERMUTATION_PROCEDURE)
        pvalues.append(p)
        # the same rank with ties broken at random: exactly uniform on (0, 1) when the labels are
        # exchangeable; the reported p counts ties against the panel (valid, a little conservative)
        above = int(np.sum(null > observed + 1e-12))
        tied = int(np.sum(np.abs(null - observed) <= 1e-12))
        randomized.append((above + rng.uniform() * (tied + 1)) / (perms + 1))
        if save is not None and len(pvalues) >= 2:
            save(_permutation_summary(pvalues, randomized, perms, n, seed))
        if len(pvalues) % 10 == 0:
            print(f"{i + 1} null data sets, KS p so far {stats.kstest(randomized, 'uniform').pvalue:.3f} "
                  f"(ties at random)", flush=True)
    return _permutation_summary(pvalues, randomized, perms, n, seed)


def _permutation_summary(pvalues: list[float], randomized: list[float], perms: int, n: int, seed: int) -> dict:
    ks = stats.kstest(randomized, "uniform")
    reported = stats.kstest(pvalues, "uniform")
    p = np.array(pvalues)
    return {"n": n, "datasets": len(pvalues), "permutations": perms,
            "ks_statistic": round(float(ks.statistic), 4), "ks_pvalue": round(float(ks.pvalue), 4),
            "ks_pvalue_reported_p": round(float(reported.pvalue), 4),
            "share_p_le_0_05": round(float(np.mean(p <= 0.05)), 4), "share_p_le_0_10": round(float(np.mean(p <= 0.10)), 4),
            "mean_p": round(float(np.mean(p)), 4),
            "criterion": "KS p > 0.05 for the p-values with ties broken at random (exactly uniform under "
                         "exchangeable labels); the reported p-values count ties against the panel",
            "met": bool(ks.pvalue > 0.05),
            "procedure": {k: list(v) if isinstance(v, tuple) else v for k, v in PERMUTATION_PROCEDURE.items()},
            "pvalues": [round(float(v), 4) for v in pvalues], "pvalues_ties_at_random": [round(float(v), 4) for v in randomized],
            "seed": seed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("coverage", "permutation"), default="coverage")
    parser.add_argument("--reps", type=int, default=100, help="replicates per coverage cell")
    parser.add_argument("--fits", type=int, default=100, help="training sets for each effect target")
    parser.add_argument("--boots", type=int, default=40, help="bootstrap draws behind each interval (the default of analyze)")
    parser.add_argument("--datasets", type=int, default=100, help="null data sets of the permutation study")
    parser.add_argument("--perms", type=int, default=29)
    parser.add_argument("--first", type=int, default=0, help="index of the first null data set (to split runs)")
    parser.add_argument("--seed", type=int, default=61130)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--scenarios", nargs="+", default=["null", "effect"], choices=("null", "effect"))
    parser.add_argument("--merge", type=Path, nargs="+", default=None,
                        help="combine coverage JSONs of separate --sizes runs into panel_coverage.json")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from exomir.logs import set_quiet

    set_quiet(True)
    if args.merge and args.part == "permutation":
        parts = [json.loads(p.read_text()) for p in args.merge]
        pvalues = [v for part in parts for v in part["pvalues"]]
        randomized = [v for part in parts for v in part["pvalues_ties_at_random"]]
        result = _permutation_summary(pvalues, randomized, parts[0]["permutations"], parts[0]["n"], parts[0]["seed"])
        result["wall_s"] = max(p["wall_s"] for p in parts)
        result["cpu_s"] = round(sum(p["cpu_s"] for p in parts), 1)
        result["machine"] = parts[0]["machine"]
        (args.out or RESULTS / "panel_permutation.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"KS p = {result['ks_pvalue']} over {result['datasets']} null data sets")
        return
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        result = {**parts[0], "cells": sorted((c for p in parts for c in p["cells"]), key=lambda c: (c["n"], c["scenario"] != "null"))}
        result["met"] = all(0.90 <= c["coverage"] <= 0.98 for c in result["cells"])
        result.pop("wall_s", None)
        result["parts_wall_s"] = [p["wall_s"] for p in parts]  # the parts may have run side by side
        result["cpu_s"] = round(sum(p["cpu_s"] for p in parts), 1)
        (args.out or RESULTS / "panel_coverage.json").write_text(json.dumps(result, indent=2) + "\n")
        return
    start, cpu = time.perf_counter(), time.process_time()
    out = args.out or RESULTS / f"panel_{args.part}.json"

    def save(partial: dict) -> None:  # after every cell / data set, so a stopped run keeps what it did
        partial = {**partial, "partial": True, "wall_s": round(time.perf_counter() - start, 1),
                   "cpu_s": round(time.process_time() - cpu, 1)}
        out.with_suffix(".partial.json").write_text(json.dumps(partial, indent=2) + "\n")

    if args.part == "coverage":
        result = run_coverage(args.reps, args.fits, args.seed, tuple(args.sizes), tuple(args.scenarios), save,
                              args.boots)
    else:
        result = run_permutation(range(args.first, args.first + args.datasets), args.perms, 40, args.seed, save)
        print(f"KS p = {result['ks_pvalue']} (ties at random), {result['ks_pvalue_reported_p']} (reported p), "
              f"share p ≤ 0.05 = {result['share_p_le_0_05']}")
    result["wall_s"] = round(time.perf_counter() - start, 1)
    result["cpu_s"] = round(time.process_time() - cpu, 1)
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
