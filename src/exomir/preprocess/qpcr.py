"""Normalization of RT-qPCR Cq values: non-detects, spike-in, reference miRNAs, global mean, ΔΔCq.

Sign convention (used everywhere in exomir): ΔCq = Cq(miRNA) − Cq(normalizer). A miRNA that is
more abundant reaches the threshold earlier, so **−ΔCq is the log2 abundance** relative to the
normalizer (at an amplification efficiency of 2; see :func:`efficiency_correct` otherwise), and
2^-ΔΔCq is the fold change against the control group. After :func:`global_mean_dcq`,
:func:`spike_in_dcq` or :func:`reference_dcq`, ``X`` holds ΔCq (higher = less abundant),
``uns["exomir"]["x_scale"]`` says so, and ``layers["log2_abundance"]`` holds −ΔCq for statistics
that expect "higher = more" (as log2 counts do); :func:`log2_abundance` returns it for any Cohort.
(``exomir analyze`` goes one step further: its ``normalize`` turns X into −ΔCq and sets
``x_scale`` to ``neg_delta_cq``; the functions here read both scales.)

Cohort-level functions take the Cohort (measure ``cq``; raw Cq stays in ``layers["cq"]``), work on
``X`` and record what they did with :func:`exomir.cohort.record_step`. Array-level functions
(:func:`delta_cq`, :func:`global_mean`, :func:`ddcq`, :func:`fold_change`, :func:`pfaffl_ratio`,
:func:`efficiency_from_slope`) hold the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import logging

import anndata as ad
import numpy as np
import pandas as pd

from exomir.cohort import meta, record_exclusion, record_step
from exomir.errors import InputError
from exomir.io.qpcr_merge import calibrate_plates as interplate_calibrate
from exomir.preprocess.qc import DEFAULT_SPIKE_IN, control_columns, mirna_column

log = logging.getLogger(__name__)

__all__ = [
    "censor_nondetects",
    "nondetect_mask",
    "not_measured_mask",
    "detected_mask",
    "nondetect_counts",
    "place_nondetects_below",
    "nondetect_floor",
    "tie_nondetects_below",
    "global_mean",
    "global_mean_dcq",
    "spike_in_dcq",
    "reference_dcq",
    "delta_cq",
    "ddcq",
    "delta_delta_cq",
    "fold_change",
    "pfaffl_ratio",
    "efficiency_from_slope",
    "efficiency_correct",
    "interplate_calibrate",
    "log2_abundance",
]

NONDETECT_RULES = ("censor", "missing")


# --- array level ---------------------------------------------------------------------------


def delta_cq(cq: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """ΔCq = Cq − reference Cq of the same sample (``reference`` has one value per row)."""
    cq = np.asarray(cq, dtype=float)
    return cq - np.asarray(reference, dtype=float).reshape(-1, 1)


def global_mean(cq: np.ndarray, detected: np.ndarray, *, min_fraction: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample mean Cq of the miRNAs detected in at least ``min_fraction`` of the samples.

    Returns (means, used) where ``used`` marks the columns averaged. A sample's undetected
    values among those columns are skipped (only possible when ``min_fraction`` < 1).
    """
    cq = np.asarray(cq, dtype=float)
    detected = np.asarray(detected, dtype=bool)
    used = detected.mean(axis=0) >= min_fraction - 1e-12
    if not used.any():
        return np.full(cq.shape[0], np.nan), used
    block = np.where(detected[:, used], cq[:, used], np.nan)
    with np.errstate(all="ignore"):
        return np.nanmean(block, axis=1), used


def ddcq(dcq: np.ndarray, control: np.ndarray) -> np.ndarray:
    """ΔΔCq = ΔCq − mean ΔCq of the control rows (per column, non-detects skipped)."""
    dcq = np.asarray(dcq, dtype=float)
    control = np.asarray(control, dtype=bool)
    if not control.any():
        raise ValueError("no control samples for ΔΔCq")
    with np.errstate(all="ignore"):
        base = np.nanmean(dcq[control], axis=0)
    return dcq - base


