"""Resolving names against miRBase release 22: the issue's done-when criteria and the nuances."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_path
from exomir.identity import COLUMNS, expand, load_mirbase, resolve


@pytest.fixture(scope="module")
def mb():
    return load_mirbase(shared_path("mirbase_v22"))


def _one(name, mb):
    return resolve([name], mirbase=mb).iloc[0]


def test_columns_and_order(mb):
    table = resolve(["miR-21", "nonsense", "MIMAT0000421"], mirbase=mb)
    assert list(table.columns) == COLUMNS
    assert list(table.columns[:5]) == ["input", "mimat", "name", "status", "candidates"]
    assert table["input"].tolist() == ["miR-21", "nonsense", "MIMAT0000421"]
    assert resolve([], mirbase=mb).shape == (0, len(COLUMNS))


def test_every_release_22_name_and_accession_is_exact(mb):
    by_name = resolve(mb.mature["name"], mirbase=mb)
    assert (by_name["status"] == "exact").all()
    assert by_name["mimat"].tolist() == mb.mature["mimat"].tolist()
    assert by_name["name"].tolist() == mb.mature["name"].tolist()
    assert by_name["sequence"].tolist() == mb.mature["sequence"].tolist()
    by_acc = resolve(mb.mature["mimat"], mirbase=mb)
    assert (by_acc["status"] == "exact").all()
    assert by_acc["name"].tolist() == mb.mature["name"].tolist()


def test_every_species_name_is_exact(mb):
    table = resolve(mb.all_mature["name"], mirbase=mb)
    assert (table["status"] == "exact").all()
    assert table["mimat"].tolist() == mb.all_mature["mimat"].tolist()


def test_every_historical_name_resolves_to_its_accession(mb):
    pairs = mb.history.drop_duplicates(["mimat", "name"]).reset_index(drop=True)
    table = resolve(pairs["name"], mirbase=mb)
    listed = [f"{mimat}:" in candidates for mimat, candidates in zip(pairs["mimat"], table["candidates"])]
    direct = table["mimat"].to_numpy() == pairs["mimat"].to_numpy()
    ambiguous_listing = (table["status"].isin(["ambiguous", "exact"])).to_numpy() & pd.Series(listed).to_numpy()
    assert (direct | ambiguous_listing).all(), table.loc[~(direct | ambiguous_listing)]
    # names no longer current are aliases, and say from which releases
    old = pairs["name"].to_numpy() != pairs["mimat"].map(dict(zip(mb.mature["mimat"], mb.mature["name"]))).to_numpy()
    aliases = table.loc[old & direct]
    assert (aliases["status"] == "alias").all()
    assert aliases["note"].str.contains(r"name in miRBase releases? \d").all()


@pytest.mark.parametrize(
    ("name", "mimat", "status", "note"),
    [
        ("miR-21", "MIMAT0000076", "alias", "name in miRBase releases 6-17"),
        ("exo-miR-21", "MIMAT0000076", "alias", "releases 6-17"),
        ("hsa-miR-21-5p", "MIMAT0000076", "exact", ""),
        ("MIMAT0000076", "MIMAT0000076", "exact", ""),
        ("miR-21*", "MIMAT0004494", "alias", "releases 10-17"),
        ("has-miR-155", "MIMAT0000646", "alias", "releases 6-17"),
        ("miR106b", "MIMAT0000680", "alias", "releases 6-17"),
        ("let-7a", "MIMAT0000062", "alias", "releases 6-17"),
        ("miR-92a", "MIMAT0000092", "alias", "releases 10-17"),
        ("hsa-miR-189", "MIMAT0000079", "alias", "release"),  # renamed miR-24-1* then miR-24-1-5p
        ("cel-miR-39-3p", "MIMAT0000010", "exact", ""),
        ("  HSA-MIR-122-5P ", "MIMAT0000421", "exact", ""),
        ("hsa-mir-1302-2", "MIMAT0005890", "alias", "precursor hsa-mir-1302-2 (MI0006363): its only mature product"),
        ("mir-189", "MIMAT0000079", "alias", "lower-case 'mir' read as a mature name"),
    ],
)
def test_single_answers(mb, name, mimat, status, note):
    row = _one(name, mb)
    assert (row["mimat"], row["status"]) == (mimat, status)
    assert note in row["note"]


def test_precursor_maps_to_both_products(mb):
    for name in ("hsa-mir-21", "MIR21", "MI0000077"):
        row = _one(name, mb)
        assert row["status"] == "ambiguous"
        assert row["kind"] == "precursor"
        assert row["precursor"] == "MI0000077"
        # the arm that older releases named without '*' comes first
        assert row["candidates"] == "MIMAT0000076:hsa-miR-21-5p;MIMAT0004494:hsa-miR-21-3p"
        assert "precursor hsa-mir-21 (MI0000077) has 2 mature products" in row["note"]


def test_hgnc_symbol_with_copy_number(mb):
    row = _one("MIR92A1", mb)
    assert row["precursor"] == "MI0000093"
    assert row["candidates"] == "MIMAT0000092:hsa-miR-92a-3p;MIMAT0004507:hsa-miR-92a-1-5p"


def test_copy_number_left_out_is_ambiguous(mb):
    row = _one("miR-92a-5p", mb)
    assert row["status"] == "ambiguous"
    assert row["candidates"] == "MIMAT0004507:hsa-miR-92a-1-5p;MIMAT0004508:hsa-miR-92a-2-5p"


def test_armless_name_never_used_is_ambiguous(mb):
    # cel-miR-39 has both arms in release 22 and no history to settle it
    row = _one("cel-miR-39", mb)
    assert row["status"] == "ambiguous"
    assert set(row["candidates"].split(";")) == {"MIMAT0020306:cel-miR-39-5p", "MIMAT0000010:cel-miR-39-3p"}
    assert "arm-less" in row["note"]


def test_history_giving_one_name_to_two_accessions(mb):
    row = _one("miR-378", mb)
    assert row["status"] == "ambiguous"
    # most recent use first: MIMAT0000732 in releases 10-17, MIMAT0000731 in 6-9.2
    assert row["candidates"] == "MIMAT0000732:hsa-miR-378a-3p;MIMAT0000731:hsa-miR-378a-5p"
    assert "6-9.2" in row["note"] and "10-17" in row["note"]


def test_current_name_that_once_named_another_accession(mb):
    row = _one("hsa-miR-499a-5p", mb)
    assert (row["mimat"], row["status"]) == ("MIMAT0002870", "exact")
    assert "MIMAT0019897" in row["candidates"]
    assert "release 17" in row["note"]


def test_groups_expand(mb):
    assert expand("miR-23a/b") == ["miR-23a", "miR-23b"]
    assert expand("miR-221/222") == ["miR-221", "miR-222"]
    table = resolve(["miR-23a/b", "miR-221/222", "exo-miR-23a/b"], mirbase=mb)
    assert (table["status"] == "ambiguous").all()
    assert (table["kind"] == "group").all()
    assert table["candidates"][0] == "MIMAT0000078:hsa-miR-23a-3p;MIMAT0000418:hsa-miR-23b-3p"
    assert table["candidates"][1] == "MIMAT0000278:hsa-miR-221-3p;MIMAT0000279:hsa-miR-222-3p"
    assert table["candidates"][2] == table["candidates"][0]


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("miR-1246-5p", "hsa-miR-1246"), ("miR-21-7p", "hsa-miR-21-5p"), ("hsa-miR-9999", "hsa-miR-9986"), ("miR-12345", "hsa-mir-1234")],
)
def test_unknown_suggests_closest(mb, name, suggestion):
    row = _one(name, mb)
    assert row["status"] == "unknown"
    assert row["mimat"] == ""
    assert suggestion in row["note"].split("closest: ")[1]


@pytest.mark.parametrize(("name", "note"), [("", "empty name"), ("AFP", "not a miRNA name"), ("U6 snRNA", "not in")])
def test_unknown_non_names(mb, name, note):
    row = _one(name, mb)
    assert row["status"] == "unknown"
    assert note in row["note"]


def test_unknown_accessions(mb):
    assert "not in miRBase release 22" in _one("MIMAT9999999", mb)["note"]
    assert _one("MI9999999", mb)["status"] == "unknown"


# ------------------------------------------------------------------ the review's miRNAs

REVIEW_EXPECTED = {
    # text
    "exo-miR-21": "MIMAT0000076", "exomiR-122": "MIMAT0000421", "exo-miR-148a": "MIMAT0000243",
    "exo-miR-1246": "MIMAT0005898", "miR-210": "MIMAT0000267", "miR-18a": "MIMAT0000072",
    "miR-221": "MIMAT0000278", "miR-222": "MIMAT0000279", "miR-224": "MIMAT0000281",
    "exo-miR-32-5p": "MIMAT0000090", "exo-miR-23a": "MIMAT0000078", "exo-miR-320a": "MIMAT0000510",
    "exo-miR-9-3p": "MIMAT0000442", "exo-miR-665": "MIMAT0004952", "exo-miR-490": "MIMAT0002806",
    "exo-miR-638": "MIMAT0003308", "Exo-miR-451a": "MIMAT0001631", "exo-miR-1247-3p": "MIMAT0022721",
    "exo-miR-92a-2-5p": "MIMAT0004508", "exo-miR-10b": "MIMAT0000254", "exo-miR-26a": "MIMAT0000082",
    "exomiR-146a": "MIMAT0000449", "exo-miR-155": "MIMAT0000646", "exo-miR-182": "MIMAT0000259",
    "exo-miR-200b-3p": "MIMAT0000318", "exo-miR-744": "MIMAT0004945", "exo-miR-199a-3p": "MIMAT0000232",
    "exo-miR-449c-5p": "MIMAT0010251", "exo-miR-92b": "MIMAT0003218", "miR92b": "MIMAT0003218",
    "exo-miR-101": "MIMAT0000099", "exo-miR-106b": "MIMAT0000680", "exo-miR-195": "MIMAT0000461",
    "exo-miR-10b-5p": "MIMAT0000254", "exo-miR-215-5p": "MIMAT0000272", "exo-miR215-5p": "MIMAT0000272",
    "exo-miR-96": "MIMAT0000095", "exo-miR320a": "MIMAT0000510", "exomiR-224": "MIMAT0000281",
    # Table 1
    "miR-744": "MIMAT0004945", "miR-1247-3p": "MIMAT0022721", "miR-451a": "MIMAT0001631",
    "miR-23a-3p": "MIMAT0000078", "miR-32-5p": "MIMAT0000090", "miR-92b": "MIMAT0003218",
    "miR-320a": "MIMAT0000510", "miR-638": "MIMAT0003308", "miR-200b-3p": "MIMAT0000318",
    # Table 2
    "miR-10b-5p": "MIMAT0000254", "miR-101": "MIMAT0000099", "miR106b": "MIMAT0000680",
    "miR-122": "MIMAT0000421", "miR195": "MIMAT0000461", "miR-148a": "MIMAT0000243",
    "miR-9-3p": "MIMAT0000442", "miR-665": "MIMAT0004952", "miR-21": "MIMAT0000076",
}


def test_review_mirnas_resolve_to_the_expected_accessions(mb):
    table = resolve(list(REVIEW_EXPECTED), mirbase=mb)
    assert table["status"].isin(["exact", "alias"]).all()
    assert dict(zip(table["input"], table["mimat"])) == REVIEW_EXPECTED


def test_table_cells_of_the_review(mb):
    cells = ["miR-21, miR-10b", "miR-18a, miR-221, miR-222, miR-224, miR-101, miR106b, miR-122, miR195",
             "miR-122, miR-148a and AFP"]
    table = resolve(cells, mirbase=mb)
    assert (table["status"] == "ambiguous").all()
    assert table["candidates"][0] == "MIMAT0000076:hsa-miR-21-5p;MIMAT0000254:hsa-miR-10b-5p"
    assert len(table["candidates"][1].split(";")) == 8
    assert "AFP → unknown" in table["note"][2]


def test_every_mirna_written_in_the_review_resolves(mb):
    text = shared_path("..", "seed", "exosomal_mirna_hcc_review.txt").read_text(errors="replace")
    text = text.replace("\u2013", "-")
    found = set(re.findall(r"\b(?:exo-?)?miR-?\d+[a-z]?(?:-\d+(?!\d*p))?(?:-[35]p)?(?:/[a-z0-9]+)?", text, re.IGNORECASE))
    found |= {"exo-miR-23a/b"}
    assert len(found) >= 50
    table = resolve(sorted(found), mirbase=mb)
    assert not (table["status"] == "unknown").any(), table.loc[table["status"] == "unknown", "input"].tolist()
    assert table.loc[table["status"] == "ambiguous", "kind"].eq("group").all()


# ------------------------------------------------------------------ robustness


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=25), st.none(), st.floats(allow_nan=True)), max_size=5))
def test_resolve_never_raises(names):
    mb = load_mirbase(shared_path("mirbase_v22"))
    table = resolve(names, mirbase=mb)
    assert len(table) == len(names)
    assert table["status"].isin(["exact", "alias", "ambiguous", "unknown"]).all()


def test_resolve_accepts_a_single_string_and_a_series(mb):
    assert resolve("miR-21", mirbase=mb)["mimat"].tolist() == ["MIMAT0000076"]
    assert resolve(pd.Series(["miR-122"]), mirbase=mb)["mimat"].tolist() == ["MIMAT0000421"]


def test_default_release_comes_from_the_environment(mb):
    # conftest points EXOMIR_MIRBASE at the shared release
    assert resolve(["miR-21"])["mimat"].item() == "MIMAT0000076"


# ------------------------------------------------------------------ precursor-level data (TCGA)

# TCGA-LIHC (Firehose 2015) names precursors that release 22 no longer has: miRNAs removed from
# miRBase (tRNA or repeat fragments), antisense "-as" entries and copies renamed without a trace
TCGA_NOT_IN_22 = [
    "hsa-mir-103-1-as", "hsa-mir-103-2-as", "hsa-mir-1254", "hsa-mir-1273", "hsa-mir-1273d",
    "hsa-mir-1274a", "hsa-mir-1274b", "hsa-mir-1280", "hsa-mir-3118-5", "hsa-mir-3118-6",
    "hsa-mir-3607", "hsa-mir-3647", "hsa-mir-365-1", "hsa-mir-365-2", "hsa-mir-3653", "hsa-mir-3656",
    "hsa-mir-3669", "hsa-mir-3673", "hsa-mir-3676", "hsa-mir-3687", "hsa-mir-566", "hsa-mir-720",
]


def test_tcga_precursor_names(mb):
    counts = pd.read_csv(shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz"), usecols=[0])
    table = resolve(counts.iloc[:, 0], mirbase=mb, level="precursor")
    assert len(table) == 1046
    assert table.loc[table["status"] == "unknown", "input"].tolist() == TCGA_NOT_IN_22
    known = table.loc[table["status"] != "unknown"]
    assert (known["kind"] == "precursor").all()
    assert known["precursor"].str.match(r"^MI\d{7}").all()
    # single-product precursors map straight to their mature accession
    single = known.loc[known["status"] == "alias"]
    assert len(single) > 400 and single["mimat"].str.startswith("MIMAT").all()
    assert (known.loc[known["status"] == "ambiguous", "candidates"].str.count(";") >= 1).all()


@pytest.mark.parametrize(
    ("name", "precursor", "first_candidate", "note"),
    [
        ("hsa-mir-103-1", "MI0000109", "MIMAT0000101:hsa-miR-103a-3p", "older precursor name, now hsa-mir-103a-1"),
        ("hsa-mir-219-2", "MI0000740", "MIMAT0000276:hsa-miR-219a-5p", "now hsa-mir-219a-2"),
        ("hsa-let-7a-1", "MI0000060", "MIMAT0000062:hsa-let-7a-5p", "precursor hsa-let-7a-1"),
    ],
)
def test_renamed_and_let_precursors(mb, name, precursor, first_candidate, note):
    row = _one(name, mb)
    assert row["status"] == "ambiguous"
    assert row["precursor"] == precursor
    assert row["candidates"].split(";")[0] == first_candidate
    assert note in row["note"]


def test_precursor_copy_number_left_out_or_added(mb):
    row = _one("mir-1302", mb)  # eleven copies, one mature product
    assert (row["mimat"], row["status"], row["kind"]) == ("MIMAT0005890", "alias", "precursor")
    assert len(row["precursor"].split(";")) == 11
    row = _one("hsa-mir-1270-1", mb)
    assert (row["mimat"], row["precursor"]) == ("MIMAT0005924", "MI0006407")
    assert "copy number -1 not in release 22" in row["note"]


def test_level_overrides_the_case_of_the_text(mb):
    # auto: let-7 has no case to read, a paper's "let-7b" is the mature miRNA
    assert _one("hsa-let-7b", mb)["mimat"] == "MIMAT0000063"
    tcga = resolve(["hsa-let-7b"], mirbase=mb, level="precursor").iloc[0]
    assert (tcga["status"], tcga["precursor"]) == ("ambiguous", "MI0000063")
    assert tcga["candidates"].startswith("MIMAT0000063:hsa-let-7b-5p;")
    # mature: sources that write mir-21 for the mature miRNA
    lax = resolve(["mir-21", "MIR21"], mirbase=mb, level="mature")
    assert lax["mimat"].tolist() == ["MIMAT0000076", "MIMAT0000076"]
    # an arm always means the mature product
    assert resolve(["hsa-miR-21-3p"], mirbase=mb, level="precursor")["status"].item() == "exact"
    with pytest.raises(ValueError, match="level"):
        resolve(["miR-21"], mirbase=mb, level="hairpin")


def test_renamed_precursor_without_copy_number(mb):
    row = _one("hsa-mir-151", mb)
    assert (row["status"], row["precursor"]) == ("ambiguous", "MI0000809")
    assert "now hsa-mir-151a" in row["note"]
    assert _one("hsa-mir-1245", mb)["mimat"] == "MIMAT0005897"


def test_mature_sequences_resolve(mb):
    table = resolve(mb.mature["sequence"], mirbase=mb)
    direct = table["mimat"].to_numpy() == mb.mature["mimat"].to_numpy()
    listed = [f"{m}:" in c for m, c in zip(mb.mature["mimat"], table["candidates"])]
    assert (direct | listed).all()
    assert direct.sum() > 2500  # identical sequences (miR-199a-3p = miR-199b-3p) are the exception
    row = _one("ACAGUAGUCUGCACAUUGGUUA", mb)
    assert (row["status"], row["candidates"]) == ("ambiguous", "MIMAT0000232:hsa-miR-199a-3p;MIMAT0004563:hsa-miR-199b-3p")
    assert _one("TAGCTTATCAGACTGATGTTGA", mb)["mimat"] == "MIMAT0000076"  # DNA letters of an assay sheet
    assert _one("ACGUACGUACGUACGUACGUAAAA", mb)["status"] == "unknown"


def test_accession_beside_a_name(mb):
    table = resolve(["hsa-miR-16-5p_MIMAT0000069", "hsa-miR-21-5p (MIMAT0000069)"], mirbase=mb)
    assert table["mimat"].tolist() == ["MIMAT0000069", "MIMAT0000069"]
    assert table["note"][0] == ""
    assert "the name beside it, 'hsa-miR-21-5p', reads as hsa-miR-21-5p" in table["note"][1]


def test_empty_input_needs_no_release(monkeypatch):
    from exomir.identity import COLUMNS, resolve

    monkeypatch.setenv("EXOMIR_MIRBASE", "/nonexistent/mirbase")  # would fail if a release were loaded
    table = resolve([])
    assert list(table.columns) == list(COLUMNS) and len(table) == 0
