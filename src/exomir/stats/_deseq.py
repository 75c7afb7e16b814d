"""PyDESeq2 run the way R's ``DESeq()`` runs it, quietly, on one thread, deterministically.

One difference between the two engines matters on miRNA data, where a few miRNAs have
hundreds of thousands of reads: DESeq2 keeps its starting (moments) gene-wise dispersion when
the line search improves the log posterior by less than 1e-6 of its absolute value
(``estimateDispersionsGeneEst``: ``noIncrease``). That log posterior omits constant terms and
is of the order of the read count, so for abundant miRNAs the rule fires and DESeq2 reports the
starting value, where PyDESeq2 reports the maximum. :class:`_DESeq2Inference` applies the same
rule after PyDESeq2's optimizer so that dispersions, and with them p-values, agree with DESeq2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln


def _log_posterior(y: np.ndarray, mu: np.ndarray, x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """DESeq2's gene-wise log posterior without prior (NB log likelihood without the terms
    constant in alpha, plus the Cox-Reid term), for every gene (columns)."""
    inv = 1.0 / alpha
    ll = (gammaln(y + inv) - gammaln(inv) - y * np.log(mu + inv) - inv * np.log1p(mu * alpha)).sum(axis=0)
    w = 1.0 / (1.0 / mu + alpha)  # samples × genes
    info = np.einsum("si,sg,sj->gij", x, w, x)
    sign, logdet = np.linalg.slogdet(info)
    return ll - 0.5 * logdet


def _inference_class():
    from pydeseq2.default_inference import DefaultInference

    class _DESeq2Inference(DefaultInference):
        """PyDESeq2 inference with DESeq2's keep-the-start rule for gene-wise dispersions."""

        def alpha_mle(self, counts, design_matrix, mu, alpha_hat, min_disp, max_disp,
                      prior_disp_var=None, cr_reg=True, prior_reg=False, optimizer="L-BFGS-B"):
            disp, converged = super().alpha_mle(
                counts=counts, design_matrix=design_matrix, mu=mu, alpha_hat=alpha_hat,
                min_disp=min_disp, max_disp=max_disp, prior_disp_var=prior_disp_var,
                cr_reg=cr_reg, prior_reg=prior_reg, optimizer=optimizer)
            if prior_reg or not cr_reg:
                return disp, converged
            start = np.asarray(alpha_hat, dtype=float)
            y = np.asarray(counts, dtype=float)
            m = np.asarray(mu, dtype=float)
            x = np.asarray(design_matrix, dtype=float)
            initial = _log_posterior(y, m, x, start)
            last = _log_posterior(y, m, x, np.asarray(disp, dtype=float))
            keep = last < initial + np.abs(initial) / 1e6
            return np.where(keep, start, disp), converged

    return _DESeq2Inference


def run_deseq2(counts: pd.DataFrame, metadata: pd.DataFrame, design: str,
               contrast: list[str]) -> pd.DataFrame:
    """Fit ``design`` on ``counts`` (samples × miRNAs, integers) and test ``contrast``.

    Returns PyDESeq2's results frame (baseMean, log2FoldChange, lfcSE, stat, pvalue, padj) with
    the final dispersion and whether Cook's outliers were replaced, one row per miRNA.
    """
    import warnings

    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.ds import DeseqStats
    from threadpoolctl import threadpool_limits

    inference = _inference_class()(n_cpus=1)
    # one BLAS thread: many tiny solves spin-wait badly on shared cores, and one thread
    # keeps the floating-point reduction order (and so the output bytes) fixed
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts, metadata=metadata, design=design, refit_cooks=True,
                           inference=inference, quiet=True,
                           max_disp=max(10.0, float(counts.shape[0])))
        dds.deseq2()
        stats = DeseqStats(dds, contrast=contrast, inference=inference, quiet=True,
                           cooks_filter=True, independent_filter=True)
        stats.summary()
    result = stats.results_df.copy()
    result["dispersion"] = dds.var["dispersions"].to_numpy()
    result["replaced"] = dds.var["replaced"].to_numpy(dtype=bool) if "replaced" in dds.var \
        else np.zeros(len(result), dtype=bool)
    return result
