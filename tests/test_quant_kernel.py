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


@pytest.mark.parametrize("options", [QuantOptions(adapter=TRUSEQ), QuantOptions(adapter=TRUSEQ, trim_4n=True, max_length=24),
                                     QuantOptions(adapter=TRUSEQ, max_error_rate=0.2, min_overlap=1)])
def test_long_inserts_match_the_python_route(tmp_path, options):
    """Reads whose insert is too long for the read to hold much adapter, with errors in what it
    holds: the kernel decides 'too long' without cutadapt only when every match cutadapt's aligner
    may choose leaves the same outcome; outcomes and the typed first 31 nt agree read for read."""
    import gzip

    from exomir.quant.adapters import AdapterChoice
    from exomir.quant.kernel import FALLBACK_ALIGN, _LUT, scan_block
    from exomir.quant.sample import _Tally
    from exomir.quant.scan import _Params, scan_file

    rng = np.random.default_rng(11)
    reads = []
    for _ in range(6000):
        insert = "".join(rng.choice(list("ACGT"), size=int(rng.integers(26, 50))))
        read = list((insert + TRUSEQ + "AGATCGGAAG")[:50])
        for i in range(len(insert), 50):  # errors in the adapter part only
            if rng.random() < 0.08:
                read[i] = "ACGT"[int(rng.integers(4))]
        reads.append("".join(read))
    path = tmp_path / "long.fastq.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(f"@r{i}\n{r}\n+\n{'I' * 50}\n" for i, r in enumerate(reads))
    choice = AdapterChoice(TRUSEQ, "given")
    fast = scan_file(path, choice, options, False, 0)
    tally = _Tally(options, choice, False, 0)
    from collections import Counter

    tally.add(Counter(reads))
    slow = tally.scanned()
    assert np.array_equal(fast.tally, slow.tally)
    assert np.array_equal(fast.codes, slow.codes) and np.array_equal(fast.counts, slow.counts)
    assert np.array_equal(fast.long_codes, slow.long_codes) and np.array_equal(fast.long_counts, slow.long_counts)
    # the kernel settles some of the too-long reads itself (the rest go to cutadapt's aligner)
    block = np.frombuffer(gzip.open(path).read(), dtype=np.uint8)
    p = _Params(choice, options, False, 0)
    n = len(reads)
    fallback = np.empty((n, 3), dtype=np.int64)
    out = scan_block(block, p.adapter, p.trim, p.rate, p.min_overlap, p.lo, p.hi, p.four_n, False, 0, _LUT,
                     np.empty(n, np.uint64), np.empty(n, np.uint64), fallback, np.zeros(6, np.int64),
                     np.empty(n, np.uint64))
    assert out[1] == n and (fallback[:out[3], 2] == FALLBACK_ALIGN).sum() < 0.6 * fast.tally[3]


def _adapter_reads(rng, adapter: bytes, count: int):
    """Reads holding adapter pieces with substitutions, insertions and deletions, and some N."""
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    for _ in range(count):
        tail = bytearray(adapter if rng.random() < 0.6 else adapter[: rng.integers(0, len(adapter) + 1)])
        for _ in range(rng.integers(0, 5)):
            i = int(rng.integers(0, len(tail) + 1))
            op = rng.integers(3)
            if op == 0 and i < len(tail):
                tail[i] = bases[rng.integers(4)]
            elif op == 1:
                tail.insert(i, bases[rng.integers(4)])
            elif i < len(tail):
                del tail[i]
        read = bytearray(rng.choice(bases, rng.integers(0, 50)).tobytes()) + tail + rng.choice(bases, 10).tobytes()
        read = read[: rng.integers(0, 75)]
        if read and rng.random() < 0.05:
            read[rng.integers(len(read))] = ord("N")
        yield np.frombuffer(b"xx" + bytes(read) + b"\n", dtype=np.uint8)


@pytest.mark.parametrize("adapter", [b"TGGAATTCTCGGGTGCCAAGG", b"AACTGTAGGCACCATCAAT", b"CTGTAGGC", b"A" * 20,
                                     b"ACGT" * 16, b"TGCA" * 18])
def test_fast_adapter_searches_agree_with_the_plain_ones(adapter):
    from exomir.quant.kernel import _find, _find_whole, _may_align, _may_align_any, _skip_table

    rng = np.random.default_rng(len(adapter))
    pat = np.frombuffer(adapter, dtype=np.uint8).copy()
    skip = _skip_table(pat)
    accepted = 0
    for buf in _adapter_reads(rng, adapter, 6000):
        a, b = 2, len(buf) - 1
        assert _find_whole(buf, a, b, pat, skip) == _find(buf, a, b, pat, 0, len(pat))
        for rate in (0.0, 0.1, 0.2):
            plain = _may_align(buf, a, b, pat, rate, b - a + 1)
            assert _may_align_any(buf, a, b, pat, rate) == plain, (bytes(buf), rate)
            accepted += plain
    assert 2000 < accepted < 16000  # both answers occur often
