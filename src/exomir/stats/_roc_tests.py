"""Mann-Whitney tests of AUC = 0.5 for many markers at once.

The AUC is the Mann-Whitney U divided by m·n, so "AUC = 0.5" is tested by the rank-sum test.
It is two-sided and does not depend on the direction in which the AUC is reported, so a
direction chosen from the data (``auto``) does not bias the p-value. Small groups get an exact
or a permutation p-value rather than a normal approximation:

* both groups ≥ ``SMALL_GROUP``: normal approximation with tie and continuity correction
  (R's ``wilcox.test(exact = FALSE, correct = TRUE)``);
* a smaller group and no ties: the exact null distribution of U (a perfect separator of 10
  against 10 gets p = 2 / C(20, 10) = 1.1e-5, not an empty cell);
* a smaller group with ties: a permutation test (``n_perm`` label permutations shared by all
  markers, seeded), p = (1 + #{|U* − mn/2| ≥ |U − mn/2|}) / (1 + n_perm).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from exomir.stats._roc_core import midranks

SMALL_GROUP = 20
N_PERM = 10_000

METHOD_ASYMPTOTIC = "mann-whitney (normal, tie + continuity corrected)"
METHOD_EXACT = "mann-whitney (exact)"


def _permutation_label(n_perm: int) -> str:
    return f"mann-whitney (permutation, {n_perm} label permutations)"


def mann_whitney_pvalues(
    values: np.ndarray, is_case: np.ndarray, *, n_perm: int = N_PERM, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-value of AUC = 0.5 for every marker row (NaN samples left out per row).

    Returns ``(pvalue, method)`` arrays; a row without two observed samples in each group gets NaN.
    """
    x = np.atleast_2d(np.asarray(values, dtype=np.float64))
    y = np.asarray(is_case, dtype=bool)
    pvalue = np.full(x.shape[0], np.nan)
    method = np.full(x.shape[0], "", dtype=object)
    observed = ~np.isnan(x)
    m = (observed & y).sum(axis=1)
    n = (observed & ~y).sum(axis=1)
    usable = (m >= 1) & (n >= 1)
    if not usable.any():
        return pvalue, method
    ranks = midranks(x)
    has_ties = np.array([np.unique(r[~np.isnan(r)]).size < np.count_nonzero(~np.isnan(r)) for r in ranks])
    big = usable & (m >= SMALL_GROUP) & (n >= SMALL_GROUP)
    if big.any():
        pvalue[big] = _asymptotic(ranks[big], y, m[big], n[big])
        method[big] = METHOD_ASYMPTOTIC
    exact = usable & ~big & ~has_ties
    for mm, nn in {(int(a), int(b)) for a, b in zip(m[exact], n[exact], strict=True)}:
        rows = np.flatnonzero(exact & (m == mm) & (n == nn))
        cases = np.stack([x[i][observed[i] & y] for i in rows])
        controls = np.stack([x[i][observed[i] & ~y] for i in rows])
        pvalue[rows] = stats.mannwhitneyu(cases, controls, axis=1, method="exact").pvalue
        method[rows] = METHOD_EXACT
    permuted = usable & ~big & has_ties
    if permuted.any():
        pvalue[permuted] = _permutation(x[permuted], y, n_perm, seed)
        method[permuted] = _permutation_label(n_perm)
    return pvalue, method


def _u_statistics(ranks: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.nansum(np.where(y, ranks, 0.0), axis=1) - m * (m + 1) / 2.0


def _asymptotic(ranks: np.ndarray, y: np.ndarray, m: np.ndarray, n: np.ndarray) -> np.ndarray:
    u = _u_statistics(ranks, y, m)
    total = m + n
    ties = np.array([_tie_term(r[~np.isnan(r)]) for r in ranks])
    var = m * n / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)))
    deviation = np.maximum(np.abs(u - m * n / 2.0) - 0.5, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = deviation / np.sqrt(var)
    return np.where(var > 0, np.minimum(2.0 * stats.norm.sf(z), 1.0), 1.0)


def _tie_term(ranks: np.ndarray) -> float:
    _, counts = np.unique(ranks, return_counts=True)
    return float(np.sum(counts.astype(np.float64) ** 3 - counts))


def _permutation(x: np.ndarray, y: np.ndarray, n_perm: int, seed: int) -> np.ndarray:
    """Rank-sum permutation p per row; rows with missing values permute their observed samples."""
    rng = np.random.default_rng(seed)
    out = np.empty(x.shape[0])
    labels = np.stack([rng.permutation(y) for _ in range(n_perm)])  # shared by every complete row
    for i, row in enumerate(x):
        keep = ~np.isnan(row)
        yy = y[keep]
        ranks = midranks(row[keep])
        m, n = yy.sum(), (~yy).sum()
        centre = m * n / 2.0
        u = ranks[yy].sum() - m * (m + 1) / 2.0
        perms = labels if keep.all() else np.stack([rng.permutation(yy) for _ in range(n_perm)])
        u_perm = perms.astype(np.float64) @ ranks - m * (m + 1) / 2.0
        extreme = np.abs(u_perm - centre) >= abs(u - centre) - 1e-9
        out[i] = (1.0 + extreme.sum()) / (1.0 + n_perm)
    return out
