"""The locked preprocessing of a model: how raw values become the numbers the panel reads.

Training fixes the normalization references so that a new sample is normalized alone,
exactly as the training samples were:

* counts: DESeq2 median-of-ratios size factors against the training cohort's per-miRNA
  geometric means (``exomir.preprocess.normalize.median_of_ratios`` on the training data; the
  stored geometric means reproduce its factors), then log2(count / size factor + 1);
* Cq: ΔCq against the mean Cq of the miRNAs used for the training global mean
  (``global_mean_dcq``), read as log2 abundance −ΔCq; non-detects (Cq missing or above the limit
  of detection) tied at ``nondetect_floor``, the least abundance any training sample could report
  at the LOD, as ``exomir analyze`` does (``place_nondetects_below``), so a non-detect never ranks
  above a measured value; a new sample's measured value below that floor (its global mean lower
  than any training sample's) is raised to it and noted. Model files written before the floor
  existed (no ``nondetect_floor``) set non-detects to the LOD before ΔCq, as they were trained;
* log: the values as given.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from exomir.cohort import matrix_of, measure_of
from exomir.errors import InputError
from exomir.preprocess.normalize import median_of_ratios
from exomir.preprocess.qpcr import censor_nondetects, delta_cq, global_mean_dcq, nondetect_floor, place_nondetects_below, tie_nondetects_below

MIN_REFERENCE_FRACTION = 0.5  # a new sample needs at least half the normalization references
DEFAULT_LOD = 35.0
NONDETECT_MAX_FRACTION = 0.5


def feature_key(adata: ad.AnnData) -> pd.DataFrame:
    """var_name, MIMAT accession and canonical name of every column of a Cohort."""
    var = adata.var
    mimat = var["mimat"].astype(str).to_numpy() if "mimat" in var else np.full(adata.n_vars, "")
    name = var["name"].astype(str).to_numpy() if "name" in var else np.full(adata.n_vars, "")
    return pd.DataFrame({"column": [str(v) for v in adata.var_names], "mimat": mimat, "name": name})


def match_columns(adata: ad.AnnData, features: list[dict]) -> tuple[dict[str, str], list[dict]]:
    """Column of ``adata`` for each feature (by MIMAT accession, else by name); and the missing ones."""
    key = feature_key(adata)
    by_mimat: dict[str, str] = {}
    for m, c in zip(key["mimat"], key["column"]):
        if m and m.startswith("MIMAT"):
            if m in by_mimat and any(f.get("mimat") == m for f in features):
                raise InputError(f"columns {by_mimat[m]!r} and {c!r} both measure {m}; the model will not choose one",
                                 expected="one column per miRNA")  # fmt: skip
            by_mimat[m] = c
    by_name = {c.lower(): c for c in key["column"]}
    by_name.update({n.lower(): c for n, c in zip(key["name"], key["column"]) if n})
    found, missing = {}, []
    for feature in features:
        column = by_mimat.get(feature.get("mimat") or "") or by_name.get(feature["name"].lower())
        if column is None and feature.get("column"):
            column = by_name.get(str(feature["column"]).lower())
        if column is None:
            missing.append(feature)
        else:
            found[feature["name"]] = column
    return found, missing


def _raw(adata: ad.AnnData, measure: str) -> np.ndarray:
    """The raw values of ``measure`` (X when the Cohort has no such layer), as a fresh array."""
    return matrix_of(adata, measure if measure in adata.layers else None).copy()


def _describe(column: str, key: pd.DataFrame) -> dict:
    row = key.set_index("column").loc[column]
    return {"name": column, "mimat": row["mimat"] if str(row["mimat"]).startswith("MIMAT") else "",
            "canonical_name": row["name"]}  # fmt: skip


# ---- fit on the training cohort ---------------------------------------------------------------


def fit_preprocessing(adata: ad.AnnData, *, lod: float = DEFAULT_LOD,
                      groups: pd.Series | np.ndarray | None = None) -> tuple[dict, pd.DataFrame]:
    """Fix the normalization references on the training Cohort.

    ``groups`` (one label per sample) makes the Cq detection filter group-aware, as in
    ``exomir analyze``: a miRNA detected in at least half of the samples of some group stays a
    candidate even when most samples of the other groups miss it.

    Returns the preprocessing record (stored in the model) and the training samples × candidate
    miRNAs table of normalized values the panel is fitted on.
    """
    measure = measure_of(adata)
    key = feature_key(adata)
    if measure == "counts":
        return _fit_counts(adata, key)
    if measure == "cq":
        return _fit_cq(adata, key, lod, groups)
    values = pd.DataFrame(_raw(adata, "log"), index=list(map(str, adata.obs_names)), columns=list(key["column"]))
    return {"measure": "log", "normalization": "none", "scale": "values as given (log scale)"}, values


def _fit_counts(adata: ad.AnnData, key: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    counts = _raw(adata, "counts")
    counts[np.isnan(counts)] = 0.0  # an empty count cell means no reads (as normalize reads it)
    factors, kind = median_of_ratios(counts)
    with np.errstate(divide="ignore"):
        logs = np.log(counts)
    if kind == "ratio":
        log_geomeans = logs.mean(axis=0)
    else:
        log_geomeans = np.where(counts > 0, logs, 0.0).sum(axis=0) / counts.shape[0]
        log_geomeans[~np.any(counts > 0, axis=0)] = -np.inf
    usable = np.isfinite(log_geomeans)
    references = [{**_describe(c, key), "log_geomean": float(g)}
                  for c, g, ok in zip(key["column"], log_geomeans, usable) if ok]  # fmt: skip
    record = {"measure": "counts", "normalization": "median_of_ratios", "size_factor_type": kind,
              "pseudocount": 1.0, "scale": "log2(count / size factor + 1)", "references": references,
              "min_reference_fraction": MIN_REFERENCE_FRACTION, "factor_scale": 1.0}  # fmt: skip
    if kind == "poscounts":  # DESeq2 scales these factors to geometric mean 1 over the training samples
        record["factor_scale"] = float(np.exp(np.mean(np.log(_factors_raw(counts, log_geomeans)))))
    # the stored references must give back the training size factors exactly
    again = _factors_raw(counts, log_geomeans) / record["factor_scale"]
    if not np.allclose(again, factors, rtol=1e-9):
        raise RuntimeError("stored median-of-ratios references do not reproduce the training size factors")
    values = np.log2(counts / factors[:, None] + record["pseudocount"])
    frame = pd.DataFrame(values, index=list(map(str, adata.obs_names)), columns=list(key["column"]))
    return record, frame


def _factors_raw(counts: np.ndarray, log_geomeans: np.ndarray) -> np.ndarray:
    usable = np.isfinite(log_geomeans)
    out = np.full(counts.shape[0], np.nan)
    with np.errstate(divide="ignore"):
        logs = np.log(counts)
    for i in range(counts.shape[0]):
        keep = usable & (counts[i] > 0)
        if keep.any():
            out[i] = np.exp(np.median(logs[i, keep] - log_geomeans[keep]))
    return out


def _fit_cq(adata: ad.AnnData, key: pd.DataFrame, lod: float, groups) -> tuple[dict, pd.DataFrame]:
    kept = censor_nondetects(adata, lod=lod, max_fraction=NONDETECT_MAX_FRACTION, rule="censor", groups=groups)
    global_mean_dcq(kept, lod=lod)
    floor = nondetect_floor(kept.obs["global_mean_cq"].to_numpy(dtype=float), lod)
    place_nondetects_below(kept)  # the rule of exomir analyze: non-detects tie below every measured value
    used = np.asarray(kept.var["in_global_mean"], dtype=bool)
    references = [_describe(str(c), key) for c in kept.var_names[used]]
    record = {"measure": "cq", "normalization": "global_mean_dcq", "lod": float(lod),
              "nondetect_rule": f"Cq missing or above {lod:g} is a non-detect, tied at log2 abundance "
                                f"{floor:.6g} (the least any training sample could report at the LOD), "
                                "below every measured value; a measured value below it is raised to it",
              "nondetect_floor": floor,
              "nondetect_max_fraction": NONDETECT_MAX_FRACTION, "nondetect_filter_by_group": groups is not None,
              "scale": "log2 abundance = -(Cq - global mean Cq of the reference miRNAs)",
              "references": references, "min_reference_fraction": MIN_REFERENCE_FRACTION}  # fmt: skip
    values = -np.asarray(kept.X, dtype=np.float64)
    frame = pd.DataFrame(values, index=list(map(str, kept.obs_names)), columns=[str(c) for c in kept.var_names])
    return record, frame


# ---- apply to new samples -----------------------------------------------------------------


def apply_preprocessing(record: dict, adata: ad.AnnData, columns: dict[str, str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Normalize the model's miRNA features (``columns``: feature → column of ``adata``) of each
    sample alone, with the stored references. Returns the values and per-sample warnings."""
    measure = record["measure"]
    samples = [str(s) for s in adata.obs_names]
    notes: dict[str, list[str]] = {s: [] for s in samples}
    if not columns:
        return pd.DataFrame(index=samples), notes
    raw = _raw(adata, measure)
    position = {str(c): j for j, c in enumerate(adata.var_names)}
    feature_cols = [position[columns[f]] for f in columns]
    if record["normalization"] == "none":
        values = raw[:, feature_cols]
    else:
        ref_found, ref_missing = match_columns(adata, record["references"])
        n_ref = len(record["references"])
        if len(ref_found) < record["min_reference_fraction"] * n_ref:
            shown = ", ".join(r["name"] for r in ref_missing[:10])
            raise InputError(
                f"only {len(ref_found)} of the model's {n_ref} normalization reference miRNAs are in the table "
                f"(missing e.g. {shown})",
                expected=f"at least {record['min_reference_fraction']:.0%} of them, as at training",
            )
        ref_cols = [position[ref_found[r["name"]]] for r in record["references"] if r["name"] in ref_found]
        if record["normalization"] == "median_of_ratios":
            values, reference_notes = _apply_counts(record, raw, ref_cols, feature_cols, ref_found)
        else:
            values, reference_notes = _apply_cq(record, raw, ref_cols, feature_cols)
        for s, note in zip(samples, reference_notes):
            if note:
                notes[s].append(note)
        if ref_missing:
            for s in samples:
                notes[s].append(f"{len(ref_missing)} of {n_ref} normalization reference miRNAs absent from the table")
    frame = pd.DataFrame(values, index=samples, columns=list(columns))
    return frame, notes


