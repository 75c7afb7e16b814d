"""Result tables as CSV text with fixed formatting, so the same results give the same bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.6g"

def stable_sort(frame: pd.DataFrame, keys: list[str], *, first: list[str] | None = None) -> pd.DataFrame:
    """Sort by ``keys`` (missing values last) with a stable algorithm; ``first`` fixes the order of
    the leading categorical key (e.g. the comparisons in the order they were asked for)."""
    keys = [k for k in keys if k in frame.columns]
    if frame.empty or not keys:
        return frame.reset_index(drop=True)
    work = frame.copy()
    sort_cols = []
    for key in keys:
        col = f"__{key}"
        if first is not None and key == keys[0] and key in ("comparison", "endpoint"):
            order = {name: i for i, name in enumerate(first)}
            work[col] = work[key].map(lambda v: order.get(v, len(order)))
        else:
            work[col] = work[key]
        sort_cols.append(col)
    work = work.sort_values(sort_cols, kind="mergesort", na_position="last")
    return work.drop(columns=sort_cols).reset_index(drop=True)


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text: floats with 6 significant digits, lists joined by ``;``, ``\\n`` line ends."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_cell)
    return out.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def _cell(value):
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return ";".join(str(v) for v in items)
    if isinstance(value, (float, np.floating)):
        return FLOAT_FORMAT % value if np.isfinite(value) else ""
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in sorted(value.items()))
    return value
