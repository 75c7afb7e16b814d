"""Does a miRNA rise (or fall) with tumour stage? A per-miRNA trend test across ordered stages.

Spearman's rank correlation between the stage (ordered) and the miRNA's level, with the
asymptotic t-approximation p-value of R ``cor.test(method = "spearman", exact = FALSE)``,
BH-adjusted across miRNAs. Stages are ordered by their categorical order when the column is
ordered, as numbers when numeric, else by reading them: Roman or Arabic stages (I–IV, with
sub-stages such as IIIA counted as III) or BCLC letters (0, A–D).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from exomir.cohort import matrix_of, mimat_of
from exomir.errors import InputError
from exomir.preprocess.qc import drop_controls
from exomir.stats.common import bh_adjust
from exomir.tools._survival import detected_fraction

TREND_COLUMNS = ["mirna", "mimat", "stage_column", "n", "n_stages", "spearman_rho", "pvalue", "padj",
                 "direction", "medians", "method"]
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_BCLC = {"0": 0, "a": 1, "b": 2, "c": 3, "d": 4}
_STAGE_TEXT = re.compile(r"^(?:stage\s*)?(iv|iii|ii|i|[1-4])[abc]?\d?$", re.IGNORECASE)


def stage_order(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(rank of each sample's stage, NaN when missing; stage labels in order)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        return codes, [str(c) for c in values.cat.categories]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum():
        levels = sorted(numeric.dropna().unique())
        return numeric.to_numpy(float), [f"{v:g}" for v in levels]
    ranks = np.full(len(values), np.nan)
    labels: dict[float, str] = {}
    for i, text in enumerate(values.astype("string")):
        if pd.isna(text) or not str(text).strip():
            continue
        key = str(text).strip().lower()
        match = _STAGE_TEXT.match(key)
        if match:
            roman = match.group(1).lower()
            rank = float(_ROMAN.get(roman, roman if roman.isdigit() else np.nan))
        elif key.removeprefix("bclc").strip() in _BCLC:
            rank = float(_BCLC[key.removeprefix("bclc").strip()])
        else:
            raise InputError(f"stage {text!r} cannot be ordered", column=values.name,
                             expected="stages I-IV (sub-stages allowed), 1-4, BCLC 0/A-D, or an ordered categorical column")
        ranks[i] = float(rank)
        labels.setdefault(float(rank), str(text).strip().upper() if match is None else f"stage {int(rank)}")
    return ranks, [labels[k] for k in sorted(labels)]


def stage_trend(adata, stage: str, *, layer: str | None = None, min_detected: float = 0.5) -> pd.DataFrame | None:
    """One row per miRNA (detected in at least ``min_detected`` of the staged samples): Spearman's
    rho with stage, its p-value and BH ``padj``; ``medians`` lists the median level per stage."""
    if stage not in adata.obs:
        raise InputError(f"no stage column {stage!r} in the clinical table", column=stage)
    ranks, labels = stage_order(adata.obs[stage])
    staged = np.isfinite(ranks)
    if len(np.unique(ranks[staged])) < 2:
        return None
    sub = drop_controls(adata)[staged]  # spike-ins and U6/RNU/SNORD controls are never tested
    ranks = ranks[staged]
    detected = detected_fraction(sub) >= min_detected
    mat = matrix_of(sub, layer)
    mimat = mimat_of(sub)
    levels = np.unique(ranks)
    rows = []
    for j in np.flatnonzero(detected):
        x = mat[:, j]
        ok = np.isfinite(x)
        if np.ptp(x[ok]) == 0:
            continue
        rho, p = stats.spearmanr(ranks[ok], x[ok])
        medians = "; ".join(f"{label}: {np.median(x[ok & (ranks == lv)]):.3g}"
                            for lv, label in zip(levels, labels) if (ok & (ranks == lv)).any())
        rows.append({"mirna": str(sub.var_names[j]), "mimat": mimat[j], "stage_column": stage, "n": int(ok.sum()),
                     "n_stages": int(len(np.unique(ranks[ok]))), "spearman_rho": float(rho), "pvalue": float(p),
                     "direction": "rises with stage" if rho > 0 else "falls with stage",
                     "medians": medians, "method": "Spearman (asymptotic t), BH"})
    if not rows:
        return None
    table = pd.DataFrame(rows)
    table["padj"] = bh_adjust(table["pvalue"].to_numpy(float))
    return table.reindex(columns=TREND_COLUMNS).sort_values(["pvalue", "mirna"], kind="mergesort").reset_index(drop=True)