def _apply_counts(record, raw, ref_cols, feature_cols, ref_found):
    counts = raw.copy()
    counts[np.isnan(counts)] = 0.0
    if np.any(counts < 0):
        raise InputError("negative read counts cannot be normalized", expected="counts >= 0")
    geo = np.array([r["log_geomean"] for r in record["references"] if r["name"] in ref_found])
    ref = counts[:, ref_cols]
    factors = _factors_raw(ref, geo) / record["factor_scale"]
    notes = []
    for i in range(counts.shape[0]):
        n_pos = int((ref[i] > 0).sum())
        if not np.isfinite(factors[i]) or n_pos < record["min_reference_fraction"] * len(record["references"]):
            raise InputError(
                f"sample {i + 1} has reads for only {n_pos} of the {len(record['references'])} normalization "
                "reference miRNAs; its size factor cannot be set as at training",
                record=i + 1, expected="a library comparable with the training cohort",
            )  # fmt: skip
        notes.append("")
    values = np.log2(counts[:, feature_cols] / factors[:, None] + record["pseudocount"])
    return values, notes


def _apply_cq(record, raw, ref_cols, feature_cols):
    lod = record["lod"]
    detected = np.isfinite(raw) & (raw <= lod)
    censored = np.where(detected, raw, lod)
    ref_detected = detected[:, ref_cols]
    notes = []
    n_ref = len(record["references"])
    for i in range(raw.shape[0]):
        if ref_detected[i].sum() < record["min_reference_fraction"] * n_ref:
            raise InputError(
                f"sample {i + 1} detects only {int(ref_detected[i].sum())} of the {n_ref} global-mean reference "
                f"miRNAs (Cq <= {lod:g}); its ΔCq cannot be formed as at training",
                record=i + 1, expected="a sample with its reference miRNAs detected",
            )  # fmt: skip
        lost = n_ref - int(ref_detected[i].sum())
        notes.append(f"global mean over {n_ref - lost} of {n_ref} reference miRNAs" if lost else "")
    block = np.where(ref_detected, raw[:, ref_cols], np.nan)
    means = np.nanmean(block, axis=1)

    nondetect = ~detected[:, feature_cols]
    if record.get("nondetect_floor") is not None:
        floor = float(record["nondetect_floor"])
        values = -delta_cq(np.where(detected, raw, np.nan)[:, feature_cols], means)
        for i in range(values.shape[0]):  # each sample alone, against the training floor
            values[i], raised = tie_nondetects_below(values[i], nondetect[i], floor)
            if raised:
                notes[i] = "; ".join(filter(None, [notes[i], (
                    f"{raised} panel value(s) below the training's non-detect level raised to it "
                    "(global mean Cq lower than any training sample's)")]))
        return values, [n + ("; " if n and nondetect[i].any() else "") + (
            f"{int(nondetect[i].sum())} panel miRNA(s) not detected: tied below every measured value "
            f"(log2 abundance {floor:.4g})" if nondetect[i].any() else "") for i, n in enumerate(notes)]  # fmt: skip
    values = -delta_cq(censored[:, feature_cols], means)  # model files without a floor: as they were trained
    return values, [n + ("; " if n and nondetect[i].any() else "") + (
        f"{int(nondetect[i].sum())} panel miRNA(s) not detected: set to the LOD ({lod:g})" if nondetect[i].any() else "")
        for i, n in enumerate(notes)]  # fmt: skip
