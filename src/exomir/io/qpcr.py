"""RT-qPCR result exports: recognise them, read them, merge replicate wells into a Cq table.

>>> data = read_qpcr(["plate1.txt", "plate2.txt"], lod=35.0)
>>> data.cq            # samples × targets, mean of replicate wells, NaN = non-detect
>>> data.replicates    # one row per sample and target: n, n_detected, cq, sd, flags
>>> data.excluded      # (what, item, reason) for every well or sample left out
>>> cohort = data.to_cohort()

Supported layouts: Applied Biosystems 7500 / QuantStudio / ViiA 7 results (text or CSV, with the
``* key = value`` header block and ``[Results]`` section; TaqMan array cards are the same
layout with one target per well), Bio-Rad CFX "Quantification Cq Results", Roche LightCycler 480
text exports, and plain long (sample, target, Cq) or wide (samples × targets) tables.

Handling (all of it reported, nothing silently dropped):

* "Undetermined", "No Ct", "N/A", "NaN" and blank Cq cells are non-detects; so are Cq values above
  the limit of detection ``lod`` (default 35 cycles).
* Wells marked omitted (``Omit = true``, LightCycler ``Include = False``), no-template controls,
  standards and positive controls are left out of the sample values and listed in ``excluded``;
  an NTC that amplified below the limit is reported as possible contamination.
* Replicate wells merge to the mean of their detected wells; their SD (n − 1) is kept and values
  with SD > ``sd_limit`` (0.5 cycles) are flagged ``high_sd``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.io._qpcr_formats import FORMATS, WELL_COLUMNS, detect_format, parse
from exomir.io.qpcr_merge import calibrate_plates, merge_replicates
from exomir.io._qpcr_text import head_lines, read_lines
from exomir.io.tables import ExpressionTable
from exomir.cohort import build_cohort, record_exclusion, record_step

log = logging.getLogger(__name__)

__all__ = ["QpcrData", "is_instrument_export", "detect_format", "read_qpcr", "FORMATS"]


@dataclass
class QpcrData:
    """What :func:`read_qpcr` read: merged Cq values, their replicates, and what was left out."""

    cq: pd.DataFrame
    replicates: pd.DataFrame
    wells: pd.DataFrame
    excluded: list[tuple[str, str, str]]
    format: str
    files: list[str]
    lod: float
    sd_limit: float = 0.5
    calibrator: list[str] = field(default_factory=list)
    header: dict[str, dict[str, str]] = field(default_factory=dict)
    not_measured: pd.DataFrame | None = None  # samples × targets: True where no well of the target was run
    unmeasured: pd.DataFrame | None = None  # plate, target, n_samples: targets a plate did not carry

    @property
    def flagged(self) -> pd.DataFrame:
        """Replicate groups with a high SD (above ``sd_limit``)."""
        return self.replicates[self.replicates["flags"].str.contains("high_sd", regex=False)]

    def to_cohort(self, obs: pd.DataFrame | None = None, *, annotate: bool = True):
        """A Cohort (measure ``cq``) of the merged values, with exclusions and rules recorded.

        ``obs["qc_high_sd_replicates"]`` counts each sample's flagged replicate groups, so that
        :func:`exomir.preprocess.qc.quality_control` can report them.
        """
        source = {"format": self.format, "files": list(self.files), "lod": self.lod}
        adata = build_cohort(self.cq, "cq", obs=obs, source=source, annotate=annotate)
        counts = self.flagged.groupby("sample").size()
        adata.obs["qc_high_sd_replicates"] = counts.reindex(adata.obs_names).fillna(0).astype(int).to_numpy()
        for what, item, reason in self.excluded:
            record_exclusion(adata, what, item, reason)
        if self.not_measured is not None and self.not_measured.to_numpy().any():
            # a target absent from a plate was not measured there: missing, never a non-detect
            mask = self.not_measured.reindex(index=adata.obs_names, columns=adata.var_names, fill_value=False)
            adata.layers["not_measured"] = mask.to_numpy(dtype=bool)
            for row in self.unmeasured.itertuples(index=False):
                record_exclusion(adata, "values", f"{row.target} on plate {row.plate}",
                                 f"target not run on this plate: {row.n_samples} sample(s) not measured "
                                 "(missing, not non-detects; left out of the statistics of this target)")
        record_step(
            adata,
            "read_qpcr",
            format=self.format,
            files=list(self.files),
            lod=self.lod,
            nondetect_rule=f"Undetermined/blank or Cq > {self.lod:g} is a non-detect (NaN)",
            replicate_rule="mean of detected replicate wells; non-detect when under half were detected",
            sd_limit=self.sd_limit,
            high_sd_replicates=int(len(self.flagged)),
            calibrator=list(self.calibrator),
        )
        return adata


def is_instrument_export(path: str | Path) -> bool:
    """True for files that :func:`read_qpcr` must read: instrument exports and long Cq tables.

    Wide samples × miRNAs tables are ordinary expression tables and return False.
    """
    path = Path(path)
    if not path.is_file() or path.suffix.lower() in {".h5ad", ".gz", ".xls", ".eds", ".pcrd"}:
        return False
    try:
        return detect_format(path, head_lines(path)) is not None
    except InputError:
        return False


def read_qpcr(
    path: str | Path | Sequence[str | Path],
    *,
    lod: float = 35.0,
    format: str = "auto",
    target: str | Mapping[str, str] | None = None,
    sd_limit: float = 0.5,
    min_detected: float = 0.5,
    calibrator: str | Sequence[str] | None = None,
) -> QpcrData:
    """Read one or several qPCR exports (one plate per file) into merged Cq values.

    ``format``: ``auto`` or one of :data:`FORMATS`. ``target`` names the assay of LightCycler runs
    that have no target column (a string, or a mapping file name → target). ``calibrator`` names
    the inter-plate calibrator sample(s) used to align plates (then left out of ``cq``).
    """
    if lod <= 0:
        raise ValueError("lod must be a positive number of cycles")
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    if not paths:
        raise ValueError("no qPCR files given")
    frames = []
    formats = []
    headers: dict[str, dict[str, str]] = {}
    plate_names: dict[str, int] = {}
    for file in paths:
        if not file.is_file():
            raise InputError("file not found", path=file)
        lines = read_lines(file)
        fmt = format
        if fmt == "auto":
            fmt = detect_format(file, lines) or "wide"
        file_target = target.get(file.name, target.get(str(file))) if isinstance(target, Mapping) else target
        wells, header = parse(file, fmt, target=file_target)
        plate = _plate_name(file, header, plate_names)
        wells["plate"] = [p if p else plate for p in wells["plate"]]
        frames.append(wells)
        formats.append(fmt)
        headers[str(file)] = header
    wells = pd.concat(frames, ignore_index=True)[WELL_COLUMNS]
    calibrators = [] if calibrator is None else ([calibrator] if isinstance(calibrator, str) else list(calibrator))
    excluded = _set_aside(wells, lod, calibrators)
    usable = wells[wells["keep"]].drop(columns="keep")
    if calibrators:
        usable = calibrate_plates(usable, calibrators, lod=lod)
        for name in calibrators:
            excluded.append(("sample", name, "inter-plate calibrator (used to align plates, not a study sample)"))
        usable = usable[~usable["sample"].isin(calibrators)]
    if usable.empty:
        raise InputError("no sample wells left after removing controls and omitted wells", path=paths[0])
    replicates, cq = merge_replicates(usable, lod=lod, sd_limit=sd_limit, min_detected=min_detected)
    not_measured, unmeasured = _not_measured(usable, cq)
    flagged = int(replicates["flags"].str.contains("high_sd", regex=False).sum())
    if flagged:
        log.warning(f"{flagged} replicate group(s) have an SD above {sd_limit:g} cycles (see replicates 'high_sd')")
    fmt_name = formats[0] if len(set(formats)) == 1 else "mixed:" + ",".join(dict.fromkeys(formats))
    return QpcrData(
        cq=cq,
        replicates=replicates,
        wells=wells.drop(columns="keep"),
        excluded=excluded,
        format=fmt_name,
        files=[str(p) for p in paths],
        lod=float(lod),
        sd_limit=float(sd_limit),
        calibrator=calibrators,
        header=headers,
        not_measured=not_measured,
        unmeasured=unmeasured,
    )


def _not_measured(wells: pd.DataFrame, cq: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which sample × target cells had no well at all, and per plate the targets it did not carry."""
    run = wells.assign(sample=wells["sample"].astype(str), target=wells["target"].astype(str))
    pairs = set(zip(run["sample"], run["target"]))
    mask = pd.DataFrame([[(s, t) not in pairs for t in cq.columns] for s in cq.index], index=cq.index,
                        columns=cq.columns, dtype=bool)
    rows = []
    targets = list(cq.columns)
    for plate, part in run.groupby("plate", sort=False):
        carried = set(part["target"])
        samples = set(part["sample"])
        for target in targets:
            if target not in carried:
                missing = sum(1 for s in samples if (s, target) not in pairs)
                if missing:
                    rows.append({"plate": str(plate), "target": target, "n_samples": missing})
    unmeasured = pd.DataFrame(rows, columns=["plate", "target", "n_samples"])
    if len(unmeasured):
        shown = ", ".join(f"{r.target} on {r.plate}" for r in unmeasured.head(5).itertuples())
        log.warning(f"{len(unmeasured)} target/plate pair(s) not run ({shown}{' …' if len(unmeasured) > 5 else ''}): "
                    "those samples are not measured for the target (missing, never non-detects)")
    return mask, unmeasured


