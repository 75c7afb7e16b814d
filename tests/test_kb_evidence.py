"""evidence_for: what the literature says about each differential hit (tables/evidence.csv)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import shared_path


@pytest.fixture(scope="module")
def evidence():
    shared_path("mirbase_v22")
    from exomir.kb import evidence_for

    differential = pd.DataFrame({
        "mirna": ["hsa-miR-122-5p", "hsa-miR-21-5p", "hsa-miR-18a-5p", "hsa-miR-101-3p", "hsa-miR-92b-3p",
                  "hsa-let-7a-5p", "hsa-miR-1247-3p", "hsa-miR-96-5p"],
        "mimat": ["MIMAT0000421", "MIMAT0000076", "MIMAT0000072", "MIMAT0000099", "MIMAT0003218", "MIMAT0000062",
                  "MIMAT0022721", "MIMAT0000095"],
        "comparison": ["HCC_vs_LC", "HCC_vs_CHB", "HCC_vs_LC", "HCC_vs_healthy", "HCC_vs_LC", "HCC_vs_LC",
                       "HCC_vs_LC", "HCC_vs_LC"],
        "log2fc": [1.2, -0.8, 0.9, -1.1, 0.7, 2.0, 0.5, 0.0],
        "pvalue": [0.001] * 8,
        "padj": [0.01] * 8,
        "method": ["deseq2"] * 8,
    })
    return evidence_for(differential).set_index("mirna")


def test_contract_columns(evidence):
    from exomir.kb.evidence import COLUMNS

    required = ["mimat", "comparison", "observed_direction", "literature_direction", "agreement", "n_records", "conflict",
                "parental_cells", "recipient_cells", "targets", "pathways", "hallmarks", "references"]
    assert set(required) <= set(COLUMNS) and list(evidence.reset_index().columns) == COLUMNS
    assert len(evidence) == 8


def test_agreement(evidence):
    expect = {
        "hsa-miR-122-5p": ("up", "conflicting", "same comparison", "conflicting", True),
        "hsa-miR-21-5p": ("down", "up", "same comparison", "disagree", False),
        "hsa-miR-18a-5p": ("up", "up", "same comparison", "agree", False),
        "hsa-miR-101-3p": ("down", "down", "same case group", "agree", False),
        "hsa-miR-92b-3p": ("up", "up", "other contexts", "agree", False),
        "hsa-let-7a-5p": ("up", "", "", "no_record", False),
        "hsa-miR-1247-3p": ("up", "", "", "no_record", True),
        "hsa-miR-96-5p": ("", "up", "same comparison", "", False),
    }
    for mirna, values in expect.items():
        row = evidence.loc[mirna]
        got = (row["observed_direction"], row["literature_direction"], row["literature_basis"], row["agreement"], row["conflict"])
        assert got == values, mirna


def test_annotations(evidence):
    r = evidence.loc["hsa-miR-92b-3p"]
    assert (r["n_records"], r["parental_cells"], r["recipient_cells"], r["targets"], r["hallmarks"]) == (
        3, "hcc_cell", "nk_cell", "CD69", "immune_escape")
    assert r["references"] == "[116] Nakano T et al., Am J Transplant 2019;19(12):3250-3262 doi:10.1111/ajt.15490"
    assert (r["pmids"], r["dois"], r["retracted_records"]) == ("", "10.1111/ajt.15490", "")
    r = evidence.loc["hsa-miR-122-5p"]  # three papers (Sohn 2015, Wang 2018, Wang 2020) behind its eight records
    assert r["pmids"].split(";") == ["26380927", "29573235", "32210570"]
    r = evidence.loc["hsa-miR-1247-3p"]
    assert (r["conflict_kinds"], r["parental_cells"], r["pathways"]) == ("parental_cell", "hcc_cell;fibroblast", "nfkb")
    assert evidence.loc["hsa-miR-122-5p", "n_records"] == 8
    assert evidence.loc["hsa-let-7a-5p", "n_records"] == 0 and evidence.loc["hsa-let-7a-5p", "references"] == ""


def test_names_without_accessions(tmp_path):
    from exomir.kb import evidence_for

    out = evidence_for(pd.DataFrame({"mirna": ["exo-miR-221", "miR-23a"], "comparison": ["HCC_vs_CHB", "HCC_vs_LC"],
                                     "log2fc": [1.0, 1.0]}))
    assert list(out["mimat"]) == ["MIMAT0000278", "MIMAT0000078"]
    assert list(out["agreement"]) == ["agree", "no_record"]
    assert out.loc[1, "targets"] == "PTEN;CD274" and out.loc[1, "n_records"] == 4
