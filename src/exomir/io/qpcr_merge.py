"""From wells to values: inter-plate calibration and merging of technical replicates.

Rules (reported in ``QpcrData`` and the Cohort's provenance):

* A well is a non-detect when the instrument called none (Undetermined, blank…) or its Cq is above
  the limit of detection (``lod``).
* Technical replicates of one sample and target (also across plates) merge to the mean of their
  detected wells. The merged value is a non-detect when fewer than ``min_detected`` (a fraction)
  of the wells were detected. The SD (n − 1) of the detected wells is kept; SD above ``sd_limit``
  cycles is flagged ``high_sd``.
* Inter-plate calibration (qbase-style): with an inter-plate calibrator (IPC) sample run on every
  plate, each plate's Cq values of a target are shifted by (IPC Cq on that plate − mean IPC Cq over
  the plates), which removes run-to-run offsets before replicates are merged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from exomir.errors import InputError

REPLICATE_COLUMNS = [
    "sample",
    "target",
    "n",
    "n_detected",
    "cq",
    "sd",
    "cq_values",
    "plates",
    "flags",
]


def calibrate_plates(wells: pd.DataFrame, calibrator: str | Sequence[str], *, lod: float = 35.0) -> pd.DataFrame:
    """Shift each plate's Cq values per target so that the calibrator agrees across plates.

    Returns a copy of ``wells`` with ``cq`` corrected and a ``plate_offset`` column (the shift
    subtracted). Raises :class:`InputError` when a plate lacks a detected calibrator for a target
    that it measured.
    """
    names = [calibrator] if isinstance(calibrator, str) else list(calibrator)
    wells = wells.copy()
    usable = (wells["task"] != "ntc") & ~wells["omit"].astype(bool)
    detected = usable & wells["cq"].notna() & (wells["cq"] <= lod)
    ipc = wells[detected & wells["sample"].isin(names)]
    if ipc.empty:
        raise InputError(
            f"no detected wells of the inter-plate calibrator {', '.join(names)!s}",
            path=wells["file"].iloc[0] if len(wells) else None,
            expected="the calibrator sample name as written in the exports",
        )
    per_plate = ipc.groupby(["target", "plate"], sort=False)["cq"].mean()
    overall = per_plate.groupby(level="target", sort=False).mean()
    offsets = (per_plate - overall.reindex(per_plate.index.get_level_values("target")).to_numpy()).rename("offset")
    wells["plate_offset"] = 0.0
    measured = wells[usable].groupby(["target", "plate"], sort=False).size().index
    for target, plate in measured:
        if (target, plate) not in offsets.index:
            row = wells[(wells["target"] == target) & (wells["plate"] == plate)].iloc[0]
            raise InputError(
                f"plate {plate!r} has no detected calibrator ({', '.join(names)}) for target {target!r}",
                path=row["file"],
                line=int(row["line"]),
                expected="the inter-plate calibrator on every plate for every target",
            )
        mask = (wells["target"] == target) & (wells["plate"] == plate)
        wells.loc[mask, "plate_offset"] = float(offsets.loc[(target, plate)])
    wells["cq"] = wells["cq"] - wells["plate_offset"]
    return wells


def merge_replicates(
    wells: pd.DataFrame,
    *,
    lod: float = 35.0,
    sd_limit: float = 0.5,
    min_detected: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge replicate wells; returns (replicates long table, samples × targets Cq table).

    Samples and targets keep the order in which they first appear in the exports.
    """
    samples_col = wells["sample"].astype(str).to_numpy()
    targets_col = wells["target"].astype(str).to_numpy()
    codes, _ = pd.factorize(pd.Series(samples_col) + "\x1f" + pd.Series(targets_col))
    first = np.unique(codes, return_index=True)[1]
    groups = len(first)
    values = wells["cq"].to_numpy(dtype=float)
    finite = np.isfinite(values)
    above = finite & (values > lod)
    ok = finite & ~above
    n = np.bincount(codes, minlength=groups)
    n_detected = np.bincount(codes, weights=ok, minlength=groups).astype(int)
    any_above = np.bincount(codes, weights=above, minlength=groups) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=np.where(ok, values, 0.0), minlength=groups) / n_detected
        deviation = np.where(ok, values - mean[codes], 0.0)  # two passes: no cancellation at Cq ~ 30
        sd = np.sqrt(np.bincount(codes, weights=deviation**2, minlength=groups) / (n_detected - 1))
    sd[n_detected < 2] = np.nan
    nondetect = (n_detected == 0) | (n_detected < min_detected * n)
    cq = np.where(nondetect, np.nan, mean)
    text = np.where(finite, np.char.mod("%.3f", np.nan_to_num(values)), "NA")
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(n)]
    sorted_text = text[order]
    sorted_plates = wells["plate"].astype(str).to_numpy()[order]
    cq_values = [";".join(sorted_text[bounds[g] : bounds[g + 1]]) for g in range(groups)]
    plates = [";".join(dict.fromkeys(sorted_plates[bounds[g] : bounds[g + 1]])) for g in range(groups)]
    high_sd = (n_detected >= 2) & (sd > sd_limit)
    mixed = (n_detected > 0) & (n_detected < n)
    flags = [
        ";".join(
            name
            for name, on in (("above_lod", any_above[g]), ("mixed_detection", mixed[g]), ("high_sd", high_sd[g]), ("nondetect", nondetect[g]))
            if on
        )
        for g in range(groups)
    ]
    replicates = pd.DataFrame(
        {
            "sample": samples_col[first],
            "target": targets_col[first],
            "n": n,
            "n_detected": n_detected,
            "cq": cq,
            "sd": sd,
            "cq_values": cq_values,
            "plates": plates,
            "flags": flags,
        },
        columns=REPLICATE_COLUMNS,
    )
    samples = list(dict.fromkeys(replicates["sample"]))
    targets = list(dict.fromkeys(replicates["target"]))
    table = replicates.pivot(index="sample", columns="target", values="cq").reindex(index=samples, columns=targets)
    table.index.name = None
    table.columns.name = None
    return replicates, table.astype(float)
