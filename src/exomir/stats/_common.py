"""Small helpers shared by the statistics modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests


def bh_adjust(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (statsmodels ``multipletests``, ``fdr_bh``); NaN stays
    NaN and is not counted (R ``p.adjust``)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out


def matrix_of(adata, layer: str | None) -> np.ndarray:
    """The working matrix ``X`` (or a named layer) as a dense float array."""
    if layer is not None and layer not in adata.layers:
        from exomir.errors import InputError

        raise InputError(f"no layer {layer!r} in the cohort", expected=f"one of {list(adata.layers)}")
    values = adata.X if layer is None else adata.layers[layer]
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values, dtype=float)


def mimat_of(adata) -> np.ndarray:
    """MIMAT accessions per miRNA column ('' when unknown)."""
    if "mimat" in adata.var:
        return adata.var["mimat"].fillna("").astype(str).to_numpy()
    return np.full(adata.n_vars, "", dtype=object)


def design_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns: numbers as they are, other columns as 0/1 indicators of every
    level but the first (levels in sorted order); missing values stay missing. Identifier columns
    (patient, subject, pair ...: :func:`exomir.cohort.is_id_column`) and categorical columns are
    factors whatever their values look like, so ``--covariate patient`` pairs samples."""
    from exomir.cohort import is_id_column

    parts = []
    for name in columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            parts.append(col.astype(float).rename(name))
            continue
        numeric = pd.to_numeric(col, errors="coerce")
        label = is_id_column(name) or isinstance(col.dtype, pd.CategoricalDtype)  # a patient ID 17 is a key
        if not label and (pd.api.types.is_numeric_dtype(col) or (numeric.notna() == col.notna()).all()):
            parts.append(numeric.astype(float).rename(name))
            continue
        text = col.astype("string")
        levels = sorted(text.dropna().unique())
        for level in levels[1:]:
            indicator = (text == level).astype(float)
            indicator[text.isna()] = np.nan
            parts.append(indicator.rename(f"{name}[{level}]"))
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)
