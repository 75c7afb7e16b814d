"""3′ adapters of small RNA kits: detection from the reads, and trimming as cutadapt does.

Detection counts, in a sample of reads, how many contain the first 12 nt of each known kit's
adapter; the kit found in most reads wins (ties broken by the adapter that starts further left,
because a QIAseq read also carries the Illumina adapter after its UMI). When no kit reaches 10 %
of the reads the adapter is assembled de novo from the most enriched 12-mer, extended base by
base while one base dominates at the next position.

Trimming is cutadapt's 3′ ("back") adapter rule: the adapter may occur anywhere in the read or
only partly at its end (minimum overlap 3), with up to 10 % errors; the read is cut at the start
of the match. An exact occurrence is found with ``str.find`` (cutadapt does the same); a read
whose adapter has substitutions is located by one of two intact 10-nt pieces of the adapter
and accepted when the substitutions fit the error budget; the rest go through cutadapt's own
aligner. Tests check that the inserts agree with cutadapt's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from cutadapt.adapters import BackAdapter


@dataclass(frozen=True)
class Kit:
    name: str
    adapter: str
    umi_length: int = 0
    note: str = ""


#: documented 3′ adapters of small RNA library kits (DNA alphabet)
KITS: tuple[Kit, ...] = (
    Kit("Illumina TruSeq Small RNA", "TGGAATTCTCGGGTGCCAAGG",
        note="also NEXTflex Small RNA v3 (use --trim-4n) and Lexogen Small RNA-Seq"),
    Kit("QIAseq miRNA", "AACTGTAGGCACCATCAAT", umi_length=12,
        note="12-nt UMI follows the adapter"),
    Kit("NEBNext Small RNA / Illumina universal", "AGATCGGAAGAGCACACGTCT"),
    Kit("Illumina Small RNA v1.5", "ATCTCGTATGCCGTCTTCTGCTTG"),
    Kit("Ion Total RNA-Seq v2", "ATCACCGACTGCCCATAGAGAGG"),
    Kit("MGI/BGI small RNA", "AGTCGGAGGCCAAGCGGTCTTAGGAAGACAA"),
    Kit("SOLiD small RNA", "CGCCTTGGCCGTACAGCAG"),
    Kit("poly(A)-tailing kits (SMARTer smRNA, CATS)", "AAAAAAAAAAAAAAA"),
)

_PROBE = 12  # nt of each adapter looked for in the detection sample
_MIN_FRACTION = 0.10


@dataclass(frozen=True)
class AdapterChoice:
    """The adapter used for a sample and how it was chosen."""

    sequence: str
    source: str  # "given", "kit", "de novo", "none"
    kit: str = ""
    umi_length: int = 0
    fraction: float = float("nan")  # of sampled reads containing the adapter's first 12 nt

    def describe(self) -> str:
        what = self.kit or self.source
        frac = "" if self.fraction != self.fraction else f", in {self.fraction:.1%} of sampled reads"
        return f"{self.sequence} ({what}{frac})"


def _weighted_find(sample: Counter[str], probe: str) -> tuple[int, float]:
    """Reads holding ``probe`` and the mean position of its first occurrence in them."""
    pos = np.fromiter((seq.find(probe) for seq in sample), dtype=np.int64, count=len(sample))
    counts = np.fromiter(sample.values(), dtype=np.int64, count=len(sample))
    found = pos >= 0
    hits = int(counts[found].sum())
    return hits, (int((pos[found] * counts[found]).sum()) / hits if hits else float("inf"))


def detect_adapter(sample: Counter[str]) -> AdapterChoice:
    """Choose the 3′ adapter from a Counter of read sequences (known kits first, else de novo)."""
    total = sample.total()
    if not total:
        return AdapterChoice("", "none")
    scored = []
    for kit in KITS:
        hits, mean_pos = _weighted_find(sample, kit.adapter[:_PROBE])
        scored.append((hits, mean_pos, kit))
    best_hits = max(h for h, _, _ in scored)
    if best_hits >= _MIN_FRACTION * total:
        # among kits found nearly as often as the best, the leftmost adapter is the first one ligated
        close = [s for s in scored if s[0] >= 0.8 * best_hits]
        hits, _, kit = min(close, key=lambda s: (s[1], -s[0]))
        return AdapterChoice(kit.adapter, "kit", kit=kit.name, umi_length=kit.umi_length, fraction=hits / total)
    denovo = assemble_adapter(sample)
    if denovo:
        hits, _ = _weighted_find(sample, denovo[:_PROBE])
        return AdapterChoice(denovo, "de novo", fraction=hits / total)
    return AdapterChoice("", "none", fraction=0.0)


def assemble_adapter(sample: Counter[str], k: int = 12, min_fraction: float = 0.2) -> str:
    """Assemble an adapter de novo: the most enriched k-mer extended while one base dominates."""
    total = sample.total()
    kmers: Counter[str] = Counter()
    for seq, n in sample.items():
        seen = {seq[i:i + k] for i in range(len(seq) - k + 1)}
        for kmer in seen:
            kmers[kmer] += n
    if not kmers:
        return ""
    seed, count = max(kmers.items(), key=lambda kv: (kv[1], kv[0]))
    if count < min_fraction * total or len(set(seed)) < 3:
        return ""
    occurrences = [(seq, seq.find(seed), n) for seq, n in sample.items() if seed in seq]
    # an adapter follows inserts of many lengths, so it starts at many positions; a k-mer that
    # sits at one position is an abundant insert (already trimmed reads), not an adapter
    starts: Counter[int] = Counter()
    for _, i, n in occurrences:
        starts[i] += n
    if starts.most_common(1)[0][1] > 0.6 * starts.total():
        return ""

    def consensus(offset_of) -> str | None:
        votes: Counter[str] = Counter()
        for seq, i, n in occurrences:
            j = offset_of(i)
            if 0 <= j < len(seq):
                votes[seq[j]] += n
        if not votes:
            return None
        base, top = votes.most_common(1)[0]
        return base if top >= 0.8 * votes.total() and votes.total() >= 0.5 * count else None

    adapter = seed
    left = 0
    while (base := consensus(lambda i, left=left: i - left - 1)) is not None and left < 20:
        adapter = base + adapter  # extend to the 5′ side while the insert ends do not vary yet
        left += 1
    right = 0
    while (base := consensus(lambda i, right=right: i + k + right)) is not None and right < 30:
        adapter += base
        right += 1
    return adapter


def _mismatches(a: str, b: str) -> int:
    """Hamming distance of equal-length ASCII strings, computed in C (XOR of big integers)."""
    n = len(a)
    return n - (int.from_bytes(a.encode(), "big") ^ int.from_bytes(b.encode(), "big")).to_bytes(n, "big").count(0)


class AdapterTrimmer:
    """Cut a 3′ adapter (cutadapt semantics) and return the insert and what followed the adapter."""

    def __init__(self, adapter: str, max_error_rate: float = 0.1, min_overlap: int = 3) -> None:
        self.adapter = adapter.upper().replace("U", "T")
        self._max_error_rate = max_error_rate
        # two disjoint 10-nt probes of the adapter: one of them is intact in almost every read
        self._probes = [(self.adapter[o:o + 10], o) for o in (0, 10) if len(self.adapter) >= o + 10]
        self._cutadapt = (
            BackAdapter(self.adapter, max_errors=max_error_rate, min_overlap=min_overlap, indels=True)
            if self.adapter else None
        )
        if self._cutadapt is not None:
            self._kmers_present = self._cutadapt.kmer_finder.kmers_present
            self._locate = self._cutadapt.aligner.locate

    def trim(self, read: str) -> tuple[str, str] | None:
        """``(insert, after_adapter)`` or None when the read holds no adapter."""
        if self._cutadapt is None:
            return None
        i = read.find(self.adapter)
        if i >= 0:
            return read[:i], read[i + len(self.adapter):]
        for probe, offset in self._probes:
            j = read.find(probe)
            if j >= offset:
                start = j - offset
                overlap = min(len(read) - start, len(self.adapter))
                # substitutions only, within cutadapt's error budget for this overlap
                if _mismatches(read[start:start + overlap], self.adapter[:overlap]) <= int(self._max_error_rate * overlap):
                    return read[:start], read[start + overlap:]
        return self.align(read)

    def align(self, read: str) -> tuple[str, str] | None:
        """The last step of :meth:`trim`, cutadapt's aligner alone (``BackAdapter.match_to``
        without building its Match object): for reads known to hold neither the exact adapter
        nor an intact probe."""
        if self._cutadapt is None or not self._kmers_present(read):
            return None
        found = self._locate(read)  # (adapter start, stop, read start, stop, score, errors)
        if found is None:
            return None
        return read[: found[2]], read[found[3]:]
