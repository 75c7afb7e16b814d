"""Target enrichment: the review's PTEN-targeting miRNAs point to PI3K-Akt; numbers recomputed here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests

from conftest import shared_path

QUERY = ["miR-32-5p", "miR-23a-3p"]
PI3K = "PI3K-Akt signaling pathway Homo sapiens hsa04151"


@pytest.fixture(scope="module")
def raw_targets() -> pd.DataFrame:
    return pd.read_csv(shared_path("targets", "mirtarbase_strong_evidence_human.csv"), dtype=str)


@pytest.fixture(scope="module")
def kegg() -> dict[str, set[str]]:
    sets = {}
    for line in shared_path("genesets", "kegg_2016.gmt").read_text().splitlines():
        fields = line.split("\t")
        sets[fields[0]] = {g.split(",")[0].upper() for g in fields[2:] if g}
    return sets


@pytest.fixture(scope="module")
def result():
    shared_path("mirbase_v22")
    from exomir.tools._enrich import enrich_mirnas

    return enrich_mirnas(QUERY, gene_sets="kegg_2016")


def test_pi3k_akt_is_the_top_set_with_its_genes(result):
    top = result.iloc[0]
    assert top["gene_set"] == PI3K
    assert top["genes"].split(";") == ["BCL2L11", "CHUK", "FOXO3", "G6PC", "HSP90AA1", "IL6R", "LPAR1", "MDM2",
                                       "PHLPP2", "PPP2R5E", "PTEN", "TSC1"]
    assert top["mirnas"] == "hsa-miR-23a-3p;hsa-miR-32-5p"
    assert "hsa-miR-32-5p: BCL2L11,MDM2,PHLPP2,PTEN,TSC1" in top["mirna_genes"]
    assert "hsa-miR-23a-3p: CHUK,FOXO3,G6PC,HSP90AA1,IL6R,LPAR1,PPP2R5E,PTEN,TSC1" in top["mirna_genes"]


def test_counts_and_pvalues_recomputed(result, raw_targets, kegg):
    universe = set(raw_targets["Target Gene"].str.upper())
    query = set(raw_targets.loc[raw_targets["miRNA"].isin(["hsa-miR-32-5p", "hsa-miR-23a-3p"]), "Target Gene"].str.upper())
    big_n, n = len(universe), len(query)
    assert (big_n, n) == (2843, 65)  # 2,853 symbols as written; 10 differ only in case
    row = result.set_index("gene_set").loc[PI3K]
    in_bg = kegg[PI3K] & universe
    k = len(in_bg & query)
    assert (row["background_size"], row["query_genes"], row["set_size"], row["set_size_in_background"], row["overlap"]) == (
        big_n, n, len(kegg[PI3K]), len(in_bg), k)
    assert (len(kegg[PI3K]), len(in_bg), k) == (341, 177, 12)
    expected_p = hypergeom.sf(k - 1, big_n, len(in_bg), n)
    assert row["pvalue"] == pytest.approx(expected_p, rel=1e-12)
    assert row["pvalue"] == pytest.approx(5.4e-4, abs=0.3e-4)
    # Every tested set, not just the top one.
    for _, r in result.iterrows():
        members = kegg[r["gene_set"]] & universe
        kk = len(members & query)
        assert r["overlap"] == kk and r["set_size_in_background"] == len(members)
        assert r["pvalue"] == pytest.approx(hypergeom.sf(kk - 1, big_n, len(members), n), rel=1e-10)
    tested = [s for s in kegg if len(kegg[s] & universe) >= 5]
    assert len(result) == len(tested)
    padj = multipletests(result["pvalue"], method="fdr_bh")[1]
    np.testing.assert_allclose(result["padj"], padj, rtol=1e-12)
    assert result["pvalue"].is_monotonic_increasing


def test_background_of_measured_mirnas(raw_targets, kegg):
    from exomir.tools._enrich import enrich_mirnas

    measured = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-155-5p", "hsa-miR-221-3p"]
    res = enrich_mirnas(QUERY, background_mirnas=measured, gene_sets="kegg_2016", min_set_size=3)
    names = set(measured) | {"hsa-miR-32-5p", "hsa-miR-23a-3p"}
    universe = set(raw_targets.loc[raw_targets["miRNA"].isin(names), "Target Gene"].str.upper())
    query = set(raw_targets.loc[raw_targets["miRNA"].isin(["hsa-miR-32-5p", "hsa-miR-23a-3p"]), "Target Gene"].str.upper())
    row = res.set_index("gene_set").loc[PI3K]
    members = kegg[PI3K] & universe
    k = len(members & query)
    assert row["background_size"] == len(universe) and row["set_size_in_background"] == len(members)
    assert row["pvalue"] == pytest.approx(hypergeom.sf(k - 1, len(universe), len(members), len(query)), rel=1e-12)
    assert res.attrs["background"] == "targets of 6 given background miRNAs"


def test_unknown_names_reported_not_dropped_silently(capsys):
    from exomir.errors import InputError
    from exomir.tools._enrich import enrich_mirnas

    sets = {"toy": ["PTEN", "TSC1", "MDM2", "FOXO3", "CHUK", "AAAS"]}
    res = enrich_mirnas(["miR-32-5p", "miR-notathing"], gene_sets=sets, min_set_size=1)
    assert res.attrs["excluded_mirnas"] == ["miR-notathing"]
    assert "miR-notathing" in capsys.readouterr().err
    assert res.iloc[0]["genes"] == "MDM2;PTEN;TSC1"
    with pytest.raises(InputError, match="none of the given miRNAs"):
        enrich_mirnas(["miR-notathing"], gene_sets=sets)
