"""Parsing miRNA names: every written form of the issue, groups, and properties on arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.identity import expand, parse_name


@pytest.mark.parametrize(
    ("text", "canonical", "kind"),
    [
        ("hsa-miR-21-5p", "hsa-miR-21-5p", "mature"),
        ("miR-21", "hsa-miR-21", "mature"),
        ("exo-miR-21", "hsa-miR-21", "mature"),
        ("Exo-miR-451a", "hsa-miR-451a", "mature"),
        ("exomiR-122", "hsa-miR-122", "mature"),  # joined by PDF text extraction
        ("exo-miR215-5p", "hsa-miR-215-5p", "mature"),
        ("miR106b", "hsa-miR-106b", "mature"),  # the review's Table 2 drops the hyphen
        ("has-miR-155", "hsa-miR-155", "mature"),  # GEO's species typo
        ("hsa-mir-21", "hsa-mir-21", "precursor"),
        ("mir-92a-1", "hsa-mir-92a-1", "precursor"),
        ("MIR92A1", "hsa-mir-92a-1", "precursor"),  # HGNC gene symbol
        ("MIRLET7A1", "hsa-let-7a-1", "precursor"),
        ("MIR21", "hsa-mir-21", "precursor"),
        ("HSA-MIR-21-5P", "hsa-miR-21-5p", "mature"),  # arm decides despite upper case
        ("MIR-21", "hsa-miR-21", None),  # all upper: case says nothing
        ("Mir-21", "hsa-miR-21", None),
        ("let-7a", "hsa-let-7a", None),
        ("hsa-let-7a-2-3p", "hsa-let-7a-2-3p", "mature"),
        ("miR-92a-2-5p", "hsa-miR-92a-2-5p", "mature"),
        ("miR-21*", "hsa-miR-21*", "mature"),
        ("miR-24-1*", "hsa-miR-24-1*", "mature"),
        ("microRNA-21", "hsa-miR-21", "mature"),
        ("miRNA-122", "hsa-miR-122", "mature"),
        ("miRNA 21", "hsa-miR-21", "mature"),
        ("  miR - 21 - 5p ", "hsa-miR-21-5p", "mature"),
        ("miR-21\u20135p", "hsa-miR-21-5p", "mature"),  # en dash from a PDF
        ("miR-21-3P", "hsa-miR-21-3p", "mature"),
        ("miR-21_5p", "hsa-miR-21-5p", "mature"),
        ("miR-21-5'", "hsa-miR-21-5p", "mature"),
        ('"miR-21"', "hsa-miR-21", "mature"),
        ("cel-miR-39-3p", "cel-miR-39-3p", "mature"),
        ("mmu-miR-122-5p", "mmu-miR-122-5p", "mature"),
        ("miR-021", "hsa-miR-21", "mature"),
    ],
)
def test_parse_forms(text, canonical, kind):
    parsed = parse_name(text)
    assert parsed.status == "name"
    assert parsed.canonical == canonical
    assert parsed.kind == kind


def test_parse_components():
    parsed = parse_name("has-miR-92a-2-5p")
    assert (parsed.species, parsed.family, parsed.number, parsed.copy, parsed.arm, parsed.star) == (
        "hsa", "miR", "92a", "2", "5p", False
    )
    assert parsed.species_given
    assert parsed.key == "hsa-mir-92a-2-5p"
    assert parsed.base_key == "hsa-mir-92a-2"
    assert parsed.copyless_key == "hsa-mir-92a-5p"
    assert not parse_name("miR-21").species_given


@pytest.mark.parametrize(
    ("text", "accession", "kind"),
    [
        ("MIMAT0000076", "MIMAT0000076", "mature"),
        ("mimat0000076", "MIMAT0000076", "mature"),
        (" MIMAT0000076.2 ", "MIMAT0000076", "mature"),
        ("MI0000077", "MI0000077", "precursor"),
    ],
)
def test_parse_accessions(text, accession, kind):
    parsed = parse_name(text)
    assert parsed.status == "accession"
    assert parsed.accession == accession
    assert parsed.kind == kind


@pytest.mark.parametrize("text", ["", "   ", None, float("nan")])
def test_parse_empty(text):
    assert parse_name(text).status == "empty"


@pytest.mark.parametrize("text", ["AFP", "hello world", "ebv-miR-BART1-5p", "miR-", "U6 snRNA"])
def test_parse_irregular_is_unparsed_with_a_key(text):
    parsed = parse_name(text)
    assert parsed.status == "unparsed"
    assert parsed.key == "-".join(text.lower().split())


@pytest.mark.parametrize(
    ("text", "members"),
    [
        ("miR-23a/b", ["miR-23a", "miR-23b"]),
        ("miR-221/222", ["miR-221", "miR-222"]),
        ("exo-miR-23a/b", ["exo-miR-23a", "exo-miR-23b"]),
        ("miR-221/-222", ["miR-221", "miR-222"]),
        ("miR-199a-5p/3p", ["miR-199a-5p", "miR-199a-3p"]),
        ("miR-30a/b-5p", ["miR-30a-5p", "miR-30b-5p"]),
        ("miR-92a-1/2", ["miR-92a-1", "miR-92a-2"]),
        ("let-7a/b/c", ["let-7a", "let-7b", "let-7c"]),
        ("hsa-miR-21/hsa-miR-155", ["hsa-miR-21", "hsa-miR-155"]),
        ("miR-21, miR-10b", ["miR-21", "miR-10b"]),
        ("miR-122, miR-148a and AFP", ["miR-122", "miR-148a", "AFP"]),
        ("miR-21", ["miR-21"]),
        ("MIMAT0000076", ["MIMAT0000076"]),
        ("", []),
    ],
)
def test_expand(text, members):
    assert expand(text) == members


def test_group_parses_as_group():
    parsed = parse_name("miR-221/222")
    assert parsed.status == "group"
    assert parsed.members == ("miR-221", "miR-222")
    assert parsed.canonical == "hsa-miR-221/hsa-miR-222"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_parser_never_raises(text):
    parsed = parse_name(text)
    assert parsed.status in {"name", "accession", "sequence", "group", "unparsed", "empty"}
    assert isinstance(expand(text), list)


name_strategy = st.builds(
    lambda species, family, number, letter, copy, arm, star: (
        f"{species}-{family}-{number}{letter}"
        + (f"-{copy}" if copy else "")
        + (f"-{arm}" if arm and not star else "")
        + ("*" if star else "")
    ),
    st.sampled_from(["hsa", "mmu", "cel", "has", "rno"]),
    st.sampled_from(["miR", "mir", "let", "MIR", "Mir"]),
    st.integers(min_value=1, max_value=9999),
    st.sampled_from(["", "a", "b", "c", "d"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
    st.one_of(st.none(), st.sampled_from(["5p", "3p"])),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(name_strategy)
def test_canonical_is_idempotent(text):
    once = parse_name(text)
    assert once.status == "name"
    twice = parse_name(once.canonical)
    assert twice.canonical == once.canonical
    assert twice.key == once.key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_canonical_is_idempotent_on_any_text(text):
    once = parse_name(text)
    if once.status in {"name", "unparsed", "accession", "sequence"}:
        assert parse_name(once.canonical).key == once.key


@pytest.mark.parametrize(
    ("text", "status", "canonical"),
    [
        ("hsa-miR-16-5p_MIMAT0000069", "accession", "MIMAT0000069"),  # instrument export
        ("hsa-miR-21-5p (MIMAT0000076)", "accession", "MIMAT0000076"),
        ("hsa-miR-21 (000397)", "name", "hsa-miR-21"),  # TaqMan assay ID
        ("miR-122 [plasma]", "name", "hsa-miR-122"),
        ("UAGCUUAUCAGACUGAUGUUGA", "sequence", "UAGCUUAUCAGACUGAUGUUGA"),
        ("tagcttatcagactgatgttga", "sequence", "UAGCUUAUCAGACUGAUGUUGA"),
    ],
)
def test_parse_export_forms(text, status, canonical):
    parsed = parse_name(text)
    assert (parsed.status, parsed.canonical) == (status, canonical)
