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
from scipy.special import digamma, gammaln


def _log_posterior(y, mu, x, log_alpha, prior_mean=None, prior_var=None):
    """DESeq2's log posterior of log dispersion per gene (columns of ``y``/``mu``): the NB log
    likelihood without the terms constant in alpha, the Cox-Reid term and, when a prior is
    given, the normal prior on log alpha. Sums run sample by sample (the order R uses)."""
    alpha = np.exp(log_alpha)
    inv = 1.0 / alpha
    terms = gammaln(y + inv) - gammaln(inv) - y * np.log(mu + inv) - inv * np.log1p(mu * alpha)
    ll = np.cumsum(terms, axis=0)[-1]
    w = 1.0 / (1.0 / mu + alpha)
    _, logdet = np.linalg.slogdet(np.einsum("si,sg,sj->gij", x, w, x))
    lp = ll - 0.5 * logdet
    if prior_mean is not None:
        lp = lp - 0.5 * (log_alpha - prior_mean) ** 2 / prior_var
    return lp


def _dlog_posterior(y, mu, x, log_alpha, prior_mean=None, prior_var=None):
    """Derivative of :func:`_log_posterior` with respect to log alpha."""
    alpha = np.exp(log_alpha)
    inv = 1.0 / alpha
    terms = (digamma(inv) - digamma(y + inv) + y / (mu + inv) + np.log1p(mu * alpha)
             - mu * alpha / (1.0 + mu * alpha))
    dll = np.cumsum(terms, axis=0)[-1] / alpha**2
    w = 1.0 / (1.0 / mu + alpha)
    b = np.einsum("si,sg,sj->gij", x, w, x)
    db = np.einsum("si,sg,sj->gij", x, -(w**2), x)
    dcr = -0.5 * np.trace(np.linalg.solve(b, db), axis1=1, axis2=2)
    grad = (dll + dcr) * alpha
    if prior_mean is not None:
        grad = grad - (log_alpha - prior_mean) / prior_var
    return grad


