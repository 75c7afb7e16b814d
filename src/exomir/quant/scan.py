"""One FASTQ file through the read kernel: decompression in one thread, the kernel in others.

The file is read in blocks of complete 4-line records (a block ends after a multiple of four
newlines). Each block goes to a thread running :func:`exomir.quant.kernel.scan_block`, which
holds no GIL, so ``threads`` blocks are scanned at once while the next block is decompressed
(ISA-L, also without the GIL). Each block comes back as distinct insert codes with their read
counts; the blocks are merged as they finish, so memory follows the number of distinct inserts,
never the number of reads. Reads the kernel leaves to Python (an adapter only cutadapt's aligner
can find, a byte that is not A/C/G/T/N) are collapsed and trimmed by
:class:`~exomir.quant.adapters.AdapterTrimmer`, exactly as before.

A file the kernel cannot read as plain 4-line FASTQ (``STATUS_MALFORMED``) raises
:class:`KernelDeclined`; the caller then reads it with dnaio, which names the bad record.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import exomir.quant.kernel as kernel
from exomir.quant.adapters import AdapterChoice, AdapterTrimmer

BLOCK_BYTES = 4 << 20
_ACGT = frozenset("ACGT")
_MERGE_EVERY = 4_000_000  # merge the per-block distinct codes once they add up to this many


class KernelDeclined(Exception):
    """The file is not plain 4-line FASTQ as the kernel reads it; use the dnaio route."""


@dataclass
class ScanResult:
    """Outcome counts (``sample._OUTCOMES`` order) and the kept inserts of one file."""

    tally: np.ndarray
    codes: np.ndarray  # distinct insert codes (with UMIs: one row per distinct insert and UMI)
    counts: np.ndarray
    umis: np.ndarray | None = None  # UMI code per row (0 = none), when UMIs are used
    odd: Counter = field(default_factory=Counter)  # kept inserts with a byte other than ACGT
    odd_umi: list = field(default_factory=list)  # (insert code, UMI text, reads): UMIs holding N
    long_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # too long: first 31 nt
    long_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def open_blocks(path: Path):
    """Yield decompressed byte blocks of ``path`` (gzip or plain) that end on a record boundary.

    Each block is read straight into its own buffer, behind the part record it continues."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    if gz:
        from isal import igzip_threaded

        handle = igzip_threaded.open(path, "rb", threads=1)
    else:
        handle = open(path, "rb")
    carry = b""
    with handle:
        while True:
            buf = np.empty(len(carry) + BLOCK_BYTES, dtype=np.uint8)  # not zeroed: it is read over
            buf[: len(carry)] = np.frombuffer(carry, dtype=np.uint8)
            try:
                got = handle.readinto(memoryview(buf)[len(carry):])
            except (EOFError, zlib.error, OSError) as exc:  # dnaio's route names the record
                raise KernelDeclined(str(exc)) from exc
            if not got:
                break
            arr = buf[: len(carry) + got]
            cut = kernel.record_cut(arr)
            carry = arr[cut:].tobytes()
            if cut:
                yield arr[:cut]
    if carry:
        if not carry.endswith(b"\n"):
            carry += b"\n"
        yield np.frombuffer(carry, dtype=np.uint8)


class _Params:
    def __init__(self, choice: AdapterChoice, options, use_umi: bool, umi_len: int) -> None:
        self.trim = bool(choice.sequence)
        adapter = choice.sequence if self.trim else "A"
        self.adapter = np.frombuffer(adapter.encode(), dtype=np.uint8).copy()
        self.rate = float(options.max_error_rate)
        self.min_overlap = int(options.min_overlap)
        self.lo, self.hi = int(options.min_length), int(options.max_length)
        self.four_n = bool(options.trim_4n)
        self.use_umi = bool(use_umi)
        self.umi_len = int(umi_len)


def usable(choice: AdapterChoice, options, umi_len: int) -> bool:
    """Whether the kernel reproduces the Python route for these options."""
    if options.max_length > kernel.MAX_CODE_LENGTH or umi_len > kernel.MAX_CODE_LENGTH:
        return False
    return not (set(choice.sequence) - set("ACGT"))


_buffers = threading.local()


def _outputs(n_records: int):
    """The kernel's output arrays, kept per thread and reused from block to block: fresh ones
    (tens of MB a block at the worst-case record count) cost more in page faults than the scan."""
    found = getattr(_buffers, "arrays", None)
    if found is None or len(found[0]) < n_records:
        found = _buffers.arrays = (np.empty(n_records, dtype=np.uint64), np.empty(n_records, dtype=np.uint64),
                                   np.empty((n_records, 3), dtype=np.int64), np.empty(n_records, dtype=np.uint64))
    return found


