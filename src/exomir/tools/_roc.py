"""The ROC screen of a Cohort: every miRNA (and AFP) of ``case`` against each control group,
with the arrays' numerics of :mod:`exomir.stats.roc` (conventions stated there)."""

from __future__ import annotations

from collections.abc import Sequence
import logging

import numpy as np
import pandas as pd

from exomir.cohort import control_list, expression_sign, matrix_of, record_exclusion, record_step, select_groups
from exomir.errors import InputError
from exomir.preprocess.qc import drop_controls
from exomir.stats.common import bh_adjust
from exomir.stats.roc import DIRECTIONS, HIGHER, auc_table, bootstrap_ci

log = logging.getLogger(__name__)

__all__ = ["ROC_COLUMNS", "direction_prior", "expression_sign", "roc_screen"]


ROC_COLUMNS = [
    "mirna", "comparison", "n_case", "n_control", "auc", "auc_ci_low", "auc_ci_high",
    "ci_method", "direction", "threshold", "sensitivity", "specificity",
]  # fmt: skip


def roc_screen(
    adata,
    group: str,
    case: str,
    control: str | Sequence[str],
    *,
    afp: str | None = None,
    layer: str | None = None,
    direction="auto",
    afp_direction: str = HIGHER,
    conf_level: float = 0.95,
    ci_method: str = "auto",
    n_boot: int = 2000,
    seed: int = 0,
    sensitivity: float = 0.90,
    specificity: float = 0.90,
) -> pd.DataFrame:
    """ROC of every miRNA of a Cohort (and AFP) for ``case`` against each ``control`` group.

    Returns the GUIDE ``roc.csv`` columns first (``mirna, comparison, n_case, n_control, auc,
    auc_ci_low, auc_ci_high, ci_method, direction, threshold, sensitivity, specificity``) and
    extras: ``mimat``, ``n_missing``, ``auc_se``, ``pvalue`` (AUC = 0.5), ``padj`` (BH over
    the miRNAs of a comparison), ``direction_source``, ``threshold_rule``, ``threshold_criterion``
    (Youden), Wilson intervals of sensitivity and specificity, and the cut-offs at the fixed
    sensitivity and specificity. ``afp`` names an ``obs`` column: an ``AFP`` row is added per
    comparison, in ``afp_direction`` (higher in HCC unless told otherwise).

    ``direction``: ``"auto"`` (chosen per miRNA from the data; the p-value is two-sided and so
    unaffected), one direction for all, or a mapping miRNA → direction given in advance (from the
    knowledge base, a discovery cohort or the user). Directions are in expression terms: on raw Cq
    (which falls as the miRNA rises) ``higher_in_case`` still means more miRNA in cases, and the
    cut-off is given in Cq with its rule (``threshold_scale``), as the differential table does.
    ``ci_method``: ``"auto"`` (DeLong, or Newcombe's score interval for a group under 20 or an
    AUC of 0 or 1), ``"delong"`` (pROC's, everywhere) or ``"bootstrap"``.
    """
    selections = [select_groups(adata, group, case, arm) for arm in control_list(control)]
    if afp is not None and afp not in adata.obs.columns:
        raise InputError(f"no AFP column {afp!r} in the clinical table", column=afp)
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls are never ranked
    if ci_method not in ("auto", "delong", "bootstrap"):
        raise InputError(f"unknown ci_method {ci_method!r}", expected="'auto', 'delong' or 'bootstrap'")
    sign = expression_sign(adata) if layer is None else 1.0
    matrix = sign * matrix_of(adata, layer)
    names = [str(v) for v in adata.var_names]
    mimat = adata.var["mimat"].astype(str).to_numpy() if "mimat" in adata.var else np.full(len(names), "")

    frames = []
    for selection in selections:
        comparison, rows, y = selection.name, selection.rows, selection.y
        values = matrix[rows]
        table = auc_table(
            pd.DataFrame(values, columns=names), y, direction, conf_level=conf_level,
            sensitivity=sensitivity, specificity=specificity,
            ci_method="delong" if ci_method == "bootstrap" else ci_method, seed=seed,
        )  # fmt: skip
        table.insert(1, "comparison", comparison)
        table.insert(2, "mimat", mimat)
        if ci_method == "bootstrap":
            _bootstrap_columns(table, values.T, y, n_boot, seed, conf_level)
        _to_measured_scale(table, sign)
        table["padj"] = bh_adjust(table["pvalue"].to_numpy())
        for name, k in zip(table["mirna"], table["n_missing"], strict=True):
            if k:
                record_exclusion(adata, "value", name,
                                 f"{k} samples with a missing value left out of ROC {comparison}")  # fmt: skip
        n_with_missing = int((table["n_missing"] > 0).sum())
        if n_with_missing:
            log.warning(f"ROC {comparison}: {n_with_missing} miRNAs had missing values; those samples "
                        "were left out marker by marker (column n_missing)")  # fmt: skip
        if afp is not None:
            frames.append(table)
            table = _afp_row(adata, afp, rows, y, comparison, afp_direction, conf_level, ci_method,
                             n_boot, seed, sensitivity, specificity, table.columns)  # fmt: skip
        frames.append(table)
    result = pd.concat(frames, ignore_index=True)
    ordered = ROC_COLUMNS + [c for c in result.columns if c not in ROC_COLUMNS]
    record_step(adata, "roc_screen", group=group, case=str(case), control=[s.control for s in selections],
                afp=afp or "", layer=layer or "X", direction=direction, ci_method=ci_method,
                conf_level=conf_level, seed=seed)  # fmt: skip
    return result[ordered]


