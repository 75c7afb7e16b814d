"""Assignments by insert code, kept across the samples of a run.

Samples of one study share most of their abundant inserts, so an insert is assigned once per
run, not once per sample: :meth:`AssignmentStore.outcomes_of` answers from the store and places
only the codes it has not seen that pass the hairpin screen, all at once with the compiled rule
engine (:mod:`exomir.quant.engine`, the rules of ``assign()``). What a count needs
(the miRNAs or hairpins sharing the insert, and whether it is an isomiR) is interned as an
*outcome*, so that a sample is summed per outcome with numpy.
"""

from __future__ import annotations

import numpy as np

from exomir.quant.engine import Placements, compiled
from exomir.quant.isomir import Assignment, assign
from exomir.quant.kernel import code_lengths, decode_many
from exomir.quant.reference import MirnaReference
from exomir.quant.screen import HairpinScreen

UNASSIGNED_ID = -1


_SCREENS: dict[str, HairpinScreen] = {}


def _screen_for(reference: MirnaReference) -> HairpinScreen:
    """One screen per reference and process (built in about a second)."""
    found = _SCREENS.get(reference.fingerprint)
    if found is None:
        found = _SCREENS[reference.fingerprint] = HairpinScreen(reference.hairpins)
    return found


class AssignmentStore:
    """Insert code → outcome (``mirnas``, ``hairpins``, ``is_isomir``), with the screen in front.

    Known codes are kept as a sorted array with their outcome ids (12 bytes an insert), so the
    store of a run over many samples stays small; the placements themselves are not kept: the
    compiled engine gives them again, quickly, for the mirGFF3 file."""

    def __init__(self, reference: MirnaReference) -> None:
        self.reference = reference
        self.screen = _screen_for(reference)
        self.engine = compiled(reference)
        self._codes = np.zeros(0, dtype=np.uint64)  # sorted codes that passed the screen
        self._ids = np.zeros(0, dtype=np.int64)  # their outcome ids
        self.outcomes: list[tuple[tuple[str, ...], tuple[str, ...], bool]] = []
        self._outcome_ids: dict[tuple, int] = {}
        self.screened = 0
        self.assigned_calls = 0

    def __len__(self) -> int:
        return len(self._codes)

    def _intern(self, key: tuple) -> int:
        found = self._outcome_ids.get(key)
        if found is None:
            found = self._outcome_ids[key] = len(self.outcomes)
            self.outcomes.append(key)
        return found

    def _intern_assignment(self, asg: Assignment) -> int:
        if not asg.hits:
            return UNASSIGNED_ID
        return self._intern((asg.mirnas, () if asg.mirnas else asg.hairpins, asg.is_isomir))

    def _intern_rows(self, p: Placements) -> np.ndarray:
        """Outcome id of each insert of ``p`` (the key ``_intern_assignment`` gives its Assignment)."""
        eng = self.engine
        offsets = p.offsets.tolist()
        hp, arm = p.hairpin.tolist(), p.arm.tolist()
        # a placement is the reference miRNA itself (variant NA) when nothing moved or changed
        plain = ((p.arm >= 0) & (p.start == eng.arm_start[p.arm]) & (p.end == eng.arm_end[p.arm]) & (p.added == 0)
                 & (p.snv_pos < 0)).tolist()
        arm_name, mirna_names, hairpin_names = eng.arm_name.tolist(), eng.mirna_names, eng.hairpin_names
        ids = np.full(len(offsets) - 1, UNASSIGNED_ID, dtype=np.int64)
        for i in range(len(offsets) - 1):
            lo, hi = offsets[i], offsets[i + 1]
            if lo == hi:
                continue
            if arm[lo] >= 0:
                mirnas = tuple(mirna_names[r] for r in sorted({arm_name[arm[r]] for r in range(lo, hi)}))
                ids[i] = self._intern((mirnas, (), not any(plain[lo:hi])))
            else:
                hairpins = tuple(hairpin_names[h] for h in sorted(set(hp[lo:hi])))
                ids[i] = self._intern(((), hairpins, False))
        return ids

    def outcomes_of(self, codes: np.ndarray) -> np.ndarray:
        """Outcome id of each code (``UNASSIGNED_ID`` when the insert goes nowhere)."""
        codes = np.asarray(codes, dtype=np.uint64)
        ids = np.full(len(codes), UNASSIGNED_ID, dtype=np.int64)
        if not len(codes):
            return ids
        survivors = np.flatnonzero(self.screen.passes(codes, code_lengths(codes)))
        self.screened += len(codes)
        wanted = codes[survivors]
        where = np.searchsorted(self._codes, wanted)
        known = where < len(self._codes)
        known[known] = self._codes[where[known]] == wanted[known]
        ids[survivors[known]] = self._ids[where[known]]
        todo = np.unique(wanted[~known])
        if len(todo):
            new_ids = self._assign(todo)
            ids[survivors[~known]] = new_ids[np.searchsorted(todo, wanted[~known])]
            merged = np.concatenate([self._codes, todo])
            order = np.argsort(merged, kind="stable")
            self._codes, self._ids = merged[order], np.concatenate([self._ids, new_ids])[order]
            self.assigned_calls += len(todo)
        return ids

    def _assign(self, codes: np.ndarray) -> np.ndarray:
        p = self.engine.place(codes)
        ids = self._intern_rows(p)
        if len(p.overflow):  # too many candidates for the engine's buffers: the Python rules
            for i, seq in zip(p.overflow.tolist(), decode_many(codes[p.overflow])):
                ids[i] = self._intern_assignment(assign(seq, self.reference))
        return ids

    def known_outcomes(self, codes: np.ndarray) -> np.ndarray:
        """Outcome ids of codes already seen (``UNASSIGNED_ID`` for the others)."""
        codes = np.asarray(codes, dtype=np.uint64)
        where = np.minimum(np.searchsorted(self._codes, codes), max(0, len(self._codes) - 1))
        hit = self._codes[where] == codes if len(self._codes) else np.zeros(len(codes), dtype=bool)
        return np.where(hit, self._ids[where] if len(self._codes) else UNASSIGNED_ID, UNASSIGNED_ID)

    def mirna_outcomes(self) -> np.ndarray:
        """Whether each outcome id names miRNAs; index -1 (unassigned) reads False."""
        return np.array([bool(o[0]) for o in self.outcomes] + [False], dtype=bool)

    def assignments(self, codes: np.ndarray) -> list[Assignment]:
        """The placements of many inserts, as ``assign`` gives them."""
        codes = np.asarray(codes, dtype=np.uint64)
        seqs = decode_many(codes)
        p = self.engine.place(codes)
        out = [self.engine.assignment(p, i, q) for i, q in enumerate(seqs)]
        for i in p.overflow.tolist():
            out[i] = assign(seqs[i], self.reference)
        return out


_STORES: dict[str, AssignmentStore] = {}


def store_for(reference: MirnaReference) -> AssignmentStore:
    """The assignment store of this process for ``reference`` (shared by the samples it runs)."""
    found = _STORES.get(reference.fingerprint)
    if found is None:
        found = _STORES[reference.fingerprint] = AssignmentStore(reference)
    return found