def _scan(block: np.ndarray, p: _Params):
    n_records = max(1, len(block) // 8)  # the shortest record ("@\nA\n+\nI\n") has 8 bytes
    codes, umis, fallback, long_codes = _outputs(n_records)
    tally = np.zeros(6, dtype=np.int64)
    status, reads, kept, nfb, nlong = kernel.scan_block(
        block, p.adapter, p.trim, p.rate, p.min_overlap, p.lo, p.hi, p.four_n, p.use_umi,
        p.umi_len, kernel._LUT, codes, umis, fallback, tally, long_codes)
    if status != kernel.STATUS_OK:
        raise KernelDeclined
    left: Counter = Counter()  # (read, reason) -> reads, one entry per distinct read
    if nfb:
        rows, counts = kernel.group_ranges(block, fallback[:nfb])
        for (a, b, why), n in zip(fallback[rows].tolist(), counts.tolist()):
            left[(block[a:b].tobytes().decode("latin-1"), why)] = n
    longs = kernel.sort_count(long_codes[:nlong])
    if p.use_umi:
        pair_codes, pair_umis, pair_counts = _distinct_pairs(codes[:kept], umis[:kept])
        return tally, pair_codes, pair_counts, pair_umis, left, reads, longs
    values, counts = kernel.sort_count(codes[:kept])
    return tally, values, counts, None, left, reads, longs


def _distinct_pairs(codes: np.ndarray, umis: np.ndarray):
    if not len(codes):
        return codes, umis, np.zeros(0, dtype=np.int64)
    order = np.lexsort((umis, codes))
    c, u = codes[order], umis[order]
    start = np.ones(len(c), dtype=bool)
    start[1:] = (c[1:] != c[:-1]) | (u[1:] != u[:-1])
    idx = np.flatnonzero(start)
    counts = np.diff(np.append(idx, len(c)))
    return c[idx], u[idx], counts.astype(np.int64)


def _merge(parts_codes, parts_counts, parts_umis, use_umi):
    codes = np.concatenate(parts_codes) if parts_codes else np.zeros(0, dtype=np.uint64)
    counts = np.concatenate(parts_counts) if parts_counts else np.zeros(0, dtype=np.int64)
    umis = (np.concatenate(parts_umis) if parts_umis else np.zeros(0, dtype=np.uint64)) if use_umi else None
    return merge_rows(codes, counts, umis)


def merge_rows(codes: np.ndarray, counts: np.ndarray, umis: np.ndarray | None = None):
    """``(codes, counts, umis)`` with equal rows (code, or code and UMI) summed, sorted."""
    if umis is None:
        return kernel.merge_counts(codes, counts) + (None,)
    order = np.lexsort((umis, codes))
    c, u, n = codes[order], umis[order], counts[order]
    if not len(c):
        return c, n, u
    start = np.ones(len(c), dtype=bool)
    start[1:] = (c[1:] != c[:-1]) | (u[1:] != u[:-1])
    idx = np.flatnonzero(start)
    return c[idx], np.add.reduceat(n, idx), u[idx]


def scan_file(path: Path, choice: AdapterChoice, options, use_umi: bool, umi_len: int, *, threads: int = 2,
              progress: Callable[[int], None] | None = None, blocks=None) -> ScanResult:
    """Scan a FASTQ file with the kernel (see the module doc). Raises KernelDeclined.

    ``blocks``: the file's blocks when already opened (:func:`open_blocks`), e.g. after the
    first ones were read for adapter detection."""
    p = _Params(choice, options, use_umi, umi_len)
    tally = np.zeros(6, dtype=np.int64)
    parts_codes, parts_counts, parts_umis = [], [], []
    pending_size = 0
    leftover = _Leftover(choice, options, p)
    long_parts: list = []

    def collect(result) -> None:
        # in the calling thread only, while the pool scans the next blocks
        nonlocal pending_size, parts_codes, parts_counts, parts_umis
        t, codes, counts, umis, fb, reads, longs = result
        tally[:] += t
        long_parts.append(longs)
        leftover.add(fb)
        parts_codes.append(codes)
        parts_counts.append(counts)
        if umis is not None:
            parts_umis.append(umis)
        pending_size += len(codes)
        if pending_size > _MERGE_EVERY:
            c, n, u = _merge(parts_codes, parts_counts, parts_umis, p.use_umi)
            parts_codes, parts_counts = [c], [n]
            parts_umis = [u] if u is not None else []
            pending_size = len(c)
        if progress is not None:
            progress(reads)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        inflight: deque = deque()
        for block in open_blocks(path) if blocks is None else blocks:
            inflight.append(pool.submit(_scan, block, p))
            while len(inflight) > 2 * max(1, threads) or (inflight and inflight[0].done()):
                collect(inflight.popleft().result())
        while inflight:
            collect(inflight.popleft().result())
    codes, counts, umis = _merge(parts_codes, parts_counts, parts_umis, p.use_umi)
    result = ScanResult(tally, codes, counts, umis)
    result.long_codes, result.long_counts, _ = _merge([c for c, _ in long_parts], [n for _, n in long_parts], [],
                                                      False)
    leftover.finish(result)
    return result


class _Leftover:
    """Reads the kernel left over, trimmed and classified by the Python route as their blocks
    come back (so the work overlaps the scan), added to the result once at the end."""

    def __init__(self, choice: AdapterChoice, options, p: _Params) -> None:
        self.p = p
        self.trimmer = AdapterTrimmer(choice.sequence, options.max_error_rate, options.min_overlap)
        self.tally = np.zeros(6, dtype=np.int64)
        self.kept: list[tuple[str, str, int]] = []
        self.longs: list[tuple[str, int]] = []
        self.odd: Counter = Counter()
        self.odd_umi: list = []

    def add(self, left: Counter) -> None:
        """``left``: (read, fallback reason) -> reads."""
        p = self.p
        for (raw, why), n in left.items():
            if p.trim:
                cut = self.trimmer.align(raw) if why == kernel.FALLBACK_ALIGN else self.trimmer.trim(raw)
                outcome = (0, "", "") if cut is None else classify_insert(cut[0], cut[1], p.lo, p.hi, p.four_n,
                                                                          p.use_umi, p.umi_len)
            else:
                outcome = classify_insert(raw, "", p.lo, p.hi, p.four_n, False, 0)
            code, insert, umi = outcome
            self.tally[code] += n
            if code == 3 and not set(insert[:kernel.MAX_CODE_LENGTH]) - _ACGT:
                self.longs.append((insert[:kernel.MAX_CODE_LENGTH], n))
            elif code == 4:
                if set(insert) - _ACGT:
                    self.odd[insert] += n
                elif p.use_umi and umi and set(umi) - _ACGT:
                    self.odd_umi.append((kernel.encode(insert), umi, n))
                else:
                    self.kept.append((insert, umi if p.use_umi else "", n))

    def finish(self, result: ScanResult) -> None:
        p, kept, longs = self.p, self.kept, self.longs
        result.tally += self.tally
        result.odd.update(self.odd)
        result.odd_umi.extend(self.odd_umi)
        if longs:
            result.long_codes, result.long_counts, _ = merge_rows(
                np.concatenate([result.long_codes, kernel.encode_many([q for q, _ in longs])]),
                np.concatenate([result.long_counts, np.array([n for _, n in longs], dtype=np.int64)]))
        if kept:
            codes = kernel.encode_many([q for q, _, _ in kept])
            counts = np.array([n for _, _, n in kept], dtype=np.int64)
            umis = None
            if p.use_umi:
                umis = np.zeros(len(kept), dtype=np.uint64)
                with_umi = [i for i, (_, u, _) in enumerate(kept) if u]
                umis[with_umi] = kernel.encode_many([kept[i][1] for i in with_umi])
                umis = np.concatenate([result.umis, umis])
            result.codes, result.counts, result.umis = merge_rows(np.concatenate([result.codes, codes]),
                                                                  np.concatenate([result.counts, counts]), umis)


def classify_insert(insert: str, after: str, lo: int, hi: int, four_n: bool, use_umi: bool, umi_len: int):
    """Outcome of one trimmed read in Python, as the kernel decides it: (code, insert, UMI)."""
    if not insert:
        return (1, "", "")
    if four_n:
        insert = insert[4:-4] if len(insert) > 8 else ""
    length = len(insert)
    if length < lo:
        return (2, "", "")
    if length > hi:
        return (3, insert, "")  # kept for its RNA type only
    if "N" in insert:
        return (5, "", "")
    umi = after[:umi_len] if use_umi and len(after) >= umi_len else ""
    return (4, insert, umi)
