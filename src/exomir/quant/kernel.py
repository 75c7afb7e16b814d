"""The read kernel: FASTQ bytes in, 2-bit codes of the kept inserts out (numba, no GIL).

One call handles a block of complete FASTQ records. For each read it repeats what
:class:`~exomir.quant.adapters.AdapterTrimmer` and ``scan.classify_insert`` do in Python (exact
adapter, then the two 10-nt probes with substitutions only, then cutadapt's aligner), except the
last step: a read whose adapter could only be found by cutadapt's aligner is handed back to
Python by its offsets ("fallback"). Whether cutadapt *could* find an alignment is decided soundly
by an edit-distance pass (:func:`_may_align`, bit-parallel in :func:`_may_align_any`; a superset
of cutadapt's acceptance); a read with no such alignment can only carry an error-free partial
adapter at its 3′ end (fewer than 10 adapter bases at cutadapt's 10 % error rate), which is
checked here directly. The whole adapter is looked for first (Horspool), as most reads hold it.

A kept insert of ``n`` ≤ 31 nt becomes the code ``1 << 2n | bits`` (A=0, C=1, G=2, T=3, first
base most significant): codes of one length sort like their sequences, and the length is
``(bit_length - 1) // 2``. A UMI is packed the same way (0 = no UMI).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
from numba import njit

#: read outcomes, in the order of ``sample._OUTCOMES``
NO_ADAPTER, DIMER, TOO_SHORT, TOO_LONG, KEPT, AMBIGUOUS = range(6)
STATUS_OK, STATUS_MALFORMED = 0, 1
#: why a read is left to Python: only cutadapt's aligner can tell (the exact adapter and both
#: probes are known absent), or anything else (a byte other than A/C/G/T/N, a UMI with N)
FALLBACK_ALIGN, FALLBACK_OTHER = 0, 1
MAX_CODE_LENGTH = 31

# byte -> 2-bit base; 4 = N; 5 = anything else
_LUT = np.full(256, 5, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _LUT[_b] = _i
_LUT[ord("N")] = 4


def in_halves(n: int, run: Callable[[int, int, int], None], split_from: int) -> None:
    """``run(k, lo, hi)`` over ``range(n)``: as two halves (k = 0, 1) on two threads when ``n`` is at
    least ``split_from`` and there are two cores (``run`` must free the GIL: a numba kernel), else once (k = 0)."""
    if n < split_from or (os.cpu_count() or 1) < 2:
        run(0, 0, n)
        return
    half = n // 2
    other = threading.Thread(target=run, args=(1, half, n))
    other.start()
    run(0, 0, half)
    other.join()


def encode(seq: str) -> int:
    """The code of an ACGT sequence (see the module doc)."""
    code = 1
    for ch in seq:
        code = (code << 2) | "ACGT".index(ch)
    return code


def encode_many(seqs: list[str]) -> np.ndarray:
    """Codes of many ACGT sequences at once (compiled loop over their joined bytes)."""
    if not seqs:
        return np.zeros(0, dtype=np.uint64)
    joined = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
    ends = np.cumsum(np.fromiter((len(q) for q in seqs), dtype=np.int64, count=len(seqs)))
    return _encode_joined(joined, ends, _LUT)


@njit(nogil=True, cache=True)
def _encode_joined(joined, ends, lut):
    out = np.empty(ends.shape[0], dtype=np.uint64)
    start = 0
    for k in range(ends.shape[0]):
        code = np.uint64(1)
        for i in range(start, ends[k]):
            code = (code << np.uint64(2)) | np.uint64(lut[joined[i]] & 3)
        out[k] = code
        start = ends[k]
    return out


def record_cut(block: np.ndarray) -> int:
    """Bytes of ``block`` that hold whole 4-line records (0 when not one is complete).

    Found from the end: the last line that starts with ``@`` and whose next-but-one line starts
    with ``+`` is a header (a quality line starting with ``@`` is followed two lines later by a
    sequence line). A wrong cut cannot pass unnoticed: the kernel checks every record it reads."""
    return int(_record_cut(block))


@njit(nogil=True, cache=True)
def _record_cut(block):
    size = block.shape[0]
    starts = np.empty(12, dtype=np.int64)  # starts of the last lines, newest first
    n = 0
    i = size - 2 if size and block[size - 1] == 10 else size - 1
    while i >= -1 and n < 12:
        if i < 0 or block[i] == 10:
            starts[n] = i + 1
            n += 1
        i -= 1
    for k in range(2, n):
        if block[starts[k]] == 64 and block[starts[k - 2]] == 43:  # '@' line, '+' two lines on
            if k >= 4:
                return starts[k - 4]  # the header's record is whole: cut before the next line
            if k == 3 and block[size - 1] == 10:
                return size
            return starts[k]  # its record is not whole: cut before it
    return 0


def decode(code: int) -> str:
    n = (int(code).bit_length() - 1) // 2
    return "".join("ACGT"[(int(code) >> (2 * (n - 1 - i))) & 3] for i in range(n))


def decode_many(codes: np.ndarray) -> list[str]:
    """Sequences of many codes at once (vectorised by length)."""
    codes = np.asarray(codes, dtype=np.uint64)
    out = [""] * len(codes)
    if not len(codes):
        return out
    lengths = code_lengths(codes)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        shifts = np.arange(2 * (int(n) - 1), -1, -2, dtype=np.uint64)
        bases = (codes[idx, None] >> shifts[None, :]) & np.uint64(3)
        text = letters[bases.astype(np.uint8)].tobytes().decode()
        for j, i in enumerate(idx.tolist()):
            out[i] = text[j * int(n):(j + 1) * int(n)]
    return out


def code_lengths(codes: np.ndarray) -> np.ndarray:
    """Sequence length of each code."""
    return _code_lengths(np.ascontiguousarray(codes, dtype=np.uint64))


@njit(nogil=True, cache=True)
def _code_lengths(codes):
    out = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        x = codes[i]
        n = 0
        for step in (16, 8, 4, 2, 1):  # halving search for the marker bit (2 bits a base)
            if x >= np.uint64(1) << np.uint64(2 * step):
                x >>= np.uint64(2 * step)
                n += step
        out[i] = n
    return out


@njit(nogil=True, cache=True)
def _find(buf, a, b, pat, p0, p1):
    """First index i (relative to a) with buf[a+i : a+i+(p1-p0)] == pat[p0:p1], else -1."""
    k = p1 - p0
    first = pat[p0]
    for i in range(a, b - k + 1):
        if buf[i] == first:
            ok = True
            for j in range(1, k):
                if buf[i + j] != pat[p0 + j]:
                    ok = False
                    break
            if ok:
                return i - a
    return -1


@njit(nogil=True, cache=True)
def _skip_table(pat):
    """Horspool's shift for each byte: how far the pattern may move when it ends on that byte."""
    k = pat.shape[0]
    skip = np.full(256, k, dtype=np.int64)
    for t in range(k - 1):
        skip[pat[t]] = k - 1 - t
    return skip