def fold_change(ddcq_values: np.ndarray | float, efficiency: float = 2.0) -> np.ndarray:
    """Relative quantity E^-ΔΔCq (2^-ΔΔCq at perfect efficiency)."""
    return np.power(float(efficiency), -np.asarray(ddcq_values, dtype=float))


def pfaffl_ratio(
    target_control: float | np.ndarray,
    target_sample: float | np.ndarray,
    reference_control: float | np.ndarray,
    reference_sample: float | np.ndarray,
    *,
    efficiency_target: float = 2.0,
    efficiency_reference: float = 2.0,
) -> np.ndarray:
    """Pfaffl (2001) ratio E_target^ΔCq_target(control − sample) / E_ref^ΔCq_ref(control − sample)."""
    d_target = np.asarray(target_control, dtype=float) - np.asarray(target_sample, dtype=float)
    d_reference = np.asarray(reference_control, dtype=float) - np.asarray(reference_sample, dtype=float)
    return np.power(efficiency_target, d_target) / np.power(efficiency_reference, d_reference)


def efficiency_from_slope(slope: float) -> float:
    """Amplification factor E = 10^(−1/slope) of a standard curve (Cq against log10 input)."""
    if slope >= 0:
        raise ValueError("a standard-curve slope must be negative (Cq falls as input rises)")
    return float(10.0 ** (-1.0 / slope))


def _as_factor(efficiency: float) -> float:
    """Accept an amplification factor (1 < E ≤ 2.2) or a percentage (e.g. 95 → 1.95)."""
    value = float(efficiency)
    if value > 3:
        value = 1.0 + value / 100.0
    elif value <= 1.0 and value > 0:  # a fraction such as 0.95
        value = 1.0 + value
    if not 1.0 < value <= 2.5:
        raise ValueError(f"implausible amplification efficiency {efficiency!r}")
    return value


# --- Cohort level --------------------------------------------------------------------------


def log2_abundance(adata: ad.AnnData) -> np.ndarray:
    """The working values on a "higher = more abundant" log2 scale: −X when X holds ΔCq
    (``x_scale == "delta_cq"``), else X (counts' log2 values, or ``neg_delta_cq`` after
    :func:`exomir.preprocess.normalize.normalize` turned ΔCq around)."""
    x = np.asarray(adata.X, dtype=float)
    return -x if meta(adata).get("x_scale") == "delta_cq" else x


def _set_dcq(adata: ad.AnnData, dcq: np.ndarray) -> None:
    adata.X = dcq
    adata.layers["log2_abundance"] = -np.asarray(dcq, dtype=float)
    meta(adata)["x_scale"] = "delta_cq"


def _require_cq(adata: ad.AnnData, what: str) -> None:
    measure = meta(adata).get("measure")
    if measure != "cq":
        raise InputError(f"{what} needs Cq values, but this Cohort holds {measure!r}", expected="measure 'cq'")


def not_measured_mask(adata: ad.AnnData) -> np.ndarray:
    """True where a target was not measured at all (absent from the sample's plate): such a cell is
    missing, never a non-detect (``layers["not_measured"]``, set by :mod:`exomir.io.qpcr`)."""
    if "not_measured" in adata.layers:
        return np.asarray(adata.layers["not_measured"], dtype=bool)
    return np.zeros(adata.shape, dtype=bool)


def nondetect_mask(adata: ad.AnnData, lod: float = 35.0) -> np.ndarray:
    """True where the raw Cq (``layers["cq"]``) is missing or above the limit of detection, on a
    well that was run (cells of a target absent from the plate are not non-detects)."""
    raw = np.asarray(adata.layers["cq"] if "cq" in adata.layers else adata.X, dtype=float)
    return (~np.isfinite(raw) | (raw > lod)) & ~not_measured_mask(adata)