def _plate_name(file: Path, header: dict[str, str], seen: dict[str, int]) -> str:
    """One name per file: the experiment barcode or name from the header, else the file stem."""
    name = ""
    for key in ("Experiment Barcode", "Experiment Name", "Experiment File Name", "Experiment", "File Name", "Filename"):
        if header.get(key):
            value = header[key].strip()
            # file names lose folder and extension (C:/runs/plate1.eds → plate1); names stay whole
            is_file = "file" in key.lower() or re.search(r"\.(eds|sds|txt|csv|xlsx?|ixo|lc96p|pcrd)$", value, re.I)
            name = (Path(value.replace("\\", "/")).stem or value) if is_file else value
            break
    name = name or file.stem
    seen[name] = seen.get(name, 0) + 1
    return name if seen[name] == 1 else f"{name}#{seen[name]}"


def _set_aside(wells: pd.DataFrame, lod: float, calibrators: Sequence[str]) -> list[tuple[str, str, str]]:
    """Mark wells that are not sample measurements (``keep`` column) and say why each was left out.

    Empty wells (no sample, no target, no Cq: unused positions of a plate) are dropped unreported.
    """
    excluded: list[tuple[str, str, str]] = []
    keep = []
    for row in wells.itertuples(index=False):
        if not str(row.sample).strip() and not str(row.target).strip() and pd.isna(row.cq):
            keep.append(False)
            continue
        where = f"{row.plate}:{row.well or 'line ' + str(row.line)}"
        label = f"{where} ({row.sample or 'no sample'} / {row.target or 'no target'})"
        reason = None
        if row.omit:
            reason = "well omitted in the instrument software"
        elif row.task == "ntc":
            if pd.notna(row.cq) and row.cq <= lod:
                reason = f"no-template control amplified at Cq {row.cq:.2f}: possible contamination"
                log.warning(f"{label}: {reason}")
            else:
                reason = "no-template control"
        elif row.task == "standard":
            reason = "standard-curve well"
        elif row.task == "control" and row.sample not in calibrators:
            reason = "positive control well"
        elif not str(row.sample).strip():
            reason = "well without a sample name"
        elif not str(row.target).strip():
            reason = "well without a target name"
        keep.append(reason is None)
        if reason is not None:
            excluded.append(("well", label, reason))
    wells["keep"] = keep
    return excluded


