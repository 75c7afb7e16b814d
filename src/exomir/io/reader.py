"""The one way in: :func:`read` turns an expression file (and a clinical table) into a Cohort.

``read`` recognizes the expression file's format (``.h5ad``; a TCGA table; qPCR instrument
exports, one per plate; a GEO series matrix; a plain CSV/TSV table), joins a clinical table on
the sample ID and returns a Cohort (``anndata.AnnData``) whose ``uns["exomir"]["source"]`` says
what was read and decided (paths, orientation, measure and why, non-detects, the join) and whose
``uns["exomir"]["excluded"]`` lists everything left out, with the reason.
:func:`read_expression` is the same recognition for the formats that give an
:class:`~exomir.io.tables.ExpressionTable` (no clinical join, no Cohort).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import logging
from pathlib import Path

import anndata as ad
import pandas as pd

from exomir.cohort import build_cohort, meta, record_exclusion
from exomir.errors import InputError
from exomir.io._names import warn_unresolved
from exomir.io.clinical import ClinicalTable, JoinReport, check_group, join_clinical, read_clinical
from exomir.io.geo import is_series_matrix, read_geo_series_matrix
from exomir.io.h5ad import read_h5ad
from exomir.io.qpcr import is_instrument_export, qpcr_table
from exomir.io.tables import MEASURE_CHOICES, ExpressionTable, read_table
from exomir.io.tcga import is_tcga_table, read_tcga_lihc, tcga_level

log = logging.getLogger(__name__)


def read(
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
        log.warning(f"{len(no_group)} sample(s) have no value in group column {group!r}: {', '.join(no_group[:10])}")
        for sample in no_group:
            record_exclusion(adata, "sample", sample, f"no value in group column {group!r}: left out of group comparisons")
    if group is not None:
        adata.obs[group] = adata.obs[group].astype("category")
    replicates = table.extra.get("replicates")
    if isinstance(replicates, pd.DataFrame):
        adata.uns["qpcr_replicates"] = replicates
    if annotate:
        warn_unresolved(adata)
    log.info(table.report().splitlines()[0])
    log.info(f"measure {table.measure}: {table.measure_reason}")
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


def read_expression(
    path: str | Path | Sequence[str | Path],
    *,
    measure: str = "auto",
    orientation: str = "auto",
    delimiter: str | None = None,
    calibrator: str | Sequence[str] | None = None,
    lod: float = 35.0,
) -> ExpressionTable:
    """Read an expression table (counts, Cq or log values) into samples × miRNAs.

    ``orientation`` is ``auto``, ``rows`` (miRNAs are rows) or ``columns``. qPCR instrument
    exports and GEO series matrices are recognized and handed to their own readers.
    Several paths are read as the plates of one qPCR study (each must be an instrument export);
    ``calibrator`` names the inter-plate calibrator sample(s) of qPCR exports; ``lod`` is their limit
    of detection (replicate wells above it are non-detects).
    """
    if not isinstance(path, (str, Path)):
        paths = [Path(p) for p in path]
        if not paths:
            raise InputError("no expression file given")
        if len(paths) > 1:
            return _read_plates(paths, measure, calibrator, lod)
        path = paths[0]
    path = Path(path)
    if measure not in MEASURE_CHOICES:
        raise InputError(f"unknown measure {measure!r}", expected=" / ".join(MEASURE_CHOICES))
    if orientation not in ("auto", "rows", "columns"):
        raise InputError(f"unknown orientation {orientation!r}", expected="auto / rows / columns")
    if not path.exists():
        raise InputError("file not found", path=path)
    if _is_instrument_export(path):
        return qpcr_table([path], measure, calibrator, lod)
    if calibrator:
        raise InputError("an inter-plate calibrator applies to qPCR instrument exports; this file is a table",
                         path=path, expected="a QuantStudio/7500, CFX, LightCycler or long Cq export")
    if is_series_matrix(path):
        return read_geo_series_matrix(path, measure=measure).expression
    return read_table(path, measure=measure, orientation=orientation, delimiter=delimiter)


def _is_instrument_export(path: Path) -> bool:
    """Whether the qPCR reader claims the file (an unreadable file says so; an odd table does not)."""
    try:
        return bool(is_instrument_export(path))
    except InputError:
        raise
    except Exception:  # a detector that trips over an ordinary table should not block reading it
        return False


def _read_plates(paths: list[Path], measure: str, calibrator: str | Sequence[str] | None,
                 lod: float = 35.0) -> ExpressionTable:
    """Several files: the plates of one qPCR study, merged by the qPCR reader."""
    for path in paths:
        if not path.exists():
            raise InputError("file not found", path=path)
        if not _is_instrument_export(path):
            raise InputError(
                "several expression files are read as the plates of one qPCR study, and this file is not a "
                "qPCR instrument export", path=path,
                expected="one expression table, or several QuantStudio/7500, CFX, LightCycler or long Cq exports",
            )
    return qpcr_table(paths, measure, calibrator, lod)
