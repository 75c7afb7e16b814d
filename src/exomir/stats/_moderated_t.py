"""Empirical-Bayes moderated t statistics for log-scale data (the method of limma's
``lmFit`` + ``eBayes``, Smyth 2004).

Per miRNA an ordinary least-squares fit gives a coefficient, its unscaled standard deviation
and a residual variance s² on d residual degrees of freedom. The residual variances are
assumed to scatter around a prior s0² as scaled F(d, d0); d0 and s0² are estimated from all
miRNAs by matching the mean and variance of log s² (digamma/trigamma moments, inverted by
Newton's method). Each variance is then shrunk to (d0·s0² + d·s²) / (d0 + d) and the moderated
t has d0 + d degrees of freedom (capped at the pooled residual df).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats


@dataclass
class LinearFit:
    coef: np.ndarray  # genes × p
    stdev_unscaled: np.ndarray  # genes × p
    sigma2: np.ndarray  # genes
    df_residual: np.ndarray  # genes


def fit_linear(y: np.ndarray, design: np.ndarray) -> LinearFit:
    """Least squares of every column of ``y`` (samples × genes) on ``design`` (samples × p).
    Missing values are left out gene by gene (as ``lmFit``)."""
    y = np.asarray(y, dtype=float)
    design = np.asarray(design, dtype=float)
    n, p = design.shape
    g = y.shape[1]
    coef = np.full((g, p), np.nan)
    sdu = np.full((g, p), np.nan)
    s2 = np.full(g, np.nan)
    df = np.zeros(g)
    complete = np.isfinite(y).all(axis=0)
    if complete.any():
        _fit_block(y[:, complete], design, coef, sdu, s2, df, np.flatnonzero(complete))
    for j in np.flatnonzero(~complete):
        rows = np.isfinite(y[:, j])
        _fit_block(y[rows][:, [j]], design[rows], coef, sdu, s2, df, np.array([j]))
    return LinearFit(coef, sdu, s2, df)


def _fit_block(y, design, coef, sdu, s2, df, idx) -> None:
    n = design.shape[0]
    q, r = np.linalg.qr(design)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-7 * max(1.0, np.abs(r).max()))) if n else 0
    if rank < design.shape[1] or n <= rank:
        # a coefficient not estimable here (e.g. a group without observations): NaN
        if n > 0 and rank == design.shape[1]:
            beta = np.linalg.solve(r, q.T @ y)
            coef[idx] = beta.T
            sdu[idx] = np.sqrt(np.diag(np.linalg.inv(r.T @ r)))
        return
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - design @ beta
    d = n - rank
    coef[idx] = beta.T
    sdu[idx] = np.sqrt(np.diag(np.linalg.inv(r.T @ r)))
    s2[idx] = (resid**2).sum(axis=0) / d
    df[idx] = d


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve trigamma(y) = x by Newton's method on 1/trigamma (Smyth's starting values)."""
    x = np.asarray(x, dtype=float)
    y = 0.5 + 1.0 / x
    big = x > 1e7
    small = x < 1e-6
    for _ in range(50):
        tri = special.polygamma(1, y)
        step = tri * (1.0 - tri / x) / special.polygamma(2, y)
        y = y + step
        if np.all(-step[~(big | small)] / y[~(big | small)] < 1e-8):
            break
    return np.where(big, 1.0 / np.sqrt(x), np.where(small, 1.0 / x, y))


def fit_f_prior(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior variance s0² and prior df d0 from residual variances (limma ``fitFDist``)."""
    s2 = np.asarray(s2, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), s2.shape)
    ok = np.isfinite(df) & (df > 1e-15) & np.isfinite(s2) & (s2 > -1e-15)
    x, d = s2[ok], df[ok]
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    if n == 1:
        return float(x[0]), 0.0
    x = np.maximum(x, 0.0)
    med = float(np.median(x))
    if med == 0:
        med = 1.0
    x = np.maximum(x, 1e-5 * med)
    e = np.log(x) - special.digamma(d / 2.0) + np.log(d / 2.0)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (n - 1)) - float(special.polygamma(1, d / 2.0).mean())
    if evar > 0:
        d0 = float(2.0 * trigamma_inverse(np.array([evar]))[0])
        s02 = float(np.exp(emean + special.digamma(d0 / 2.0) - np.log(d0 / 2.0)))
    else:
        d0 = np.inf
        s02 = float(x.mean())
    return s02, d0


@dataclass
class ModeratedT:
    t: np.ndarray
    pvalue: np.ndarray
    df_total: np.ndarray
    s2_post: np.ndarray
    s2_prior: float
    df_prior: float


def moderated_t(fit: LinearFit, coef: int) -> ModeratedT:
    """Moderated t of one coefficient (limma ``eBayes`` defaults: no trend, not robust)."""
    s02, d0 = fit_f_prior(fit.sigma2, fit.df_residual)
    d = fit.df_residual
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.isinf(d0):
            s2_post = np.full_like(fit.sigma2, s02)
        else:
            s2_post = (d0 * s02 + d * np.where(d > 0, fit.sigma2, 0.0)) / (d0 + d)
        df_total = np.minimum(d + d0, d[np.isfinite(fit.sigma2)].sum())
        t = fit.coef[:, coef] / (fit.stdev_unscaled[:, coef] * np.sqrt(s2_post))
    p = 2.0 * stats.t.sf(np.abs(t), df_total)
    return ModeratedT(t, p, df_total, s2_post, s02, d0)
