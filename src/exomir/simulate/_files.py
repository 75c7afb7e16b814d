"""Write a simulated Cohort as the files ``exomir analyze`` reads (same bytes for the same cohort)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from exomir.atomic import atomic_open
from exomir.cohort import measure_of, meta
from exomir.io.h5ad import write_h5ad

CLINICAL_FORMATS = {"age": "{:.0f}", "afp_ng_ml": "{:.2f}", "dfs_months": "{:.2f}", "dfs_event": "{:.0f}"}


def output_paths(out: str | Path) -> dict[str, Path]:
    """Where the files go: into ``out`` when it is a folder (existing, or written with a trailing
    slash), else next to the prefix ``out`` (``PREFIX_expression.csv`` ...)."""
    text = str(out)
    path = Path(out)
    if path.is_dir() or text.endswith(("/", os.sep)):
        return {
            "expression": path / "expression.csv",
            "clinical": path / "clinical.csv",
            "planted": path / "planted.json",
            "h5ad": path / "cohort.h5ad",
        }
    return {
        "expression": path.with_name(path.name + "_expression.csv"),
        "clinical": path.with_name(path.name + "_clinical.csv"),
        "planted": path.with_name(path.name + "_planted.json"),
        "h5ad": path.with_name(path.name + ".h5ad"),
    }


def write_cohort(adata: ad.AnnData, out: str | Path, *, h5ad: bool = False) -> dict[str, Path]:
    """Write the expression CSV (miRNAs as rows, samples as columns), the clinical CSV (first
    column ``sample_id``) and the planted truth (JSON); with ``h5ad`` also the Cohort itself."""
    paths = output_paths(out)
    if not h5ad:
        paths.pop("h5ad")
    measure = measure_of(adata)
    values = pd.DataFrame(adata.layers[measure], index=adata.obs_names, columns=adata.var_names)
    with atomic_open(paths["expression"]) as handle:
        handle.write(_expression_csv(values, measure))
    with atomic_open(paths["clinical"]) as handle:
        handle.write(_clinical_csv(adata.obs))
    with atomic_open(paths["planted"]) as handle:
        json.dump(meta(adata).get("planted", {}), handle, indent=2, sort_keys=True)
        handle.write("\n")
    if h5ad:
        write_h5ad(adata, paths["h5ad"])
    return paths


def _expression_csv(values: pd.DataFrame, measure: str) -> str:
    lines = [",".join(["mirna", *values.index])]
    matrix = values.to_numpy()
    for j, name in enumerate(values.columns):
        column = matrix[:, j]
        if measure == "counts":
            cells = [str(int(v)) for v in column]
        else:
            cells = ["Undetermined" if np.isnan(v) else f"{v:.3f}" for v in column]
        lines.append(",".join([name, *cells]))
    return "\n".join(lines) + "\n"


def _clinical_csv(obs: pd.DataFrame) -> str:
    lines = [",".join(["sample_id", *obs.columns])]
    for sample, row in obs.iterrows():
        cells = [str(sample)]
        for column in obs.columns:
            value = row[column]
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                cells.append("")
            elif column in CLINICAL_FORMATS:
                cells.append(CLINICAL_FORMATS[column].format(float(value)))
            else:
                cells.append(str(value))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"
