"""The knowledge base of exosomal miRNA evidence in HCC.

* Curated claims live in human-readable files (``exomir/kb/evidence/review.yaml``; labs add their
  own in the same form) and are validated against :class:`EvidenceRecord`.
* :func:`load_store` builds them into SQLite on first use; :class:`KnowledgeBase` answers
  queries by miRNA (any name form), target, cell, pathway, hallmark and clinical role.
* :func:`conflicts`, :func:`evidence_for` (for the analysis), :func:`build_network` (the transfer
  network) and the external tables (:func:`load_mirtarbase`, :func:`load_hmdd`, :func:`read_gmt`).
"""

from __future__ import annotations

import pandas as pd

from exomir.kb.evidence import evidence_for
from exomir.kb.external import ExternalTable, hmdd_for, load_hmdd, load_mirtarbase, targets_of
from exomir.kb.genesets import GeneSet, load_gene_sets, read_gmt
from exomir.kb.network import build_network, cytoscape_json, transfer_edges, write_cytoscape, write_graphml
from exomir.kb.schema import EXPORT_COLUMNS, EvidenceRecord, Metrics, Reference
from exomir.kb.sources import read_evidence
from exomir.kb.store import KnowledgeBase, import_lab_file, load_store
from exomir.kb.vocab import Biofluid, Cell, ClinicalRole, Direction, Hallmark, Pathway


def search(mirna: str | None = None, **filters) -> pd.DataFrame:
    """Records of the default store matching the filters (see :meth:`KnowledgeBase.search`)."""
    return load_store().search(mirna, **filters)


def show(name: str) -> pd.DataFrame:
    """Every claim about one miRNA (any name form)."""
    return load_store().show(name)


def conflicts() -> pd.DataFrame:
    """Conflicting claims of the default store."""
    return load_store().conflicts()


def evidence_table() -> pd.DataFrame:
    """The whole evidence table (GUIDE §4 columns)."""
    return load_store().table()


__all__ = [
    "EXPORT_COLUMNS", "Biofluid", "Cell", "ClinicalRole", "Direction", "EvidenceRecord", "ExternalTable", "GeneSet",
    "Hallmark", "KnowledgeBase", "Metrics", "Pathway", "Reference", "build_network", "conflicts", "cytoscape_json",
    "evidence_for", "evidence_table", "hmdd_for", "import_lab_file", "load_gene_sets", "load_hmdd", "load_mirtarbase",
    "load_store", "read_evidence", "read_gmt", "search", "show", "targets_of", "transfer_edges",
    "write_cytoscape", "write_graphml",
]
