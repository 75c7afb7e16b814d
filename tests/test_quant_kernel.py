"""The read kernel and the hairpin screen give what the Python route gives, read for read."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.quant import QuantOptions, assign, load_reference
from exomir.quant.fastq import collapse_chunks
from exomir.quant.kernel import code_lengths, decode, decode_many, encode
from exomir.quant.sample import quantify_file, quantify_reads
from exomir.quant.simulate import TRUSEQ, simulate_library
from exomir.quant.store import AssignmentStore


@pytest.fixture(scope="module")
def ref(mirbase_dir_module):
    return load_reference(str(mirbase_dir_module))


@pytest.fixture(scope="module")
def mirbase_dir_module():
    from conftest import shared_path

    return shared_path("mirbase_v22")


def test_codes_round_trip():
    seqs = ["A", "T", "ACGT", "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT", "GATTACA" * 4]
    codes = np.array([encode(s) for s in seqs], dtype=np.uint64)
    assert [decode(c) for c in codes.tolist()] == seqs == decode_many(codes)
    assert code_lengths(codes).tolist() == [len(s) for s in seqs]
    # one length: codes sort like the sequences
    same = sorted(["ACGTA", "TTTTT", "AAAAA", "CAGTC"])
    assert sorted(same, key=encode) == same


@pytest.mark.parametrize("options", [QuantOptions(), QuantOptions(min_length=18, max_length=26, trim_4n=True),
                                     QuantOptions(adapter=TRUSEQ, max_error_rate=0.2, min_overlap=5)])
def test_kernel_matches_python_route(ref, tmp_path, options):
    # plasma-like: most inserts not miRNA, many too long for the read to hold the whole adapter,
    # and a high error rate so that adapters with errors reach cutadapt's aligner
    path = tmp_path / "plasma.fastq.gz"
    simulate_library(path, ref, reads=20_000, seed=4, mirna_fraction=0.3, random_fraction=0.35, random_pool=5000,
                     fragment_fraction=0.3, long_rnas=40, error_start=0.005, error_end=0.03)
    fast = quantify_file(path, ref, options, workers=2)
    slow = quantify_reads(collapse_chunks(path), ref, options, sample=fast.sample, path=str(path))
    assert fast.qc == slow.qc
    assert fast.mirna_counts == slow.mirna_counts and fast.hairpin_counts == slow.hairpin_counts
    assert np.array_equal(fast.insert_codes, slow.insert_codes)
    assert fast.qc["too_long"] > 1000 and fast.qc["reads_kept"] > 3000


def test_kernel_matches_python_route_with_umis(ref, tmp_path):
    from exomir.quant.simulate import ILLUMINA_3P  # noqa: F401 - the UMI reads end in it

    path = tmp_path / "umi.fastq.gz"
    simulate_library(path, ref, reads=8000, read_length=76, adapter="AACTGTAGGCACCATCAAT", umi_length=12, seed=9,
                     error_end=0.02)
    fast = quantify_file(path, ref, workers=2)
    slow = quantify_reads(collapse_chunks(path), ref, sample=fast.sample, path=str(path))
    assert fast.qc == slow.qc and fast.mirna_counts == slow.mirna_counts
    assert fast.qc["umi"] and fast.qc["umi_duplicates"] > 0


def test_screen_never_drops_a_placeable_insert(ref):
    rng = np.random.default_rng(3)
    store = AssignmentStore(ref)
    seqs = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(16, 31)))) for _ in range(3000)]
    for name in sorted(ref.mature)[:1500]:
        s = ref.mature[name]
        if set(s) - set("ACGT") or len(s) > 28:
            continue
        i = int(rng.integers(len(s)))
        seqs.append(s[:i] + "ACGT"[("ACGT".index(s[i]) + 1) % 4] + s[i + 1:] + "A" * int(rng.integers(0, 3)))
        seqs.append(s[1:] + "TT")
    codes = np.array([encode(s) for s in seqs], dtype=np.uint64)
    passed = store.screen.passes(codes, code_lengths(codes))
    placed = np.array([bool(assign(s, ref).hits) for s in seqs])
    assert not (placed & ~passed).any()  # sound: nothing placeable is screened out
    assert passed[:3000].mean() < 0.02  # and random inserts are screened out
    ids = store.outcomes_of(codes)
    assert all((i >= 0) == p for i, p in zip(ids.tolist(), placed.tolist()))
