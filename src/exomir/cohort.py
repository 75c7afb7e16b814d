"""The Cohort: one ``anndata.AnnData`` holding a study, samples as rows and miRNAs as columns.

* ``obs``: one row per sample; clinical columns (group, AFP, stage, times and events) and QC flags.
* ``var``: one row per miRNA column, indexed by the name as given; ``mimat``, ``name`` (canonical
  miRBase name), ``status`` (identity resolution), ``sequence`` where known.
* ``layers``: the raw values as measured, under the name of their measure (``counts``, ``cq``
  or ``log``). ``X`` is the working matrix (normalized values once preprocessing has run).
* ``uns["exomir"]``: provenance: the measure, the source files, the exclusions and every step
  applied, with its parameters, in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from exomir._version import __version__

MEASURES = ("counts", "cq", "log")


def build_cohort(
    values: pd.DataFrame,
    measure: str,
    *,
    obs: pd.DataFrame | None = None,
    var: pd.DataFrame | None = None,
    source: Mapping[str, Any] | None = None,
    annotate: bool = True,
    level: str = "auto",
) -> ad.AnnData:
    """Make a Cohort from a samples × miRNAs table of raw values.

    ``values`` has sample IDs as index and miRNA names as columns. Non-detects are ``NaN``.
    With ``annotate`` the miRNA names are resolved to miRBase (``var``: mimat, name, status...);
    ``level`` (``auto``, ``mature``, ``precursor``) says how to read the names, as in
    :func:`exomir.identity.resolve` (TCGA's ``hsa-let-7b`` is a hairpin, not the mature let-7b-5p).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    values = values.copy()
    values.index = values.index.astype(str)
    values.columns = values.columns.astype(str)
    matrix = values.to_numpy(dtype=np.float64)
    obs_frame = pd.DataFrame(index=values.index.copy())
    if obs is not None:
        obs_frame = obs.reindex(values.index).copy()
    obs_frame.index.name = None
    var_frame = pd.DataFrame(index=values.columns.copy())
    if var is not None:
        var_frame = var.reindex(values.columns).copy()
    var_frame.index.name = None
    adata = ad.AnnData(X=matrix.copy(), obs=obs_frame, var=var_frame)
    adata.layers[measure] = matrix
    adata.uns["exomir"] = {
        "version": __version__,
        "measure": measure,
        "source": dict(source or {}),
        "excluded": [],
        "steps": [],
    }
    if annotate:
        annotate_mirnas(adata, level=level)
    return adata


_VAR_COLUMNS = ("mimat", "name", "status", "candidates", "note", "kind", "precursor", "sequence")


def annotate_mirnas(adata: ad.AnnData, *, level: str = "auto") -> pd.DataFrame:
    """Resolve ``var_names`` to miRBase and fill ``var`` (mimat, name, status, candidates, note,
    kind, precursor, sequence).

    Returns the resolution table; names that do not resolve are kept (never dropped) and listed
    in ``uns["exomir"]["unresolved"]``.
    """
    from exomir.identity import resolve

    table = resolve(list(adata.var_names), level=level)
    table.index = adata.var_names
    for column in _VAR_COLUMNS:
        if column in table:
            adata.var[column] = table[column].fillna("").astype(str).to_numpy()
    _refuse_double_names(table, meta(adata).get("source", {}))
    unresolved = table.loc[table["status"] == "unknown", "input"].tolist()
    meta(adata)["unresolved"] = unresolved
    record_step(adata, "resolve_names", level=level)
    return table


def _refuse_double_names(table: pd.DataFrame, source: Mapping[str, Any]) -> None:
    """The same mature miRNA under two names (``hsa-let-7a-5p`` and ``MIMAT0000062``) would be
    tested twice and counted twice in the multiple-testing correction: an error naming both."""
    from exomir.errors import InputError

    mature = table[table["status"].isin(["exact", "alias"]) & (table["mimat"].fillna("").astype(str) != "")]
    if "kind" in mature:
        mature = mature[mature["kind"].fillna("mature").astype(str).isin(["mature", ""])]
    twice = mature[mature.duplicated("mimat", keep=False)]
    if twice.empty:
        return
    first = twice[twice["mimat"] == twice["mimat"].iloc[0]]
    names = ", ".join(repr(str(n)) for n in first["input"])
    raise InputError(f"{names} are the same miRNA ({first['name'].iloc[0]}, {first['mimat'].iloc[0]}): it would be "
                     f"tested and counted twice ({twice['mimat'].nunique()} miRNA(s) appear under two names)",
                     path=source.get("expression") or None,
                     expected="one row or column per miRNA: remove or sum the duplicate")


def is_id_column(name: str) -> bool:
    """Whether a clinical column holds identifiers (patient, subject, donor, pair ...): its values
    are labels and pairing keys, never numbers, even when they are written as digits."""
    return bool(_ID_NAME.search(str(name)))


_ID_NAME = re.compile(
    r"(^|[^a-z])(patient|subject|donor|individual|participant|pair|case.?id|mrn|id)(s|_?id|_?no|_?number)?"
    r"([^a-z]|$)", re.IGNORECASE)


def sample_groups(adata: ad.AnnData, column: str | None = None) -> np.ndarray | None:
    """The patient (or other grouping) label of every sample, for resampling that must keep one
    patient's samples together (grouped CV folds). ``column`` defaults to
    ``uns["exomir"]["groups_column"]``; ``None`` when there is none. Labels are strings (a numeric
    patient ID is a key, not a number); a sample without a label forms its own group."""
    column = column or meta(adata).get("groups_column") or None
    if column is None:
        return None
    if column not in adata.obs:
        from exomir.errors import InputError

        raise InputError(f"no column {column!r} with the patient of each sample", column=column,
                         expected="one of " + ", ".join(repr(c) for c in adata.obs.columns[:20]))
    labels = adata.obs[column].astype("string")
    own = pd.Series([f"\x00sample:{s}" for s in adata.obs_names], index=labels.index, dtype="string")
    return labels.fillna(own).to_numpy(dtype=object)


def meta(adata: ad.AnnData) -> dict:
    """The exomir provenance dictionary of a Cohort (created when missing)."""
    return adata.uns.setdefault(
        "exomir", {"version": __version__, "measure": None, "source": {}, "excluded": [], "steps": []}
    )


def measure_of(adata: ad.AnnData) -> str:
    measure = meta(adata).get("measure")
    if measure not in MEASURES:
        raise ValueError("the Cohort does not say what its values are (uns['exomir']['measure'])")
    return measure


def record_step(adata: ad.AnnData, step: str, **params: Any) -> None:
    """Append a processing step and its parameters to the Cohort's provenance."""
    clean = {key: _plain(value) for key, value in params.items()}
    steps = list(meta(adata).get("steps", []))
    steps.append({"step": step, **clean})
    meta(adata)["steps"] = steps


def record_exclusion(adata: ad.AnnData, what: str, item: str, reason: str, *, role: str = "") -> None:
    """Note that a sample or miRNA was left out of an analysis, and why (reported, never silent).

    ``role`` says what an excluded column is for when it is not a candidate biomarker at all
    (a spike-in or small-RNA control used for normalization and QC)."""
    excluded = list(meta(adata).get("excluded", []))
    entry = {"what": what, "item": str(item), "reason": reason}
    if role:
        entry["role"] = role
    excluded.append(entry)
    meta(adata)["excluded"] = excluded


EXCLUSION_COLUMNS = ["what", "item", "reason", "role"]


def exclusions(adata: ad.AnnData) -> pd.DataFrame:
    rows = [dict(row) for row in meta(adata).get("excluded", [])]
    frame = pd.DataFrame(rows, columns=EXCLUSION_COLUMNS)
    frame["role"] = frame["role"].fillna("").astype(str)
    return frame


def _plain(value: Any) -> Any:
    """Make a parameter storable in ``uns`` (h5ad keeps strings, numbers and lists of them)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return "" if value is None else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)
