"""Cohorts on disk as ``.h5ad`` (the AnnData file format), written atomically.

``uns["exomir"]`` (provenance: lists of exclusions and steps, nested records) is stored as
one JSON string so that it comes back exactly as it was written; h5ad would otherwise turn
lists into arrays and refuse lists of records. Text columns of ``obs``/``var`` that mix
strings with numbers or ``None`` are written as strings (missing values stay missing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from exomir.atomic import atomic_path
from exomir.errors import InputError

_JSON_KEY = "exomir_json"


def write_h5ad(adata: ad.AnnData, path: str | Path) -> Path:
    """Write a Cohort to ``path`` (temporary file renamed on success); returns the path."""
    path = Path(path)
    out = adata.copy()
    out.obs = _storable_frame(out.obs)
    out.var = _storable_frame(out.var)
    if "exomir" in out.uns:
        out.uns[_JSON_KEY] = json.dumps(_jsonable(out.uns["exomir"]), sort_keys=True, ensure_ascii=False)
        del out.uns["exomir"]
    with atomic_path(path) as tmp:
        out.write_h5ad(tmp)
    return path


def read_h5ad(path: str | Path) -> ad.AnnData:
    """Read a Cohort written by :func:`write_h5ad` (or any AnnData file)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    try:
        adata = ad.read_h5ad(path)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"not a readable .h5ad file ({exc})", path=path, expected="an AnnData .h5ad file") from exc
    if _JSON_KEY in adata.uns:
        raw = adata.uns.pop(_JSON_KEY)
        try:
            adata.uns["exomir"] = json.loads(str(raw))
        except json.JSONDecodeError as exc:
            raise InputError(f"uns['{_JSON_KEY}'] is not valid JSON ({exc})", path=path) from exc
    return adata


def _storable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        values = column.to_numpy()
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)
        if missing.all():
            frame[name] = np.full(len(values), np.nan)
            continue
        if all(isinstance(v, str) for v, m in zip(values, missing) if not m) and not missing.any():
            continue
        frame[name] = pd.Series(
            [np.nan if m else (v if isinstance(v, str) else str(v)) for v, m in zip(values, missing)],
            index=frame.index,
            dtype=object,
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="list")
    return str(value)
