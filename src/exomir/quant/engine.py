"""The rule engine of :func:`exomir.quant.isomir.assign`, compiled (numba) over many insert codes.

:mod:`exomir.quant.isomir` states the rules in plain Python, one insert at a time; this module
applies the same rules to arrays of insert codes (:mod:`exomir.quant.kernel`) without a Python
call per insert, and ``tests/test_quant_engine.py`` checks that both give the same placements.
The reference's indexes become sorted arrays: hairpins as base codes, arms per hairpin, every
templated isoform of an arm as a code with its places, and the hairpins' 10-mers as a table.

An insert's placements come back as rows (hairpin, start, end of the templated part, the
substitution's position and hairpin base, non-templated bases, arm), ordered by hairpin name and
start as ``assign`` orders its hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from exomir.quant.isomir import Assignment, Hit
from exomir.quant.kernel import _LUT, MAX_CODE_LENGTH, code_lengths, encode_many, in_halves
from exomir.quant.limits import MAX_3P, MAX_5P, MAX_ADD, MAX_SNV, SEED_K
from exomir.quant.reference import MirnaReference

_PLACE_SHIFT = 16  # a place is hairpin id << 16 | start (hairpins are far shorter than 65,536 nt)
_CANDIDATES = 4096  # candidate places one insert may gather (more: that insert is left to assign())
_ACGT = frozenset("ACGT")
_SPLIT_FROM = 4_000  # inserts from which placing them on two threads pays


@dataclass(frozen=True)
class Placements:
    """Rows of placements of many inserts: insert ``i`` owns rows ``offsets[i]:offsets[i + 1]``."""

    offsets: np.ndarray
    hairpin: np.ndarray
    start: np.ndarray
    end: np.ndarray
    snv_pos: np.ndarray  # -1: no substitution
    snv_base: np.ndarray  # hairpin base at snv_pos (0-3 = ACGT, 4 = another letter)
    added: np.ndarray  # non-templated 3' bases
    arm: np.ndarray  # arm id, -1 for a hairpin-only placement
    overflow: np.ndarray  # inserts the engine left to assign() (too many candidates)


class CompiledReference:
    """The arrays of one :class:`MirnaReference` the engine reads (built in about a second)."""

    def __init__(self, ref: MirnaReference) -> None:
        self.ref = ref
        self.hairpin_names = sorted(ref.hairpins)
        hp_id = {name: i for i, name in enumerate(self.hairpin_names)}
        seqs = [ref.hairpins[h] for h in self.hairpin_names]
        self.hp_off = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
        bases = _LUT[np.frombuffer("".join(seqs).encode(), dtype=np.uint8)]
        self.hp_bases = np.minimum(bases, 4).astype(np.uint8)  # 4: a letter no insert base equals
        self.arms = [a for h in self.hairpin_names for a in ref.arms.get(h, ())]  # by hairpin, then start
        self.arm_off = np.concatenate([[0], np.cumsum([len(ref.arms.get(h, ())) for h in self.hairpin_names])])
        self.arm_start = np.array([a.start for a in self.arms], dtype=np.int64)
        self.arm_end = np.array([a.end for a in self.arms], dtype=np.int64)
        names = sorted({a.name for a in self.arms})
        rank = {n: i for i, n in enumerate(names)}
        self.mirna_names = names
        self.arm_name = np.array([rank[a.name] for a in self.arms], dtype=np.int64)
        # templated isoforms short enough to be an insert, sorted as codes, with their places (CSR)
        keys = sorted(k for k in ref.isoforms if len(k) <= MAX_CODE_LENGTH and not set(k) - _ACGT)
        codes = encode_many(keys)
        order = np.argsort(codes, kind="stable")
        self.iso_codes = codes[order]
        lists = [ref.isoforms[keys[i]] for i in order.tolist()]
        self.iso_off = np.concatenate([[0], np.cumsum([len(v) for v in lists])]).astype(np.int64)
        self.iso_place = np.array([(hp_id[h] << _PLACE_SHIFT) | s for v in lists for h, s in v], dtype=np.int64)
        lengths = code_lengths(self.iso_codes)
        self.len_off = np.searchsorted(lengths, np.arange(MAX_CODE_LENGTH + 2)).astype(np.int64)
        # per length b, the keys sorted by their right part (the last b - b // 2 bases)
        self.right_key = np.empty_like(self.iso_codes)
        self.right_idx = np.empty(len(self.iso_codes), dtype=np.int64)
        for b in range(1, MAX_CODE_LENGTH + 1):
            lo, hi = self.len_off[b], self.len_off[b + 1]
            mask = np.uint64((1 << (2 * (b - b // 2))) - 1)
            part = self.iso_codes[lo:hi] & mask
            o = np.argsort(part, kind="stable")
            self.right_key[lo:hi] = part[o]
            self.right_idx[lo:hi] = o + lo
        # every hairpin 10-mer: places by 2-bit code (CSR over the 4**SEED_K codes)
        kmer_codes, kmer_places = [], []
        for h, seq in enumerate(seqs):
            vals = _LUT[np.frombuffer(seq.encode(), dtype=np.uint8)].astype(np.int64)
            if len(vals) < SEED_K:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(vals, SEED_K)
            ok = (windows <= 3).all(axis=1)
            code = (windows << (2 * np.arange(SEED_K - 1, -1, -1))).sum(axis=1)
            pos = np.flatnonzero(ok)
            kmer_codes.append(code[pos])
            kmer_places.append((h << _PLACE_SHIFT) | pos)
        kc = np.concatenate(kmer_codes)
        kp = np.concatenate(kmer_places)
        o = np.argsort(kc, kind="stable")
        self.kmer_place = kp[o].astype(np.int64)
        self.kmer_off = np.searchsorted(kc[o], np.arange(4 ** SEED_K + 1)).astype(np.int64)

    def place(self, codes: np.ndarray) -> Placements:
        """The placements ``assign`` gives each insert code (codes of up to 31 nt).

        Thousands of inserts are placed in two halves on two threads (the engine holds no GIL)."""
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        parts: list = [None, None]

        def run(k: int, lo: int, hi: int) -> None:
            parts[k] = self._place(codes[lo:hi])

        in_halves(len(codes), run, _SPLIT_FROM)
        if parts[1] is None:
            return parts[0]
        a, b = parts
        rows = a.offsets[-1]
        return Placements(np.concatenate([a.offsets, b.offsets[1:] + rows]),
                          *(np.concatenate([getattr(a, f), getattr(b, f)])
                            for f in ("hairpin", "start", "end", "snv_pos", "snv_base", "added", "arm")),
                          np.concatenate([a.overflow, b.overflow + len(a.offsets) - 1]))  # fmt: skip

    def _place(self, codes: np.ndarray) -> Placements:
        n = len(codes)
        cap = max(64, 8 * n)
        lengths = code_lengths(codes).astype(np.int64)
        while True:
            done, out = _place_all(codes, lengths, self.hp_off, self.hp_bases, self.arm_off, self.arm_start,
                                   self.arm_end, self.iso_codes, self.iso_off, self.iso_place, self.len_off,
                                   self.right_key, self.right_idx, self.kmer_off, self.kmer_place, cap)
            if done:
                break
            cap *= 4  # more rows than room: run again with more
        offsets, hp, start, end, snv_pos, snv_base, added, arm, over = out
        overflow = np.flatnonzero(over)
        rows = offsets[-1]
        return Placements(offsets, hp[:rows], start[:rows], end[:rows], snv_pos[:rows], snv_base[:rows],
                          added[:rows], arm[:rows], overflow)

    def assignment(self, p: Placements, i: int, insert: str) -> Assignment:
        """Insert ``i`` of ``p`` as the :class:`Assignment` that ``assign`` returns."""
        hits = []
        for r in range(p.offsets[i], p.offsets[i + 1]):
            body = int(p.end[r] - p.start[r])
            snv = () if p.snv_pos[r] < 0 else ((int(p.snv_pos[r]), "ACGTN"[p.snv_base[r]]),)
            if snv and p.snv_base[r] == 4:  # a hairpin letter other than ACGT: keep it as written
                h = self.hairpin_names[p.hairpin[r]]
                snv = ((snv[0][0], self.ref.hairpins[h][int(p.start[r]) + snv[0][0]]),)
            arm = self.arms[p.arm[r]] if p.arm[r] >= 0 else None
            hits.append(Hit(self.hairpin_names[p.hairpin[r]], int(p.start[r]), int(p.end[r]), snv, insert[body:],
                            arm))
        return Assignment(tuple(hits), tuple(sorted({h.arm.name for h in hits if h.arm is not None})))


_COMPILED: dict[str, CompiledReference] = {}


def compiled(ref: MirnaReference) -> CompiledReference:
    """One compiled reference per miRBase reference and process."""
    found = _COMPILED.get(ref.fingerprint)
    if found is None:
        found = _COMPILED[ref.fingerprint] = CompiledReference(ref)
    return found


@njit(nogil=True, cache=True)
def _evaluate(ins, n, place, hp_off, hp_bases, arm_off, arm_start, arm_end, res):
    """``isomir._evaluate``: fills ``res`` = (end, snv_pos, snv_base, added, edits, arm); False
    beyond the edit limits."""
    hp = place >> _PLACE_SHIFT
    start = place & ((1 << _PLACE_SHIFT) - 1)
    h0 = hp_off[hp]
    hl = hp_off[hp + 1] - h0
    m = min(n, hl - start)
    if m < 0:
        m = 0
    if m == n:
        mism = 0
        for i in range(n):
            if ins[i] != hp_bases[h0 + start + i]:
                mism += 1
        if mism > MAX_SNV + MAX_ADD:
            return False
    elif m < n - MAX_ADD:
        return False
    add = 0
    while add < MAX_ADD and (n - 1 - add >= m or ins[n - 1 - add] != hp_bases[h0 + start + n - 1 - add]):
        add += 1
    body = n - add
    if m < body:
        return False
    snv_pos = -1
    snv_base = 0
    nsnv = 0
    for i in range(body):
        if ins[i] != hp_bases[h0 + start + i]:
            nsnv += 1
            if nsnv > MAX_SNV:
                return False
            snv_pos = i
            snv_base = hp_bases[h0 + start + i]
    end = start + body
    arm = -1
    for a in range(arm_off[hp], arm_off[hp + 1]):
        if abs(start - arm_start[a]) <= MAX_5P and abs(end - arm_end[a]) <= MAX_3P:
            if arm < 0 or abs(start - arm_start[a]) < abs(start - arm_start[arm]):
                arm = a
    res[0] = end
    res[1] = snv_pos
    res[2] = snv_base
    res[3] = add
    res[4] = nsnv + add
    res[5] = arm
    return True


@njit(nogil=True, cache=True)
def _differs(a, b):
    x = a ^ b
    x = (x | (x >> np.uint64(1))) & np.uint64(0x5555555555555555)
    count = 0
    while x:
        x &= x - np.uint64(1)
        count += 1
    return count


@njit(nogil=True, cache=True)
def _add_places(key_idx, iso_off, iso_place, cand, nc):
    for k in range(iso_off[key_idx], iso_off[key_idx + 1]):
        if nc >= cand.shape[0]:
            return -1
        cand[nc] = iso_place[k]
        nc += 1
    return nc


@njit(nogil=True, cache=True)
def _exact_key(key, iso_codes):
    j = np.searchsorted(iso_codes, key)
    if j < iso_codes.shape[0] and iso_codes[j] == key:
        return j
    return -1


@njit(nogil=True, cache=True)
def _one_off_places(body, b, iso_codes, iso_off, iso_place, len_off, right_key, right_idx, cand, nc):
    """Places of the isoform keys of length ``b`` exactly one substitution from ``body`` (one of
    the key's halves is intact: the left ``b // 2`` bases or the rest)."""
    lo, hi = len_off[b], len_off[b + 1]
    h = b // 2
    r = b - h
    shift = np.uint64(2 * r)
    left = (body >> shift) << shift
    j = lo + np.searchsorted(iso_codes[lo:hi], left)
    end = lo + np.searchsorted(iso_codes[lo:hi], left + (np.uint64(1) << shift))
    for k in range(j, end):
        if _differs(iso_codes[k], body) == 1:
            nc = _add_places(k, iso_off, iso_place, cand, nc)
            if nc < 0:
                return -1
    key = body & ((np.uint64(1) << shift) - np.uint64(1))
    j = lo + np.searchsorted(right_key[lo:hi], key)
    while j < hi and right_key[j] == key:
        k = right_idx[j]
        if _differs(iso_codes[k], body) == 1:
            nc = _add_places(k, iso_off, iso_place, cand, nc)
            if nc < 0:
                return -1
        j += 1
    return nc


@njit(nogil=True, cache=True)
def _place_one(code, n, ins, hp_off, hp_bases, arm_off, arm_start, arm_end, iso_codes, iso_off, iso_place,
               len_off, right_key, right_idx, kmer_off, kmer_place, cand, seen, found, res):
    """Rows of ``found`` (place, end, snv_pos, snv_base, added, edits, arm) of one insert as
    ``assign`` selects them; returns (rows, on_arm) or (-1, 0) when candidates overflow."""
    nf = 0
    # level 0: a templated isoform
    j = _exact_key(code, iso_codes)
    if j >= 0:
        for k in range(iso_off[j], iso_off[j + 1]):
            if _evaluate(ins, n, iso_place[k], hp_off, hp_bases, arm_off, arm_start, arm_end, res) and res[5] >= 0:
                found[nf, 0] = iso_place[k]
                found[nf, 1:] = res
                nf += 1
    else:
        nseen = 0
        for level in range(1, MAX_ADD + MAX_SNV + 1):
            nc = 0
            if level <= MAX_ADD and n - level > 0:
                jj = _exact_key(code >> np.uint64(2 * level), iso_codes)  # the first n - level bases
                if jj >= 0:
                    nc = _add_places(jj, iso_off, iso_place, cand, nc)
                    if nc < 0:
                        return -1, 0
            add = level - 1
            if MAX_SNV and add <= MAX_ADD and n - add > 1:
                b = n - add
                if b <= MAX_CODE_LENGTH:
                    nc = _one_off_places(code >> np.uint64(2 * add), b, iso_codes, iso_off, iso_place, len_off,
                                         right_key, right_idx, cand, nc)
                    if nc < 0:
                        return -1, 0
            c = np.sort(cand[:nc])
            for t in range(nc):
                p = c[t]
                if t > 0 and p == c[t - 1]:
                    continue
                dup = False
                for s in range(nseen):
                    if seen[s] == p:
                        dup = True
                        break
                if dup:
                    continue
                if nseen >= seen.shape[0] or nf >= found.shape[0]:
                    return -1, 0
                seen[nseen] = p
                nseen += 1
                if _evaluate(ins, n, p, hp_off, hp_bases, arm_off, arm_start, arm_end, res) and res[5] >= 0:
                    found[nf, 0] = p
                    found[nf, 1:] = res
                    nf += 1
            if nf > 0:
                best = found[0, 5]
                for t in range(1, nf):
                    best = min(best, found[t, 5])
                if best <= level:
                    break
    if nf > 0:
        # fewest edits, then the smallest (|5' shift|, |3' shift|)
        best = found[0, 5]
        for t in range(1, nf):
            best = min(best, found[t, 5])
        b5 = 1 << 30
        b3 = 1 << 30
        for t in range(nf):
            if found[t, 5] == best:
                a = found[t, 6]
                s5 = abs((found[t, 0] & ((1 << _PLACE_SHIFT) - 1)) - arm_start[a])
                s3 = abs(found[t, 1] - arm_end[a])
                if s5 < b5 or (s5 == b5 and s3 < b3):
                    b5, b3 = s5, s3
        keep = 0
        for t in range(nf):
            a = found[t, 6]
            if found[t, 5] == best:
                s5 = abs((found[t, 0] & ((1 << _PLACE_SHIFT) - 1)) - arm_start[a])
                s3 = abs(found[t, 1] - arm_end[a])
                if s5 == b5 and s3 == b3:
                    found[keep, :] = found[t, :]
                    keep += 1
        return keep, 1
    # off the arms: 10-mer seeds at the ends and middle (isomir._seed_offsets)
    nc = 0
    offs = np.empty(5, dtype=np.int64)
    offs[0] = 0
    offs[1] = SEED_K
    offs[2] = max(0, n // 2 - SEED_K // 2)
    offs[3] = max(0, n - MAX_ADD - SEED_K)
    offs[4] = max(0, n - SEED_K)
    for q in range(5):
        off = offs[q]
        if off + SEED_K > n:
            continue
        kc = (code >> np.uint64(2 * (n - off - SEED_K))) & np.uint64((1 << (2 * SEED_K)) - 1)
        for k in range(kmer_off[kc], kmer_off[kc + 1]):
            pos = kmer_place[k] & ((1 << _PLACE_SHIFT) - 1)
            if pos >= off:
                if nc >= cand.shape[0]:
                    return -1, 0
                cand[nc] = kmer_place[k] - off
                nc += 1
    c = np.sort(cand[:nc])
    nf = 0
    for t in range(nc):
        p = c[t]
        if t > 0 and p == c[t - 1]:
            continue
        if _evaluate(ins, n, p, hp_off, hp_bases, arm_off, arm_start, arm_end, res):
            if nf >= found.shape[0]:
                return -1, 0
            found[nf, 0] = p
            found[nf, 1:] = res
            found[nf, 6] = -1  # a hairpin-only placement names no arm
            nf += 1
    if nf == 0:
        return 0, 0
    best = found[0, 5]
    for t in range(1, nf):
        best = min(best, found[t, 5])
    keep = 0
    for t in range(nf):
        if found[t, 5] == best:
            found[keep, :] = found[t, :]
            keep += 1
    return keep, 0


@njit(nogil=True, cache=True)
def _place_all(codes, lengths, hp_off, hp_bases, arm_off, arm_start, arm_end, iso_codes, iso_off, iso_place,
               len_off, right_key, right_idx, kmer_off, kmer_place, cap):
    n_ins = codes.shape[0]
    offsets = np.zeros(n_ins + 1, dtype=np.int64)
    hp = np.empty(cap, dtype=np.int32)
    start = np.empty(cap, dtype=np.int32)
    end = np.empty(cap, dtype=np.int32)
    snv_pos = np.empty(cap, dtype=np.int8)
    snv_base = np.empty(cap, dtype=np.uint8)
    added = np.empty(cap, dtype=np.int8)
    arm = np.empty(cap, dtype=np.int32)
    cand = np.empty(_CANDIDATES, dtype=np.int64)
    seen = np.empty(_CANDIDATES, dtype=np.int64)
    found = np.empty((_CANDIDATES, 7), dtype=np.int64)
    res = np.empty(6, dtype=np.int64)
    ins = np.empty(MAX_CODE_LENGTH, dtype=np.uint8)
    over = np.zeros(n_ins, dtype=np.bool_)
    rows = 0
    for i in range(n_ins):
        code = codes[i]
        n = lengths[i]
        for t in range(n):
            ins[t] = (code >> np.uint64(2 * (n - 1 - t))) & np.uint64(3)
        nf, _ = _place_one(code, n, ins, hp_off, hp_bases, arm_off, arm_start, arm_end, iso_codes, iso_off,
                           iso_place, len_off, right_key, right_idx, kmer_off, kmer_place, cand, seen, found, res)
        if nf < 0:
            over[i] = True
            offsets[i + 1] = rows
            continue
        if rows + nf > cap:
            return False, (offsets, hp, start, end, snv_pos, snv_base, added, arm, over)  # run again with more room
        order = np.argsort(found[:nf, 0])  # hairpin id, then start: assign()'s order
        for t in range(nf):
            f = found[order[t]]
            hp[rows] = f[0] >> _PLACE_SHIFT
            start[rows] = f[0] & ((1 << _PLACE_SHIFT) - 1)
            end[rows] = f[1]
            snv_pos[rows] = f[2]
            snv_base[rows] = f[3]
            added[rows] = f[4]
            arm[rows] = f[6]
            rows += 1
        offsets[i + 1] = rows
    return True, (offsets, hp, start, end, snv_pos, snv_base, added, arm, over)
