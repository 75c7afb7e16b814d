"""Readers and writers: expression tables, clinical tables, GEO, TCGA, qPCR exports and ``.h5ad``.

:func:`read` is the front door (:mod:`exomir.io.reader`): it reads an expression file (CSV/TSV
table, qPCR instrument exports, GEO series matrix, TCGA table or ``.h5ad``), joins a clinical
table on the sample ID and returns a Cohort (``anndata.AnnData``) whose
``uns["exomir"]["source"]`` says what was read and decided and whose ``uns["exomir"]["excluded"]``
lists everything left out, with the reason. The format readers below it stay available.
"""

from __future__ import annotations

from exomir.io.clinical import ClinicalTable, JoinReport, join_clinical, read_clinical
from exomir.io.geo import SeriesMatrix, is_series_matrix, read_geo_series_matrix
from exomir.io.h5ad import read_h5ad, write_h5ad
from exomir.io.reader import read, read_expression
from exomir.io.tables import ExpressionTable, detect_orientation, read_table
from exomir.io.tcga import parse_barcode, read_tcga_lihc

__all__ = [
    "ClinicalTable",
    "ExpressionTable",
    "JoinReport",
    "SeriesMatrix",
    "detect_orientation",
    "is_series_matrix",
    "join_clinical",
    "parse_barcode",
    "read",
    "read_clinical",
    "read_expression",
    "read_geo_series_matrix",
    "read_h5ad",
    "read_table",
    "read_tcga_lihc",
    "write_h5ad",
]
