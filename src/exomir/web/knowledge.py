"""Knowledge-base views for the web app: one miRNA with its evidence, conflicts, targets, cells
and its neighbourhood in the transfer network; free-text search. Queries go to ``exomir.kb``."""

from __future__ import annotations

import math
from functools import lru_cache

import networkx as nx
import pandas as pd

from markupsafe import Markup

from exomir.kb.links import reference_html
from exomir.kb.links import reference_links as citation_links  # noqa: F401  (the templates' "links" filter)
from exomir.kb.network import KINDS
from exomir.identity import load_mirbase, resolver_for
from exomir.kb import load_mirtarbase
from exomir.kb.external import hmdd_for, load_hmdd
from exomir.kb.store import gene_symbol
from exomir.refdata import local_source

RECORD_FIELDS = ["id", "mirna", "name", "mimat", "marker_type", "direction", "comparison", "parental_cell",
                 "parental_detail", "recipient_cell", "recipient_detail", "target", "regulates", "pathway",
                 "hallmark", "tumour_role", "effect", "clinical_role", "biofluid", "sensitivity", "specificity",
                 "auc", "reference", "pmid", "doi", "source", "provenance"]  # fmt: skip
HCC = "Carcinoma, Hepatocellular"
MAX_HMDD_ROWS = 200
SEARCH_FILTERS = ("target", "cell", "pathway", "hallmark", "role", "direction")


def clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def records_json(frame: pd.DataFrame) -> list[dict]:
    cols = [c for c in RECORD_FIELDS if c in frame.columns]
    return [{c: clean(row[c]) for c in cols} for _, row in frame.iterrows()]


def reference_markup(record: dict) -> Markup:
    """A record's reference with its PMIDs/DOIs as links (escaped by :func:`exomir.kb.links.reference_html`)."""
    return Markup(reference_html(record))


def split(value) -> list[str]:
    return [v for v in str(value or "").split(";") if v]


def search(kb, q: str | None = None, **filters) -> pd.DataFrame:
    """Records matching ``q`` (a miRNA in any name form, a gene, or words of the claim) and every filter."""
    filters = {k: v for k, v in filters.items() if v}
    base = kb.search(None, **filters) if filters else kb.table()
    if not q or not q.strip():
        return base
    q = q.strip()
    ids: set[str] = set()
    try:
        ids |= set(kb.search(q)["id"])
    except Exception:  # noqa: BLE001 - a query that is not a miRNA name is still searched as text
        pass

    symbol = gene_symbol(q)
    needle = q.lower()
    text = (base["mirna"].astype(str) + " " + base["name"].astype(str) + " " + base["effect"].astype(str) + " "
            + base["target"].astype(str) + " " + base["regulates"].astype(str)).str.lower()  # fmt: skip
    genes = (base["target"].astype(str) + ";" + base["regulates"].astype(str)).map(split)
    hit = base["id"].isin(ids) | text.str.contains(needle, regex=False) | genes.map(lambda g: symbol in g)
    return base[hit].reset_index(drop=True)


def mirna_names(kb) -> list[dict]:
    """Every miRNA of the knowledge base with its number of records, by name."""
    table = kb.table()
    table = table[table["marker_type"] == "mirna"]
    label = table["name"].where(table["name"].astype(bool), table["mirna"])
    counts = label.value_counts()
    return [{"name": n, "records": int(counts[n]), "mimat": str(table.loc[label == n, "mimat"].iloc[0] or "")}
            for n in sorted(counts.index, key=lambda s: s.lower())]  # fmt: skip


