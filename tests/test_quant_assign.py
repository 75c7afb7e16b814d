"""Assignment: mature miRNAs, mirtop isomiR variants, hairpin fallback, multi-mapping, accuracy."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from exomir.quant import QuantOptions, assign, load_reference, make_uid, quantify_reads
from exomir.quant.simulate import ILLUMINA_3P, TRUSEQ, evaluate_assignment, simulate_library

QIASEQ = "AACTGTAGGCACCATCAAT"


@pytest.fixture
def ref(mirbase_dir):
    return load_reference(str(mirbase_dir))  # cached per process


def _only(asg):
    assert len(asg.hits) == 1
    return asg.hits[0]


def test_reference_places_matures_in_hairpins(ref):
    arms = {a.name: a for a in ref.arms["hsa-mir-21"]}
    assert ref.hairpins["hsa-mir-21"][arms["hsa-miR-21-5p"].start:arms["hsa-miR-21-5p"].end] == "TAGCTTATCAGACTGATGTTGA"
    assert arms["hsa-miR-21-5p"].mimat == "MIMAT0000076"
    assert len(ref.mature) == 2656 and len(ref.hairpins) == 1917


@pytest.mark.parametrize(
    "make, variant, cigar",
    [
        (lambda h: h[7:29], "NA", "22M"),
        (lambda h: h[7:30], "iso_3p:+1", "23M"),
        (lambda h: h[7:27], "iso_3p:-2", "20M"),
        (lambda h: h[6:29], "iso_5p:-1", "23M"),
        (lambda h: h[8:29], "iso_5p:+1", "21M"),
        (lambda h: h[7:29] + "AA", "iso_add3p:2", "22M2I"),
        (lambda h: h[7:29] + "TT", "iso_3p:+2,iso_snv", "22MC1M"),  # the last T is templated
        (lambda h: h[7:10] + "G" + h[11:29], "iso_snv_seed", "3MC18M"),
        (lambda h: h[7:14] + "A" + h[15:29], "iso_snv_central_offset", "7MT14M"),
        (lambda h: h[8:28] + "C", "iso_5p:+1,iso_3p:-1,iso_add3p:1", "20M1I"),
    ],
)
def test_mirtop_variants_of_mir21(ref, make, variant, cigar):
    insert = make(ref.hairpins["hsa-mir-21"])
    asg = assign(insert, ref)
    assert asg.mirnas == ("hsa-miR-21-5p",)
    hit = _only(asg)
    assert hit.variant() == variant
    assert hit.cigar(len(insert)) == cigar
    assert asg.is_isomir == (variant != "NA")


def test_hairpin_only_and_unassigned(ref):
    loop = ref.hairpins["hsa-mir-21"][30:50]
    asg = assign(loop, ref)
    assert asg.kind == "hairpin" and asg.mirnas == () and asg.hairpins == ("hsa-mir-21",)
    assert assign("ACGTTGCAACGTTGCAACGTTG", ref).kind == "none"


def test_multi_mapping_rule(ref):
    # one miRNA from three hairpins: whole count to it
    asg = assign("TGAGGTAGTAGGTTGTATAGTT", ref)
    assert asg.mirnas == ("hsa-let-7a-5p",)
    assert set(asg.hairpins) == {"hsa-let-7a-1", "hsa-let-7a-2", "hsa-let-7a-3"}
    # one sequence shared by two miRNAs: split evenly
    shared = "TAATGCCCCTAAAAATCCTTAT"
    assert assign(shared, ref).mirnas == ("hsa-miR-365a-3p", "hsa-miR-365b-3p")
    reads = Counter({shared + TRUSEQ[:28]: 5, "TAGCTTATCAGACTGATGTTGA" + TRUSEQ[:28]: 4})
    result = quantify_reads([reads], ref, QuantOptions(adapter=TRUSEQ))
    assert result.mirna_counts == {"hsa-miR-21-5p": 4.0, "hsa-miR-365a-3p": 2.5, "hsa-miR-365b-3p": 2.5}


@pytest.mark.parametrize(
    "seq, uid",
    [("TTTTT", "iso-5-ZZ"), ("ATA", "iso-3-DB"), ("CGTA", "iso-4-HB"), ("TTTT", "iso-4-KQ"), ("GGG", "iso-3-DY"),
     ("A", "iso-1-B"), ("TT", "iso-2-Q"), ("TGAGGTTTT", "iso-9-XKKQ"), ("UGAGG", "iso-5-XK")],
)
def test_mirtop_uid(seq, uid):
    assert make_uid(seq) == uid


def test_qc_categories_umi_and_4n(ref):
    mir21 = "TAGCTTATCAGACTGATGTTGA"
    umi_a, umi_b = "ACGTACGTACGT", "TTTTGGGGCCCC"
    reads = Counter({
        (mir21 + QIASEQ + umi_a + ILLUMINA_3P)[:76]: 3,  # three PCR copies of one molecule
        (mir21 + QIASEQ + umi_b + ILLUMINA_3P)[:76]: 1,
        ("A" * 15 + QIASEQ + umi_a + ILLUMINA_3P)[:76]: 2,  # too short
        ("ACGT" * 8 + QIASEQ + umi_a + ILLUMINA_3P)[:76]: 1,  # too long (32 nt)
        (QIASEQ + umi_a + ILLUMINA_3P + "A" * 40)[:76]: 4,  # adapter dimer
        ("GATTACA" * 11)[:76]: 2,  # no adapter
    })
    result = quantify_reads([reads], ref, QuantOptions(adapter="auto"))
    qc = result.qc
    assert qc["adapter"] == QIASEQ and qc["umi"] is True
    assert (qc["reads_in"], qc["reads_kept"], qc["too_short"], qc["too_long"], qc["adapter_dimer"], qc["no_adapter"]) == (13, 4, 2, 1, 4, 2)
    assert qc["molecules"] == 2 and qc["umi_duplicates"] == 2
    assert result.mirna_counts == {"hsa-miR-21-5p": 2.0}
    no_umi = quantify_reads([reads], ref, QuantOptions(adapter="auto", umi=False))
    assert no_umi.mirna_counts == {"hsa-miR-21-5p": 4.0}
    # NEXTflex: 4 random bases on each side of the insert
    nextflex = Counter({("GATC" + mir21 + "CCAT" + TRUSEQ)[:50]: 7})
    assert quantify_reads([nextflex], ref, QuantOptions(trim_4n=True)).mirna_counts == {"hsa-miR-21-5p": 7.0}
    assert quantify_reads([nextflex], ref, QuantOptions(trim_4n=False)).mirna_counts.get("hsa-miR-21-5p", 0) == 0


def test_simulated_library_accuracy(ref, tmp_path):
    from exomir.quant import quantify_file

    path = tmp_path / "sim.fastq.gz"
    lib = simulate_library(path, ref, reads=60_000, seed=11)
    result = quantify_file(path, ref)
    names = sorted(set(lib.truth) | set(result.mirna_counts))
    truth = np.array([lib.truth.get(n, 0) for n in names], float)
    counted = np.array([result.mirna_counts.get(n, 0.0) for n in names])
    assert np.corrcoef(truth, counted)[0, 1] >= 0.999
    assert abs(result.qc["adapter_dimer"] - lib.dimers) <= 0.01 * lib.dimers + 5
    evaluation = evaluate_assignment(path, ref)
    assert evaluation["mirna_reads"] == lib.mirna_reads
    assert evaluation["accuracy"] >= 0.99


def test_simulated_umi_library_counts_molecules(ref, tmp_path):
    from exomir.quant import quantify_file

    path = tmp_path / "umi.fastq.gz"
    lib = simulate_library(path, ref, reads=30_000, read_length=76, adapter=QIASEQ, umi_length=12, seed=5)
    result = quantify_file(path, ref)
    assert result.qc["umi"] and result.qc["umi_duplicates"] > 0.3 * result.qc["reads_kept"]
    names = sorted(set(lib.molecules) | set(result.mirna_counts))
    truth = np.array([lib.molecules.get(n, 0) for n in names], float)
    counted = np.array([result.mirna_counts.get(n, 0.0) for n in names])
    assert np.corrcoef(truth, counted)[0, 1] >= 0.999
    # UMI errors are absorbed (directional rule); an error in the insert of one PCR copy still
    # makes another (insert, UMI) pair, so the count can only rise, by about the error rate
    assert truth.sum() <= counted.sum() <= 1.07 * truth.sum()


def test_directional_umi_rule():
    from exomir.quant.sample import directional_molecules

    # AAAC (2 reads) is an error of AAAA (10); CCCC and CCCG (3 each) are two molecules
    assert directional_molecules(Counter({"AAAA": 10, "AAAC": 2, "CCCC": 3, "CCCG": 3})) == 3
    # chains: AAAA(8) -> AAAT(4) -> AATT(2) collapse into one molecule
    assert directional_molecules(Counter({"AAAA": 8, "AAAT": 4, "AATT": 2})) == 1
    assert directional_molecules(Counter({"ACGT": 1})) == 1