def _to_measured_scale(table: pd.DataFrame, sign: float) -> None:
    """Cut-offs back on the measured scale (Cq) with their rule; directions stay in expression terms."""
    if sign > 0:
        table["threshold_scale"] = "as measured"
        return
    for column in [c for c in table.columns if c == "threshold" or c.startswith("threshold_at_")]:
        table[column] = -table[column]
    table["threshold_rule"] = table["threshold_rule"].map({">=": "<=", "<=": ">="})
    table["threshold_scale"] = "Cq (lower Cq = more miRNA; direction in expression terms)"


def _bootstrap_columns(table: pd.DataFrame, x: np.ndarray, y: np.ndarray, n_boot, seed, conf_level):
    """Replace the DeLong interval by stratified bootstrap percentiles (same resamples for all)."""
    low, high = bootstrap_ci(x, y, table["direction"].to_numpy(), n_boot=n_boot, seed=seed, conf_level=conf_level)
    table["auc_ci_low"] = low
    table["auc_ci_high"] = high
    table["ci_method"] = f"bootstrap (stratified, {n_boot} resamples, seed {seed})"


def _afp_row(adata, afp, rows, y, comparison, afp_direction, conf_level, ci_method, n_boot, seed,
             sensitivity, specificity, columns) -> pd.DataFrame:  # fmt: skip
    raw = adata.obs[afp][rows]
    values = pd.to_numeric(raw, errors="coerce")
    unreadable = values.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
    if unreadable.any():
        log.warning(f"AFP column {afp!r}: {int(unreadable.sum())} values are not numbers and were left out "
                    f"(e.g. {raw[unreadable].iloc[0]!r})")  # fmt: skip
    table = auc_table(pd.DataFrame({"AFP": values.to_numpy(dtype=np.float64)}), y, afp_direction,
                      conf_level=conf_level, sensitivity=sensitivity, specificity=specificity,
                      ci_method="delong" if ci_method == "bootstrap" else ci_method, seed=seed)  # fmt: skip
    table["threshold_scale"] = "as measured"
    table.insert(1, "comparison", comparison)
    table.insert(2, "mimat", "")
    if ci_method == "bootstrap":
        _bootstrap_columns(table, values.to_numpy(dtype=np.float64)[None, :], y, n_boot, seed, conf_level)
    table["padj"] = np.nan
    k = int(table["n_missing"].iloc[0])
    if k:
        record_exclusion(adata, "value", "AFP", f"{k} samples without AFP left out of ROC {comparison}")
    return table.reindex(columns=columns)


def direction_prior(value: str | None):
    """``--direction``: ``auto``, ``higher_in_case``, ``lower_in_case``, or a CSV file with columns
    ``mirna`` and ``direction`` (e.g. a discovery cohort's roc.csv, or directions from the
    knowledge base) giving the direction of each miRNA before these data are seen.

    Returns the string or a mapping miRNA → direction; a file naming one miRNA with two
    directions, or an unknown direction, is refused with its line.
    """
    from pathlib import Path

    if value is None or value in ("auto", *DIRECTIONS):
        return value or "auto"
    path = Path(value)
    if not path.is_file():
        raise InputError(f"--direction {value!r} is neither a direction nor a file",
                         expected="auto, higher_in_case, lower_in_case or a CSV with columns mirna,direction")
    import csv

    prior: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"mirna", "direction"} <= set(reader.fieldnames or []):
            raise InputError("a direction file needs the columns mirna and direction", path=path, line=1,
                             expected="a header line with mirna,direction")
        for line, row in enumerate(reader, start=2):
            name, given = (row.get("mirna") or "").strip(), (row.get("direction") or "").strip()
            if name == "":
                continue
            if given not in DIRECTIONS:
                raise InputError(f"unknown direction {given!r} for {name}", path=path, line=line, column="direction",
                                 expected="higher_in_case or lower_in_case")
            if prior.setdefault(name, given) != given:
                raise InputError(f"{name} is given both directions", path=path, line=line, column="direction",
                                 expected="one direction per miRNA")
    if not prior:
        raise InputError("the direction file names no miRNA", path=path, expected="rows of mirna,direction")
    return prior
