"""Placing an insert on the hairpins and naming it as a miRNA or isomiR (mirtop variant rules).

An insert is placed without gaps on the mature arms through an index of every templated
isoform of every arm (exact, or exact in one half when one base differs); inserts that fit no
arm are placed on the rest of the hairpins through their 10-mer seeds. Its
3′ end may carry up to ``MAX_ADD`` non-templated nucleotides (the trailing bases that differ
from the hairpin: a tail base that happens to match the hairpin counts as templated, as in
mirtop); the rest may differ from the hairpin at ``MAX_SNV`` position. A placement belongs to a
mature arm when its 5′ end is within ``MAX_5P`` nt and its templated 3′ end within ``MAX_3P`` nt
of the arm's ends; otherwise it is a hairpin-only placement.

Variants follow mirtop's mirGFF3 1.1 definitions: ``iso_5p:±N`` / ``iso_3p:±N`` give where the
insert starts / its templated part ends relative to the mature ends along the hairpin (``-``
upstream, ``+`` downstream); ``iso_add3p:N`` non-templated 3′ nucleotides (no sign: mirtop's
reference implementation writes it so); substitutions are
``iso_snv_seed`` (insert positions 2–7), ``iso_snv_central_offset`` (8), ``iso_snv_central``
(9–12), ``iso_snv_central_supp`` (13–17), ``iso_snv`` elsewhere.

Reads that fit several places (the multi-mapping rule): placements on a mature arm win over
hairpin-only ones (an insert is a miRNA when it fits any arm within the isomiR limits); among
arm placements, those with the fewest edits (substitutions + non-templated nucleotides) win,
then those with the smallest 5′ shift, then the smallest 3′ shift; the count is split evenly among the distinct mature
miRNAs that remain (so a read of a miRNA encoded by several hairpins, such as
let-7a-5p, goes whole to that miRNA, and a sequence shared by two miRNAs gives each half).
"""

from __future__ import annotations

from dataclasses import dataclass

from exomir.quant.limits import MAX_3P, MAX_5P, MAX_ADD, MAX_SNV, SEED_K
from exomir.quant.reference import Arm, MirnaReference


@dataclass(frozen=True)
class Hit:
    """One placement of an insert on a hairpin (0-based start; ``end`` ends the templated part)."""

    hairpin: str
    start: int
    end: int
    snv: tuple[tuple[int, str], ...]  # (0-based position in insert, hairpin base)
    added: str  # non-templated 3′ nucleotides
    arm: Arm | None

    @property
    def edits(self) -> int:
        return len(self.snv) + len(self.added)

    @property
    def shift5(self) -> int:
        return self.start - self.arm.start if self.arm else 0

    @property
    def shift3(self) -> int:
        return self.end - self.arm.end if self.arm else 0

    def variant(self) -> str:
        """mirtop Variant attribute (``NA`` for the reference miRNA)."""
        if self.arm is None:
            return "NA"
        parts = []
        if self.shift5:
            parts.append(f"iso_5p:{self.shift5:+d}")
        if self.shift3:
            parts.append(f"iso_3p:{self.shift3:+d}")
        if self.added:
            parts.append(f"iso_add3p:{len(self.added)}")
        for pos, _ in self.snv:
            p = pos + 1
            if 2 <= p <= 7:
                parts.append("iso_snv_seed")
            elif p == 8:
                parts.append("iso_snv_central_offset")
            elif 9 <= p <= 12:
                parts.append("iso_snv_central")
            elif 13 <= p <= 17:
                parts.append("iso_snv_central_supp")
            else:
                parts.append("iso_snv")
        return ",".join(parts) if parts else "NA"

    def cigar(self, length: int) -> str:
        """mirtop CIGAR: ``M`` exact matches, a hairpin base for a substitution, ``I`` added bases."""
        out = []
        run = 0
        pos = 0
        for p, base in self.snv:
            run += p - pos
            if run:
                out.append(f"{run}M")
            out.append(base)
            run = 0
            pos = p + 1
        run += length - len(self.added) - pos
        if run:
            out.append(f"{run}M")
        if self.added:
            out.append(f"{len(self.added)}I")
        return "".join(out)


@dataclass(frozen=True)
class Assignment:
    """Where an insert goes: best hits, and the mature miRNAs its count is split over."""

    hits: tuple[Hit, ...]
    mirnas: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "mirna" if self.mirnas else ("hairpin" if self.hits else "none")

    @property
    def hairpins(self) -> tuple[str, ...]:
        return tuple(sorted({h.hairpin for h in self.hits}))

    @property
    def is_isomir(self) -> bool:
        return bool(self.mirnas) and all(h.variant() != "NA" for h in self.hits if h.arm)


UNASSIGNED = Assignment((), ())