@njit(nogil=True, cache=True)
def _find_whole(buf, a, b, pat, skip):
    """First index i (relative to a) where the whole ``pat`` occurs in buf[a:b], else -1
    (Horspool: compare from the pattern's end, shift by the byte under it)."""
    k = pat.shape[0]
    last = pat[k - 1]
    i = a
    while i + k <= b:
        c = buf[i + k - 1]
        if c == last:
            j = k - 2
            while j >= 0 and buf[i + j] == pat[j]:
                j -= 1
            if j < 0:
                return i - a
        i += skip[c]
    return -1


@njit(nogil=True, cache=True)
def _probe_code(adapter, off):
    code = 0
    for t in range(10):
        v = 0
        c = adapter[off + t]
        if c == 67:
            v = 1
        elif c == 71:
            v = 2
        elif c == 84:
            v = 3
        code = (code << 2) | v
    return code


@njit(nogil=True, cache=True)
def _first_probes(buf, a, b, lut, code0, code1):
    """First positions (relative to ``a``) of the adapter's two 10-nt probes, in one pass of a
    rolling 2-bit code (a window holding a byte other than A/C/G/T matches nothing)."""
    j0 = -1
    j1 = -1
    code = 0
    valid = 0
    mask = (1 << 20) - 1
    for i in range(a, b):
        v = lut[buf[i]]
        if v > 3:
            valid = 0
            code = 0
            continue
        code = ((code << 2) | v) & mask
        valid += 1
        if valid >= 10:
            if j0 < 0 and code == code0:
                j0 = i - 9 - a
            if j1 < 0 and code == code1:
                j1 = i - 9 - a
            if j0 >= 0 and (j1 >= 0 or code1 < 0):
                break
    return j0, j1


