"""Pathway over-representation of miRNA targets.

From a set of miRNAs (for example the differential hits) to their validated targets
(miRTarBase), then a one-sided hypergeometric test of each gene set (GMT: KEGG, MSigDB
hallmark) with Benjamini-Hochberg adjustment.

The background (universe) matters: by default it is every gene targeted by the
``background_mirnas`` — pass the miRNAs that were measured, so that a set is enriched relative
to what the assay could have found. Without ``background_mirnas`` the background is the
targets of every miRNA in the target table; ``background_genes`` replaces it outright.
Gene sets are restricted to the background before testing.

For a set S, with universe U, query genes Q (targets of the query miRNAs, within U):
``N = |U|``, ``K = |S ∩ U|``, ``n = |Q|``, ``k = |Q ∩ S|`` and ``p = P(X ≥ k)`` for
``X ~ Hypergeometric(N, K, n)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from exomir.errors import InputError
from exomir.stats.common import bh_adjust
from exomir.kb.external import ExternalTable, load_mirtarbase
from exomir.kb.genesets import GeneSet, load_gene_sets
from exomir.kb.naming import candidate_mimats, resolve_names

log = logging.getLogger(__name__)

COLUMNS = [
    "gene_set", "library", "set_size", "set_size_in_background", "overlap", "query_genes",
    "background_size", "expected", "fold_enrichment", "pvalue", "padj", "genes", "mirnas", "mirna_genes",
]


def hypergeometric_sf(k: np.ndarray, big_n: int, big_k: np.ndarray, n: int) -> np.ndarray:
    """P(X ≥ k) for X ~ Hypergeometric(population N, successes K, draws n), vectorized."""
    return stats.hypergeom.sf(np.asarray(k) - 1, big_n, np.asarray(big_k), n)


def _target_pairs(targets) -> tuple[pd.DataFrame, dict]:
    if targets is None or isinstance(targets, (str, Path)):
        table = load_mirtarbase(targets)
        return table.table, table.provenance
    if isinstance(targets, ExternalTable):
        return targets.table, targets.provenance
    if isinstance(targets, pd.DataFrame):
        missing = {"mimat", "gene"} - set(targets.columns)
        if missing:
            raise InputError(f"target table lacks column {sorted(missing)[0]!r}", expected="columns mirna, mimat, gene")
        return targets, {"database": "given table", "interactions": len(targets)}
    raise InputError("targets must be a path, a miRTarBase table or a DataFrame with mimat and gene columns")


def _gene_sets(gene_sets) -> tuple[dict, dict]:
    if gene_sets is None or isinstance(gene_sets, (str, Path)):
        return load_gene_sets(gene_sets or "kegg_2016")
    if isinstance(gene_sets, Mapping):
        sets = {name: gs if isinstance(gs, GeneSet) else GeneSet(name, "", frozenset(str(g).upper() for g in gs))
                for name, gs in gene_sets.items()}
        return sets, {"library": "given", "sets": len(sets)}
    raise InputError("gene_sets must be a GMT path, a known library name or a mapping of name → genes")


def _mimats(names: Iterable[str], role: str) -> tuple[dict[str, str], list[str]]:
    """accession → canonical name for ``names``; names that resolve to nothing are reported."""
    table = resolve_names(list(dict.fromkeys(names)))
    out: dict[str, str] = {}
    excluded: list[str] = []
    for _, row in table.iterrows():
        found = candidate_mimats(row)
        if not found:
            excluded.append(row["input"])
            continue
        if len(found) > 1:
            log.warning(f"{role} miRNA {row['input']!r} is ambiguous; all of {row['candidates']} are used")
        for cand in row["candidates"].split(";") if len(found) > 1 else [f"{found[0]}:{row['name']}"]:
            mimat, _, name = cand.partition(":")
            out[mimat] = name or mimat
    if excluded:
        log.warning(f"{len(excluded)} {role} miRNA name(s) match no miRBase accession and are left out: {', '.join(excluded)}")
    return out, excluded


def enrich_mirnas(
    mirnas: Iterable[str],
    *,
    background_mirnas: Iterable[str] | None = None,
    targets=None,
    gene_sets=None,
    background_genes: Iterable[str] | None = None,
    min_set_size: int = 5,
    max_set_size: int | None = None,
) -> pd.DataFrame:
    """Over-representation of the validated targets of ``mirnas`` in gene sets.

    ``targets``: miRTarBase file/table (default ``EXOMIR_MIRTARBASE`` or the official download);
    ``gene_sets``: GMT path, library name (``kegg_2016``, ``hallmark``) or mapping.
    Returns one row per tested set (COLUMNS), sorted by p-value; ``attrs`` holds the parameters,
    provenance and the names left out.
    """
    pairs, target_prov = _target_pairs(targets)
    sets, set_prov = _gene_sets(gene_sets)
    query, excluded = _mimats(mirnas, "query")
    if not query:
        raise InputError("none of the given miRNAs resolves to a miRBase accession")
    all_pairs = pairs
    pairs = pairs[pairs["mimat"].astype(str) != ""]
    if background_mirnas is not None:
        background, excluded_bg = _mimats(background_mirnas, "background")
        universe_pairs = pairs[pairs["mimat"].isin(set(background) | set(query))]
        background_note = f"targets of {len(set(background) | set(query))} given background miRNAs"
    else:
        excluded_bg = []
        universe_pairs = all_pairs  # incl. rows whose miRNA name matches no accession: their genes are real
        background_note = "targets of every miRNA in the target table"
    if background_genes is not None:
        universe = {str(g).upper() for g in background_genes}
        background_note = f"{len(universe)} given background genes"
    else:
        universe = set(universe_pairs["gene"].astype(str).str.upper())
    qpairs = pairs[pairs["mimat"].isin(query)].assign(gene=lambda f: f["gene"].astype(str).str.upper())
    qpairs = qpairs[qpairs["gene"].isin(universe)]
    query_genes = set(qpairs["gene"])
    no_targets = sorted(name for m, name in query.items() if m not in set(qpairs["mimat"]))
    if no_targets:
        log.warning(f"{len(no_targets)} query miRNA(s) have no validated target in the background: {', '.join(no_targets)}")
    big_n, n = len(universe), len(query_genes)

    names, libraries, sizes, big_k, overlaps = [], [], [], [], []
    for name in sorted(sets):
        gs = sets[name]
        in_bg = gs.genes & universe
        if len(in_bg) < min_set_size or (max_set_size is not None and len(in_bg) > max_set_size):
            continue
        names.append(name)
        libraries.append(gs.library or set_prov.get("library", ""))
        sizes.append(len(gs.genes))
        big_k.append(len(in_bg))
        overlaps.append(sorted(query_genes & in_bg))
    k = np.array([len(o) for o in overlaps], dtype=int)
    big_k_arr = np.array(big_k, dtype=int)
    pvalues = hypergeometric_sf(k, big_n, big_k_arr, n) if names else np.array([])
    padj = bh_adjust(pvalues)
    expected = big_k_arr * n / big_n if big_n else np.zeros(len(names))
    by_gene = qpairs.groupby("gene")["mimat"].apply(lambda s: sorted(set(s)))
    rows = []
    for i, name in enumerate(names):
        genes = overlaps[i]
        mirna_map: dict[str, list[str]] = {}
        for gene in genes:
            for m in by_gene.get(gene, []):
                mirna_map.setdefault(query[m], []).append(gene)
        rows.append({
            "gene_set": name, "library": libraries[i], "set_size": sizes[i], "set_size_in_background": big_k[i],
            "overlap": int(k[i]), "query_genes": n, "background_size": big_n, "expected": float(expected[i]),
            "fold_enrichment": float(k[i] / expected[i]) if expected[i] > 0 else np.nan,
            "pvalue": float(pvalues[i]), "padj": float(padj[i]), "genes": ";".join(genes),
            "mirnas": ";".join(sorted(mirna_map)),
            "mirna_genes": "; ".join(f"{m}: {','.join(g)}" for m, g in sorted(mirna_map.items())),
        })
    result = pd.DataFrame(rows, columns=COLUMNS).sort_values(["pvalue", "gene_set"], kind="stable").reset_index(drop=True)
    result.attrs.update({
        "background": background_note, "background_size": big_n, "query_mirnas": sorted(query.values()),
        "query_genes": n, "excluded_mirnas": excluded + excluded_bg, "mirnas_without_targets": no_targets,
        "min_set_size": min_set_size, "max_set_size": max_set_size, "targets": target_prov, "gene_sets": set_prov,
    })
    return result