def _seed_offsets(length: int) -> tuple[int, ...]:
    # ends and middle: with one substitution and up to MAX_ADD added bases, one of them is intact
    # for inserts of 20 nt and more (shorter ones may be missed off the arms, never on them)
    offsets = {0, SEED_K, max(0, length // 2 - SEED_K // 2), max(0, length - MAX_ADD - SEED_K), max(0, length - SEED_K)}
    return tuple(sorted(o for o in offsets if o + SEED_K <= length))


def _mismatches(a: bytes, b: bytes) -> int:
    """Hamming distance of equal-length byte strings, computed in C (XOR of big integers)."""
    return len(a) - (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big").count(0)


def _evaluate(insert: str, ibytes: bytes, ref: MirnaReference, hp: str, start: int) -> Hit | None:
    """The placement of ``insert`` at ``start`` of hairpin ``hp``, or None beyond the edit limits."""
    n = len(insert)
    target = ref.hairpins[hp][start:start + n]
    m = len(target)
    if m == n:
        if target == insert:
            return _hit(ref, hp, start, start + n, (), "")
        if _mismatches(ibytes, target.encode()) > MAX_SNV + MAX_ADD:
            return None  # most seed candidates end here
    elif m < n - MAX_ADD:
        return None
    add = 0
    while add < MAX_ADD and (n - 1 - add >= m or insert[n - 1 - add] != target[n - 1 - add]):
        add += 1
    body_len = n - add
    if m < body_len:
        return None  # runs off the hairpin by more than MAX_ADD
    snv = []
    for i in range(body_len):
        if insert[i] != target[i]:
            snv.append((i, target[i]))
            if len(snv) > MAX_SNV:
                return None
    return _hit(ref, hp, start, start + body_len, tuple(snv), insert[body_len:])


def place(insert: str, ref: MirnaReference) -> list[Hit]:
    """Every placement of ``insert`` on the hairpins within the edit limits (seeded search)."""
    n = len(insert)
    candidates: set[tuple[str, int]] = set()
    kmers = ref.kmers
    for off in _seed_offsets(n):
        for hp, p in kmers.get(insert[off:off + SEED_K], ()):
            if p >= off:
                candidates.add((hp, p - off))
    ibytes = insert.encode()
    hits = (_evaluate(insert, ibytes, ref, hp, start) for hp, start in sorted(candidates))
    return [h for h in hits if h is not None]


def place_on_arms(insert: str, ref: MirnaReference) -> list[Hit]:
    """The least-edited placements of ``insert`` on mature arms, found through the isoform index.

    A placement with ``e`` edits has a body (insert minus ``a`` trailing bases) that equals a
    templated isoform (``a = e``) or differs from one at a single position (``a = e - 1``) and
    then matches one of its halves exactly. Levels ``e = 0, 1, …`` are searched in turn and the
    search stops at the first level that yields a placement, so a typical insert costs a few
    dictionary lookups."""
    n = len(insert)
    iso, halves = ref.isoforms, ref.halves
    exact = iso.get(insert)
    if exact:  # templated isoform: nothing can have fewer than its zero edits
        return [h for h in (_hit(ref, hp, start, start + n, (), "") for hp, start in exact) if h.arm is not None]
    ibytes = insert.encode()
    seen: set[tuple[str, int]] = set()
    found: list[Hit] = []
    for level in range(1, MAX_ADD + MAX_SNV + 1):
        candidates: set[tuple[str, int]] = set()
        if level <= MAX_ADD and n - level > 0:
            candidates.update(iso.get(insert[: n - level], ()))
        add = level - 1
        if MAX_SNV and add <= MAX_ADD and n - add > 1:
            body = insert[: n - add]
            b = len(body)
            h = b // 2
            bbytes = body.encode()
            for key in (*halves.get((b, 0, body[:h]), ()), *halves.get((b, 1, body[h:]), ())):
                if _mismatches(bbytes, key.encode()) == 1:
                    candidates.update(iso[key])
        for place_ in sorted(candidates - seen):
            seen.add(place_)
            hit = _evaluate(insert, ibytes, ref, *place_)
            if hit is not None and hit.arm is not None:
                found.append(hit)
        if found and min(h.edits for h in found) <= level:
            break
    return found


def _hit(ref: MirnaReference, hp: str, start: int, end: int, snv: tuple, added: str) -> Hit:
    arm = None
    for a in ref.arms.get(hp, ()):
        if abs(start - a.start) <= MAX_5P and abs(end - a.end) <= MAX_3P:
            if arm is None or abs(start - a.start) < abs(start - arm.start):
                arm = a
    return Hit(hp, start, end, snv, added, arm)


def assign(insert: str, ref: MirnaReference) -> Assignment:
    """Best placements of an insert and the miRNAs that share its count (rule in the module doc)."""
    hits = place_on_arms(insert, ref)
    if hits:
        best = min(h.edits for h in hits)
        hits = [h for h in hits if h.edits == best]
        closest = min((abs(h.shift5), abs(h.shift3)) for h in hits)
        hits = [h for h in hits if (abs(h.shift5), abs(h.shift3)) == closest]
        hits.sort(key=lambda h: (h.hairpin, h.start))
        return Assignment(tuple(hits), tuple(sorted({h.arm.name for h in hits})))
    hits = place(insert, ref)
    if not hits:
        return UNASSIGNED
    best = min(h.edits for h in hits)
    hits = sorted((h for h in hits if h.edits == best), key=lambda h: (h.hairpin, h.start))
    # a hairpin-only insert: the arm test already failed, so these hits name no miRNA
    return Assignment(tuple(Hit(h.hairpin, h.start, h.end, h.snv, h.added, None) for h in hits), ())
