"""miRNA identity: parse any written form of a microRNA name and resolve it to miRBase.

* :func:`parse_name` — what the text says (species, family, number, copy, arm, star, accession); never raises.
* :func:`expand` — the names behind a slashed or listed group (``miR-221/222``).
* :func:`load_mirbase` — a miRBase release from a folder, ``EXOMIR_MIRBASE`` or the official site (cached).
* :func:`resolve` — names → MIMAT accessions with status exact / alias / ambiguous / unknown.
"""

from __future__ import annotations

from exomir.identity.names import ParsedName, expand, parse_name
from exomir.identity.mirbase import load_mirbase, resolve, resolver_for
from exomir.identity.release import MirBase
from exomir.identity.resolver import COLUMNS, LEVELS, Resolution, Resolver

__all__ = [
    "COLUMNS",
    "LEVELS",
    "MirBase",
    "ParsedName",
    "Resolution",
    "Resolver",
    "expand",
    "load_mirbase",
    "parse_name",
    "resolve",
    "resolver_for",
]
