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
    """Merge replicate wells; returns (replicates long table, samples × targets Cq table)."""
    rows = []
    groups = wells.groupby(["sample", "target"], sort=False)
    for (sample, target), block in groups:
        values = block["cq"].to_numpy(dtype=float)
        n = len(values)
        above = np.isfinite(values) & (values > lod)
        ok = np.isfinite(values) & ~above
        n_detected = int(ok.sum())
        flags = []
        if above.any():
            flags.append("above_lod")
        if 0 < n_detected < n:
            flags.append("mixed_detection")
        sd = float(np.std(values[ok], ddof=1)) if n_detected >= 2 else float("nan")
        if n_detected >= 2 and sd > sd_limit:
            flags.append("high_sd")
        if n_detected == 0 or n_detected < min_detected * n:
            cq = float("nan")
            flags.append("nondetect")
        else:
            cq = float(values[ok].mean())
        rows.append(
            {
                "sample": sample,
                "target": target,
                "n": n,
                "n_detected": n_detected,
                "cq": cq,
                "sd": sd,
                "cq_values": ";".join("NA" if not np.isfinite(v) else f"{v:.3f}" for v in values),
                "plates": ";".join(dict.fromkeys(str(p) for p in block["plate"])),
                "flags": ";".join(flags),
            }
        )
    replicates = pd.DataFrame(rows, columns=REPLICATE_COLUMNS)
    samples = list(dict.fromkeys(replicates["sample"]))
    targets = list(dict.fromkeys(replicates["target"]))
    cq = replicates.pivot(index="sample", columns="target", values="cq").reindex(index=samples, columns=targets)
    cq.index.name = None
    cq.columns.name = None
    return replicates, cq.astype(float)
