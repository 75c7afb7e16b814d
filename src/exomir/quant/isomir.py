"""Placing an insert on the hairpins and naming it as a miRNA or isomiR (mirtop variant rules).

An insert is placed without gaps on every hairpin position suggested by its 8-mer seeds. Its
3′ end may carry up to ``MAX_ADD`` non-templated nucleotides (the trailing bases that differ
from the hairpin: a tail base that happens to match the hairpin counts as templated, as in
mirtop); the rest may differ from the hairpin at ``MAX_SNV`` position. A placement belongs to a
mature arm when its 5′ end is within ``MAX_5P`` nt and its templated 3′ end within ``MAX_3P`` nt
of the arm's ends; otherwise it is a hairpin-only placement.

Variants follow mirtop's mirGFF3 1.1 definitions: ``iso_5p:±N`` / ``iso_3p:±N`` give where the
insert starts / its templated part ends relative to the mature ends along the hairpin (``-``
upstream, ``+`` downstream); ``iso_add3p:+N`` non-templated 3′ nucleotides; substitutions are
``iso_snv_seed`` (insert positions 2–7), ``iso_snv_central_offset`` (8), ``iso_snv_central``
(9–12), ``iso_snv_central_supp`` (13–17), ``iso_snv`` elsewhere.

Reads that fit several places (the multi-mapping rule): keep the placements with the fewest
edits (substitutions + non-templated nucleotides); among those, placements on a mature arm win
over hairpin-only ones, then the smallest 5′ shift wins; the count is split evenly among the
distinct mature miRNAs that remain (so a read of a miRNA encoded by several hairpins, such as
let-7a-5p, goes whole to that miRNA, and a sequence shared by two miRNAs gives each half).
"""

from __future__ import annotations

from dataclasses import dataclass

from exomir.quant.reference import SEED_K, Arm, MirnaReference

MAX_ADD = 3
MAX_SNV = 1
MAX_5P = 3
MAX_3P = 5


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
            parts.append(f"iso_add3p:+{len(self.added)}")
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
    offsets = {0, SEED_K, max(0, length - MAX_ADD - SEED_K), max(0, length - SEED_K)}
    return tuple(sorted(o for o in offsets if o + SEED_K <= length))


def place(insert: str, ref: MirnaReference) -> list[Hit]:
    """Every placement of ``insert`` on the hairpins within the edit limits."""
    n = len(insert)
    candidates: set[tuple[str, int]] = set()
    kmers = ref.kmers
    for off in _seed_offsets(n):
        for hp, p in kmers.get(insert[off:off + SEED_K], ()):
            if p >= off:
                candidates.add((hp, p - off))
    hits = []
    for hp, start in candidates:
        hseq = ref.hairpins[hp]
        target = hseq[start:start + n]
        if target == insert:
            add = 0
        else:
            add = 0
            m = len(target)
            while add < MAX_ADD and add < n and (n - 1 - add >= m or insert[n - 1 - add] != target[n - 1 - add]):
                add += 1
        body_len = n - add
        if len(target) < body_len:
            continue  # runs off the hairpin by more than MAX_ADD
        snv = []
        if add or target != insert:
            body = insert[:body_len]
            tb = target[:body_len]
            if body != tb:
                for i, (a, b) in enumerate(zip(body, tb)):
                    if a != b:
                        snv.append((i, b))
                        if len(snv) > MAX_SNV:
                            break
                if len(snv) > MAX_SNV:
                    continue
        end = start + body_len
        arm = None
        for a in ref.arms.get(hp, ()):
            if abs(start - a.start) <= MAX_5P and abs(end - a.end) <= MAX_3P:
                if arm is None or abs(start - a.start) < abs(start - arm.start):
                    arm = a
        hits.append(Hit(hp, start, end, tuple(snv), insert[body_len:], arm))
    return hits


def assign(insert: str, ref: MirnaReference) -> Assignment:
    """Best placements of an insert and the miRNAs that share its count (rule in the module doc)."""
    hits = place(insert, ref)
    if not hits:
        return UNASSIGNED
    best_edits = min(h.edits for h in hits)
    hits = [h for h in hits if h.edits == best_edits]
    on_arm = [h for h in hits if h.arm is not None]
    if on_arm:
        least_shift = min(abs(h.shift5) for h in on_arm)
        hits = [h for h in on_arm if abs(h.shift5) == least_shift]
        mirnas = tuple(sorted({h.arm.name for h in hits}))
    else:
        mirnas = ()
    hits.sort(key=lambda h: (h.hairpin, h.start))
    return Assignment(tuple(hits), mirnas)
