"""What a cross-validated panel AUC is worth: its interval, its permutation p-value, and the
sensitivity and specificity of a cut-off chosen without the samples it is judged on.

The interval is Nadeau and Bengio's (2003) corrected resampled t: the held-out folds of one or
more repeats of K-fold CV give J AUCs with sample variance s²; the folds share training samples,
so the naive variance s²/J is inflated to (1/J + n_test/n_train)·s² = (1/J + 1/(K − 1))·s², and
the interval is mean ± t(J − 1)·SE, clipped to [0, 1]. Its coverage of the AUC that the procedure
reaches when trained on n·(K − 1)/K samples was measured by simulation (n = 40, 100, 400, null
and effect): see ``benchmarks/bench_panel_coverage.py`` and ``benchmarks/results/panel_coverage.json``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from exomir.stats import _roc_core as core

CI_METHOD = "corrected repeated-CV t (Nadeau-Bengio) over held-out-fold AUCs"
CI_METHOD_DEGENERATE = "newcombe score (every held-out fold had the same AUC)"


def cv_auc_interval(fold_auc: np.ndarray, outer_folds: int, n_case: int, n_control: int,
                    conf_level: float = 0.95) -> tuple[float, float, float, str]:  # fmt: skip
    """Mean held-out-fold AUC with its corrected repeated-CV t interval: (auc, low, high, method).

    When every fold has the same AUC (typically 1: perfect separation in each fold) the fold
    spread says nothing; Newcombe's score interval for the pooled group sizes is used instead.
    """
    auc = np.asarray(fold_auc, dtype=np.float64)
    auc = auc[np.isfinite(auc)]
    if auc.size == 0:
        return float("nan"), float("nan"), float("nan"), CI_METHOD
    mean = float(auc.mean())
    spread = float(auc.var(ddof=1)) if auc.size > 1 else 0.0
    if not spread > 0:
        low, high = core.newcombe_interval(mean, n_case, n_control, conf_level)
        return mean, float(low), float(high), CI_METHOD_DEGENERATE
    se = np.sqrt((1.0 / auc.size + 1.0 / (outer_folds - 1)) * spread)
    half = stats.t.ppf(0.5 + conf_level / 2.0, auc.size - 1) * se
    return mean, float(max(mean - half, 0.0)), float(min(mean + half, 1.0)), CI_METHOD


def corrected_t_pvalue(fold_auc: np.ndarray, outer_folds: int) -> float:
    """One-sided p of mean held-out AUC > 0.5 from the same corrected t (used above the
    permutation limit, where the permutation test would cost too much)."""
    auc = np.asarray(fold_auc, dtype=np.float64)
    auc = auc[np.isfinite(auc)]
    if auc.size < 2:
        return float("nan")
    spread = auc.var(ddof=1)
    if not spread > 0:
        return float("nan")
    se = np.sqrt((1.0 / auc.size + 1.0 / (outer_folds - 1)) * spread)
    return float(stats.t.sf((auc.mean() - 0.5) / se, auc.size - 1))


def permutation_pvalue(observed: float, null: np.ndarray) -> float:
    """(1 + #{null ≥ observed}) / (1 + #null): never 0, exact under exchangeable labels."""
    null = np.asarray(null, dtype=np.float64)
    return float((1.0 + np.sum(null >= observed - 1e-12)) / (1.0 + null.size))


def validated_threshold(prob: np.ndarray, y: np.ndarray, fold_of: np.ndarray, pick=None) -> dict:
    """Sensitivity and specificity of a cut-off chosen without the samples it is applied to.

    ``prob`` and ``fold_of`` are repeats × samples (out-of-fold probabilities and the outer
    fold that held each sample out). For each repeat and fold the cut-off is chosen on the
    other folds' out-of-fold probabilities by ``pick`` (a :class:`~exomir.stats._roc_core.Curve`
    → point index; default Youden's J) and applied to this fold; counts are summed over folds
    and averaged over repeats.
    """
    pick = pick or core.youden_index
    prob = np.atleast_2d(prob)
    fold_of = np.atleast_2d(fold_of)
    y = np.asarray(y, dtype=bool)
    counts = []
    for p, folds in zip(prob, fold_of, strict=True):
        tp = tn = 0
        for fold in np.unique(folds):
            held = folds == fold
            rest_y = y[~held]
            if rest_y.all() or not rest_y.any():
                continue
            c = core.curve(p[~held], rest_y)
            k = pick(c)
            cut = c.threshold[0 if k is None else k]
            called = p[held] >= cut
            tp += int((called & y[held]).sum())
            tn += int((~called & ~y[held]).sum())
        counts.append((tp, tn))
    tp, tn = (float(v) for v in np.mean(counts, axis=0))
    m, n = int(y.sum()), int((~y).sum())
    return {"sensitivity": tp / m, "specificity": tn / n, "tp": tp, "fn": m - tp, "tn": tn, "fp": n - tn}
