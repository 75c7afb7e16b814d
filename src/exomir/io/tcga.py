"""TCGA miRNA-seq (precursor level) and clinical survival files, as published for TCGA-LIHC.

A TCGA aliquot barcode such as ``TCGA-2V-A95S-01A-11R-A37G-13`` reads: project ``TCGA``,
tissue source site ``2V``, participant ``A95S`` (the first 12 characters name the patient),
then the sample type (characters 14–15: ``01`` primary tumour, ``02`` recurrent tumour,
``11`` solid tissue normal…) and vial. The clinical table has one row per patient and is joined
on the patient, so a patient's tumour and normal samples carry the same survival columns.

Survival columns: ``OS_days``, ``OS_event`` (1 = died), ``new_tumor_event_days`` (first new
tumour event after treatment, a recurrence proxy) and the derived ``recurrence_event`` (1 when
a new tumour event is recorded) with ``recurrence_days`` (its time, else the last follow-up).
"""

from __future__ import annotations

import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from exomir.cohort import build_cohort, record_exclusion
from exomir.errors import InputError
from exomir.io._names import warn_unresolved
from exomir.io._text import read_rows
from exomir.io.clinical import read_clinical
from exomir.io.tables import table_from_rows
from exomir.progress import info, warn

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
            warn(f"{len(missing)} TCGA patient(s) have no clinical row: {', '.join(missing[:10])}")
    obs["patient"] = obs["patient"].astype(str)

    measure = "counts" if level == "counts" else "log"
    adata = build_cohort(values, measure, obs=obs, source=source, annotate=annotate, level="precursor")
    if level == "rpm":
        adata.layers["rpm"] = rpm.to_numpy(dtype=np.float64)
    if annotate:
        warn_unresolved(adata)
    for item in table.excluded:
        record_exclusion(adata, item["what"], item["item"], item["reason"])
    for patient in dropped_patients:
        record_exclusion(adata, "clinical row", patient, "patient has no miRNA-seq sample")
    n_t = int((obs["tissue"] == "tumour").sum())
    n_n = int((obs["tissue"] == "normal").sum())
    info(f"TCGA-LIHC: {adata.n_obs} samples ({n_t} tumour, {n_n} normal) × {adata.n_vars} precursors ({level})")
    return adata


def _join_patients(obs: pd.DataFrame, clinical: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Add the patient's clinical columns to each sample; derive the recurrence endpoint."""
    clinical = clinical.copy()
    if "new_tumor_event_days" in clinical.columns and "OS_days" in clinical.columns:
        recurrence = clinical["new_tumor_event_days"].notna()
        clinical["recurrence_event"] = recurrence.astype(int)
        clinical["recurrence_days"] = clinical["new_tumor_event_days"].where(recurrence, clinical["OS_days"])
    patients = obs["patient"]
    joined = clinical.reindex(patients.to_numpy())
    joined.index = obs.index
    overlap = [c for c in joined.columns if c in obs.columns]
    joined = joined.drop(columns=overlap)
    missing = sorted(set(patients) - set(clinical.index))
    dropped = sorted(set(clinical.index) - set(patients))
    return pd.concat([obs, joined], axis=1), missing, dropped
