"""The compiled rule engine gives every insert the placements of isomir.assign(), hit for hit."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.quant import assign, load_reference
from exomir.quant.engine import compiled
from exomir.quant.kernel import encode_many
from exomir.quant.store import UNASSIGNED_ID, AssignmentStore


@pytest.fixture
def ref(mirbase_dir):
    return load_reference(str(mirbase_dir))


def _inserts(ref, n_windows=2500, n_random=800, seed=3) -> list[str]:
    """Hairpin windows with substitutions and non-templated tails, matures and their edits,
    random sequences: every branch of the rules (arm levels 0-4, seeded hairpin search, none)."""
    rng = np.random.default_rng(seed)
    hairpins = list(ref.hairpins.values())
    seqs: set[str] = set()
    for _ in range(n_windows):
        h = hairpins[int(rng.integers(len(hairpins)))]
        n = int(rng.integers(16, 31))
        if len(h) < n:
            continue
        s = int(rng.integers(0, len(h) - n + 1))
        q = list(h[s:s + n])
        for _ in range(int(rng.integers(0, 3))):
            q[int(rng.integers(n))] = "ACGT"[int(rng.integers(4))]
        if rng.random() < 0.3:
            q = q[:-int(rng.integers(1, 4))] + ["A"] * int(rng.integers(1, 4))
        seqs.add("".join(q))
    for m in list(ref.mature.values())[::7]:
        seqs.update({m, m[:-2], m + "AT", "C" + m, m[1:], m[:5] + ("A" if m[5] != "A" else "C") + m[6:]})
    for _ in range(n_random):
        seqs.add("".join("ACGT"[i] for i in rng.integers(0, 4, size=int(rng.integers(16, 31)))))
    return sorted(q for q in seqs if 16 <= len(q) <= 31 and not set(q) - set("ACGT"))


def test_engine_agrees_with_assign(ref):
    seqs = _inserts(ref)
    engine = compiled(ref)
    placed = engine.place(encode_many(seqs))
    assert len(placed.overflow) == 0
    expected = [assign(q, ref) for q in seqs]
    kinds = {k: sum(a.kind == k for a in expected) for k in ("mirna", "hairpin", "none")}
    assert min(kinds.values()) > 300, kinds  # every branch is exercised
    differ = [q for i, q in enumerate(seqs) if engine.assignment(placed, i, q) != expected[i]]
    assert differ == []


def test_store_outcomes_follow_the_assignments(ref):
    seqs = _inserts(ref, n_windows=600, n_random=200, seed=5)
    codes = encode_many(seqs)
    store = AssignmentStore(ref)
    ids = store.outcomes_of(codes)
    for q, oid in zip(seqs, ids.tolist()):
        asg = assign(q, ref)
        if not asg.hits:
            assert oid == UNASSIGNED_ID
        else:
            assert store.outcomes[oid] == (asg.mirnas, () if asg.mirnas else asg.hairpins, asg.is_isomir)
    # a second sample: known codes are answered from the store, no new placement
    calls = store.assigned_calls
    assert np.array_equal(store.outcomes_of(codes[::-1]), ids[::-1])
    assert store.assigned_calls == calls
    assert np.array_equal(store.known_outcomes(codes)[ids >= 0], ids[ids >= 0])
