"""Which miRNAs differ between two groups of samples (e.g. HCC against cirrhosis)?

:func:`differential_expression` returns one row per miRNA and comparison with the columns of
GUIDE differential.csv (``mirna, mimat, comparison, log2fc, pvalue, padj, method``) and
``base_mean, stat, n_case, n_control``; DESeq2 rows add ``lfc_se``, ``dispersion`` and
``outlier_replaced``.

Methods (``method="auto"`` picks by what the values are):

* ``deseq2`` (counts): PyDESeq2 on ``layers["counts"]`` (raw reads, not ``X``), design
  ``~ covariates + group``, Wald test of case against control, the log2 fold change unshrunk,
  Cook's outliers replaced and refitted, ``padj`` BH after DESeq2's independent filtering
  (filtered miRNAs keep their p-value and get NaN ``padj``, as in DESeq2). ``base_mean`` is
  the mean of size-factor-normalized counts; ``stat`` the Wald statistic.
* ``moderated_t`` (Cq, log values): linear model ``~ covariates + group`` on ``X`` with
  limma's empirical-Bayes variance shrinkage (:func:`exomir.stats.differential.moderated_t_test`); ``stat`` is
  the moderated t, ``base_mean`` the mean of ``X`` over the compared samples; BH.
* ``wilcoxon``: two-sided Mann-Whitney test on ``X`` (normal approximation with continuity
  and tie correction, exact for small groups without ties); ``stat`` is U of the case group
  computed on ``X`` as it is (not re-signed for Cq); ``log2fc`` the difference of group means;
  BH. Covariates are not allowed.

Sign convention: ``log2fc > 0`` always means *more* of the miRNA in the case group. Cq and ΔCq
fall as abundance rises (one cycle is one doubling at 100 % efficiency), so for Cq data
``log2fc = mean ΔCq(control) − mean ΔCq(case)`` and the statistic is negated to match.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging

import numpy as np
import pandas as pd

from exomir.cohort import (control_list, design_columns, expression_sign, matrix_of, measure_of, meta, mimat_of,
                           record_exclusion, record_step, select_groups)
from exomir.errors import InputError
from exomir.preprocess.qc import drop_controls
from exomir.stats.common import bh_adjust
from exomir.stats.differential import moderated_t_test, run_deseq2, wilcoxon_test

log = logging.getLogger(__name__)

METHODS = ("auto", "deseq2", "moderated_t", "wilcoxon")
COLUMNS = ["mirna", "mimat", "comparison", "log2fc", "pvalue", "padj", "method", "base_mean",
           "stat", "n_case", "n_control"]


def differential_expression(adata, group: str, case: str, control: str | Sequence[str], *,
                            covariates: Sequence[str] = (), method: str = "auto",
                            layer: str | None = None) -> pd.DataFrame:
    """Compare ``case`` against each ``control`` value of the ``obs`` column ``group``.

    Returns one block of rows per control (comparison ``CASE_vs_CONTROL``), miRNAs in the
    Cohort's order. Samples of other groups or without a group are not part of a comparison;
    compared samples that lack a covariate are left out and recorded as exclusions.
    ``layer`` replaces ``X`` for the moderated t and Wilcoxon tests.
    """
    if method not in METHODS:
        raise InputError(f"unknown differential method {method!r}", expected=" | ".join(METHODS))
    arms = control_list(control)
    if not arms:
        raise InputError("no control group given")
    selections = [select_groups(adata, group, case, arm) for arm in arms]
    for name in covariates:
        if name not in adata.obs:
            raise InputError(f"no covariate column {name!r} in the clinical table", column=name)
        if name == group:
            raise InputError(f"covariate {name!r} is the group column itself", column=name)
    measure = measure_of(adata)
    chosen = method
    if method == "auto":
        chosen = "deseq2" if measure == "counts" else "moderated_t"
    if chosen == "wilcoxon" and covariates:
        raise InputError("the Wilcoxon test cannot adjust for covariates",
                         expected="method='moderated_t' or 'deseq2' with covariates")
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls are never tested
    parts = [_one_comparison(adata, selection, list(covariates), chosen, measure, layer) for selection in selections]
    return pd.concat(parts, ignore_index=True)


def _one_comparison(adata, selection, covariates: list[str], method: str, measure: str,
                    layer: str | None) -> pd.DataFrame:
    comparison, group = selection.name, selection.group
    in_case, use = selection.is_case, selection.rows.copy()
    cov = design_columns(adata.obs, covariates) if covariates else pd.DataFrame(index=adata.obs_names)
    if covariates:
        missing = use & ~np.isfinite(cov.to_numpy(dtype=float)).all(axis=1)
        for sample in adata.obs_names[missing]:
            record_exclusion(adata, "sample", sample,
                             f"missing covariate ({', '.join(covariates)}) for {comparison}")
        if missing.any():
            log.warning(f"differential {comparison}: {int(missing.sum())} sample(s) without "
                        f"covariate values left out")
        use &= ~missing
    is_case = in_case[use]
    n_case, n_ctrl = int(is_case.sum()), int((~is_case).sum())
    if n_case < 2 or n_ctrl < 2:
        raise InputError(f"{comparison} needs at least two samples per group "
                         f"(has {n_case} and {n_ctrl})", column=group)
    cov_used = cov.loc[use]
    if method == "deseq2":
        table = _deseq2(adata, use, is_case, cov_used)
    else:
        if measure == "counts" and layer in (None, "counts") and not _log_scaled(adata, layer):
            raise InputError(f"the {method} test needs log-scale values, but X holds raw read counts",
                             expected="normalize the cohort first (exomir.preprocess.normalize) "
                                      "or use method='deseq2'")
        values = matrix_of(adata, layer)[use]
        if method == "moderated_t":
            table = moderated_t_test(values, is_case, cov_used.to_numpy(dtype=float))
        else:
            table = wilcoxon_test(values, is_case)
        if expression_sign(adata) < 0:  # Cq falls as the miRNA rises: log2FC in expression terms
            table["log2fc"] = -table["log2fc"]
            table["stat"] = -table["stat"] if method == "moderated_t" else table["stat"]
    table.insert(0, "mirna", [str(v) for v in adata.var_names])
    table.insert(1, "mimat", mimat_of(adata))
    table.insert(2, "comparison", comparison)
    table["method"] = method
    table["n_case"] = n_case
    table["n_control"] = n_ctrl
    if method != "deseq2":
        table["padj"] = bh_adjust(table["pvalue"].to_numpy(dtype=float))
    record_step(adata, "differential_expression", comparison=comparison, method=method,
                covariates=covariates, n_case=n_case, n_control=n_ctrl)
    rest = [c for c in table.columns if c not in COLUMNS]
    return table[COLUMNS + rest]


def _log_scaled(adata, layer: str | None) -> bool:
    """Whether ``X`` of a count cohort was put on a log scale by a normalization step."""
    if layer is not None:
        return False
    steps = [s for s in meta(adata).get("steps", []) if s.get("step") == "normalize"]
    return bool(steps) and steps[-1].get("method") not in ("none", "", None)


def _deseq2(adata, use: np.ndarray, is_case: np.ndarray, cov: pd.DataFrame) -> pd.DataFrame:
    if "counts" not in adata.layers:
        raise InputError("DESeq2 needs raw read counts in layers['counts']",
                         expected="a count table (measure 'counts')")
    counts = np.asarray(adata.layers["counts"], dtype=float)[use]
    if not np.isfinite(counts).all():
        bad = np.argwhere(~np.isfinite(counts))[0]
        raise InputError("read counts must not be missing",
                         record=str(adata.obs_names[use][bad[0]]), column=str(adata.var_names[bad[1]]),
                         expected="a count (0 when not detected)")
    if (counts < 0).any():
        raise InputError("read counts must not be negative", expected="counts >= 0")
    rounded = np.rint(counts)
    if not np.array_equal(rounded, counts):
        log.warning("DESeq2: non-integer read counts rounded to the nearest integer")
    names = [f"m{j}" for j in range(counts.shape[1])]
    frame = pd.DataFrame(rounded.astype(np.int64), index=[f"s{i}" for i in range(len(rounded))],
                         columns=names)
    metadata = pd.DataFrame({"group": np.where(is_case, "case", "control")}, index=frame.index)
    terms = []
    for k, name in enumerate(cov.columns):
        values = cov[name].to_numpy(dtype=float)
        if set(np.unique(values)) <= {0.0, 1.0}:
            metadata[f"c{k}"] = np.where(values == 1.0, "yes", "no")  # a factor, as in R
        else:
            metadata[f"c{k}"] = values
        terms.append(f"c{k}")
    design = "~" + " + ".join([*terms, "group"])
    shown = " + ".join([*map(str, cov.columns), "group"])
    log.info(f"DESeq2: {counts.shape[1]} miRNAs × {counts.shape[0]} samples, design ~ {shown}")
    result = run_deseq2(frame, metadata, design, ["group", "case", "control"])
    result = result.reindex(names)
    return pd.DataFrame({
        "log2fc": result["log2FoldChange"].to_numpy(), "pvalue": result["pvalue"].to_numpy(),
        "padj": result["padj"].to_numpy(), "base_mean": result["baseMean"].to_numpy(),
        "stat": result["stat"].to_numpy(), "lfc_se": result["lfcSE"].to_numpy(),
        "dispersion": result["dispersion"].to_numpy(),
        "outlier_replaced": result["replaced"].to_numpy(dtype=bool),
    })
