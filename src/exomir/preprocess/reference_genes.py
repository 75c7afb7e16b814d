"""Choosing reference miRNAs: geNorm M (Vandesompele et al. 2002) and NormFinder (Andersen et al. 2004).

Both work on Cq values (log2 scale at an efficiency of 2); lower values mean more stable.

geNorm
    For candidates j and k, A_jk is the per-sample log2 ratio of their quantities (Cq_k − Cq_j).
    M_j is the mean, over the other candidates, of the standard deviation (n − 1) of A_jk across
    samples. The least stable candidate (largest M) is removed and M recomputed until two remain;
    the pairwise variation V_n/n+1 = SD(log2 NF_n − log2 NF_n+1), with NF_n the geometric mean of the
    n best candidates' quantities, tells how many references are worth using (V < 0.15).

NormFinder
    Model y_igj = α_ig + β_gj + ε_igj (gene i, group g, sample j). Intragroup variances are estimated
    from the residuals of the two-way fit, bias-corrected, and replaced by a quarter of the smallest
    pairwise variance when negative; intergroup differences are shrunk towards zero by the empirical
    Bayes factor γ²/(γ² + σ²/n_g). The stability value is the mean over groups of |shrunk
    difference| + its standard error; without groups it is the intragroup standard deviation.

Only candidates detected in every sample can be compared; pass complete data. Values are in
cycles (log2 units), as the NormFinder R code gives for Cq input (``ctVal = TRUE``). The best
combination of two candidates that NormFinder also reports is not computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from exomir.errors import InputError

GENORM_V_CUTOFF = 0.15


# --- array level ---------------------------------------------------------------------------


def genorm_m(cq: np.ndarray) -> np.ndarray:
    """geNorm M of each column of a samples × candidates Cq matrix (complete, ≥ 2 columns)."""
    cq = np.asarray(cq, dtype=float)
    k = cq.shape[1]
    if k < 2:
        raise ValueError("geNorm needs at least two candidates")
    # pairwise log2 ratios per sample, SD across samples: sd[j, k] = SD(Cq_k − Cq_j)
    diffs = cq[:, :, None] - cq[:, None, :]
    sd = diffs.std(axis=0, ddof=1)
    return sd.sum(axis=1) / (k - 1)


def genorm_steps(cq: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
    """Stepwise exclusion: (order, M of the remaining candidates at each step).

    ``order`` lists column indices from the most stable to the least (the last two candidates
    left cannot be told apart and are listed in column order).
    """
    remaining = list(range(np.asarray(cq).shape[1]))
    removed: list[int] = []
    history: list[np.ndarray] = []
    while len(remaining) > 2:
        m = genorm_m(np.asarray(cq)[:, remaining])
        full = np.full(np.asarray(cq).shape[1], np.nan)
        full[remaining] = m
        history.append(full)
        worst = remaining[int(np.argmax(m))]
        removed.append(worst)
        remaining.remove(worst)
    m = genorm_m(np.asarray(cq)[:, remaining])
    full = np.full(np.asarray(cq).shape[1], np.nan)
    full[remaining] = m
    history.append(full)
    return remaining + removed[::-1], history


def pairwise_variation(cq: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """V_n/n+1 for n = 2 … k−1, given candidates ordered from most to least stable."""
    cq = np.asarray(cq, dtype=float)
    out = []
    for n in range(2, len(order)):
        log_nf_n = -cq[:, list(order[:n])].mean(axis=1)
        log_nf_next = -cq[:, list(order[: n + 1])].mean(axis=1)
        out.append(float(np.std(log_nf_n - log_nf_next, ddof=1)))
    return np.array(out)


def normfinder_stability(cq: np.ndarray, groups: Sequence | None = None) -> dict[str, np.ndarray]:
    """NormFinder on a samples × candidates Cq matrix; returns stability and its parts per candidate.

    Keys: ``stability``, ``intragroup_variance`` (candidates × groups), ``intergroup_difference``
    (candidates × groups, before shrinkage), ``gamma`` (intergroup variance, 0-d array).
    """
    y = np.asarray(cq, dtype=float).T  # candidates × samples, as in the model
    k, n = y.shape
    if k < 3:
        raise ValueError("NormFinder needs at least three candidates")
    labels = np.zeros(n, dtype=int) if groups is None else pd.factorize(np.asarray(groups), sort=True)[0]
    group_ids = np.unique(labels)
    sizes = np.array([(labels == g).sum() for g in group_ids])
    if (sizes < 2).any():
        raise ValueError("NormFinder needs at least two samples in every group")
    sample_mean = y.mean(axis=0)
    gene_group = np.column_stack([y[:, labels == g].mean(axis=1) for g in group_ids])
    group_mean = np.array([y[:, labels == g].mean() for g in group_ids])
    variance = np.zeros((k, len(group_ids)))
    for col, g in enumerate(group_ids):
        in_g = labels == g
        resid = y[:, in_g] - gene_group[:, [col]] - sample_mean[in_g][None, :] + group_mean[col]
        s2 = (resid**2).sum(axis=1) / (sizes[col] - 1)
        variance[:, col] = (s2 - s2.sum() / (k * (k - 1))) / (1.0 - 2.0 / k)
        # a negative estimate is replaced by a quarter of the gene's smallest pairwise variance
        z = y[:, in_g]
        pair_var = np.var(z[:, None, :] - z[None, :, :], axis=2, ddof=1)
        np.fill_diagonal(pair_var, np.inf)
        floor = pair_var.min(axis=1) / 4.0
        variance[:, col] = np.where(variance[:, col] < 0, floor, variance[:, col])
    if len(group_ids) == 1:
        return {
            "stability": np.sqrt(variance[:, 0]),
            "intragroup_variance": variance,
            "intergroup_difference": np.zeros((k, 1)),
            "gamma": np.array(0.0),
        }
    diff = gene_group - gene_group.mean(axis=1, keepdims=True) - gene_group.mean(axis=0, keepdims=True) + gene_group.mean()
    var_diff = variance / sizes[None, :]
    n_groups = len(group_ids)
    gamma = (diff**2).sum() / ((n_groups - 1) * (k - 1)) - var_diff.sum() / (k * n_groups)
    gamma = max(gamma, 0.0)
    shrunk = diff * gamma / (gamma + var_diff)
    shrunk_var = var_diff + gamma * var_diff / (gamma + var_diff)
    stability = (np.abs(shrunk) + np.sqrt(shrunk_var)).mean(axis=1)
    return {
        "stability": stability,
        "intragroup_variance": variance,
        "intergroup_difference": diff,
        "gamma": np.array(gamma),
    }


# --- table / Cohort level ------------------------------------------------------------------


@dataclass
class GenormResult:
    """geNorm on a set of candidates.

    ``m``: M of every candidate on the full set. ``ranking``: candidates from most to least stable
    with the M they had when removed (``m_at_removal``). ``steps``: M of the remaining
    candidates at each elimination step (columns = candidates). ``pairwise_variation``:
    V_n/n+1 indexed ``"V2/3"`` … . ``optimal_number``: the smallest n with V_n/n+1 < 0.15
    (else all candidates).
    """

    m: pd.Series
    ranking: pd.DataFrame
    steps: pd.DataFrame
    pairwise_variation: pd.Series
    optimal_number: int

    @property
    def best(self) -> list[str]:
        return list(self.ranking["mirna"].iloc[: self.optimal_number])


def _candidate_table(values: pd.DataFrame | ad.AnnData, candidates: Sequence[str] | None, lod: float) -> pd.DataFrame:
    if isinstance(values, ad.AnnData):
        raw = values.layers["cq"] if "cq" in values.layers else values.X
        frame = pd.DataFrame(np.asarray(raw, dtype=float), index=values.obs_names, columns=values.var_names)
    else:
        frame = values.astype(float)
    if candidates is not None:
        missing = [c for c in candidates if c not in frame.columns]
        if missing:
            raise InputError(f"candidate(s) not in the data: {', '.join(missing)}")
        frame = frame[list(candidates)]
    complete = frame.columns[(frame.notna() & (frame <= lod)).all(axis=0)]
    if len(complete) < len(frame.columns):
        dropped = [c for c in frame.columns if c not in set(complete)]
        if candidates is not None:
            raise InputError(
                "reference candidates must be detected in every sample; not detected everywhere: " + ", ".join(dropped)
            )
        frame = frame[list(complete)]
    return frame


def genorm(
    values: pd.DataFrame | ad.AnnData,
    candidates: Sequence[str] | None = None,
    *,
    lod: float = 35.0,
) -> GenormResult:
    """geNorm on Cq values (samples × candidates table, or a Cohort's raw Cq).

    Without ``candidates``, every miRNA detected (Cq ≤ ``lod``) in all samples is a candidate.
    """
    frame = _candidate_table(values, candidates, lod)
    names = list(frame.columns)
    if len(names) < 2:
        raise InputError("geNorm needs at least two candidate miRNAs detected in every sample")
    cq = frame.to_numpy()
    order, history = genorm_steps(cq)
    steps = pd.DataFrame(history, columns=names)
    steps.index = [f"{int(np.isfinite(h).sum())} candidates" for h in history]
    removal_m = {}
    for h in history:
        finite = np.where(np.isfinite(h))[0]
        if len(finite) > 2:
            worst = finite[int(np.argmax(h[finite]))]
            removal_m[worst] = h[worst]
        else:
            for j in finite:
                removal_m[j] = h[j]
    ranking = pd.DataFrame(
        {
            "mirna": [names[j] for j in order],
            "rank": np.arange(1, len(order) + 1),
            "m_at_removal": [removal_m[j] for j in order],
        }
    )
    v = pairwise_variation(cq, order)
    v_series = pd.Series(v, index=[f"V{n}/{n + 1}" for n in range(2, len(order))], dtype=float)
    below = [n for n, value in zip(range(2, len(order)), v) if value < GENORM_V_CUTOFF]
    optimal = below[0] if below else len(order)
    return GenormResult(
        m=pd.Series(genorm_m(cq), index=names, name="M"),
        ranking=ranking,
        steps=steps,
        pairwise_variation=v_series,
        optimal_number=optimal,
    )


def normfinder(
    values: pd.DataFrame | ad.AnnData,
    groups: Sequence | str | None = None,
    candidates: Sequence[str] | None = None,
    *,
    lod: float = 35.0,
) -> pd.DataFrame:
    """NormFinder stability of each candidate; ``groups`` are labels per sample or an ``obs`` column.

    Returns ``mirna, stability, rank, intragroup_sd`` (mean over groups of the intragroup SD) and,
    with groups, ``intergroup_difference_max`` (largest |difference| before shrinkage).
    """
    if isinstance(groups, str):
        if not isinstance(values, ad.AnnData) or groups not in values.obs:
            raise InputError(f"no column {groups!r} in the clinical data", expected="a group column")
        groups = values.obs[groups].astype(str).to_numpy()
    frame = _candidate_table(values, candidates, lod)
    if frame.shape[1] < 3:
        raise InputError("NormFinder needs at least three candidate miRNAs detected in every sample")
    result = normfinder_stability(frame.to_numpy(), groups)
    table = pd.DataFrame(
        {
            "mirna": list(frame.columns),
            "stability": result["stability"],
            "intragroup_sd": np.sqrt(result["intragroup_variance"]).mean(axis=1),
        }
    )
    if groups is not None:
        table["intergroup_difference_max"] = np.abs(result["intergroup_difference"]).max(axis=1)
    table["rank"] = table["stability"].rank(method="first").astype(int)
    return table.sort_values("rank", kind="stable").reset_index(drop=True)
