"""The transfer network (the review's Fig. 1 as data).

Nodes are cells, miRNAs, genes, pathways and hallmarks. Edges:
``cell → miRNA`` (secretes), ``miRNA → cell`` (delivered to), ``miRNA → gene`` (targets or
regulates), ``gene → pathway``, ``pathway → hallmark``; when a record names no gene the miRNA
links straight to its pathway, and with no pathway the chain goes on to the hallmark. Every edge
lists the records (and references) behind it, so each arrow can be traced to a claim.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pandas as pd

from exomir.atomic import atomic_open, atomic_path
from exomir.kb.vocab import Cell, Hallmark, Pathway, coerce

KINDS = ("cell", "mirna", "gene", "pathway", "hallmark")


def _split(value) -> list[str]:
    return [v for v in str(value or "").split(";") if v]


def _label(kind: str, key: str) -> str:
    if kind == "cell":
        return Cell(key).label
    if kind == "pathway":
        return Pathway(key).label
    if kind == "hallmark":
        return Hallmark(key).label
    return key


def filter_records(table: pd.DataFrame, *, hallmark: str | None = None, cell: str | None = None) -> pd.DataFrame:
    """Records with the given hallmark and/or cell (parental or recipient)."""
    keep = pd.Series(True, index=table.index)
    if hallmark:
        code = str(coerce(Hallmark, hallmark))
        keep &= table["hallmark"].map(lambda v: code in _split(v))
    if cell:
        code = str(coerce(Cell, cell))
        keep &= (table["parental_cell"] + ";" + table["recipient_cell"]).map(lambda v: code in _split(v))
    return table[keep]


def build_network(table: pd.DataFrame, *, hallmark: str | None = None, cell: str | None = None) -> nx.DiGraph:
    """A directed graph of the evidence table (optionally only records with a hallmark / cell)."""
    table = filter_records(table, hallmark=hallmark, cell=cell)
    graph = nx.DiGraph(name="exomir transfer network")
    for _, rec in table.iterrows():
        if rec["marker_type"] != "mirna":
            continue
        mirna_key = rec["name"] or rec["mirna"]
        mirna = _node(graph, "mirna", mirna_key, rec)
        graph.nodes[mirna]["mimat"] = rec["mimat"]
        for c in _split(rec["parental_cell"]):
            _edge(graph, _node(graph, "cell", c, rec), mirna, "secretes", rec)
        for c in _split(rec["recipient_cell"]):
            _edge(graph, mirna, _node(graph, "cell", c, rec), "delivered_to", rec)
        genes = [("targets", g) for g in _split(rec["target"])] + [("regulates", g) for g in _split(rec["regulates"])]
        pathways = [_node(graph, "pathway", p, rec) for p in _split(rec["pathway"])]
        hallmarks = [_node(graph, "hallmark", h, rec) for h in _split(rec["hallmark"])]
        gene_nodes = []
        for kind, g in genes:
            node = _node(graph, "gene", g, rec)
            gene_nodes.append(node)
            _edge(graph, mirna, node, kind, rec)
        upstream = gene_nodes or [mirna]
        for p in pathways:
            for u in upstream:
                _edge(graph, u, p, "in_pathway" if u != mirna else "acts_on", rec)
        for h in hallmarks:
            for u in (pathways or upstream):
                _edge(graph, u, h, "drives", rec)
    for _, data in graph.nodes(data=True):
        data["records"] = ";".join(data.pop("_records"))
    for _, _, data in graph.edges(data=True):
        data["records"] = ";".join(data.pop("_records"))
        data["references"] = ";".join(sorted(data.pop("_refs"), key=int))
    return graph


def _node(graph: nx.DiGraph, kind: str, key: str, rec: pd.Series) -> str:
    node = f"{kind}:{key}"
    if node not in graph:
        graph.add_node(node, kind=kind, label=_label(kind, key), _records=[])
    if rec["id"] not in graph.nodes[node]["_records"]:
        graph.nodes[node]["_records"].append(rec["id"])
    return node


def _edge(graph: nx.DiGraph, u: str, v: str, kind: str, rec: pd.Series) -> None:
    if not graph.has_edge(u, v):
        graph.add_edge(u, v, kind=kind, _records=[], _refs=set())
    data = graph.edges[u, v]
    if rec["id"] not in data["_records"]:
        data["_records"].append(rec["id"])
    data["_refs"].update(_split(rec["reference_numbers"]))


def transfer_edges(graph: nx.DiGraph) -> set[tuple[str, str, str]]:
    """(parental cell, miRNA, recipient cell) triples asserted by a single record."""
    out = set()
    for mirna, data in graph.nodes(data=True):
        if data["kind"] != "mirna":
            continue
        for parent in graph.predecessors(mirna):
            if graph.nodes[parent]["kind"] != "cell":
                continue
            for child in graph.successors(mirna):
                if graph.nodes[child]["kind"] != "cell":
                    continue
                shared = set(_split(graph.edges[parent, mirna]["records"])) & set(_split(graph.edges[mirna, child]["records"]))
                if shared:
                    out.add((parent.split(":", 1)[1], mirna.split(":", 1)[1], child.split(":", 1)[1]))
    return out


def write_graphml(graph: nx.DiGraph, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        nx.write_graphml(graph, tmp, encoding="utf-8", prettyprint=True)


def cytoscape_json(graph: nx.DiGraph) -> dict:
    """Cytoscape.js / Cytoscape desktop JSON (``elements.nodes`` / ``elements.edges``)."""
    data = nx.cytoscape_data(graph)
    for node in data["elements"]["nodes"]:
        node["data"]["name"] = node["data"].get("label", node["data"]["id"])
    for i, edge in enumerate(data["elements"]["edges"]):
        edge["data"]["id"] = f"e{i}"
        edge["data"]["interaction"] = edge["data"].get("kind", "")
    return data


def write_cytoscape(graph: nx.DiGraph, path: str | Path) -> None:
    with atomic_open(path, "w") as handle:
        json.dump(cytoscape_json(graph), handle, indent=1, ensure_ascii=False)
        handle.write("\n")
