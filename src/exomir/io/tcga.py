"""TCGA miRNA-seq (precursor level) and clinical survival files, as published for TCGA-LIHC.

A TCGA aliquot barcode such as ``TCGA-2V-A95S-01A-11R-A37G-13`` reads: project ``TCGA``,
tissue source site ``2V``, participant ``A95S`` (the first 12 characters name the patient),
then the sample type (characters 14–15: ``01`` primary tumour, ``02`` recurrent tumour,
``11`` solid tissue normal…) and vial. The clinical table has one row per patient and is joined
on the patient, so a patient's tumour and normal samples carry the same survival columns.

Survival columns: ``OS_days``, ``OS_event`` (1 = died), ``new_tumor_event_days`` (first new
tumour event after treatment, a recurrence proxy) and the derived ``recurrence_event`` (1 when
a new tumour event is recorded) with ``recurrence_days`` (its time, else the last follow-up).
Stage: ``stage_group`` (``early`` for stages I-II, ``late`` for III-IV) and ``stage_number``
(1-4, for trend tests) are derived from ``pathologic_stage``.

``exomir analyze`` reads these files directly (:func:`is_tcga_table`); its survival analysis then
uses the primary tumours, one per patient (:func:`prognosis_samples`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from exomir.cohort import build_cohort, meta, record_exclusion
from exomir.errors import InputError
from exomir.io._names import warn_unresolved
from exomir.io.text import read_rows
from exomir.io.clinical import read_clinical
from exomir.io.tables import table_from_rows
from exomir.io.text import open_text

log = logging.getLogger(__name__)

SAMPLE_TYPES = {
    "01": ("Primary Solid Tumor", "tumour"),
    "02": ("Recurrent Solid Tumor", "tumour"),
    "03": ("Primary Blood Derived Cancer", "tumour"),
    "05": ("Additional - New Primary", "tumour"),
    "06": ("Metastatic", "tumour"),
    "10": ("Blood Derived Normal", "normal"),
    "11": ("Solid Tissue Normal", "normal"),
}
_BARCODE = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}-\d{2}")
PRECURSOR_CAVEAT = (
    "TCGA values are counted per precursor (hairpin, e.g. hsa-mir-21), not per mature miRNA: "
    "a hairpin gives a 5p and a 3p product, and paralogous hairpins (hsa-let-7a-1/-2/-3) give the same "
    "mature miRNA, so names resolve as precursors (status ambiguous) and compare to mature-level "
    "serum data only with care"
)


def is_tcga_table(path: str | Path) -> bool:
    """Whether an expression file has TCGA aliquot barcodes as its sample columns."""
    try:
        with open_text(Path(path)) as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError, InputError):
        return False
    fields = [f.strip().strip('"') for f in re.split(r"[,\t]", header.rstrip("\r\n"))][1:]
    return bool(fields) and all(_BARCODE.match(f) for f in fields)


def tcga_level(path: str | Path, measure: str = "auto") -> str:
    """``rpm`` for reads-per-million files (by name or ``--measure log``), else ``counts``."""
    if measure == "log" or "rpm" in Path(path).name.lower():
        return "rpm"
    return "counts"


def prognosis_samples(obs: pd.DataFrame) -> tuple[np.ndarray, dict[str, str]]:
    """Primary tumours (sample type 01), the first aliquot of each patient in barcode order:
    (mask, {left-out barcode: reason}). Normal tissue and second aliquots would count a
    patient's follow-up twice."""
    barcodes = obs["barcode"].astype(str) if "barcode" in obs else pd.Series(obs.index.astype(str), index=obs.index)
    keep = np.zeros(len(obs), dtype=bool)
    reasons: dict[str, str] = {}
    seen: set[str] = set()
    for i in np.argsort(barcodes.to_numpy(), kind="stable"):
        barcode = barcodes.iloc[i]
        code, patient = barcode[13:15], barcode[:12]
        if code != "01":
            reasons[barcode] = f"TCGA sample type {code} ({SAMPLE_TYPES.get(code, ('other',))[0]}): survival uses primary tumours"
        elif patient in seen:
            reasons[barcode] = f"second primary-tumour aliquot of {patient}: survival uses one per patient"
        else:
            seen.add(patient)
            keep[i] = True
    return keep, reasons


def parse_barcode(barcode: str) -> dict[str, str]:
    """Patient, sample type code and label, and tissue (tumour/normal) of a TCGA barcode."""
    if not _BARCODE.match(barcode):
        raise InputError(f"{barcode!r} is not a TCGA sample barcode", expected="TCGA-XX-XXXX-NN…")
    patient = barcode[:12]
    code = barcode[13:15]
    label, tissue = SAMPLE_TYPES.get(code, (f"sample type {code}", "other"))
    return {"patient": patient, "sample_type_code": code, "sample_type": label, "tissue": tissue}


