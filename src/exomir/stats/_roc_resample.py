"""Stratified bootstrap of AUCs (cases and controls resampled separately, as pROC does)."""

from __future__ import annotations

import numpy as np

from exomir.stats._roc_core import placements


def bootstrap_aucs(
    oriented: np.ndarray, is_case: np.ndarray, *, n_boot: int = 2000, seed: int = 0
) -> np.ndarray:
    """AUC of every marker row in each of ``n_boot`` stratified resamples (n_boot × markers).

    The same resampled sample indices are used for all markers of one replicate, so intervals of
    different markers (and of differences between them) come from one coherent resampling.
    """
    oriented = np.atleast_2d(np.asarray(oriented, dtype=np.float64))
    is_case = np.asarray(is_case, dtype=bool)
    rng = np.random.default_rng(seed)
    case_idx = np.flatnonzero(is_case)
    control_idx = np.flatnonzero(~is_case)
    out = np.empty((n_boot, oriented.shape[0]))
    labels = np.r_[np.ones(case_idx.size, bool), np.zeros(control_idx.size, bool)]
    for b in range(n_boot):
        pick = np.r_[rng.choice(case_idx, case_idx.size), rng.choice(control_idx, control_idx.size)]
        out[b] = placements(oriented[:, pick], labels).auc
    return out


def percentile_interval(replicates: np.ndarray, conf_level: float = 0.95):
    """Percentile interval of bootstrap replicates per column (NaN replicates ignored)."""
    alpha = (1.0 - conf_level) / 2.0
    low = np.nanquantile(replicates, alpha, axis=0)
    high = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return low, high
