"""A sound negative screen: which inserts cannot be placed on any hairpin (numba, no GIL).

``assign()`` places an insert of ``n`` nt only where its body (the insert without up to
``MAX_ADD`` trailing bases) lies on a hairpin with at most ``MAX_SNV`` substitutions; the body
always starts with the insert's first ``n - MAX_ADD`` bases, so that prefix lies on the hairpin
with at most one substitution too. With one substitution, the prefix's left or right half is
intact. The screen looks both halves up among every hairpin substring of that length (sorted
uint64 codes, binary search) and checks the Hamming distance of each candidate with XOR and
popcount. An insert that fails is certainly unassigned; the few that pass go to ``assign()``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from exomir.quant.limits import MAX_ADD, MAX_SNV
from exomir.quant.kernel import _LUT, MAX_CODE_LENGTH, in_halves

_M1 = np.uint64(0x5555555555555555)
_SPLIT_FROM = 50_000  # below, a second thread costs more than it saves


class HairpinScreen:
    """Hairpin substrings of every prefix length, sorted as codes for :func:`passes`."""

    def __init__(self, hairpins: dict[str, str]) -> None:
        assert MAX_SNV <= 1, "the half lookup is sound for one substitution"
        full_parts, right_parts, right_full_parts = [], [], []
        self.offsets = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
        # all hairpins in one array, separated by a byte that is no base: a substring holding it is dropped
        joined = np.frombuffer("#".join(hairpins.values()).encode(), dtype=np.uint8)
        values = _LUT[joined]
        rolling = np.ones(len(joined), dtype=np.uint64)
        bad = np.zeros(len(joined), dtype=bool)
        total = 0
        for b in range(MAX_CODE_LENGTH + 1):
            if b >= 1:  # substrings of length b from those of length b - 1, one base more
                m = len(joined) - b + 1
                rolling = (rolling[:m] << np.uint64(2)) | (values[b - 1:] & 3).astype(np.uint64)
                bad = bad[:m] | (values[b - 1:] > 3)
            codes = np.unique(rolling[~bad]) if b >= 2 else np.zeros(0, dtype=np.uint64)
            r = b - b // 2
            mask = np.uint64((1 << (2 * r)) - 1)
            order = np.argsort(codes & mask, kind="stable")
            full_parts.append(codes)
            right_parts.append((codes & mask)[order])
            right_full_parts.append(codes[order])
            self.offsets[b] = total
            total += len(codes)
            self.offsets[b + 1] = total
        self.full = np.concatenate(full_parts)
        self.right_keys = np.concatenate(right_parts)
        self.right_full = np.concatenate(right_full_parts)

    def passes(self, codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """True for each insert that may be placed (must go to ``assign``).

        A sample's hundreds of thousands of inserts are screened in halves on two threads (the
        lookups hold no GIL): the screen runs after the reads are counted, when a core is free."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        out = np.empty(len(codes), dtype=np.bool_)

        def part(_: int, lo: int, hi: int) -> None:
            out[lo:hi] = _screen(codes[lo:hi], lengths[lo:hi], self.offsets, self.full, self.right_keys,
                                 self.right_full, MAX_ADD)

        in_halves(len(codes), part, _SPLIT_FROM)
        return out


@njit(nogil=True, cache=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(nogil=True, cache=True)
def _differs(a, b):
    """Number of differing bases of two codes of one length."""
    x = a ^ b
    return _popcount((x | (x >> np.uint64(1))) & _M1)


@njit(nogil=True, cache=True)
def _screen(codes, lengths, offsets, full, right_keys, right_full, drop):
    out = np.zeros(codes.shape[0], dtype=np.bool_)
    for i in range(codes.shape[0]):
        b = lengths[i] - drop
        if b < 2:
            out[i] = True
            continue
        body = codes[i] >> np.uint64(2 * drop)
        r = b - b // 2
        lo, hi = offsets[b], offsets[b + 1]
        seg = full[lo:hi]
        left = (body >> np.uint64(2 * r)) << np.uint64(2 * r)
        j = np.searchsorted(seg, left)
        end = np.searchsorted(seg, left + (np.uint64(1) << np.uint64(2 * r)))
        found = False
        for k in range(j, end):
            if _differs(seg[k], body) <= 1:
                found = True
                break
        if not found:
            key = body & ((np.uint64(1) << np.uint64(2 * r)) - np.uint64(1))
            rk = right_keys[lo:hi]
            rf = right_full[lo:hi]
            j = np.searchsorted(rk, key)
            while j < rk.shape[0] and rk[j] == key:
                if _differs(rf[j], body) <= 1:
                    found = True
                    break
                j += 1
        out[i] = found
    return out
