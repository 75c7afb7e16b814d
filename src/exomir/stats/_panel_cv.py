"""What a cross-validated panel AUC is worth: its interval, its permutation p-value, and the
sensitivity and specificity of a cut-off chosen without the samples it is judged on.

The interval comes from a bootstrap of the whole nested procedure (:func:`bootstrap_cv_interval`):
the samples are drawn with replacement (within each class, or whole patients), the nested CV
is run again on each draw with the copies of one sample kept in one fold (outer and inner), and
the spread of those AUCs gives the standard error. That spread overstates the variance of the
CV estimate itself: in exploratory simulations (30 candidates, n = 40 and 400, null and effect)
the draws' variance was 1.8–2.6 times the estimate's variance across data sets (a draw holds only
63 % distinct samples, and the procedure fitted to it is less stable). The variance is divided
by ``BOOTSTRAP_VARIANCE_RATIO`` = 2.2, set from those exploratory runs; the committed study,
on other seeds, checks the resulting coverage of the AUC the procedure reaches when trained on
n·(K − 1)/K samples (n = 40, 100, 400, null and effect): ``benchmarks/bench_panel_coverage.py``
and ``benchmarks/results/panel_coverage.json``. No single ratio fits every cell (coverage 1.00
under the null and 0.88 under an effect at n = 40, 0.88 under the null at n = 400); other designs
may need another.

Without the bootstrap (``bootstraps=0``) the interval is Nadeau and Bengio's (2003) corrected
resampled t over the held-out folds' AUCs: J fold AUCs with variance s², inflated to
(1/J + 1/(K − 1))·s² because the folds share training samples. It is cheap but too narrow under
an effect at small n (coverage 0.79 and 0.81 at n = 40 and 100 in the same study).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from exomir.stats import _roc_core as core

CI_METHOD = "corrected repeated-CV t (Nadeau-Bengio) over held-out-fold AUCs"
#: how much the bootstrap draws' AUC variance overstates that of the CV estimate (module doc)
BOOTSTRAP_VARIANCE_RATIO = 2.2
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


def bootstrap_cv_interval(auc: float, boot_auc: np.ndarray, conf_level: float = 0.95) -> tuple[float, float, float, str]:
    """Interval of a nested-CV AUC from the AUCs of the same procedure on bootstrap draws:
    (low, high, standard error, method). The draws' variance is divided by
    ``BOOTSTRAP_VARIANCE_RATIO`` (see the module doc); the interval is AUC ± z·SE, clipped to [0, 1]."""
    boot = np.asarray(boot_auc, dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    method = f"bootstrap of the whole nested CV ({boot.size} draws, variance / {BOOTSTRAP_VARIANCE_RATIO:g})"
    if boot.size < 2 or not np.isfinite(auc):
        return float("nan"), float("nan"), float("nan"), method
    se = float(np.sqrt(boot.var(ddof=1) / BOOTSTRAP_VARIANCE_RATIO))
    half = stats.norm.ppf(0.5 + conf_level / 2.0) * se
    return float(max(auc - half, 0.0)), float(min(auc + half, 1.0)), se, method


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
