"""What a cross-validated panel AUC is worth: its interval, its permutation p-value, and the
sensitivity and specificity of a cut-off chosen without the samples it is judged on.

The interval comes from a bootstrap of the whole nested procedure (:func:`bootstrap_cv_interval`):
the samples are drawn with replacement (within each class, or whole patients), the nested CV
is run again on each draw with the copies of one sample kept in one fold (outer and inner), and
the spread of those AUCs gives the standard error. Two things were learnt by simulation
(30 candidates, 5 informative or none, n = 40, 100 and 400; pilot runs on seeds 7, 99 and 555,
40–110 data sets per cell; the committed study uses seed 61130):

* the draws' variance overstates that of the CV estimate, by 1.9–2.5 times its mean squared
  error around the target in every cell (a draw holds only 63 % distinct samples, a model fitted
  to it is less stable, and its fresh fit adds noise of its own);
* on the AUC scale a symmetric interval misses from above: an estimate near 1 has a small spread
  in its draws although the truth may lie well below. On the logit scale the spread does not
  shrink near the ceiling.

So the SE is taken on the logit scale. A draw runs one repeat of the CV where the estimate
averages R (3 in ``analyze``), so the repeat-to-repeat variance, measured on the estimate's own
repeats, is taken out of the draws' variance and added back divided by R; the rest is divided by
``BOOTSTRAP_VARIANCE_RATIO`` = 1.8, the value whose pilot coverage of the nominal 95 % lay between
0.93 and 0.98 in every cell but one (0.983, 59 of 60, under the null at n = 100; 1.9 and 2.0 gave
the same there, 1.9 less under the effect at n = 400). The committed study, on a fresh seed, checks the
coverage of the AUC the procedure reaches when trained on n·(K − 1)/K samples:
``benchmarks/bench_panel_coverage.py`` and ``benchmarks/results/panel_coverage.json``. Designs far
from that one (thousands of candidates, tiny groups) may need another ratio.

Without the bootstrap (``bootstraps=0``) the interval is Nadeau and Bengio's (2003) corrected
resampled t over the held-out folds' AUCs: J fold AUCs with variance s², inflated to
(1/J + 1/(K − 1))·s² because the folds share training samples. It is cheap but too narrow under
an effect at small n (coverage 0.86 and 0.87 at n = 40 and 100 in the committed study, where
the bootstrap interval had 0.93 and 0.94).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from exomir.stats import _roc_core as core

CI_METHOD = "corrected repeated-CV t (Nadeau-Bengio) over held-out-fold AUCs"
#: how much the bootstrap draws' AUC variance overstates that of the CV estimate (module doc)
BOOTSTRAP_VARIANCE_RATIO = 1.8
CI_METHOD_DEGENERATE = "newcombe score (every held-out fold or bootstrap draw had the same AUC)"


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


def bootstrap_cv_interval(auc: float, boot_auc: np.ndarray, n_case: int, n_control: int,
                          auc_by_repeat=(), conf_level: float = 0.95) -> tuple[float, float, float, str]:  # fmt: skip
    """Interval of a nested-CV AUC from the AUCs of the same procedure on bootstrap draws:
    (low, high, standard error on the logit scale, method).

    Everything is on the logit scale, where an AUC near 1 has room to fall (module doc). A draw
    runs one repeat of the CV while the estimate averages R repeats (``auc_by_repeat``), so the
    repeat-to-repeat variance s² of the estimate's own repeats is measured, not scaled: the SE²
    is (draws' variance − s²) / ``BOOTSTRAP_VARIANCE_RATIO`` + s² / R. The interval
    logit(AUC) ± z·SE is mapped back. AUCs are kept half a case-control pair from 0 and 1 so that
    a perfect fold set has a finite logit. When every draw gives the same AUC the spread says
    nothing, and Newcombe's score interval for the group sizes is used instead."""
    boot = np.asarray(boot_auc, dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    method = (f"bootstrap of the whole nested CV ({boot.size} draws, logit scale, "
              f"variance / {BOOTSTRAP_VARIANCE_RATIO:g})")  # fmt: skip
    if boot.size < 2 or not np.isfinite(auc):
        return float("nan"), float("nan"), float("nan"), method
    edge = 0.5 / (n_case * n_control)

    def logit(values):
        return special.logit(np.clip(np.asarray(values, dtype=np.float64), edge, 1.0 - edge))

    repeats = logit([v for v in auc_by_repeat if np.isfinite(v)])
    partition = float(repeats.var(ddof=1)) if repeats.size > 1 else 0.0  # fold assignment alone
    spread = float(logit(boot).var(ddof=1))
    if not spread > 0:
        low, high = core.newcombe_interval(auc, n_case, n_control, conf_level)
        return float(low), float(high), 0.0, CI_METHOD_DEGENERATE
    se = float(np.sqrt(max(spread - partition, 0.0) / BOOTSTRAP_VARIANCE_RATIO + partition / max(repeats.size, 1)))
    half = stats.norm.ppf(0.5 + conf_level / 2.0) * se
    centre = float(logit(auc))
    return float(special.expit(centre - half)), float(special.expit(centre + half)), se, method


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