def dispersion_line_search(y, mu, x, log_alpha0, *, prior_mean=None, prior_var=None,
                           min_log_alpha=np.log(1e-9), tol=1e-6, max_iter=100, kappa0=1.0):
    """Armijo line search along the gradient of the log posterior in log alpha, with DESeq2's
    step-size schedule and stopping rule (an accepted step that gains less than ``tol``).

    Returns (log_alpha, iterations, initial log posterior, last log posterior)."""
    g = y.shape[1]
    a = np.asarray(log_alpha0, dtype=float).copy()
    pm = None if prior_mean is None else np.asarray(prior_mean, dtype=float)

    def lp_of(cols, values):
        return _log_posterior(y[:, cols], mu[:, cols], x, values,
                              None if pm is None else pm[cols], prior_var)

    def dlp_of(cols, values):
        return _dlog_posterior(y[:, cols], mu[:, cols], x, values,
                               None if pm is None else pm[cols], prior_var)

    every = np.arange(g)
    lp = lp_of(every, a)
    dlp = dlp_of(every, a)
    initial = lp.copy()
    kappa = np.full(g, kappa0)
    iters = np.zeros(g, dtype=int)
    accepts = np.zeros(g, dtype=int)
    active = np.ones(g, dtype=bool)
    eps = 1e-4
    for _ in range(max_iter):
        cols = np.flatnonzero(active)
        if len(cols) == 0:
            break
        iters[cols] += 1
        k = kappa[cols]
        step_to = a[cols] + k * dlp[cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(step_to < -30.0, (-30.0 - a[cols]) / dlp[cols], k)
            k = np.where(step_to > 10.0, (10.0 - a[cols]) / dlp[cols], k)
        kappa[cols] = k
        proposal = a[cols] + k * dlp[cols]
        theta = -lp_of(cols, proposal)
        theta_hat = -lp[cols] - k * eps * dlp[cols] ** 2
        ok = theta <= theta_hat
        rejected = cols[~ok]
        kappa[rejected] = kappa[rejected] / 2.0
        acc = cols[ok]
        if len(acc) == 0:
            continue
        accepts[acc] += 1
        a[acc] = a[acc] + kappa[acc] * dlp[acc]
        lp_new = lp_of(acc, a[acc])
        change = lp_new - lp[acc]
        small = change < tol
        lp[acc[small]] = lp_new[small]
        active[acc[small]] = False
        rest = ~small
        low = rest & (a[acc] < min_log_alpha)
        active[acc[low]] = False
        go = acc[rest & ~low]
        lp[go] = lp_new[rest & ~low]
        if len(go):
            dlp[go] = dlp_of(go, a[go])
            kappa[go] = np.minimum(kappa[go] * 1.1, kappa0)
            fifth = go[accepts[go] % 5 == 0]
            kappa[fifth] = kappa[fifth] / 2.0
    return a, iters, initial, lp


def dispersion_grid(y, mu, x, *, prior_mean=None, prior_var=None, max_disp=10.0):
    """Coarse-then-fine grid maximum of the log posterior in log alpha (DESeq2's fallback for
    genes whose line search did not converge)."""
    grid = np.linspace(np.log(1e-8), np.log(max_disp), 20)
    delta = grid[1] - grid[0]
    g = y.shape[1]
    pm = None if prior_mean is None else np.asarray(prior_mean, dtype=float)
    values = np.array([_log_posterior(y, mu, x, np.full(g, v), pm, prior_var) for v in grid])
    best = grid[np.argmax(values, axis=0)]
    fine = best[None, :] + np.linspace(-delta, delta, 20)[:, None]
    values = np.array([_log_posterior(y, mu, x, fine[t], pm, prior_var) for t in range(20)])
    return np.exp(fine[np.argmax(values, axis=0), np.arange(g)])


def _inference_class():
    from pydeseq2.default_inference import DefaultInference

    class _DESeq2Inference(DefaultInference):
        """PyDESeq2 inference whose dispersion step follows DESeq2 (line search, its
        keep-the-start rule and grid fallback) instead of L-BFGS-B."""

        _genewise: np.ndarray | None = None

        def alpha_mle(self, counts, design_matrix, mu, alpha_hat, min_disp, max_disp,
                      prior_disp_var=None, cr_reg=True, prior_reg=False, optimizer="L-BFGS-B"):
            y = np.asarray(counts, dtype=float)
            m = np.asarray(mu, dtype=float)
            x = np.asarray(design_matrix, dtype=float)
            start = np.asarray(alpha_hat, dtype=float)
            max_iter = 100
            if not prior_reg:
                log_a, iters, initial, last = dispersion_line_search(
                    y, m, x, np.log(start), min_log_alpha=np.log(min_disp / 10.0), max_iter=max_iter)
                disp = np.minimum(np.exp(log_a), max_disp)
                disp = np.where(last < initial + np.abs(initial) / 1e6, start, disp)
                converged = (iters < max_iter) & (iters != 1)
                refit = ~converged & (disp > min_disp * 10)
                if refit.any():
                    disp[refit] = dispersion_grid(y[:, refit], m[:, refit], x, max_disp=max_disp)
                disp = np.clip(disp, min_disp, max_disp)
                self._genewise = disp.copy()
                return disp, converged
            fitted = start
            gene = self._genewise if self._genewise is not None and len(self._genewise) == len(fitted) \
                else fitted
            init = np.where(gene > 0.1 * fitted, gene, fitted)
            log_a, iters, _, _ = dispersion_line_search(
                y, m, x, np.log(init), prior_mean=np.log(fitted), prior_var=prior_disp_var,
                min_log_alpha=np.log(min_disp / 10.0), max_iter=max_iter)
            disp = np.exp(log_a)
            converged = iters < max_iter
            if (~converged).any():
                disp[~converged] = dispersion_grid(
                    y[:, ~converged], m[:, ~converged], x, prior_mean=np.log(fitted[~converged]),
                    prior_var=prior_disp_var, max_disp=max_disp)
            return np.clip(disp, min_disp, max_disp), converged

    return _DESeq2Inference


def run_deseq2(counts: pd.DataFrame, metadata: pd.DataFrame, design: str,
               contrast: list[str], *, refit_cooks: bool = True) -> pd.DataFrame:
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
        dds = DeseqDataSet(counts=counts, metadata=metadata, design=design, refit_cooks=refit_cooks,
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