@njit(nogil=True, cache=True)
def _trim(buf, a, b, adapter, rate, min_overlap, lut, code0, code1, long_from, skip):
    """(cut, after_start, state): state 0 = no adapter, 1 = cut found, 2 = needs cutadapt,
    3 = too long whatever cutadapt's aligner chooses (``long_from``: the first cut that makes
    an insert too long with the same first 31 nt, -1 = never)."""
    la = adapter.shape[0]
    n = b - a
    if code0 >= 0:
        i = _find_whole(buf, a, b, adapter, skip)  # most reads hold the whole adapter
        if i >= 0:
            return a + i, a + i + la, 1
        found = _first_probes(buf, a, b, lut, code0, code1)
    else:  # an adapter shorter than 10 nt: plain search, no probes
        i = _find(buf, a, b, adapter, 0, la)
        if i >= 0:
            return a + i, a + i + la, 1
        found = (-1, -1)
    for probe in range(2):
        off = probe * 10
        if la < off + 10:
            break
        j = found[probe]
        if j >= off:
            start = j - off
            overlap = min(n - start, la)
            mm = 0
            for t in range(overlap):
                if buf[a + start + t] != adapter[t]:
                    mm += 1
            if mm <= int(rate * overlap):
                return a + start, a + start + overlap, 1
    # cutadapt's aligner could still match with errors: look for such an alignment first
    if _may_align_any(buf, a, b, adapter, rate):
        # it surely matches (an error-free partial adapter ends the read) and no match it may
        # choose starts before long_from: the read is too long, whichever it chooses
        if 0 <= long_from < n and _end_partial(buf, a, b, adapter, rate, min_overlap, False) >= 0 \
                and not _may_align(buf, a, b, adapter, rate, long_from):
            return 0, 0, 3
        return 0, 0, 2
    # otherwise only an error-free partial adapter at the 3' end: the longest one
    m = _end_partial(buf, a, b, adapter, rate, min_overlap, True)
    if m >= 0:
        return b - m, b, 1
    return 0, 0, 0


@njit(nogil=True, cache=True)
def _end_partial(buf, a, b, adapter, rate, min_overlap, errorless_only):
    """Length of the longest adapter prefix (at least ``min_overlap``) that ends the read without
    error, -1 if none; ``errorless_only``: only lengths where no error would be allowed."""
    for m in range(min(adapter.shape[0], b - a), min_overlap - 1, -1):
        if errorless_only and int(rate * m) != 0:
            continue
        ok = True
        for t in range(m):
            if buf[b - m + t] != adapter[t]:
                ok = False
                break
        if ok:
            return m
    return -1


@njit(nogil=True, cache=True)
def _columns(buf, a, b, adapter, rate):
    """What the edit-distance pass must look at: (whether a whole adapter may occur, the edits it
    may have, the first read base to align). By the pigeonhole, a whole adapter within ``k``
    edits holds one of ``k + 1`` disjoint 5-nt pieces intact and leaves room for itself after
    it; when no piece does, only the last ``len(adapter) + k`` bases can hold an end alignment."""
    la = adapter.shape[0]
    full_limit = int(rate * la) + 1
    check_full = int(rate * la) >= 1
    if check_full and la // 5 >= full_limit + 1:  # the pigeonhole applies
        check_full = False
        for k in range(full_limit + 1):
            p = _find(buf, a, b, adapter, 5 * k, 5 * k + 5)
            if p >= 0 and a + p - 5 * k + la - full_limit <= b:
                check_full = True
                break
    return check_full, full_limit, (a if check_full else max(a, b - la - full_limit))