def detected_mask(adata: ad.AnnData, lod: float = 35.0) -> np.ndarray:
    """True where a Cq was measured at or below the limit of detection."""
    raw = np.asarray(adata.layers["cq"] if "cq" in adata.layers else adata.X, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(raw) & (raw <= lod)


def nondetect_counts(adata: ad.AnnData, group: str | None = None, *, lod: float = 35.0) -> pd.DataFrame:
    """Non-detects per miRNA (and per group of the ``obs`` column ``group``): ``mirna, group, n_samples,
    n_measured, n_nondetect, n_not_measured, fraction_detected``; the "all" group is every sample."""
    nondetect = nondetect_mask(adata, lod)
    absent = not_measured_mask(adata)
    parts = [("all", np.ones(adata.n_obs, dtype=bool))]
    if group is not None and group in adata.obs:
        labels = adata.obs[group].astype("string")
        parts += [(str(label), (labels == label).fillna(False).to_numpy(dtype=bool))
                  for label in labels.dropna().unique()]
    frames = []
    for label, rows in parts:
        measured = (~absent[rows]).sum(axis=0)
        missed = nondetect[rows].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(measured > 0, (measured - missed) / measured, np.nan)
        frames.append(pd.DataFrame({"mirna": [str(v) for v in adata.var_names], "group": label,
                                    "n_samples": int(rows.sum()), "n_measured": measured, "n_nondetect": missed,
                                    "n_not_measured": absent[rows].sum(axis=0), "fraction_detected": fraction}))
    return pd.concat(frames, ignore_index=True)


def censor_nondetects(
    adata: ad.AnnData,
    *,
    lod: float = 35.0,
    max_fraction: float = 0.5,
    rule: str = "censor",
    groups: Sequence | pd.Series | None = None,
) -> ad.AnnData:
    """Apply the non-detect rules; returns a new Cohort without the miRNAs that were dropped.

    * miRNAs non-detected (Cq missing or > ``lod``) in more than ``max_fraction`` of the samples
      are excluded (recorded with the fraction). With ``groups`` (one label per sample) the rule
      is group-aware: a miRNA is kept when it is detected in at least ``1 − max_fraction`` of the
      samples of **some** group (a miRNA present in most HCC samples and absent from controls is
      the kind of marker the study looks for). Cells of a target that was not on a sample's plate
      are not measured: they count neither way and stay missing.
    * remaining non-detects: ``rule="censor"`` sets them to ``lod`` in ``X`` (the least abundance
      the assay can tell apart; after normalization they are tied below every measured value, see
      :func:`place_nondetects_below`), ``rule="missing"`` leaves them ``NaN``.
    """
    _require_cq(adata, "censor_nondetects")
    if rule not in NONDETECT_RULES:
        raise ValueError(f"rule must be one of {NONDETECT_RULES}")
    if not 0.0 <= max_fraction <= 1.0:
        raise ValueError("max_fraction must lie between 0 and 1")
    mask = nondetect_mask(adata, lod)
    measured = ~not_measured_mask(adata)
    def fraction_missed(rows: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            n = measured[rows].sum(axis=0)
            return np.where(n > 0, mask[rows].sum(axis=0) / np.maximum(n, 1), 1.0)

    fraction = fraction_missed(np.ones(adata.n_obs, dtype=bool)) if adata.n_obs else np.zeros(adata.n_vars)
    best = fraction
    if groups is not None:
        labels = pd.Series(np.asarray(groups, dtype=object)).astype("string")
        best = np.ones(adata.n_vars)
        for label in labels.dropna().unique():
            best = np.minimum(best, fraction_missed((labels == label).fillna(False).to_numpy(dtype=bool)))
    keep = best <= max_fraction + 1e-12
    out = adata[:, keep].copy()
    where = "of the samples of every group" if groups is not None else "of samples"
    for name, frac, low in zip(adata.var_names[~keep], fraction[~keep], best[~keep]):
        detail = f"; detected in at most {1 - low:.0%} of the samples of any group" if groups is not None else ""
        record_exclusion(
            out, "mirna", name,
            f"non-detected (Cq > {lod:g} or none) in {frac:.0%} of samples{detail} (limit {max_fraction:.0%} {where})",
        )
    if (~keep).any():
        log.warning(f"{int((~keep).sum())} miRNA(s) excluded: non-detected in more than {max_fraction:.0%} {where}")
    mask = mask[:, keep]
    x = np.asarray(out.X, dtype=float).copy()
    raw = np.asarray(out.layers["cq"] if "cq" in out.layers else out.X, dtype=float)
    # values above the LOD are non-detects too: never carried over as measured Cq
    x[mask & np.isfinite(raw)] = np.nan
    x[not_measured_mask(out)] = np.nan
    if rule == "censor":
        x[mask] = lod
    out.X = x
    description = (
        f"Cq > {lod:g} or none is a non-detect; miRNAs non-detected in more than {max_fraction:.0%} {where} "
        f"excluded; remaining non-detects " + ("set to the LOD, then tied below every measured value"
                                                if rule == "censor" else "left missing")
        + "; targets not on a sample's plate stay missing"
    )
    meta(out)["nondetect_rule"] = description
    meta(out)["nondetect_lod"] = float(lod)
    meta(out)["nondetect_censored"] = rule == "censor"
    record_step(
        out,
        "censor_nondetects",
        lod=lod,
        max_fraction=max_fraction,
        rule=rule,
        group_aware=groups is not None,
        excluded=int((~keep).sum()),
        censored=int(mask.sum()) if rule == "censor" else 0,
        description=description,
    )
    return out


def nondetect_floor(normalizer: np.ndarray, lod: float) -> float:
    """The least log2 abundance (−ΔCq) any of these samples could report at Cq = ``lod``: the LOD
    against the lowest normalizer Cq (global mean, reference or spike-in). Every measured −ΔCq of
    those samples lies at or above it."""
    return float(np.nanmin(np.asarray(normalizer, dtype=float)) - float(lod))


def tie_nondetects_below(abundance: np.ndarray, nondetect: np.ndarray, floor: float) -> tuple[np.ndarray, int]:
    """Log2 abundances (−ΔCq, higher = more) with every non-detect set to ``floor`` and any measured
    value below ``floor`` raised to it, so that a non-detect never ranks above a measured value.
    Returns the new array and the number of measured values raised (none when ``floor`` came from
    the same samples, see :func:`nondetect_floor`; a locked model's new sample may hold some)."""
    out = np.array(abundance, dtype=float)
    nondetect = np.asarray(nondetect, dtype=bool)
    with np.errstate(invalid="ignore"):
        low = ~nondetect & np.isfinite(out) & (out < floor)
    out[low] = floor
    out[nondetect] = floor
    return out, int(low.sum())


def place_nondetects_below(adata: ad.AnnData) -> int:
    """After normalization, give every censored non-detect the least abundance any sample could
    report at the LOD (the lowest −ΔCq at Cq = LOD), so that non-detects tie below every measured
    value of their miRNA. Subtracting each sample's own normalizer from the LOD would rank the
    non-detect of a sample with a high global mean above real measurements of others.

    Works in place on an ``X`` of ``neg_delta_cq`` (higher = more) or ``delta_cq``; returns the
    number of cells placed.
    """
    if not meta(adata).get("nondetect_censored"):
        return 0
    lod = float(meta(adata)["nondetect_lod"])
    scale = meta(adata).get("x_scale")
    normalizer = None
    for column in ("global_mean_cq", "reference_cq", "spike_in_cq"):
        if column in adata.obs:
            normalizer = pd.to_numeric(adata.obs[column], errors="coerce").to_numpy(dtype=float)
            break
    mask = nondetect_mask(adata, lod)
    if normalizer is None or scale not in ("neg_delta_cq", "delta_cq") or not mask.any():
        return 0
    floor = nondetect_floor(normalizer, lod)
    sign = 1.0 if scale == "neg_delta_cq" else -1.0
    abundance, _ = tie_nondetects_below(sign * np.asarray(adata.X, dtype=float), mask, floor)
    adata.X = sign * abundance
    if "log2_abundance" in adata.layers:
        adata.layers["log2_abundance"] = tie_nondetects_below(adata.layers["log2_abundance"], mask, floor)[0]
    record_step(adata, "place_nondetects_below", lod=lod, value=float(floor), cells=int(mask.sum()),
                rule="non-detects tied at the least abundance measurable at the LOD, below every measured value")
    return int(mask.sum())


def global_mean_dcq(
    adata: ad.AnnData,
    *,
    lod: float = 35.0,
    min_fraction: float = 1.0,
    min_mirnas: int = 10,
) -> ad.AnnData:
    """Global-mean normalization (Mestdagh et al. 2009): X ← ΔCq = Cq − the sample's mean Cq of
    the miRNAs detected (raw Cq ≤ ``lod``) in at least ``min_fraction`` of the samples (default:
    all of them, "commonly detected"). Spike-ins and small-RNA controls are not averaged.

    Works in place and returns ``adata``; ``obs["global_mean_cq"]`` holds the normalizer.
    """
    _require_cq(adata, "global_mean_dcq")
    x = np.asarray(adata.X, dtype=float)
    detected = detected_mask(adata, lod)
    roles = control_columns(adata)
    controls = np.array([str(name) in roles for name in adata.var_names], dtype=bool)
    detected_for_mean = detected & ~controls
    means, used = global_mean(x, detected_for_mean, min_fraction=min_fraction)
    used &= ~controls
    if not used.any():
        raise InputError(
            f"no miRNA is detected (Cq ≤ {lod:g}) in {min_fraction:.0%} of the samples, so there is no global mean",
            expected="a lower min_fraction, a higher LOD, or reference miRNAs (reference_dcq)",
        )
    if used.sum() < min_mirnas:
        log.warning(
            f"global mean built from only {int(used.sum())} commonly detected miRNA(s); "
            "reference miRNAs (geNorm/NormFinder) may normalize better for small panels"
        )
    _set_dcq(adata, delta_cq(x, means))
    adata.obs["global_mean_cq"] = means
    adata.var["in_global_mean"] = used
    meta(adata)["normalization"] = (
        f"global mean ΔCq over {int(used.sum())} miRNAs detected in ≥{min_fraction:.0%} of samples "
        "(X = Cq − global mean; −ΔCq is log2 abundance)"
    )
    record_step(
        adata,
        "global_mean_dcq",
        lod=lod,
        min_fraction=min_fraction,
        n_mirnas=int(used.sum()),
        mirnas=list(adata.var_names[used]),
        sign="X = dCq = Cq - global mean; -dCq is the log2 abundance",
    )
    return adata


def reference_dcq(adata: ad.AnnData, references: Sequence[str], *, lod: float = 35.0) -> ad.AnnData:
    """X ← ΔCq against the mean Cq of reference miRNAs (the log of their geometric-mean quantity).

    Works in place and returns ``adata``. A sample where a reference is non-detected gets NaN.
    """
    _require_cq(adata, "reference_dcq")
    columns = []
    for name in references:
        column = mirna_column(adata, name)
        if column is None:
            raise InputError(f"reference miRNA {name!r} is not in the data", expected="a measured miRNA")
        columns.append(column)
    idx = [list(adata.var_names).index(c) for c in columns]
    x = np.asarray(adata.X, dtype=float)
    undetected = nondetect_mask(adata, lod)[:, idx].any(axis=1)
    reference = x[:, idx].mean(axis=1)
    reference[undetected] = np.nan
    for sample in adata.obs_names[undetected]:
        log.warning(f"sample {sample}: a reference miRNA is non-detected; its ΔCq values are missing")
    _set_dcq(adata, delta_cq(x, reference))
    adata.obs["reference_cq"] = reference
    meta(adata)["normalization"] = f"reference miRNA ΔCq ({', '.join(columns)}); −ΔCq is log2 abundance"
    record_step(adata, "reference_dcq", references=columns, lod=lod, sign="X = dCq; -dCq is the log2 abundance")
    return adata


def spike_in_dcq(adata: ad.AnnData, spike_in: str = DEFAULT_SPIKE_IN, *, lod: float = 35.0) -> ad.AnnData:
    """Exogenous spike-in normalization: X ← Cq − Cq(spike-in) of the same sample.

    Returns a new Cohort without the spike-in column (recorded as an exclusion: it is a
    technical control, not a miRNA of the sample).
    """
    _require_cq(adata, "spike_in_dcq")
    column = mirna_column(adata, spike_in)
    if column is None:
        raise InputError(f"spike-in {spike_in!r} is not in the data", expected="the spike-in assay as a column")
    position = list(adata.var_names).index(column)
    x = np.asarray(adata.X, dtype=float)
    spike = x[:, position].copy()
    missing = nondetect_mask(adata, lod)[:, position]
    spike[missing] = np.nan
    for sample in adata.obs_names[missing]:
        log.warning(f"sample {sample}: spike-in {column} not detected; its ΔCq values are missing")
    keep = np.ones(adata.n_vars, dtype=bool)
    keep[position] = False
    out = adata[:, keep].copy()
    _set_dcq(out, delta_cq(x[:, keep], spike))
    out.obs["spike_in_cq"] = spike
    record_exclusion(out, "mirna", column, "exogenous spike-in used as the normalizer")
    meta(out)["normalization"] = f"spike-in ΔCq against {column}; −ΔCq is log2 abundance"
    record_step(out, "spike_in_dcq", spike_in=column, lod=lod, sign="X = dCq; -dCq is the log2 abundance")
    return out


def efficiency_correct(adata: ad.AnnData, efficiencies: Mapping[str, float]) -> ad.AnnData:
    """Scale each miRNA's Cq by log2(E) so that later ΔCq/ΔΔCq give Pfaffl's efficiency-corrected ratios.

    A Cq measured at amplification factor E corresponds to Cq·log2(E) cycles at perfect doubling;
    ``efficiencies`` maps miRNA names to E (1.9), a percentage (90) or a fraction (0.9).
    miRNAs not given keep E = 2. Call before normalizing. Works in place and returns ``adata``.
    """
    _require_cq(adata, "efficiency_correct")
    factors = np.full(adata.n_vars, 2.0)
    used = {}
    for name, efficiency in efficiencies.items():
        column = mirna_column(adata, name)
        if column is None:
            raise InputError(f"efficiency given for {name!r}, which is not in the data")
        factor = _as_factor(efficiency)
        factors[list(adata.var_names).index(column)] = factor
        used[column] = factor
    adata.X = np.asarray(adata.X, dtype=float) * np.log2(factors)
    adata.var["efficiency"] = factors
    record_step(adata, "efficiency_correct", efficiencies=[f"{k}={v:.4f}" for k, v in used.items()])
    return adata


def delta_delta_cq(
    adata: ad.AnnData,
    group: str,
    control: str,
    *,
    efficiency: float = 2.0,
) -> pd.DataFrame:
    """2^-ΔΔCq of every group against ``control``, from the ΔCq in ``X``.

    Writes the per-sample ΔΔCq into ``layers["ddcq"]``; returns one row per group and miRNA:
    ``mirna, group, control, n, mean_dcq, control_mean_dcq, ddcq, fold_change`` where the fold
    change of a group is E^-(mean ΔCq − control mean ΔCq).
    """
    scale = meta(adata).get("x_scale")
    if scale not in ("delta_cq", "neg_delta_cq"):
        raise InputError("delta_delta_cq needs ΔCq values: normalize first (global_mean_dcq, reference_dcq, spike_in_dcq)")
    if group not in adata.obs:
        raise InputError(f"no column {group!r} in the clinical data", expected="a group column")
    labels = adata.obs[group].astype(str).to_numpy()
    is_control = labels == str(control)
    if not is_control.any():
        raise InputError(f"no sample of group {control!r} in column {group!r}")
    x = np.asarray(adata.X, dtype=float)
    if scale == "neg_delta_cq":  # X was turned into −ΔCq (higher = more) by exomir.preprocess.normalize
        x = -x
    adata.layers["ddcq"] = ddcq(x, is_control)
    with np.errstate(all="ignore"):
        base = np.nanmean(x[is_control], axis=0)
    rows = []
    for label in dict.fromkeys(labels):
        in_group = labels == label
        with np.errstate(all="ignore"):
            mean = np.nanmean(x[in_group], axis=0)
        n = np.isfinite(x[in_group]).sum(axis=0)
        for j, mirna in enumerate(adata.var_names):
            diff = mean[j] - base[j]
            rows.append(
                {
                    "mirna": mirna,
                    "group": label,
                    "control": str(control),
                    "n": int(n[j]),
                    "mean_dcq": mean[j],
                    "control_mean_dcq": base[j],
                    "ddcq": diff,
                    "fold_change": float(fold_change(diff, efficiency)),
                }
            )
    record_step(adata, "delta_delta_cq", group=group, control=str(control), efficiency=efficiency)
    return pd.DataFrame(rows)
