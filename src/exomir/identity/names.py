"""Parse the many ways papers, instruments and databases write a microRNA name.

:func:`parse_name` turns free text (``exo-miR-21``, ``hsa-miR-21-5p``, ``has-miR-155``,
``MIMAT0000076``, ``miR-21*``, ``miR106b``, ``MIR92A1``...) into a :class:`ParsedName`, whose
``key`` is the normalized lookup key used by the resolver. It never raises: text that is not a
miRNA name comes back with ``status`` ``"empty"`` or ``"unparsed"``.

Understood: an optional species code (default ``hsa``; GEO's ``has`` typo mended), ``exo-`` /
``exo`` / ``exosomal`` prefixes (``exomiR-122`` as joined by PDF text extraction), the family
tokens ``miR``/``mir``/``MIR``/``miRNA``/``microRNA``/``let``/``lin`` with or without a hyphen
(``miR106b``), letter and copy suffixes (``miR-92a-2-5p``, HGNC ``MIR92A1``), arms written
``-5p``/``_5p``/``5'``, star forms, case and whitespace noise, unicode dashes, quotes, an
accession (``MIMAT0000076``, ``MI0000077``, also beside a name as in ``hsa-miR-16-5p_MIMAT0000069``),
an assay ID or remark in parentheses, a mature sequence, and groups (``miR-221/222``,
``miR-23a/b``, ``miR-21, miR-10b``), see :func:`expand`.

Case rule (miRBase convention): ``miR`` is a mature product, lower-case ``mir`` a precursor
(hairpin), ``MIR`` followed directly by the number (``MIR21``, the HGNC gene symbol) a precursor.
A name whose letters are all upper or whose family token has mixed case (``MIR-21-5P``,
``Mir-21``) carries no case information. An arm (``-5p``/``-3p``) or a star always makes the name
mature, whatever its case. ``let-7`` names carry no case information either.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

#: Species code typos seen in public data (GEO's ``has-miR-155``).
SPECIES_TYPOS = {"has": "hsa"}
DEFAULT_SPECIES = "hsa"

_TRANSLATE = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00ad": "", "\u200b": "", "\ufeff": "", "\u2032": "'", "\u2019": "'", "\uff0a": "*",
        "\u2217": "*",
    }
)
_EMBEDDED_ACCESSION = re.compile(r"(?<![A-Za-z0-9])(MIMAT\d{7})(?!\d)", re.IGNORECASE)
_PARENTHESES = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")
_SEQUENCE = re.compile(r"[ACGUTacgut]{15,40}")
_SPACED_PUNCT = re.compile(r"\s*([-/*])\s*")
_ACCESSION = re.compile(r"(MIMAT|MI)[\s_-]*(\d{5,7})(?:\.\d+)?", re.IGNORECASE)
# species code, then optional exo/exosomal, then the family token
_HEAD = re.compile(
    r"(?:(?!exo)(?P<species>[a-z]{3,4})[-_\s]+)?"
    r"(?P<exo>exo(?:somal)?[-_\s]*)?"
    r"(?P<token>micro[-_\s]?rna|mirna|mir(?:[-_\s]?let)?|let|lin)",
    re.IGNORECASE,
)
_BODY = re.compile(
    r"[-_\s.]*(?P<number>\d+)(?P<letter>[a-z]*)"
    r"(?:[-_.]?(?P<copy>\d+)(?![0-9]*[pP]))?"
    r"(?:[-_.\s]?(?P<arm>[35])(?:p|'))?"
    r"\s*(?P<star>\*)?",
    re.IGNORECASE,
)
_MAYBE_GROUP = re.compile(r"[/,;&+]|\sand\s", re.IGNORECASE)
_GROUP_SPLIT = re.compile(r"\s*(?:[,;&+]|\band\b)\s*", re.IGNORECASE)


class ParsedName(NamedTuple):
    """What the text says about a miRNA, before looking anything up.

    ``status``: ``name`` (a parsed miRNA name), ``accession`` (MIMAT/MI), ``sequence`` (a
    mature sequence of 15-40 nt, key in RNA letters), ``group`` (several
    names, see ``members``), ``unparsed`` (not a regular name; ``key`` is then the cleaned text,
    which still matches irregular miRBase names such as ``ebv-miR-BART1-5p``) or ``empty``.
    ``kind``: ``mature``, ``precursor`` or ``None`` when the text does not say.
    """

    text: str
    status: str
    kind: str | None = None
    species: str | None = None
    family: str | None = None  # "miR", "let" or "lin"
    number: str | None = None  # "21", "92a"
    copy: str | None = None  # "2" of miR-92a-2-5p
    arm: str | None = None  # "5p" or "3p"
    star: bool = False
    accession: str | None = None
    members: tuple[str, ...] = ()
    key: str = ""
    species_given: bool = False

    @property
    def canonical(self) -> str:
        """The name written the miRBase way (``hsa-miR-92a-2-5p``, ``hsa-mir-21``), or the cleaned text."""
        if self.status == "accession":
            return self.accession or ""
        if self.status == "sequence":
            return self.key
        if self.status == "group":
            return "/".join(parse_name(m).canonical or m for m in self.members)
        if self.status != "name":
            return self.key if self.status == "unparsed" else ""
        return _compose(self.species, self.family, self.number, self.copy, self.arm, self.star, self.kind)

    @property
    def base_key(self) -> str:
        """Key without arm and star (``hsa-mir-21``): the arm-less form of a mature name."""
        if self.status != "name":
            return self.key
        return _compose(self.species, self.family, self.number, self.copy, None, False, None).lower()

    @property
    def copyless_key(self) -> str:
        """Key without the copy number (``hsa-mir-92a-5p`` for ``hsa-miR-92a-2-5p``)."""
        if self.status != "name":
            return self.key
        return _compose(self.species, self.family, self.number, None, self.arm, self.star, None).lower()


def _compose(species, family, number, copy, arm, star, kind) -> str:
    token = family
    if family == "miR" and kind == "precursor":
        token = "mir"
    parts = [species, token, number]
    if copy:
        parts.append(copy)
    if arm:
        parts.append(arm)
    return "-".join(parts) + ("*" if star else "")


def clean_text(text: object) -> str:
    """Unicode-normalize, unify dashes and trim quotes and whitespace."""
    if text is None:
        return ""
    if not isinstance(text, str):
        if isinstance(text, float) and text != text:  # NaN from pandas
            return ""
        text = str(text)
    if not (text.isascii() and text.isprintable()):
        text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
        text = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    text = text.strip()
    if " " in text or "\t" in text:
        text = _SPACED_PUNCT.sub(_punct, text)
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()  # quoted cell; a lone trailing quote is a 5' arm
    return text


def _punct(match: re.Match) -> str:
    return match.group(1)


def parse_name(text: object) -> ParsedName:
    """Parse one miRNA name (or accession, or slashed group); never raises."""
    try:
        return _parse(clean_text(text))
    except Exception:  # the parser must answer on any input; a bug here must not stop a reader
        cleaned = str(text) if text is not None else ""
        return ParsedName(text=cleaned, status="unparsed", key=" ".join(cleaned.lower().split()))


def _parse(text: str) -> ParsedName:
    if not text:
        return ParsedName(text=text, status="empty")
    acc = _ACCESSION.fullmatch(text)
    if acc:
        prefix = acc.group(1).upper()
        accession = f"{prefix}{int(acc.group(2)):07d}"
        kind = "mature" if prefix == "MIMAT" else "precursor"
        return ParsedName(text=text, status="accession", kind=kind, accession=accession, key=accession.lower())
    embedded = set(_EMBEDDED_ACCESSION.findall(text))
    if len(embedded) == 1:
        # instrument exports such as "hsa-miR-16-5p_MIMAT0000069": the accession is the identity
        accession = embedded.pop().upper()
        return ParsedName(text=text, status="accession", kind="mature", accession=accession, key=accession.lower())
    if _SEQUENCE.fullmatch(text):
        # an assay sheet giving the target sequence instead of a name
        return ParsedName(text=text, status="sequence", kind="mature", key=text.upper().replace("T", "U"))
    members = expand(text) if _MAYBE_GROUP.search(text) else []
    if len(members) > 1:
        return ParsedName(
            text=text, status="group", members=tuple(members), key="/".join(m.lower() for m in members)
        )
    parsed = _parse_single(text)
    if parsed.status == "unparsed" and ("(" in text or "[" in text):
        # "hsa-miR-21 (000397)", "miR-122 (qPCR)": an assay ID or remark in parentheses
        bare = _PARENTHESES.sub(" ", text).strip()
        if bare and bare != text:
            inner = _parse_single(bare)
            if inner.status == "name":
                return inner._replace(text=text)
    return parsed


def _parse_single(text: str) -> ParsedName:
    head = _HEAD.match(text)
    body = _BODY.fullmatch(text, head.end()) if head else None
    if body is None:
        return ParsedName(text=text, status="unparsed", key=_loose_key(text))
    given, _exo, token = head.groups()
    number, letter, copy, arm, star = body.groups()
    species = SPECIES_TYPOS.get(given.lower(), given.lower()) if given else DEFAULT_SPECIES
    low = token.lower()
    family = "let" if low.endswith("let") else "lin" if low == "lin" else "miR"
    if arm:
        arm += "p"
    star = star is not None
    kind = "mature" if arm or star else _case_hint(text, token, head, family)
    number = (number.lstrip("0") or "0") + letter.lower()
    if copy is not None:
        copy = copy.lstrip("0") or "0"
    return ParsedName(
        text,
        "name",
        kind,
        species,
        family,
        number,
        copy,
        arm,
        star,
        None,
        (),
        _compose(species, family, number, copy, arm, star, None).lower(),
        given is not None,
    )


def _case_hint(text: str, token: str, head: re.Match, family: str) -> str | None:
    """Mature or precursor from the case of the family token (see the module docstring)."""
    if family != "miR":
        if token.upper().startswith("MIRLET"):
            return "precursor"  # HGNC symbol MIRLET7A1
        return None
    core = token[:3]
    if token.lower().startswith(("micro", "mirna")):
        return "mature"
    if core == "miR":
        return "mature"
    if core == "mir":
        return "precursor"
    if core == "MIR":
        letters = [c for c in text if c.isalpha()]
        all_upper = all(c.isupper() for c in letters)
        directly_numbered = head.end() < len(text) and text[head.end()].isdigit()
        if directly_numbered and not all_upper:
            return "precursor"
        if directly_numbered and head.group("species") is None and not head.group("exo"):
            return "precursor"  # MIR21, MIR92A1: HGNC gene symbols
        return None
    return None


def _loose_key(text: str) -> str:
    return "-".join(text.lower().split())


# ---------------------------------------------------------------------------------------------
# slashed and listed groups

_PREFIX = re.compile(r"^(?P<prefix>.*?(?:mir|let|lin)[-_\s]*)(?P<body>\d.*)$", re.IGNORECASE)
_PART_BODY = re.compile(
    r"(?P<number>\d+)(?P<letter>[a-z]*)(?:-(?P<copy>\d+)(?![0-9]*p))?(?:-(?P<arm>[35]p))?(?P<star>\*)?",
    re.IGNORECASE,
)
_NAMED = re.compile(r"(?:mir|let|lin|mimat|mi\d)", re.IGNORECASE)


def expand(name: object) -> list[str]:
    """The single names behind a slashed or listed group; a single name comes back alone.

    ``miR-221/222`` → ``["miR-221", "miR-222"]``, ``miR-23a/b`` → ``["miR-23a", "miR-23b"]``,
    ``miR-199a-5p/3p`` → both arms, ``miR-30a/b-5p`` → ``["miR-30a-5p", "miR-30b-5p"]``,
    ``miR-21, miR-10b`` → both. Never raises.
    """
    try:
        text = clean_text(name)
        if not text:
            return []
        if _ACCESSION.fullmatch(text):
            return [text]
        pieces = [p for p in _GROUP_SPLIT.split(text) if p]
        out: list[str] = []
        for piece in pieces:
            out.extend(_expand_slashes(piece))
        return out or [text]
    except Exception:
        return [str(name)]


def _expand_slashes(text: str) -> list[str]:
    parts = [p.strip() for p in text.split("/")]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return parts or [text]
    first = _PREFIX.match(parts[0])
    if not first:
        return parts
    prefix = first.group("prefix")
    base = _PART_BODY.fullmatch(first.group("body"))
    if not base:
        return parts
    number, letter = base.group("number"), base.group("letter")
    copy, arm = base.group("copy"), base.group("arm")
    members = [parts[0]]
    for part in parts[1:]:
        part = part.lstrip("-")
        if _NAMED.search(part) and not re.fullmatch(r"[35]p|[a-z]+(-[35]p)?", part, re.IGNORECASE):
            members.append(part)
        elif re.fullmatch(r"[35]p", part, re.IGNORECASE):
            members.append(prefix + _join(number + letter, copy, part.lower()))
        elif copy and re.fullmatch(r"\d+", part) and len(part) <= 2 and len(part) < len(number):
            members.append(prefix + _join(number + letter, part, arm))
        elif re.fullmatch(r"\d+[a-z]*(-\d+)?(-[35]p)?\*?", part, re.IGNORECASE):
            members.append(prefix + part)
        elif re.fullmatch(r"[a-z]+(-[35]p)?", part, re.IGNORECASE):
            members.append(prefix + number + part)
        else:
            members.append(part)
    return _share_arm(members)


def _join(core: str, copy: str | None, arm: str | None) -> str:
    return "-".join(p for p in (core, copy, arm) if p)


def _share_arm(members: list[str]) -> list[str]:
    """``miR-30a/b-5p``: an arm written only on the last member applies to all of them."""
    arm = re.search(r"-([35]p)$", members[-1], re.IGNORECASE)
    if not arm or any(re.search(r"-[35]p\*?$", m, re.IGNORECASE) for m in members[:-1]):
        return members
    return [m if m.endswith("*") else f"{m}-{arm.group(1).lower()}" for m in members[:-1]] + [members[-1]]
