"""What the knowledge base says about each differential hit (``tables/evidence.csv``).

For each row of a differential table (``mirna``, ``mimat``, ``comparison``, ``log2fc``) the
literature direction is taken from the records of the same comparison when there are any
(``literature_basis = same comparison``), else from records whose case group matches
(``same case group``, e.g. HCC vs any control), else from every record with a direction
(``other contexts``: cell-culture or microenvironment claims). Opposite directions within the
chosen basis make the literature ``conflicting``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.kb.vocab import parse_comparison
from exomir.kb.naming import candidate_mimats, resolve_names
from exomir.kb.store import load_store

COLUMNS = [
    "mirna", "mimat", "comparison", "observed_direction", "literature_direction", "literature_basis",
    "agreement", "n_records", "conflict", "conflict_kinds", "parental_cells", "recipient_cells", "targets",
    "pathways", "hallmarks", "clinical_roles", "references", "record_ids", "kb_name",
    "pmids", "dois", "retracted_records",
]


def _split(values) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v for v in str(value or "").split(";") if v)
    return list(dict.fromkeys(out))


def _direction(log2fc) -> str:
    try:
        value = float(log2fc)
    except (TypeError, ValueError):
        return ""
    if np.isnan(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


def _literature(records: pd.DataFrame, comparison: str | None) -> tuple[str, str]:
    directed = records[records["direction"].isin(["up", "down"])]
    if directed.empty:
        return "", ""
    wanted = parse_comparison(comparison)
    parsed = directed["comparison"].map(parse_comparison)
    bases = []
    if wanted is not None:
        bases.append(("same comparison", parsed.map(lambda p: p == wanted)))
        bases.append(("same case group", parsed.map(lambda p: p is not None and p[0] == wanted[0])))
    bases.append(("other contexts", pd.Series(True, index=directed.index)))
    for label, mask in bases:
        chosen = directed[mask.astype(bool)]
        if not chosen.empty:
            dirs = set(chosen["direction"])
            return ("conflicting" if len(dirs) > 1 else dirs.pop()), label
    return "", ""


def evidence_for(differential: pd.DataFrame, *, kb=None) -> pd.DataFrame:
    """Knowledge-base evidence for each row of a differential table (one row out per row in)."""
    if "mirna" not in differential.columns and "mimat" not in differential.columns:
        raise InputError("the differential table needs a 'mirna' or 'mimat' column")
    kb = kb or load_store()
    table = kb.table()
    conflicts = kb.conflicts()
    conflict_kinds = conflicts.groupby("mimat")["kind"].apply(lambda s: ";".join(sorted(set(s)))).to_dict()
    def _mimat_of(hit: pd.Series) -> str:
        value = hit.get("mimat")
        return str(value) if isinstance(value, str) and value.strip() else ""

    # Names without an accession are resolved together, in one identity call.
    unnamed = sorted({str(h.get("mirna")) for _, h in differential.iterrows() if not _mimat_of(h) and h.get("mirna")})
    by_name = {}
    if unnamed:
        by_name = {row["input"]: candidate_mimats(row) for _, row in resolve_names(unnamed).iterrows()}
    rows = []
    for _, hit in differential.iterrows():
        mimat = _mimat_of(hit)
        name = str(hit.get("mirna") or "")
        mimats = [mimat] if mimat else by_name.get(name, [])
        records = table[table["mimat"].isin(mimats)] if mimats else table.iloc[0:0]
        comparison = hit.get("comparison") if isinstance(hit.get("comparison"), str) else None
        observed = _direction(hit.get("log2fc"))
        literature, basis = _literature(records, comparison)
        if not literature:
            agreement = "no_record"
        elif literature == "conflicting":
            agreement = "conflicting"
        elif not observed:
            agreement = ""
        else:
            agreement = "agree" if observed == literature else "disagree"
        kinds = ";".join(sorted({k for m in mimats for k in conflict_kinds.get(m, "").split(";") if k}))
        refs = list(dict.fromkeys(records["reference"]))
        rows.append({
            "mirna": name, "mimat": mimat or (mimats[0] if len(mimats) == 1 else ""), "comparison": comparison or "",
            "observed_direction": observed, "literature_direction": literature, "literature_basis": basis,
            "agreement": agreement, "n_records": len(records), "conflict": bool(kinds), "conflict_kinds": kinds,
            "parental_cells": ";".join(_split(records["parental_cell"])),
            "recipient_cells": ";".join(_split(records["recipient_cell"])),
            "targets": ";".join(_split(list(records["target"]) + list(records["regulates"]))),
            "pathways": ";".join(_split(records["pathway"])),
            "hallmarks": ";".join(_split(records["hallmark"])),
            "clinical_roles": ";".join(_split(records["clinical_role"])),
            "references": " | ".join(refs),
            "record_ids": ";".join(records["id"]),
            "kb_name": records["name"].iloc[0] if len(records) else "",
            "pmids": ";".join(_split(records["pmid"])),
            "dois": ";".join(_split(records["doi"])),
            "retracted_records": ";".join(records.loc[records["retraction"].astype(bool), "id"]),
        })
    return pd.DataFrame(rows, columns=COLUMNS)
