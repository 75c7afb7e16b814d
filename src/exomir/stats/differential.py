"""Two-group tests of many miRNAs on arrays (samples × miRNAs): limma's moderated t, the
Mann-Whitney test, and DESeq2's Wald test through PyDESeq2 (:func:`run_deseq2`). The Cohort
verb choosing among them is :func:`exomir.tools.differential`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from exomir.stats._deseq import run_deseq2
from exomir.stats._moderated_t import fit_linear, moderated_t

__all__ = ["moderated_t_test", "run_deseq2", "wilcoxon_test"]


def moderated_t_test(values: np.ndarray, is_case: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """Linear model ``~ covariates + group`` per column of ``values`` (samples × miRNAs) with limma's
    empirical-Bayes moderated t of the group term: ``log2fc`` (case − control), ``pvalue``, ``base_mean``,
    ``stat`` (moderated t), ``df_total``, ``s2_post``; ``padj`` left empty."""
    n = len(is_case)
    design = np.column_stack([np.ones(n), cov.reshape(n, -1), is_case.astype(float)])
    fit = fit_linear(values, design)
    res = moderated_t(fit, design.shape[1] - 1)
    with np.errstate(invalid="ignore"):
        base = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0) \
            if np.isfinite(values).any() else np.full(values.shape[1], np.nan)
    return pd.DataFrame({"log2fc": fit.coef[:, -1], "pvalue": res.pvalue, "padj": np.nan,
                         "base_mean": base, "stat": res.t, "df_total": res.df_total,
                         "s2_post": res.s2_post})


def wilcoxon_test(values: np.ndarray, is_case: np.ndarray) -> pd.DataFrame:
    """Two-sided Mann-Whitney test per column of ``values``: ``stat`` is U of the cases, ``log2fc``
    the difference of group means, ``base_mean`` the mean; ``padj`` left empty."""
    g = values.shape[1]
    lfc, pval, stat, base = (np.full(g, np.nan) for _ in range(4))
    for j in range(g):
        col = values[:, j]
        ok = np.isfinite(col)
        a, b = col[ok & is_case], col[ok & ~is_case]
        if len(a) == 0 or len(b) == 0:
            continue
        base[j] = col[ok].mean()
        lfc[j] = a.mean() - b.mean()
        if np.ptp(col[ok]) == 0:
            pval[j], stat[j] = 1.0, len(a) * len(b) / 2.0
            continue
        res = stats.mannwhitneyu(a, b, alternative="two-sided", method="auto")
        pval[j], stat[j] = res.pvalue, res.statistic
    return pd.DataFrame({"log2fc": lfc, "pvalue": pval, "padj": np.nan, "base_mean": base,
                         "stat": stat})