@njit(nogil=True, cache=True)
def _may_align(buf, a, b, adapter, rate, limit):
    """Whether the adapter (whole, anywhere) or a prefix of it (at the read's 3' end) aligns with
    at least one error allowed and no more errors than allowed plus one: a superset of what
    cutadapt's aligner accepts, so the read goes to it whenever it might match. Only alignments
    that start less than ``limit`` bases into the read count (``limit`` > read length: all);
    with a limit, error-free end alignments count too.

    Sellers' edit distance with a free start in the read, one column per read base, over the
    read bases :func:`_columns` leaves."""
    la = adapter.shape[0]
    check_full, full_limit, start = _columns(buf, a, b, adapter, rate)
    limited = limit <= b - a
    never = la + (b - a) + 1  # the cost of a start the limit forbids
    col = np.empty(la + 1, dtype=np.int32)
    for i in range(la + 1):
        col[i] = i + (0 if start - a < limit else never)
    for j in range(start, b):
        diag = col[0]  # D[0][j-1]: the alignment may start at read base j (if within the limit)
        col[0] = 0 if j + 1 - a < limit else never
        base = buf[j]
        for i in range(1, la + 1):
            up = col[i]
            best = diag + (1 if adapter[i - 1] != base else 0)
            if up + 1 < best:
                best = up + 1
            if col[i - 1] + 1 < best:
                best = col[i - 1] + 1
            diag = up
            col[i] = best
        if check_full and col[la] <= full_limit:
            return True
    for i in range(1, la + 1):  # prefixes ending at the read end, where errors are allowed
        e = int(rate * i)
        if (e >= 1 or limited) and col[i] <= e + 1:
            return True
    return False


@njit(nogil=True, cache=True)
def _may_align_any(buf, a, b, adapter, rate):
    """``_may_align`` with no limit on where the alignment starts, bit-parallel (Myers 1999):
    one machine word holds a whole column of the edit-distance matrix as +1/-1 steps, so a read
    base costs a dozen word operations instead of one pass over the adapter. Same pigeonhole
    and same acceptance as ``_may_align``; adapters longer than 64 nt take the scalar pass."""
    la = adapter.shape[0]
    if la > 64:
        return _may_align(buf, a, b, adapter, rate, b - a + 1)
    check_full, full_limit, start = _columns(buf, a, b, adapter, rate)
    peq = np.zeros(4, dtype=np.uint64)  # adapter positions holding A, C, G, T
    for i in range(la):
        c = adapter[i]
        v = 0 if c == 65 else 1 if c == 67 else 2 if c == 71 else 3 if c == 84 else 4
        if v < 4:
            peq[v] |= np.uint64(1) << np.uint64(i)
    full = np.uint64(0xFFFFFFFFFFFFFFFF) if la == 64 else (np.uint64(1) << np.uint64(la)) - np.uint64(1)
    top = np.uint64(1) << np.uint64(la - 1)
    pv = full  # vertical steps of the first column (D[i] = i): all +1
    mv = np.uint64(0)
    score = la
    for j in range(start, b):
        c = buf[j]
        v = 0 if c == 65 else 1 if c == 67 else 2 if c == 71 else 3 if c == 84 else 4
        eq = peq[v] if v < 4 else np.uint64(0)  # N or another byte matches no adapter base
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = (ph << np.uint64(1)) & full  # the top row stays 0: the alignment may start anywhere
        mh = (mh << np.uint64(1)) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
        if check_full and score <= full_limit:
            return True
    d = 0
    for i in range(1, la + 1):  # prefixes ending at the read end, where errors are allowed
        bit = np.uint64(1) << np.uint64(i - 1)
        if pv & bit:
            d += 1
        elif mv & bit:
            d -= 1
        e = int(rate * i)
        if e >= 1 and d <= e + 1:
            return True
    return False


