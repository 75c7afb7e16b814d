"""Readers and writers: expression tables, clinical tables, GEO, TCGA, qPCR exports and ``.h5ad``.

``load_cohort`` is the front door: it reads an expression file (CSV/TSV table, qPCR instrument
export, GEO series matrix or ``.h5ad``), joins a clinical table on the sample ID and returns a
Cohort (``anndata.AnnData``) whose ``uns["exomir"]["source"]`` says what was read and decided
(paths, orientation, measure and why, non-detects, the join) and whose
``uns["exomir"]["excluded"]`` lists everything left out, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import anndata as ad
import pandas as pd

from exomir.cohort import build_cohort, meta, record_exclusion
from exomir.errors import InputError
from exomir.io.clinical import ClinicalTable, JoinReport, check_group, join_clinical, read_clinical
from exomir.io._names import warn_unresolved
from exomir.io.geo import SeriesMatrix, is_series_matrix, read_geo_series_matrix
from exomir.io.h5ad import read_h5ad, write_h5ad
from exomir.io.tables import ExpressionTable, detect_orientation, read_expression
from exomir.io.tcga import is_tcga_table, parse_barcode, read_tcga_lihc, tcga_level
from exomir.progress import info, warn

__all__ = [
    "ClinicalTable",
    "ExpressionTable",
    "JoinReport",
    "SeriesMatrix",
    "detect_orientation",
    "is_series_matrix",
    "join_clinical",
    "load_cohort",
    "parse_barcode",
    "read_clinical",
    "read_expression",
    "read_geo_series_matrix",
    "read_h5ad",
    "read_tcga_lihc",
    "write_h5ad",
]


def load_cohort(
    expression: str | Path | Sequence[str | Path],
    clinical: str | Path | None = None,
    *,
    measure: str = "auto",
    sample_column: str | None = None,
    group: str | None = None,
    numeric: Iterable[str] = (),
    annotate: bool = True,
    calibrator: str | Sequence[str] | None = None,
    lod: float = 35.0,
    labels: Iterable[str] = (),
) -> ad.AnnData:
    """Read an expression file and (optionally) a clinical table into one Cohort.

    ``expression`` may list several qPCR instrument exports: the plates of one study, merged
    (``calibrator`` names the inter-plate calibrator sample(s)).
    ``group`` names the clinical column holding the diagnostic group; it must exist and be
    filled for at least one sample (samples without a group are named and recorded).
    ``numeric`` lists clinical columns that must be numbers (e.g. the AFP, time and event columns);
    ``labels`` lists columns kept as text whatever they hold (patient IDs written as digits).
    """
    paths = [Path(expression)] if isinstance(expression, (str, Path)) else [Path(p) for p in expression]
    if not paths:
        raise InputError("no expression file given")
    expression = paths[0]
    if len(paths) == 1 and expression.suffix.lower() == ".h5ad":
        adata = _load_h5ad(expression, clinical, sample_column=sample_column, group=group, numeric=numeric)
        stored = meta(adata).get("measure")
        if measure != "auto" and measure != stored:
            raise InputError(
                f"the Cohort holds {stored} values, not {measure}", path=expression, expected=f"measure auto or {stored}"
            )
        return adata

    if len(paths) == 1 and is_tcga_table(expression):
        # TCGA precursor tables join their clinical rows on the patient, not on the sample
        return read_tcga_lihc(expression, clinical, level=tcga_level(expression, measure))

    table = read_expression(paths, measure=measure, calibrator=calibrator, lod=lod)
    obs = table.sample_annotations.copy() if table.sample_annotations is not None else pd.DataFrame(index=table.values.index)
    source = table.source()
    clinical_table: ClinicalTable | None = None
    report: JoinReport | None = None
    if clinical is not None:
        clinical_table = read_clinical(
            clinical, sample_column=sample_column, numeric=numeric, text=[*([group] if group else []), *labels]
        )
        joined, report = join_clinical(table.samples, clinical_table, expression_path=expression)
        obs = _combine(obs, joined)
        source.update(clinical_table.source())
        source.update(report.source())
    no_group: list[str] = []
    if group is not None:
        no_group = check_group(obs, group, path=clinical_table.path if clinical_table else expression)
        source["group"] = group
    source["excluded_items"] = len(table.excluded) + (len(report.clinical_only) if report else 0) + len(no_group)

    qpcr_data = table.extra.get("qpcr_data")
    if qpcr_data is not None:
        # the qPCR reader's own Cohort records its replicate rules and exclusions
        adata = qpcr_data.to_cohort(obs=obs, annotate=annotate)
        meta(adata)["source"] = {**dict(meta(adata).get("source", {})), **source}
    else:
        adata = build_cohort(
            table.values, table.measure, obs=obs, var=table.feature_annotations, source=source, annotate=annotate
        )
        for item in table.excluded:
            record_exclusion(adata, item["what"], item["item"], item["reason"])
    if clinical_table is not None:  # so that later messages can name a sample's line
        meta(adata)["clinical_lines"] = {s: clinical_table.lines[s] for s in adata.obs_names if s in clinical_table.lines}
    if report is not None:
        for sample in report.clinical_only:
            line = clinical_table.lines.get(sample) if clinical_table else None
            record_exclusion(adata, "clinical row", sample, f"no expression data (clinical line {line})")
        for sample in report.expression_only:
            record_exclusion(adata, "sample clinical data", sample, "no row in the clinical table: clinical values missing")
    if no_group:
        warn(f"{len(no_group)} sample(s) have no value in group column {group!r}: {', '.join(no_group[:10])}")
        for sample in no_group:
            record_exclusion(adata, "sample", sample, f"no value in group column {group!r}: left out of group comparisons")
    if group is not None:
        adata.obs[group] = adata.obs[group].astype("category")
    replicates = table.extra.get("replicates")
    if isinstance(replicates, pd.DataFrame):
        adata.uns["qpcr_replicates"] = replicates
    if annotate:
        warn_unresolved(adata)
    info(table.report().splitlines()[0])
    info(f"measure {table.measure}: {table.measure_reason}")
    return adata


def _combine(annotations: pd.DataFrame, clinical: pd.DataFrame) -> pd.DataFrame:
    """Clinical columns beside per-sample annotations from the expression file (clinical wins)."""
    keep = [c for c in annotations.columns if c not in clinical.columns]
    return pd.concat([annotations[keep], clinical], axis=1)


def _load_h5ad(
    path: Path,
    clinical: str | Path | None,
    *,
    sample_column: str | None,
    group: str | None,
    numeric: Iterable[str],
) -> ad.AnnData:
    adata = read_h5ad(path)
    source = meta(adata).setdefault("source", {})
    source.setdefault("expression", str(path))
    if clinical is not None:
        table = read_clinical(clinical, sample_column=sample_column, numeric=numeric, text=[group] if group else [])
        joined, report = join_clinical(list(adata.obs_names), table, expression_path=path)
        adata.obs = _combine(adata.obs, joined)
        source.update(table.source())
        source.update(report.source())
        for sample in report.clinical_only:
            record_exclusion(adata, "clinical row", sample, f"no expression data (clinical line {table.lines.get(sample)})")
    if group is not None:
        no_group = check_group(adata.obs, group, path=Path(clinical) if clinical else path)
        for sample in no_group:
            record_exclusion(adata, "sample", sample, f"no value in group column {group!r}: left out of group comparisons")
        adata.obs[group] = adata.obs[group].astype("category")
        source["group"] = group
    if meta(adata).get("measure") is None:
        raise InputError("the .h5ad file does not say what its values are (uns['exomir']['measure'])", path=path)
    return adata