def qpcr_table(paths: list[Path], measure: str = "auto", calibrator: str | Sequence[str] | None = None,
               lod: float = 35.0) -> ExpressionTable:
    """Instrument exports (one per plate) as an expression table, read by :func:`read_qpcr` (replicate
    wells merged); the :class:`QpcrData` itself rides along in ``extra["qpcr_data"]``."""
    path = paths[0]
    if measure not in ("auto", "cq"):
        raise InputError(f"a qPCR instrument export holds Cq values, not {measure}", path=path, expected="measure cq or auto")
    data = read_qpcr(paths, calibrator=calibrator or None, lod=lod)
    cq = data.cq.copy()
    cq.index = cq.index.astype(str)
    cq.columns = cq.columns.astype(str)
    table = ExpressionTable(
        values=cq.astype(np.float64),
        measure="cq",
        orientation="instrument export (one row per well)",
        path=path,
        orientation_reason=f"recognized as a qPCR export ({data.format}); replicate wells merged",
        measure_reason=f"qPCR export: Cq values; Cq above {data.lod:g} counted as non-detects",
        excluded=[{"what": str(what), "item": str(item), "reason": str(reason)} for what, item, reason in data.excluded],
        nondetects=int((cq.isna().to_numpy() & ~data.not_measured.to_numpy()).sum()),
    )
    table.extra["qpcr_data"] = data
    table.extra["replicates"] = data.replicates
    table.extra["qpcr_format"] = data.format
    if len(paths) > 1:
        table.extra["plates"] = "; ".join(str(p) for p in paths)
        wells = data.wells[data.wells["sample"].astype(str).isin(set(cq.index))]
        per_plate = wells.groupby("plate", sort=False)["sample"].nunique()
        table.extra["plate_samples"] = "; ".join(f"{plate}: {int(n)} samples" for plate, n in per_plate.items())
    if calibrator:
        table.extra["calibrator"] = calibrator if isinstance(calibrator, str) else "; ".join(calibrator)
    return table