@njit(nogil=True, cache=True)
def _pack(buf, a, b, lut):
    """(code, kind): kind 0 = packed, 1 = holds N, 2 = another byte."""
    code = np.uint64(1)
    n_seen = False
    for i in range(a, b):
        v = lut[buf[i]]
        if v > 4:
            return np.uint64(0), 2
        if v == 4:
            n_seen = True
        code = (code << np.uint64(2)) | np.uint64(v & 3)
    if n_seen:
        return np.uint64(0), 1
    return code, 0


@njit(nogil=True, cache=True)
def _line_end(buf, i):
    """Index of the newline ending the line at ``i`` (``len(buf)`` when there is none)."""
    size = buf.shape[0]
    while i < size and buf[i] != 10:
        i += 1
    return i


@njit(nogil=True, cache=True)
def scan_block(buf, adapter, trim, rate, min_overlap, lo, hi, four_n, use_umi, umi_len, lut,
               codes, umis, fallback, tally, long_codes):
    """Parse and classify every record of ``buf`` (complete records only).

    Writes the kept inserts' codes (and UMIs) to ``codes``/``umis``, the (start, end, reason) of
    reads left to Python to ``fallback``, the code of the first 31 nt of each too-long insert to
    ``long_codes`` (for its RNA type), adds outcome counts to ``tally``. Returns
    ``(status, reads, kept, n_fallback, n_long)``; status 1 = not a 4-line FASTQ record somewhere."""
    size = buf.shape[0]
    la = adapter.shape[0]
    code0 = _probe_code(adapter, 0) if la >= 10 else -1
    code1 = _probe_code(adapter, 10) if la >= 20 else -1
    # a cut at or after this read offset leaves an insert too long, typed by the same first 31 nt
    long_from = max(MAX_CODE_LENGTH, hi + 1) + (8 if four_n else 0)
    skip = _skip_table(adapter)
    pos = 0
    reads = 0
    kept = 0
    nfb = 0
    nlong = 0
    while pos < size:
        if buf[pos] != 64:  # '@'
            return STATUS_MALFORMED, reads, kept, nfb, nlong
        s0 = _line_end(buf, pos) + 1
        s1 = _line_end(buf, s0)
        p0 = s1 + 1
        if p0 >= size or buf[p0] != 43:  # '+'
            return STATUS_MALFORMED, reads, kept, nfb, nlong
        q0 = _line_end(buf, p0) + 1
        q1 = _line_end(buf, q0)
        if q1 >= size or q1 - q0 != s1 - s0 or (s1 > s0 and buf[s1 - 1] == 13):
            return STATUS_MALFORMED, reads, kept, nfb, nlong
        pos = q1 + 1
        reads += 1
        # trimming
        if trim:
            cut, after, state = _trim(buf, s0, s1, adapter, rate, min_overlap, lut, code0, code1, long_from, skip)
            if state == 3:
                tally[TOO_LONG] += 1
                i0 = s0 + 4 if four_n else s0
                lc, lkind = _pack(buf, i0, i0 + MAX_CODE_LENGTH, lut)
                if lkind == 0:
                    long_codes[nlong] = lc
                    nlong += 1
                continue
            if state == 2:
                fallback[nfb, 0] = s0
                fallback[nfb, 1] = s1
                fallback[nfb, 2] = FALLBACK_ALIGN
                nfb += 1
                continue
            if state == 0:
                tally[NO_ADAPTER] += 1
                continue
        else:
            cut, after = s1, s1
        i0, i1 = s0, cut
        if i1 == i0:
            tally[DIMER] += 1
            continue
        if four_n:
            if i1 - i0 > 8:
                i0 += 4
                i1 -= 4
            else:
                i1 = i0
        length = i1 - i0
        if length < lo:
            tally[TOO_SHORT] += 1
            continue
        if length > hi:
            tally[TOO_LONG] += 1
            lc, lkind = _pack(buf, i0, i0 + min(length, MAX_CODE_LENGTH), lut)
            if lkind == 0:
                long_codes[nlong] = lc
                nlong += 1
            continue
        code, kind = _pack(buf, i0, i1, lut)
        if kind == 1:
            tally[AMBIGUOUS] += 1
            continue
        if kind == 2:
            fallback[nfb, 0] = s0
            fallback[nfb, 1] = s1
            fallback[nfb, 2] = FALLBACK_OTHER
            nfb += 1
            continue
        umi = np.uint64(0)
        if use_umi and trim and s1 - after >= umi_len:
            umi, ukind = _pack(buf, after, after + umi_len, lut)
            if ukind != 0:  # a UMI with N or another byte: Python keeps it as text
                fallback[nfb, 0] = s0
                fallback[nfb, 1] = s1
                fallback[nfb, 2] = FALLBACK_OTHER
                nfb += 1
                continue
        tally[KEPT] += 1
        codes[kept] = code
        umis[kept] = umi
        kept += 1
    return STATUS_OK, reads, kept, nfb, nlong


