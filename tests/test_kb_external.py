"""External evidence: miRTarBase, HMDD and GMT readers, with provenance and clear errors."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from conftest import shared_path
from exomir.errors import InputError


@pytest.fixture(scope="module")
def mirtarbase():
    shared_path("mirbase_v22")
    from exomir.kb import load_mirtarbase

    return load_mirtarbase(shared_path("targets", "mirtarbase_strong_evidence_human.csv"))


def test_mirtarbase_table_and_provenance(mirtarbase):
    path = shared_path("targets", "mirtarbase_strong_evidence_human.csv")
    raw = pd.read_csv(path, dtype=str)
    table, prov = mirtarbase.table, mirtarbase.provenance
    assert len(table) == len(raw.drop_duplicates(["miRNA", "Target Gene"])) == prov["interactions"]
    assert prov["rows_read"] == 11177 and prov["mirnas"] == 740 and prov["genes"] == 2853
    assert prov["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["release"] == "not stated"  # the file does not say; nothing is invented
    pten = table[(table["gene"] == "PTEN") & (table["mirna"] == "hsa-miR-32-5p")].iloc[0]
    assert pten["mimat"] == "MIMAT0000090" and pten["entrez"] == "5728"
    assert "Luciferase reporter assay" in pten["experiments"]
    # Names of dead or renamed entries are listed, not hidden.
    assert set(prov["unresolved_mirnas"]) >= {"hsa-miR-1274a"}
    assert table.loc[table["mirna"] == "hsa-miR-1274a", "mimat"].eq("").all()


def test_targets_of_any_name_form(mirtarbase):
    from exomir.kb import targets_of

    raw = pd.read_csv(shared_path("targets", "mirtarbase_strong_evidence_human.csv"), dtype=str)
    genes = sorted(set(raw.loc[raw["miRNA"] == "hsa-miR-23a-3p", "Target Gene"]))
    a = targets_of(mirtarbase, ["miR-23a"])
    b = targets_of(mirtarbase, ["MIMAT0000078"])
    assert list(a["gene"]) == list(b["gene"]) == genes and "PTEN" in genes and len(genes) == 51


def test_mirtarbase_strong_filter_and_species(tmp_path):
    from exomir.kb import load_mirtarbase

    path = tmp_path / "mti_release_9.0.csv"
    path.write_text(
        "miRTarBase ID,miRNA,Species (miRNA),Target Gene,Target Gene (Entrez ID),Species (Target Gene),Experiments,Support Type,References (PMID)\n"
        "MIRT1,hsa-miR-21-5p,Homo sapiens,PTEN,5728,Homo sapiens,Luciferase reporter assay//qRT-PCR,Functional MTI,1\n"
        "MIRT2,hsa-miR-21-5p,Homo sapiens,PDCD4,27250,Homo sapiens,Microarray,Functional MTI (Weak),2\n"
        "MIRT3,mmu-miR-21a-5p,Mus musculus,Pten,19211,Mus musculus,Western blot,Functional MTI,3\n"
    )
    strong = load_mirtarbase(path, strong_only=True)
    assert list(strong.table["gene"]) == ["PTEN"]
    assert strong.provenance["release"] == "9.0"
    assert strong.provenance["excluded"] == {"non-human Species (miRNA)": 1, "not strong evidence": 1}
    assert len(load_mirtarbase(path).table) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("mirna,gene\nmiR-21,PTEN\n")
    with pytest.raises(InputError, match="not a miRTarBase table") as err:
        load_mirtarbase(bad)
    assert err.value.path == str(bad)


def test_hmdd(tmp_path):
    shared_path("mirbase_v22")
    from exomir.kb import hmdd_for, load_hmdd

    path = shared_path("hmdd", "hmdd_v3.2_hcc_circulation.tsv")
    hmdd = load_hmdd(path)
    assert hmdd.provenance["release"] == "3.2" and hmdd.provenance["associations"] == 155
    raw = pd.read_csv(path, sep="\t", dtype=str)
    rows = hmdd_for(hmdd, "MIMAT0000076")  # miR-21-5p, matched through its precursor hsa-mir-21
    expected = raw[raw["mir"].str.lower() == "hsa-mir-21"]
    assert len(rows) == len(expected) > 0
    assert set(rows["evidence"]) == {"circulation"}
    assert set(rows["direction"]) <= {"up", "down", "ns"}
    assert rows["pmid"].tolist() == expected["pmid"].tolist()
    bad = tmp_path / "hmdd.tsv"
    bad.write_text("mir\tdisease\nhsa-mir-21\tX\n")
    with pytest.raises(InputError, match="not an HMDD table"):
        load_hmdd(bad)


def test_gmt_reader(tmp_path):
    from exomir.kb import read_gmt
    from exomir.kb.genesets import load_gene_sets

    sets, prov = load_gene_sets("hallmark")
    assert prov["sets"] == 50 and len(sets["HALLMARK_PI3K_AKT_MTOR_SIGNALING"].genes) == 105
    kegg, _ = load_gene_sets(shared_path("genesets", "kegg_2016.gmt"))
    assert len(kegg) == 293
    bad = tmp_path / "bad.gmt"
    bad.write_text("SET_A\tdesc\tPTEN\tTSC1\nSET_B\n")
    with pytest.raises(InputError) as err:
        read_gmt(bad)
    assert err.value.line == 2 and err.value.path == str(bad)
    with pytest.raises(InputError, match="unknown gene set library"):
        load_gene_sets("reactome_9000")


def test_mirtarbase_official_xlsx_form(tmp_path):
    """The official download is an .xlsx with the same columns as the CSV."""
    from exomir.kb import load_mirtarbase

    raw = pd.read_csv(shared_path("targets", "mirtarbase_strong_evidence_human.csv"), dtype=str).head(200)
    path = tmp_path / "hsa_MTI_9.0.xlsx"
    raw.to_excel(path, index=False)
    table = load_mirtarbase(path)
    assert table.provenance["release"] == "9.0"
    assert len(table.table) == len(raw.drop_duplicates(["miRNA", "Target Gene"]))
    assert set(table.table["gene"]) == set(raw["Target Gene"])
