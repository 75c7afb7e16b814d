"""Prognostic panels: elastic-net Cox models of miRNAs, of clinical covariates and of both,
judged by honest, out-of-fold discrimination (the prognostic twin of the diagnostic panels).

Nested cross-validation: outer folds stratified by event; inside each training fold the miRNAs
are pre-selected by univariable Cox p-value and the penalty is tuned by an inner
cross-validation, so nothing of a test fold is seen before it is predicted. The out-of-fold
linear predictors give Harrell's C (95 % interval: R ``concordance``'s infinitesimal jackknife)
and the time-dependent AUC at the horizons. The elastic net (penalty a fraction of λ_max, the
smallest λ that keeps every coefficient at 0) is fitted by proximal Newton with coordinate
descent on the Efron partial likelihood; scikit-learn makes the folds.

This module works on arrays (:func:`out_of_fold_risk`); the Cohort verb is
:func:`exomir.tools.prognostic_panel`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from exomir.stats import _survival_core as core


def _fit(x: np.ndarray, t: np.ndarray, e: np.ndarray, fraction: float, l1_ratio: float) -> np.ndarray:
    """Elastic-net Cox coefficients on standardized columns, λ = ``fraction`` × λ_max."""
    lam = fraction * core.lambda_max(t, e, x, l1_ratio)
    return core.cox_elastic_net(t, e, x, lam, l1_ratio)


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mean) / sd, (test - mean) / sd


def _preselect(x: np.ndarray, t: np.ndarray, e: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` columns with the smallest univariable Cox p-values (training data only)."""
    if x.shape[1] <= k:
        return np.arange(x.shape[1])
    pvals = np.ones(x.shape[1])
    for j in range(x.shape[1]):
        fit = core.cox_fit(t, e, x[:, j], zph=False)
        if fit.usable:
            pvals[j] = fit.pvalue[0]
    return np.sort(np.argsort(pvals, kind="stable")[:k])


def _folds(e: np.ndarray, k: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(k, int(e.sum()), int((1 - e).sum()) or k))
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(e)), e.astype(int))


def _train_predict(x_tr, t_tr, e_tr, x_te, *, n_mirna: int, max_features: int, penalizers, l1_ratio,
                   inner_folds: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Select (miRNA columns first, ``n_mirna`` of them), tune, fit; the test fold's risk."""
    keep_mirna = _preselect(x_tr[:, :n_mirna], t_tr, e_tr, max_features) if n_mirna else np.array([], int)
    cols = np.r_[keep_mirna, np.arange(n_mirna, x_tr.shape[1])].astype(int)
    xs_tr, xs_te = _standardize(x_tr[:, cols], x_te[:, cols])
    if len(penalizers) > 1:
        scores = []
        for pen in penalizers:
            risk = np.zeros(len(t_tr))
            for tr, te in _folds(e_tr, inner_folds, seed):
                a, b = _standardize(x_tr[tr][:, cols], x_tr[te][:, cols])
                risk[te] = b @ _fit(a, t_tr[tr], e_tr[tr], pen, l1_ratio)
            scores.append(core.concordance(t_tr, e_tr, risk).c)
        penalizer = penalizers[int(np.nanargmax(scores))]
    else:
        penalizer = penalizers[0]
    beta = _fit(xs_tr, t_tr, e_tr, penalizer, l1_ratio)
    return xs_te @ beta, [int(c) for c, b in zip(cols, beta) if abs(b) > 1e-8]


def out_of_fold_risk(x: np.ndarray, t: np.ndarray, e: np.ndarray, *, n_mirna: int, seed: int = 0,
                     outer_folds: int = 5, inner_folds: int = 3, penalizers: Sequence[float] = (0.05, 0.15, 0.4),
                     l1_ratio: float = 0.5, max_features: int = 20) -> tuple[np.ndarray, Counter]:
    """Nested-CV out-of-fold linear predictor of every sample, and how often each column was kept."""
    risk = np.full(len(t), np.nan)
    chosen: Counter = Counter()
    for fold, (tr, te) in enumerate(_folds(e, outer_folds, seed)):
        risk[te], used = _train_predict(x[tr], t[tr], e[tr], x[te], n_mirna=n_mirna, max_features=max_features,
                                        penalizers=list(penalizers), l1_ratio=l1_ratio, inner_folds=inner_folds,
                                        seed=seed + 1 + fold)
        chosen.update(used)
    return risk, chosen
