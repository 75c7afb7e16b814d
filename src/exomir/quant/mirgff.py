"""mirtop's mirGFF3 (version 1.1): one line per distinct sequence and placement, all samples.

UIDs are MINTplates-style licence plates as mirtop makes them: ``iso-<length>-<code>``, the
sequence encoded 5 nt at a time (a 5-mer is its base-4 number written as two symbols of a
32-symbol alphabet; a shorter last piece takes the numbers after the 5-mers' own ranges for 1-, 2-,
3- and 4-mers, one symbol below 32 and two from 32 on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from exomir.quant.isomir import Assignment

_SYMBOLS = "BD0EF1HI2JK3LM4NO5PQ6RS7UV8WX9YZ"
_BASE = {"A": 0, "C": 1, "G": 2, "T": 3}
_SHORT_OFFSET = {1: 0, 2: 4, 3: 20, 4: 84}  # numbering of 1- to 4-mers after each other


def _number(piece: str) -> int:
    value = 0
    for base in piece:
        value = value * 4 + _BASE[base]
    return value


def _code(number: int, width: int) -> str:
    if width == 1:
        return _SYMBOLS[number]
    return _SYMBOLS[number // 32] + _SYMBOLS[number % 32]


def make_uid(sequence: str) -> str:
    """Licence-plate UID of a DNA/RNA sequence (``iso-22-...``)."""
    seq = sequence.upper().replace("U", "T")
    codes = [f"iso-{len(seq)}-"]
    for i in range(0, len(seq), 5):
        piece = seq[i:i + 5]
        if len(piece) == 5:
            codes.append(_code(_number(piece), 2))
        else:
            number = _SHORT_OFFSET[len(piece)] + _number(piece)
            codes.append(_code(number, 1 if number < 32 else 2))
    return "".join(codes)


def gff_rows(insert: str, asg: Assignment, k: int, expression: Sequence[float], *, source: str) -> str:
    """The mirGFF3 line of the ``k``-th placement of ``insert`` (a placement on a mature arm)."""
    hit = asg.hits[k]
    variant = hit.variant()
    kind = "ref_miRNA" if variant == "NA" else "isomiR"
    attributes = "; ".join([
        f"UID {make_uid(insert)}", f"Read {insert}", f"Name {hit.arm.name}", f"Parent {hit.hairpin}",
        f"Variant {variant}", f"Cigar {hit.cigar(len(insert))}", f"Expression {','.join(_fmt(v) for v in expression)}",
        "Filter PASS", f"Hits {len(asg.hits)}",
    ])
    return "\t".join([hit.hairpin, source, kind, str(hit.start + 1), str(hit.start + len(insert)), ".", "+", ".",
                      attributes])


def gff_lines(
    assignments: Mapping[str, Assignment],
    expression: Mapping[str, Sequence[float]],
    *,
    source: str,
) -> Iterable[str]:
    """mirGFF3 feature lines for every insert placed on a mature arm, sorted by hairpin and start."""
    rows = []
    for insert, asg in assignments.items():
        for k, hit in enumerate(asg.hits):
            if hit.arm is not None:
                rows.append((hit.hairpin, hit.start, insert, gff_rows(insert, asg, k, expression[insert], source=source)))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [r[3] for r in rows]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def gff_header(samples: Sequence[str], *, release: str, tool: str, commands: Sequence[str] = ()) -> list[str]:
    """Header lines of mirGFF3 1.1."""
    found = re.search(r"\d+(?:\.\d+)?", release or "")
    rel = found.group(0) if found else "22"
    lines = [
        "## mirGFF3. VERSION 1.1",
        f"## source-ontology: miRBasev{rel} doi:10.25504/fairsharing.hmgte8",
        f"## COLDATA: {','.join(samples)}",
        f"## TOOLS: {tool}",
    ]
    lines += [f"## CMD: {c}" for c in commands]
    lines.append("## FILTER: PASS(placed on a mature arm within exomir's variant limits)")
    return lines