def neighbourhood(graph: nx.DiGraph, names: list[str]) -> dict:
    """The miRNA's cells, genes, pathways and hallmarks: nodes reached from it (and its source
    cells), with positions for a small left-to-right drawing."""
    centres = [f"mirna:{n}" for n in names if f"mirna:{n}" in graph]
    keep: set[str] = set(centres)
    frontier = list(centres)
    while frontier:  # downstream of the miRNA, without passing through a cell to other miRNAs
        node = frontier.pop()
        for nxt in graph.successors(node):
            if nxt not in keep:
                keep.add(nxt)
                if graph.nodes[nxt]["kind"] != "cell":
                    frontier.append(nxt)
    for c in centres:
        keep |= {p for p in graph.predecessors(c) if graph.nodes[p]["kind"] == "cell"}
    sub = graph.subgraph(keep)
    cells = {n for n in keep if graph.nodes[n]["kind"] == "cell"}
    edges = [(u, v, d) for u, v, d in sub.edges(data=True) if not (u in cells and v not in centres)]
    columns: dict[int, list[str]] = {}
    for n, d in sub.nodes(data=True):
        kind = d["kind"]
        if kind == "cell":
            col = 0 if any(sub.has_edge(n, c) for c in centres) else 2
        else:
            col = {"mirna": 1, "gene": 2, "pathway": 3, "hallmark": 4}[kind]
        columns.setdefault(col, []).append(n)
    pos = {}
    height = max((len(v) for v in columns.values()), default=1)
    for col, nodes in columns.items():
        nodes.sort(key=lambda n: (sub.nodes[n]["kind"], sub.nodes[n]["label"].lower()))
        for i, n in enumerate(nodes):
            pos[n] = (90 + col * 190, 30 + (i + 0.5) * (height * 34) / len(nodes))
    nodes = [{"id": n, "kind": d["kind"], "label": d["label"], "x": round(pos[n][0], 1), "y": round(pos[n][1], 1)}
             for n, d in sorted(sub.nodes(data=True))]  # fmt: skip
    edge_list = [{"source": u, "target": v, "kind": d["kind"], "records": split(d.get("records")),
                  "x1": pos[u][0], "y1": pos[u][1], "x2": pos[v][0], "y2": pos[v][1]} for u, v, d in sorted(edges, key=lambda e: (e[0], e[1]))]  # fmt: skip
    return {"nodes": nodes, "edges": edge_list, "width": 90 + 4 * 190 + 120, "height": 30 + height * 34 + 20,
            "kinds": list(KINDS)}  # fmt: skip


@lru_cache(maxsize=1)
def _mirtarbase(path: str):
    return load_mirtarbase(path)


def validated_targets(mimats: list[str]) -> dict:
    """miRTarBase targets of the accessions when a local copy is configured (never downloaded here)."""
    path = local_source(None, "EXOMIR_MIRTARBASE")
    if path is None:
        return {"available": False, "note": "miRTarBase not configured on this server (EXOMIR_MIRTARBASE)", "genes": []}
    table = _mirtarbase(str(path))
    hits = table.table[table.table["mimat"].isin(mimats)]
    genes = sorted(set(hits["gene"].astype(str)))
    release = str(table.provenance.get("release", "") or "not stated")
    note = "miRTarBase (release not stated by the file)" if release == "not stated" else f"miRTarBase ({release})"
    return {"available": True, "note": note, "genes": genes}


def _mirbase():
    """The configured miRBase release (never downloaded by the web app), or None."""
    folder = local_source(None, "EXOMIR_MIRBASE")
    if folder is None:
        return None

    return load_mirbase(folder)


def hmdd_view(mimats: list[str]) -> dict:
    """HMDD miRNA–disease associations of the accessions: HCC rows in full, other diseases counted."""
    path = local_source(None, "EXOMIR_HMDD")
    if path is None or _mirbase() is None:
        return {"available": False, "note": "HMDD not configured on this server", "hcc": [], "n_total": 0,
                "other_diseases": []}  # fmt: skip

    table = load_hmdd(path)
    rows = pd.concat([hmdd_for(table, m, disease=None) for m in mimats]).drop_duplicates() if mimats else table.table.iloc[:0]
    hcc = rows[rows["disease"].str.lower().str.startswith(HCC.lower())]
    others = rows.loc[~rows.index.isin(hcc.index), "disease"].value_counts()
    hcc_rows = [{k: clean(r[k]) for k in ("mir", "disease", "pmid", "description", "evidence", "direction")}
                for _, r in hcc.sort_values(["evidence", "pmid"]).head(MAX_HMDD_ROWS).iterrows()]  # fmt: skip
    return {"available": True, "note": f"HMDD ({table.provenance.get('release', '')})", "hcc": hcc_rows,
            "n_hcc": len(hcc), "n_total": len(rows),
            "other_diseases": [{"disease": d, "n": int(n)} for d, n in others.head(15).items()]}  # fmt: skip


