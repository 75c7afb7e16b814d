"""Normalization of a Cohort's working matrix ``X`` (raw values stay in ``layers``).

* counts: DESeq2's median-of-ratios size factors (default), counts per million, or edgeR's TMM,
  each followed by log2(x + 1);
* Cq: ΔCq against the global mean of the detected miRNAs (``exomir.preprocess.qpcr.global_mean_dcq``),
  against chosen reference miRNAs (``reference``) or against an exogenous spike-in (``spike``),
  stored as −ΔCq so that higher means more abundant on every scale;
* ``none`` leaves the values as given, so results can be compared with other tools.

The step and its parameters are recorded in ``uns["exomir"]["steps"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging

import anndata as ad
import numpy as np

from exomir.cohort import measure_of, meta, record_exclusion, record_step
from exomir.errors import InputError
from exomir.preprocess.qpcr import global_mean_dcq, place_nondetects_below, reference_dcq, spike_in_dcq

log = logging.getLogger(__name__)

METHODS = ("auto", "none", "median_of_ratios", "cpm", "tmm", "global_mean", "reference", "spike")
CQ_METHODS = ("global_mean", "reference", "spike")
COUNT_METHODS = ("median_of_ratios", "cpm", "tmm")
AUTO = {"counts": "median_of_ratios", "cq": "global_mean", "log": "none"}


def normalize(adata: ad.AnnData, method: str = "auto", *, pseudocount: float = 1.0,
              references: Sequence[str] = (), spike_in: str | None = None) -> ad.AnnData:
    """Normalize ``adata`` in place (``X`` becomes log2 scale) and return it.

    ``method``: ``auto`` (counts → median_of_ratios, Cq → global_mean, log → none), ``none``,
    ``median_of_ratios``, ``cpm``, ``tmm``, ``global_mean``, ``reference`` (Cq against the mean
    of the ``references`` miRNAs) or ``spike`` (Cq against the exogenous ``spike_in``). The last
    two return a new Cohort without the normalizer columns (recorded as exclusions).
    """
    if method not in METHODS:
        raise InputError(f"unknown normalization {method!r}", expected=" | ".join(METHODS))
    measure = measure_of(adata)
    chosen = AUTO[measure] if method == "auto" else method
    if chosen == "none":
        adata.X = np.array(adata.layers[measure], dtype=np.float64, copy=True)
        record_step(adata, "normalize", method="none", requested=method, measure=measure)
        return adata
    if chosen in COUNT_METHODS and measure != "counts":
        raise InputError(f"normalization {chosen!r} needs read counts, but the values are {measure}",
                         expected="global_mean, reference, spike or none" if measure == "cq" else "none")
    if chosen == "global_mean":
        if measure != "cq":
            raise InputError(f"normalization 'global_mean' is for Cq values, but the values are {measure}",
                             expected="median_of_ratios, cpm, tmm or none")
        return _global_mean(adata, requested=method)
    if chosen in ("reference", "spike"):
        return _against_controls(adata, chosen, references=references, spike_in=spike_in)

    counts = _counts(adata)
    library = counts.sum(axis=1)
    if np.any(library <= 0):
        empty = [str(s) for s in np.asarray(adata.obs_names)[library <= 0]]
        raise InputError(f"sample(s) with no reads cannot be normalized: {', '.join(empty[:10])}",
                         expected="at least one read per sample")
    params: dict = {"pseudocount": pseudocount}
    if chosen == "median_of_ratios":
        factors, kind = median_of_ratios(counts)
        adata.obs["size_factor"] = factors
        scaled = counts / factors[:, None]
        params["size_factor_type"] = kind
    else:
        factors = tmm_factors(counts) if chosen == "tmm" else np.ones(len(library))
        effective = library * factors
        if chosen == "tmm":
            adata.obs["norm_factor"] = factors
        adata.obs["library_size"] = library
        scaled = counts / effective[:, None] * 1e6
    adata.X = np.log2(scaled + pseudocount)
    record_step(adata, "normalize", method=chosen, requested=method, measure=measure, **params)
    return adata


def median_of_ratios(counts: np.ndarray) -> tuple[np.ndarray, str]:
    """DESeq2 size factors of a samples × miRNAs count matrix.

    Ratio to the per-miRNA geometric mean over miRNAs detected in every sample (``ratio``); when
    no miRNA is detected everywhere, DESeq2's ``poscounts`` variant (geometric means of the
    positive counts, factors scaled to geometric mean 1). Returns (factors, type). Hand-written:
    PyDESeq2's ``poscounts`` also drops miRNAs whose geometric mean is ≤ 1, which DESeq2's does not.
    """
    counts = np.asarray(counts, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logs = np.log(counts)
    kind = "ratio"
    log_geomeans = logs.mean(axis=0)
    if not np.any(np.isfinite(log_geomeans)):
        kind = "poscounts"
        positive = np.where(counts > 0, logs, 0.0)
        log_geomeans = positive.sum(axis=0) / counts.shape[0]
        log_geomeans[~np.any(counts > 0, axis=0)] = -np.inf
    usable = np.isfinite(log_geomeans)
    factors = np.empty(counts.shape[0])
    for i in range(counts.shape[0]):
        keep = usable & (counts[i] > 0)
        if not np.any(keep):
            raise InputError(f"sample {i + 1} shares no detected miRNA with the others; size factor undefined")
        factors[i] = np.exp(np.median(logs[i, keep] - log_geomeans[keep]))
    if kind == "poscounts":
        factors = factors / np.exp(np.mean(np.log(factors)))
    return factors, kind


def tmm_factors(
    counts: np.ndarray,
    *,
    logratio_trim: float = 0.3,
    sum_trim: float = 0.05,
    weighting: bool = True,
    a_cutoff: float = -1e10,
) -> np.ndarray:
    """edgeR's trimmed mean of M-values normalization factors (samples × miRNAs counts).

    The reference sample is the one whose upper-quartile CPM is closest to the mean upper
    quartile; factors are scaled to a geometric mean of 1, as ``calcNormFactors(method="TMM")``.
    Hand-written: no well-kept Python package implements TMM (checked against edgeR in
    tests/reference/normalize).
    """
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[:, counts.sum(axis=0) > 0]
    library = counts.sum(axis=1)
    upper = np.quantile(counts / library[:, None], 0.75, axis=1)
    if np.median(upper) < 1e-20:
        ref = int(np.argmax(np.sqrt(counts).sum(axis=1)))
    else:
        ref = int(np.argmin(np.abs(upper - upper.mean())))
    factors = np.array([
        _tmm_pair(counts[i], counts[ref], library[i], library[ref], logratio_trim, sum_trim, weighting, a_cutoff)
        for i in range(counts.shape[0])
    ])
    return factors / np.exp(np.mean(np.log(factors)))


def _tmm_pair(obs, ref, n_obs, n_ref, logratio_trim, sum_trim, weighting, a_cutoff) -> float:
    from scipy.stats import rankdata

    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log2((obs / n_obs) / (ref / n_ref))
        abs_e = (np.log2(obs / n_obs) + np.log2(ref / n_ref)) / 2.0
        var = (n_obs - obs) / n_obs / obs + (n_ref - ref) / n_ref / ref
    keep = np.isfinite(log_r) & np.isfinite(abs_e) & (abs_e > a_cutoff)
    log_r, abs_e, var = log_r[keep], abs_e[keep], var[keep]
    if log_r.size == 0 or np.max(np.abs(log_r)) < 1e-6:
        return 1.0
    n = log_r.size
    lo_l = np.floor(n * logratio_trim) + 1
    hi_l = n + 1 - lo_l
    lo_s = np.floor(n * sum_trim) + 1
    hi_s = n + 1 - lo_s
    rank_r = rankdata(log_r)
    rank_e = rankdata(abs_e)
    trimmed = (rank_r >= lo_l) & (rank_r <= hi_l) & (rank_e >= lo_s) & (rank_e <= hi_s)
    if weighting:
        mean = np.nansum(log_r[trimmed] / var[trimmed]) / np.nansum(1.0 / var[trimmed])
    else:
        mean = np.nanmean(log_r[trimmed])
    if not np.isfinite(mean):
        mean = 0.0
    return float(2.0**mean)


def _counts(adata: ad.AnnData) -> np.ndarray:
    counts = np.array(adata.layers["counts"], dtype=np.float64, copy=True)
    missing = np.isnan(counts)
    if missing.any():
        # an empty cell in a count table means no reads were assigned
        log.warning(f"{int(missing.sum())} empty count cell(s) read as 0 reads for normalization")
        counts[missing] = 0.0
    if np.any(counts < 0):
        raise InputError("negative read counts cannot be normalized", expected="counts >= 0")
    return counts


def _global_mean(adata: ad.AnnData, *, requested: str) -> ad.AnnData:
    steps = [step.get("step") for step in meta(adata).get("steps", [])]
    if "censor_nondetects" not in steps:
        # ΔCq starts from the Cq values; after the non-detect rules X already holds the censored Cq
        adata.X = np.array(adata.layers["cq"], dtype=np.float64, copy=True)
    global_mean_dcq(adata, lod=float(meta(adata).get("nondetect_lod", 35.0)))  # in place: X = ΔCq
    # higher = more, as on every other scale (so fold changes, AUC directions and hazard ratios read
    # the same for Cq and counts): X = −ΔCq = global mean − Cq, the log2 abundance relative to the mean
    adata.X = -np.asarray(adata.X, dtype=np.float64)
    meta(adata)["x_scale"] = "neg_delta_cq"
    place_nondetects_below(adata)  # non-detects rank below every measured value, whatever the sample's mean
    described = str(meta(adata).get("normalization") or "global mean ΔCq")
    meta(adata)["normalization"] = f"{described}; X = −ΔCq (higher = more abundant)"
    record_step(adata, "normalize", method="global_mean", requested=requested, measure="cq", x_scale="neg_delta_cq")
    return adata


def _against_controls(adata: ad.AnnData, method: str, *, references: Sequence[str], spike_in: str | None) -> ad.AnnData:
    """ΔCq against chosen reference miRNAs or a spike-in, as −ΔCq (higher = more, as on every scale)."""
    measure = measure_of(adata)
    if measure != "cq":
        raise InputError(f"normalization {method!r} is for Cq values, but the values are {measure}",
                         expected="median_of_ratios, cpm, tmm or none")
    if method == "reference" and not references:
        raise InputError("normalization 'reference' needs the reference miRNAs",
                         expected="--reference miR-16-5p,miR-93-5p (one or more measured miRNAs)")
    if method == "spike" and not spike_in:
        raise InputError("normalization 'spike' needs the spike-in assay", expected="--spike cel-miR-39-3p")
    steps = [step.get("step") for step in meta(adata).get("steps", [])]
    if "censor_nondetects" not in steps:
        adata.X = np.array(adata.layers["cq"], dtype=np.float64, copy=True)
    lod = float(meta(adata).get("nondetect_lod", 35.0))
    if method == "reference":
        adata = reference_dcq(adata, list(references), lod=lod)
        used = [str(v) for v in meta(adata)["steps"][-1]["references"]]
        for name in used:  # a normalizer against itself is 0 (or the others' mirror): not a result
            record_exclusion(adata, "mirna", name, "reference miRNA used as the normalizer, not tested")
        adata = adata[:, [str(v) not in set(used) for v in adata.var_names]].copy()
        detail = {"references": used}
    else:
        adata = spike_in_dcq(adata, spike_in, lod=lod)
        detail = {"spike_in": str(meta(adata)["steps"][-1]["spike_in"])}
    adata.X = -np.asarray(adata.X, dtype=np.float64)
    meta(adata)["x_scale"] = "neg_delta_cq"
    place_nondetects_below(adata)  # non-detects rank below every measured value
    meta(adata)["normalization"] = str(meta(adata).get("normalization")).replace(
        "−ΔCq is log2 abundance", "X = −ΔCq (higher = more abundant)")
    record_step(adata, "normalize", method=method, requested=method, measure="cq", x_scale="neg_delta_cq", **detail)
    return adata
