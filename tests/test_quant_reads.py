"""Reads, adapters and UMIs: streaming collapse, bad files, kit detection, trimming like cutadapt."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import shared_path
from exomir.errors import InputError
from exomir.quant import AdapterTrimmer, collapse_chunks, detect_adapter, sample_name
from exomir.quant.adapters import KITS

TRUSEQ = "TGGAATTCTCGGGTGCCAAGG"
QIASEQ = "AACTGTAGGCACCATCAAT"


def _fastq(records: list[tuple[str, str]]) -> str:
    return "".join(f"@r{i}\n{s}\n+\n{q}\n" for i, (s, q) in enumerate(records))


def _write(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt") as h:
            h.write(text)
    else:
        path.write_text(text)
    return path


def test_collapse_counts_identical_reads_across_chunks(tmp_path):
    reads = [("ACGTACGTAC", "IIIIIIIIII")] * 5 + [("TTTTGGGGCC", "IIIIIIIIII")] * 3
    path = _write(tmp_path / "s.fastq.gz", _fastq(reads), gz=True)
    chunks = list(collapse_chunks(path, chunk_reads=3))
    assert [c.total() for c in chunks] == [3, 3, 2]
    total = sum(chunks, Counter())
    assert total == Counter({"ACGTACGTAC": 5, "TTTTGGGGCC": 3})
    assert sample_name(path) == "s"


def test_collapsed_input_expands_counts():
    path = shared_path("fastq", "trimmed_collapsed_cell_s2.fastq")
    chunks = list(collapse_chunks(path))
    assert len(chunks[0]) == 798  # distinct records
    expected = 0
    for line in path.read_text().splitlines()[::4]:
        expected += int(line.rsplit("_x", 1)[1])
    assert chunks[0].total() == expected


@pytest.mark.parametrize(
    "kind, text, record, words",
    [
        ("empty", "", 1, "empty"),
        ("fasta", ">r1\nACGT\n", 1, "not a fastq"),
        ("length", _fastq([("ACGTACGT", "IIIIIIII")]) + "@r1\nACGTAC\n+\nIII\n", 2, "length"),
        ("malformed", _fastq([("ACGT", "IIII")] * 2) + "@r2\nACGT\nIIII\n", 3, "malformed"),
    ],
)
def test_bad_files_name_file_and_record(tmp_path, kind, text, record, words):
    path = _write(tmp_path / f"{kind}.fastq", text)
    with pytest.raises(InputError) as err:
        for _ in collapse_chunks(path):
            pass
    assert str(path) in str(err.value)
    assert err.value.record == record
    assert words in str(err.value).lower()


def test_truncated_gzip_is_reported_with_record_number(tmp_path):
    reads = [("ACGTACGTACGTACGTACGTACGT", "I" * 24)] * 20000
    good = _write(tmp_path / "good.fastq.gz", _fastq(reads), gz=True)
    data = good.read_bytes()
    bad = tmp_path / "bad.fastq.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        for _ in collapse_chunks(bad, chunk_reads=1000):
            pass
    assert "bad.fastq.gz" in str(err.value) and "gzip" in str(err.value)
    assert err.value.record is not None and 1 < err.value.record <= 20000


def test_detects_truseq_and_qiaseq_on_real_reads():
    truseq = next(collapse_chunks(shared_path("fastq", "nextseq_truseq_1.fastq.gz")))
    choice = detect_adapter(truseq)
    assert choice.sequence == TRUSEQ and choice.source == "kit" and choice.fraction > 0.8
    qiaseq = next(collapse_chunks(shared_path("fastq", "nextseq_qiaseq_umi.fastq.gz")))
    choice = detect_adapter(qiaseq)  # its reads also hold the Illumina adapter after the UMI
    assert choice.sequence == QIASEQ and choice.umi_length == 12


def test_de_novo_adapter_from_kmer_enrichment():
    import random

    rng = random.Random(1)
    adapter = "GTCTCAGATCAGTACCGATTAGC"  # in no kit
    assert all(k.adapter[:12] not in adapter for k in KITS)
    sample = Counter()
    for _ in range(3000):
        insert = "".join(rng.choice("ACGT") for _ in range(rng.randint(18, 26)))
        sample[(insert + adapter + "ACGTACGTACGTACGT")[:50]] += 1
    choice = detect_adapter(sample)
    assert choice.source == "de novo"
    assert adapter.startswith(choice.sequence[:12]) or choice.sequence.startswith(adapter[:12])
    assert choice.sequence[:15] == adapter[:15]


def test_partial_adapter_and_mismatches():
    t = AdapterTrimmer(TRUSEQ)
    insert = "TAGCTTATCAGACTGATGTTGA"
    assert t.trim(insert + TRUSEQ + "AAC") == (insert, "AAC")
    assert t.trim(insert + "TGG") == (insert, "")  # 3-nt partial adapter at the read end
    assert t.trim(insert + "TG") is None  # below the minimum overlap
    mutated = TRUSEQ[:5] + "C" + TRUSEQ[6:15] + "A" + TRUSEQ[16:]  # 2 substitutions in 21 nt
    assert t.trim(insert + mutated)[0] == insert
    bad = "".join("A" if i % 3 == 0 else c for i, c in enumerate(TRUSEQ))  # far above 10 %
    assert t.trim("C" * 10 + bad) is None
    assert t.trim(TRUSEQ + "ACGT") == ("", "ACGT")  # adapter dimer


def test_trimming_agrees_with_cutadapt_on_real_reads(tmp_path):
    path = shared_path("fastq", "nextseq_truseq_1.fastq.gz")
    out = tmp_path / "trimmed.fastq"
    cutadapt = Path(sys.executable).with_name("cutadapt")
    subprocess.run([str(cutadapt), "-a", TRUSEQ, "-e", "0.1", "-O", "3", "--quiet", "-o", str(out), str(path)],
                   check=True)
    theirs = out.read_text().splitlines()[1::4]
    raw = gzip.open(path, "rt").read().splitlines()[1::4]
    t = AdapterTrimmer(TRUSEQ)
    ours = [(c[0] if (c := t.trim(r)) is not None else r) for r in raw]
    agree = sum(a == b for a, b in zip(ours, theirs))
    assert len(theirs) == len(ours) == 10000
    assert agree / len(ours) >= 0.999


def test_trimmed_reads_have_no_adapter():
    # an abundant insert in already trimmed reads is not mistaken for an adapter
    sample = Counter({"TAGCTTATCAGACTGATGTTGA": 5000, "TGAGGTAGTAGGTTGTATAGTT": 1000, "TAGCTTATCAGACTGATGTTGAC": 800})
    assert detect_adapter(sample).source == "none"
    real = next(collapse_chunks(shared_path("fastq", "trimmed_collapsed_cell_s2.fastq")))
    assert detect_adapter(real).sequence == ""
