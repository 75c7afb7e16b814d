"""Stratified bootstrap of AUCs (cases and controls resampled separately, as pROC does)."""

from __future__ import annotations

import numpy as np

from exomir.stats._roc_core import auc_rows


def bootstrap_aucs(
    oriented: np.ndarray, is_case: np.ndarray, *, n_boot: int = 2000, seed: int = 0, chunk_cells: int = 4_000_000
) -> np.ndarray:
    """AUC of every marker row in each of ``n_boot`` stratified resamples (n_boot × markers).

    All resamples are drawn first (cases and controls separately, with replacement) and shared
    by every marker, so intervals of different markers come from one coherent resampling. The
    replicates of one marker are then scored together as the rows of one matrix, in chunks of
    about ``chunk_cells`` values.
    """
    oriented = np.atleast_2d(np.asarray(oriented, dtype=np.float64))
    is_case = np.asarray(is_case, dtype=bool)
    rng = np.random.default_rng(seed)
    case_idx = np.flatnonzero(is_case)
    control_idx = np.flatnonzero(~is_case)
    picks = np.hstack(
        [rng.choice(case_idx, (n_boot, case_idx.size)), rng.choice(control_idx, (n_boot, control_idx.size))]
    )
    labels = np.r_[np.ones(case_idx.size, bool), np.zeros(control_idx.size, bool)]
    step = max(1, chunk_cells // max(1, labels.size))
    out = np.empty((n_boot, oriented.shape[0]))
    for k, row in enumerate(oriented):
        for start in range(0, n_boot, step):
            out[start : start + step, k] = auc_rows(row[picks[start : start + step]], labels)
    return out


def percentile_interval(replicates: np.ndarray, conf_level: float = 0.95):
    """Percentile interval of bootstrap replicates per column (NaN replicates ignored)."""
    alpha = (1.0 - conf_level) / 2.0
    low = np.nanquantile(replicates, alpha, axis=0)
    high = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return low, high
