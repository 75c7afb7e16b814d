"""The miRNA reference a library is matched against: mature sequences, hairpins, mature arms.

Built from the identity layer's miRBase tables (``MirBase.mature``, ``.hairpin``, ``.products``),
in the DNA alphabet. Each mature product is located inside its hairpin(s) (the precursor map
says which hairpins, ``str.find`` says where), and every hairpin k-mer is indexed so that an
insert can be placed on the hairpins without an external aligner.
"""

from __future__ import annotations

import functools
import gc
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from exomir.quant.limits import MAX_3P, MAX_5P, SEED_K
from exomir.identity import load_mirbase


@dataclass(frozen=True)
class Arm:
    """A mature product inside a hairpin (0-based, end exclusive)."""

    hairpin: str
    name: str
    mimat: str
    start: int
    end: int


@dataclass
class MirnaReference:
    """Mature and hairpin sequences (DNA alphabet) with the positions of matures in hairpins."""

    mature: dict[str, str]  # canonical mature name -> sequence
    mimat: dict[str, str]  # canonical mature name -> MIMAT accession
    hairpins: dict[str, str]  # hairpin name -> sequence
    arms: dict[str, list[Arm]]  # hairpin name -> mature products in it, by position
    release: str = ""
    by_sequence: dict[str, tuple[str, ...]] = field(init=False)
    kmers: dict[str, list[tuple[str, int]]] = field(init=False)
    isoforms: dict[str, list[tuple[str, int]]] = field(init=False)
    halves: dict[tuple[int, int, str], list[str]] = field(init=False)
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        by_seq: dict[str, list[str]] = defaultdict(list)
        for name, seq in sorted(self.mature.items()):
            by_seq[seq].append(name)
        self.by_sequence = {s: tuple(v) for s, v in by_seq.items()}
        kmers: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for hp, seq in sorted(self.hairpins.items()):
            for i in range(len(seq) - SEED_K + 1):
                kmers[seq[i:i + SEED_K]].append((hp, i))
        self.kmers = dict(kmers)
        self._index_isoforms()
        digest = hashlib.sha256()
        for name in sorted(self.mature):
            digest.update(f"{name}\t{self.mature[name]}\n".encode())
        for name in sorted(self.hairpins):
            digest.update(f"{name}\t{self.hairpins[name]}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def _index_isoforms(self) -> None:
        """Every templated isoform of every arm (5′ end ±MAX_5P, 3′ end ±MAX_3P), and each isoform
        by its left and right half, so that one substitution is found by an exact half lookup."""
        iso: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for hp in sorted(self.arms):
            hseq = self.hairpins[hp]
            for arm in self.arms[hp]:
                for start in range(max(0, arm.start - MAX_5P), arm.start + MAX_5P + 1):
                    for end in range(max(start + 1, arm.end - MAX_3P), min(len(hseq), arm.end + MAX_3P) + 1):
                        place = (hp, start)
                        bucket = iso[hseq[start:end]]
                        if place not in bucket:
                            bucket.append(place)
        halves: dict[tuple[int, int, str], list[str]] = defaultdict(list)
        for key in iso:
            h = len(key) // 2
            halves[(len(key), 0, key[:h])].append(key)
            halves[(len(key), 1, key[h:])].append(key)
        self.isoforms = dict(iso)
        self.halves = dict(halves)

    @classmethod
    def from_tables(
        cls, mature: pd.DataFrame, hairpin: pd.DataFrame, products: pd.DataFrame, release: str = ""
    ) -> MirnaReference:
        """From frames with the identity contract's columns (mature: mimat, name, sequence; hairpin:
        mi, name, sequence; products: mi, precursor, mimat, mature)."""

        def dna(s: str) -> str:
            return str(s).upper().replace("U", "T")

        mature_seq = {str(r.name): dna(r.sequence) for r in mature.itertuples(index=False)}
        mimat = {str(r.name): str(r.mimat) for r in mature.itertuples(index=False)}
        name_of_mimat = {str(r.mimat): str(r.name) for r in mature.itertuples(index=False)}
        hairpins = {str(r.name): dna(r.sequence) for r in hairpin.itertuples(index=False)}
        arms: dict[str, list[Arm]] = defaultdict(list)
        pairs = set()
        for r in products.itertuples(index=False):
            name = name_of_mimat.get(str(r.mimat), str(r.mature))
            if name in mature_seq and str(r.precursor) in hairpins:
                pairs.add((str(r.precursor), name))
        for hp, name in sorted(pairs):
            start = hairpins[hp].find(mature_seq[name])
            if start >= 0:
                arms[hp].append(Arm(hp, name, mimat[name], start, start + len(mature_seq[name])))
        for hp in arms:
            arms[hp].sort(key=lambda a: a.start)
        return cls(mature_seq, mimat, hairpins, dict(arms), release=release)


@functools.lru_cache(maxsize=4)
def load_reference(source: str | None = None) -> MirnaReference:
    """The human miRNA reference of the miRBase release given by ``source`` (folder), else the
    identity layer's default (``EXOMIR_MIRBASE`` or download). Cached per process."""
    mb = load_mirbase(source)
    reference = MirnaReference.from_tables(mb.mature, mb.hairpin, mb.products, release=str(mb.release))
    # the indexes are a few hundred thousand long-lived objects: keep them out of every later
    # garbage collection pass, which would otherwise rescan them again and again
    gc.collect()
    gc.freeze()
    return reference
