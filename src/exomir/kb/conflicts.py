"""Conflicting claims: kept as separate records, reported side by side.

Two kinds are found:

* ``direction``: the same miRNA reported higher in HCC by some records and lower by others
  (miR-122: up against cirrhosis in one cohort, down against CHB and cirrhosis in others).
  ``same_comparison`` says whether the opposite directions share a comparison.
* ``parental_cell`` / ``recipient_cell``: records citing the same paper give cells of different
  lineages (miR-1247-3p: HCC cells in Table 1, cancer-associated fibroblasts in the text).
  Different papers naming different source cells are not a conflict: many cells can send
  the same miRNA.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from exomir.kb.vocab import CELL_LINEAGE, Cell, parse_comparison

COLUMNS = ["mirna", "mimat", "kind", "same_comparison", "detail", "record_ids", "references"]


def _identity(row: pd.Series) -> str:
    return row["mimat"] or row["mirna"]


def _split(value: str) -> list[str]:
    return [v for v in str(value or "").split(";") if v]


def find_conflicts(table: pd.DataFrame) -> pd.DataFrame:
    """Conflicts among the records of an evidence table (the store's export form)."""
    out: list[dict] = []
    for key, group in table.groupby(table.apply(_identity, axis=1), sort=True):
        label = group["name"].iloc[0] or group["mirna"].iloc[0]
        out.extend(_direction_conflicts(label, key, group))
        for role in ("parental_cell", "recipient_cell"):
            out.extend(_cell_conflicts(label, key, group, role))
    frame = pd.DataFrame(out, columns=COLUMNS)
    return frame.sort_values(["mirna", "kind"], kind="stable").reset_index(drop=True)


def _direction_conflicts(label: str, key: str, group: pd.DataFrame) -> list[dict]:
    directed = group[group["direction"].isin(["up", "down"])]
    if directed["direction"].nunique() < 2:
        return []
    parts, comparisons = [], defaultdict(set)
    for direction in ("up", "down"):
        rows = directed[directed["direction"] == direction]
        items = [f"{r.comparison or 'no comparison given'} {r.reference}" for r in rows.itertuples()]
        parts.append(f"{direction}: " + "; ".join(dict.fromkeys(items)))
        for r in rows.itertuples():
            comparisons[direction].add(parse_comparison(r.comparison) or r.comparison)
    same = bool(comparisons["up"] & comparisons["down"])
    return [{
        "mirna": label,
        "mimat": key if key.startswith("MIMAT") else "",
        "kind": "direction",
        "same_comparison": same,
        "detail": " | ".join(parts),
        "record_ids": ";".join(directed["id"]),
        "references": ";".join(sorted({n for v in directed["reference_numbers"] for n in _split(v)}, key=int)),
    }]


def _cell_conflicts(label: str, key: str, group: pd.DataFrame, role: str) -> list[dict]:
    out = []
    by_ref: dict[str, list[pd.Series]] = defaultdict(list)
    for _, row in group.iterrows():
        if row[role]:
            for number in _split(row["reference_numbers"]):
                by_ref[number].append(row)
    for number, rows in sorted(by_ref.items(), key=lambda kv: int(kv[0])):
        lineages = {}
        for row in rows:
            lineages[row["id"]] = {CELL_LINEAGE[Cell(c)] for c in _split(row[role])}
        ids = list(lineages)
        clash = any(not (lineages[a] & lineages[b]) for i, a in enumerate(ids) for b in ids[i + 1:])
        if not clash:
            continue
        detail = "; ".join(f"{row['source']}: {row[role].replace(';', ', ')}"
                           + (f" ({row[role.replace('_cell', '_detail')]})" if row[role.replace('_cell', '_detail')] else "")
                           for row in rows)
        out.append({
            "mirna": label,
            "mimat": key if key.startswith("MIMAT") else "",
            "kind": role,
            "same_comparison": False,
            "detail": f"ref [{number}] — {detail}",
            "record_ids": ";".join(ids),
            "references": number,
        })
    return out