def read_tcga_lihc(
    counts_path: str | Path,
    clinical_path: str | Path | None = None,
    *,
    level: str = "counts",
    annotate: bool = True,
) -> ad.AnnData:
    """Read TCGA-LIHC precursor miRNA-seq (``counts`` or ``rpm``) and join patient survival.

    ``level="counts"`` keeps the read counts (measure ``counts``); ``level="rpm"`` stores
    log2(RPM + 1) as ``log`` with the RPM values in ``layers["rpm"]``.
    """
    if level not in ("counts", "rpm"):
        raise InputError(f"unknown level {level!r}", expected="counts or rpm")
    counts_path = Path(counts_path)
    rows = read_rows(counts_path, what="TCGA miRNA table")
    for number, barcode in enumerate(rows.header[1:], start=2):
        if not _BARCODE.match(barcode):
            raise InputError(
                f"{barcode!r} is not a TCGA sample barcode",
                path=counts_path,
                line=rows.header_line,
                column=number,
                expected="sample columns named by TCGA barcodes (TCGA-XX-XXXX-NN…)",
            )
    table = table_from_rows(rows, measure="counts" if level == "counts" else "log", orientation="rows")
    table.orientation_reason = "TCGA layout: precursors as rows, aliquot barcodes as columns"
    values = table.values
    if level == "rpm":
        if (values.to_numpy() < 0).any():
            raise InputError("negative reads-per-million value", path=counts_path, expected="RPM ≥ 0")
        rpm = values
        values = np.log2(rpm + 1.0)
        table.measure_reason = "reads per million: stored as log2(RPM + 1)"
    obs = pd.DataFrame([parse_barcode(b) for b in values.index], index=values.index)
    obs.insert(0, "barcode", values.index.to_numpy())

    source = table.source()
    source["measure"] = "counts" if level == "counts" else "log"
    source.update({"dataset": "TCGA-LIHC", "level": level, "feature_level": "precursor", "caveat": PRECURSOR_CAVEAT})
    dropped_patients: list[str] = []
    if clinical_path is not None:
        clinical = read_clinical(clinical_path, sample_column="patient")
        obs, missing, dropped_patients = _join_patients(obs, clinical.frame)
        source.update(clinical.source())
        source["patients_without_clinical"] = missing
        source["clinical_patients_without_samples"] = dropped_patients
        if missing:
            log.warning(f"{len(missing)} TCGA patient(s) have no clinical row: {', '.join(missing[:10])}")
    obs["patient"] = obs["patient"].astype(str)

    measure = "counts" if level == "counts" else "log"
    adata = build_cohort(values, measure, obs=obs, source=source, annotate=annotate, level="precursor")
    if level == "rpm":
        adata.layers["rpm"] = rpm.to_numpy(dtype=np.float64)
    if clinical_path is not None:
        # a sample's clinical row is its patient's line
        meta(adata)["clinical_lines"] = {b: clinical.lines[p] for b, p in zip(obs.index, obs["patient"])
                                         if p in clinical.lines}
    if annotate:
        warn_unresolved(adata)
    for item in table.excluded:
        record_exclusion(adata, item["what"], item["item"], item["reason"])
    for patient in dropped_patients:
        record_exclusion(adata, "clinical row", patient, "patient has no miRNA-seq sample")
    n_t = int((obs["tissue"] == "tumour").sum())
    n_n = int((obs["tissue"] == "normal").sum())
    log.info(f"TCGA-LIHC: {adata.n_obs} samples ({n_t} tumour, {n_n} normal) × {adata.n_vars} precursors ({level})")
    return adata


def _join_patients(obs: pd.DataFrame, clinical: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Add the patient's clinical columns to each sample; derive the recurrence endpoint."""
    clinical = clinical.copy()
    if "new_tumor_event_days" in clinical.columns and "OS_days" in clinical.columns:
        recurrence = clinical["new_tumor_event_days"].notna()
        clinical["recurrence_event"] = recurrence.astype(int)
        clinical["recurrence_days"] = clinical["new_tumor_event_days"].where(recurrence, clinical["OS_days"])
    if "pathologic_stage" in clinical.columns:
        clinical["stage_group"], clinical["stage_number"] = _stage_columns(clinical["pathologic_stage"])
    patients = obs["patient"]
    joined = clinical.reindex(patients.to_numpy())
    joined.index = obs.index
    overlap = [c for c in joined.columns if c in obs.columns]
    joined = joined.drop(columns=overlap)
    missing = sorted(set(patients) - set(clinical.index))
    dropped = sorted(set(clinical.index) - set(patients))
    return pd.concat([obs, joined], axis=1), missing, dropped


_STAGE = re.compile(r"^stage\s+(iv|iii|ii|i)[abc]?$", re.IGNORECASE)


def _stage_columns(stage: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``early`` (I-II) / ``late`` (III-IV) and the stage number 1-4; other values stay missing."""
    number = pd.Series(np.nan, index=stage.index)
    for key, text in stage.items():
        match = _STAGE.match(str(text).strip()) if isinstance(text, str) else None
        if match:
            number[key] = {"i": 1, "ii": 2, "iii": 3, "iv": 4}[match.group(1).lower()]
    group = pd.Series(pd.NA, index=stage.index, dtype="object")
    group[number <= 2] = "early"
    group[number >= 3] = "late"
    return group, number