def identity_view(name: str) -> dict:
    """A miRNA outside the curated set: its miRBase identity, miRTarBase targets and HMDD
    associations. Without a miRBase identity (a made-up name), ``names`` is empty and ``why`` says so."""
    mirbase = _mirbase()
    if mirbase is None:
        return {"names": [], "why": f"the knowledge base holds no evidence about {name!r} (and miRBase is not "
                                    "configured on this server, so the name cannot be checked)"}  # fmt: skip

    hit = resolver_for(mirbase).resolve_one(name)
    if hit.status not in ("exact", "alias") or not hit.mimat.startswith("MIMAT") or not hit.name.startswith("hsa-"):
        extra = f"; did you mean {hit.candidates.replace(';', ', ')}?" if hit.status == "ambiguous" and hit.candidates else ""
        return {"names": [], "why": f"{name!r} is not a human mature miRNA of miRBase {mirbase.release}, and the "
                                    f"knowledge base holds no evidence about it{extra}"}  # fmt: skip
    return {
        "query": name,
        "curated": False,
        "identity": {"mimat": hit.mimat, "name": hit.name, "sequence": hit.sequence, "status": hit.status,
                     "precursor": hit.precursor, "note": hit.note, "mirbase_release": mirbase.release},
        "hmdd": hmdd_view([hit.mimat]),
        "names": [hit.name],
        "mimats": [hit.mimat],
        "records": [],
        "directions": {},
        "conflicts": [],
        "targets": {"review": [], "regulates": [], "validated": validated_targets([hit.mimat])},
        "cells": {"parental": [], "recipient": []},
        "hallmarks": [],
        "pathways": [],
        "network": {"nodes": [], "edges": [], "width": 0, "height": 0, "kinds": list(KINDS)},
    }


def graphml(graph: nx.DiGraph) -> str:
    """The network as GraphML text, nodes and edges in a fixed order (same store, same bytes)."""
    ordered = nx.DiGraph()
    for n, d in sorted(graph.nodes(data=True)):
        ordered.add_node(n, **{k: v if isinstance(v, (str, int, float)) else str(v) for k, v in sorted(d.items())})
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        ordered.add_edge(u, v, **{k: x if isinstance(x, (str, int, float)) else str(x) for k, x in sorted(d.items())})
    return '<?xml version="1.0" encoding="utf-8"?>\n' + "\n".join(nx.generate_graphml(ordered)) + "\n"


def mirna_view(kb, graph: nx.DiGraph, name: str) -> dict | None:
    """Everything the knowledge base holds about one miRNA, or None when it holds nothing."""
    frame = kb.show(name)
    if frame.empty:
        return None
    names = sorted({str(n or m) for n, m in zip(frame["name"], frame["mirna"])})
    mimats = sorted({m for m in frame["mimat"] if m})
    conflicts = kb.conflicts()
    mine = conflicts[conflicts["mimat"].isin(mimats) | conflicts["mirna"].isin(names)]
    cells = {"parental": sorted({c for v in frame["parental_cell"] for c in split(v)}),
             "recipient": sorted({c for v in frame["recipient_cell"] for c in split(v)})}  # fmt: skip
    literature_targets = sorted({g for v in frame["target"] for g in split(v)})
    regulated = sorted({g for v in frame["regulates"] for g in split(v)})
    directions = {d: int((frame["direction"] == d).sum()) for d in ("up", "down") if (frame["direction"] == d).any()}
    return {
        "query": name,
        "curated": True,
        "identity": {},
        "hmdd": hmdd_view(mimats),
        "names": names,
        "mimats": mimats,
        "records": records_json(frame),
        "directions": directions,
        "conflicts": [{k: clean(v) for k, v in row.items()} for _, row in mine.iterrows()],
        "targets": {"review": literature_targets, "regulates": regulated, "validated": validated_targets(mimats)},
        "cells": cells,
        "hallmarks": sorted({h for v in frame["hallmark"] for h in split(v)}),
        "pathways": sorted({p for v in frame["pathway"] for p in split(v)}),
        "network": neighbourhood(graph, names),
    }
