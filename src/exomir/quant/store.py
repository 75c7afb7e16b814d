"""Assignments by insert code, kept across the samples of a run.

Samples of one study share most of their abundant inserts, so an insert is assigned once per
run, not once per sample: :meth:`AssignmentStore.outcomes_of` answers from the store and calls
``assign()`` only for codes it has not seen that pass the hairpin screen. What a count needs
(the miRNAs or hairpins sharing the insert, and whether it is an isomiR) is interned as an
*outcome*, so that a sample is summed per outcome with numpy; the placements themselves are
kept for the inserts that reach the mirGFF3 file.
"""

from __future__ import annotations

import numpy as np

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
    """Insert code → outcome (``mirnas``, ``hairpins``, ``is_isomir``), with the screen in front."""

    def __init__(self, reference: MirnaReference) -> None:
        self.reference = reference
        self.screen = _screen_for(reference)
        self.outcome_of: dict[int, int] = {}  # code -> outcome id (codes that passed the screen)
        self.outcomes: list[tuple[tuple[str, ...], tuple[str, ...], bool]] = []
        self._ids: dict[tuple, int] = {}
        self.placements: dict[int, Assignment] = {}  # codes assigned to miRNAs: their placements
        self.screened = 0
        self.assigned_calls = 0

    def _intern(self, asg: Assignment) -> int:
        if not asg.hits:
            return UNASSIGNED_ID
        key = (asg.mirnas, () if asg.mirnas else asg.hairpins, asg.is_isomir)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.outcomes)
            self.outcomes.append(key)
        return found

    def outcomes_of(self, codes: np.ndarray) -> np.ndarray:
        """Outcome id of each code (``UNASSIGNED_ID`` when the insert goes nowhere)."""
        codes = np.asarray(codes, dtype=np.uint64)
        ids = np.full(len(codes), UNASSIGNED_ID, dtype=np.int64)
        if not len(codes):
            return ids
        survivors = np.flatnonzero(self.screen.passes(codes, code_lengths(codes)))
        self.screened += len(codes)
        known = self.outcome_of
        todo = []
        for i, code in zip(survivors.tolist(), codes[survivors].tolist()):
            found = known.get(code)
            if found is None:
                todo.append((i, code))
            else:
                ids[i] = found
        if todo:
            seqs = decode_many(np.array([c for _, c in todo], dtype=np.uint64))
            ref = self.reference
            for (i, code), seq in zip(todo, seqs):
                asg = assign(seq, ref)
                oid = self._intern(asg)
                known[code] = oid
                if asg.mirnas:
                    self.placements[code] = asg
                ids[i] = oid
            self.assigned_calls += len(todo)
        return ids

    def mirna_outcomes(self) -> np.ndarray:
        """Whether each outcome id names miRNAs; index -1 (unassigned) reads False."""
        return np.array([bool(o[0]) for o in self.outcomes] + [False], dtype=bool)

    def placement(self, code: int, sequence: str) -> Assignment:
        """The placements of an insert (assigned now only when no sample of this run had it)."""
        found = self.placements.get(code)
        if found is None:
            found = assign(sequence, self.reference)
        return found


_STORES: dict[str, AssignmentStore] = {}


def store_for(reference: MirnaReference) -> AssignmentStore:
    """The assignment store of this process for ``reference`` (shared by the samples it runs)."""
    found = _STORES.get(reference.fingerprint)
    if found is None:
        found = _STORES[reference.fingerprint] = AssignmentStore(reference)
    return found
