"""Does a label look like a miRNA (or a small-RNA reference measured beside them)?

Used to tell which side of a table holds the miRNAs: a quick regular expression for the common
spellings (and the small-RNA references of qPCR), then ``exomir.identity.parse_name`` for the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from exomir.cohort import meta
from exomir.identity import parse_name

log = logging.getLogger(__name__)

# hsa-miR-21-5p, miR-21, mir-122a, let-7a, hsa-let-7a-2, lin-4, MIR21, mmu-miR-..., cel-miR-39-3p,
# accessions (MIMAT0000076, MI0000077) and the small RNAs used as qPCR references.
_MIRNA = re.compile(
    r"""^(?:[a-z]{2,4}-)?(?:mir|let|lin|lsy|bantam)-?\d
        |^MIR\d
        |^MIMAT\d{5,}|^MI\d{7}
        |^(?:RNU\d|RNU6|U6|SNORD\d|SNORA\d|SNO?RNA|5S|RNU48|RNU44|MAMMU6|cel-miR)""",
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_mirna(label: str) -> bool:
    label = label.strip().strip('"')
    if not label:
        return False
    if _MIRNA.search(label):
        return True
    return parse_name(label).status in {"name", "accession", "group"}


def mirna_fraction(labels: Sequence[str], limit: int = 400) -> float:
    """Share of labels (the first ``limit``) that look like miRNA names."""
    sample = [label for label in labels[:limit] if label.strip()]
    if not sample:
        return 0.0
    return sum(looks_like_mirna(label) for label in sample) / len(sample)


def warn_unresolved(adata) -> list[str]:
    """Say which miRNA names did not resolve to miRBase (they stay in the Cohort as ``unknown``)."""
    unresolved = list(meta(adata).get("unresolved", []))
    if unresolved:
        log.warning(
            f"{len(unresolved)} miRNA name(s) do not resolve to miRBase (kept, status unknown): "
            + ", ".join(unresolved[:10])
            + (" …" if len(unresolved) > 10 else "")
        )
    return unresolved
