"""The knowledge base's single door to the identity layer: names → MIMAT accessions."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
from exomir.identity import resolve


def resolve_names(names: Iterable[str]) -> pd.DataFrame:
    """Resolve miRNA names with :func:`exomir.identity.resolve` (one call for all of them).

    Returns the identity table (``input, mimat, name, status, candidates, note``), one row per
    input in input order.
    """
    names = list(names)
    if not names:
        return pd.DataFrame(columns=["input", "mimat", "name", "status", "candidates", "note"])
    return resolve(names).reset_index(drop=True)


def candidate_mimats(row: pd.Series) -> list[str]:
    """The accessions a resolution points at: its own, or every listed candidate."""
    mimat = row.get("mimat")
    if isinstance(mimat, str) and mimat:
        return [mimat]
    cands = row.get("candidates")
    if isinstance(cands, str) and cands:
        return [c.split(":", 1)[0] for c in cands.split(";") if c.startswith("MIMAT")]
    return []


_PREFIX = re.compile(r"^(?:exo-?|hsa-)+", re.IGNORECASE)


def name_key(text: str) -> str:
    """A loose lookup key: case, spaces and the ``exo-``/``hsa-`` prefixes do not matter."""
    return _PREFIX.sub("", re.sub(r"\s+", "", str(text))).lower()