@njit(nogil=True, cache=True)
def group_ranges(buf, ranges):
    """Distinct byte strings among ``buf[a:b]`` for the rows (a, b, ...) of ``ranges``: the index
    of one row of each and how many rows hold it (hashed, then compared byte for byte)."""
    n = ranges.shape[0]
    hashes = np.empty(n, dtype=np.uint64)
    for r in range(n):
        h = np.uint64(1469598103934665603)
        for i in range(ranges[r, 0], ranges[r, 1]):
            h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
        hashes[r] = h ^ np.uint64(ranges[r, 1] - ranges[r, 0])
    order = np.argsort(hashes, kind="mergesort")
    first = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    k = 0
    t = 0
    while t < n:
        u = t + 1
        while u < n and hashes[order[u]] == hashes[order[t]]:
            u += 1
        # rows t..u-1 share a hash: group those with equal bytes (in first-seen order)
        for v in range(t, u):
            r = order[v]
            if r < 0:
                continue
            first[k] = r
            counts[k] = 1
            for w in range(v + 1, u):
                q = order[w]
                if q >= 0 and _same(buf, ranges[r, 0], ranges[r, 1], ranges[q, 0], ranges[q, 1]):
                    counts[k] += 1
                    order[w] = -1
            k += 1
        t = u
    return first[:k].copy(), counts[:k].copy()


@njit(nogil=True, cache=True)
def _same(buf, a0, a1, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for i in range(a1 - a0):
        if buf[a0 + i] != buf[b0 + i]:
            return False
    return True


@njit(nogil=True, cache=True)
def count_sorted(codes):
    """Distinct values of a sorted array and how often each occurs."""
    n = codes.shape[0]
    values = np.empty(n, dtype=np.uint64)
    counts = np.empty(n, dtype=np.int64)
    k = -1
    for i in range(n):
        if k < 0 or codes[i] != values[k]:
            k += 1
            values[k] = codes[i]
            counts[k] = 1
        else:
            counts[k] += 1
    return values[:k + 1].copy(), counts[:k + 1].copy()


@njit(nogil=True, cache=True)
def sort_count(codes):
    """``count_sorted`` of a copy sorted in place (no GIL held)."""
    c = np.sort(codes)
    return count_sorted(c)


def merge_counts(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the counts of equal values (values in any order; sorted out).

    numpy's stable sort finds the sorted runs that blocks arrive as, and frees the GIL."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], counts[order]
    if not len(v):
        return v.astype(np.uint64), c.astype(np.int64)
    start = np.ones(len(v), dtype=bool)
    start[1:] = v[1:] != v[:-1]
    idx = np.flatnonzero(start)
    return v[idx], np.add.reduceat(c, idx)
