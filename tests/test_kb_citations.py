"""Citations of the curated evidence: PMIDs and DOIs, how each was verified, and links to them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from conftest import shared_path

REVIEW = Path(__file__).resolve().parents[1] / "src" / "exomir" / "kb" / "evidence" / "review.yaml"


@pytest.fixture(scope="module")
def records():
    from exomir.kb import read_evidence

    return read_evidence(REVIEW).records


def test_every_record_has_a_verified_identifier_or_says_none_was_identified(records):
    status = Counter()
    for record in records:
        ref = record.reference
        assert ref.id_status is not None, f"{record.id}: no id_status"
        status[str(ref.id_status)] += 1
        if str(ref.id_status) == "verified":
            assert ref.pmid or ref.doi, record.id
            if ref.pmid:
                assert ref.pmid_source and len(ref.pmid_source) > 30, f"{record.id}: PMID without the source it was checked against"
            if ref.doi:
                assert ref.doi_source and len(ref.doi_source) > 20, f"{record.id}: DOI without the source it was checked against"
            assert ref.title, f"{record.id}: the paper whose identifier was verified is named by its title"
        else:
            assert not ref.pmid and not ref.doi and ref.id_note, record.id
        status["pmid"] += bool(ref.pmid)
        status["doi"] += bool(ref.doi)
        status["both"] += bool(ref.pmid and ref.doi)
        status["retracted"] += bool(ref.retraction)
    assert len(records) == 91
    assert status == Counter({"verified": 80, "not identified": 11, "pmid": 55, "doi": 46, "both": 21, "retracted": 5})


def test_a_paper_has_one_identity_across_its_records(records):
    """Records citing the same review reference carry the same PMID, DOI and title."""
    by_ref: dict[tuple, set] = {}
    for record in records:
        ref = record.reference
        by_ref.setdefault(tuple(ref.numbers), set()).add((ref.pmid, ref.doi, ref.title, str(ref.id_status)))
    assert {k: v for k, v in by_ref.items() if len(v) > 1} == {}
    # two retracted papers, named on every record that cites them
    retracted = {tuple(r.reference.numbers) for r in records if r.reference.retraction}
    assert retracted == {(58,), (77,)}


def _family(name: str) -> str:
    """miR-18a, exo-miR-18a, hsa-mir-18a, miR-18a-5p → mir-18a (HMDD names precursors)."""
    text = name.lower().removeprefix("exo-").removeprefix("hsa-")
    return re.sub(r"-(5p|3p)$", "", text)


def test_pmids_found_in_hmdd_name_the_same_mirna_there(records):
    """Every PMID that also appears in HMDD v3.2 is listed there for the record's own miRNA, or
    HMDD's description of that PMID names the miRNA, or (where HMDD lists the paper under a sibling
    miRNA only) the record's pmid_source says so and names its own miRNA in a second source."""
    hmdd = pd.read_csv(shared_path("hmdd", "hmdd_v3.2.tsv"), sep="\t", dtype=str, keep_default_na=False)
    by_pmid = {pmid: rows for pmid, rows in hmdd.groupby("pmid")}
    how = Counter()
    for record in records:
        pmid = record.reference.pmid
        if not pmid or pmid not in by_pmid:
            how["not in HMDD"] += bool(pmid)
            continue
        rows = by_pmid[pmid]
        assert set(rows["disease"]) == {"Carcinoma, Hepatocellular"}, (record.id, pmid)
        family = _family(record.mirna)
        if family in {_family(m) for m in rows["mir"]}:
            how["same miRNA in HMDD"] += 1
            continue
        spelled = family.replace("mir-", "miR-")
        if any(re.search(rf"\b{re.escape(spelled)}\b", d) for d in rows["description"]):
            how["named in HMDD's description"] += 1
            continue
        source = record.reference.pmid_source or ""
        listed = sorted(_family(m).replace("mir-", "miR-") for m in rows["mir"])
        assert f"listed under hsa-{listed[0].lower()} only" in source, (record.id, pmid, listed)
        assert re.search(rf"{re.escape(spelled.removeprefix('miR-'))}\b", source), (record.id, "its own miRNA is not named")
        how["HMDD lists a sibling; second source names it"] += 1
    assert how == Counter({"same miRNA in HMDD": 14, "named in HMDD's description": 12,
                           "HMDD lists a sibling; second source names it": 8, "not in HMDD": 21})


def test_identifier_forms():
    from exomir.kb.schema import Reference

    assert Reference.model_validate({"pmid": 31553714}).pmid == "31553714"  # YAML and CSV give numbers
    assert Reference.model_validate({"pmid": "PMID: 31553714"}).pmid == "31553714"
    assert Reference.model_validate({"pmid": "31553714.0"}).pmid == "31553714"  # a spreadsheet's number format
    assert Reference.model_validate({"doi": "https://doi.org/10.1002/cam4.1390"}).doi == "10.1002/cam4.1390"
    for bad in ({"pmid": "3155371x"}, {"pmid": 0}, {"pmid": "3155.5"}, {"doi": "cam4.1390"},
                {"pmid": 1, "id_status": "verified"},  # verified, but against what?
                {"citation": "x", "id_status": "verified"},
                {"pmid": 1, "pmid_source": "HMDD", "id_status": "not identified", "id_note": "?"},
                {"citation": "x", "id_status": "not identified"},
                {"citation": "x", "id_status": "maybe"}):
        with pytest.raises(ValidationError):
            Reference.model_validate(bad)
    ok = Reference.model_validate({"numbers": [1], "pmid": 1, "pmid_source": "HMDD v3.2", "id_status": "verified",
                                   "retraction": "retracted 2023"})
    assert ok.text() == "[1] PMID 1 (retracted)"


def test_links_are_escaped_and_only_for_well_formed_identifiers():
    from exomir.kb.links import doi_url, pmid_url, reference_html, reference_links

    assert pmid_url(31553714) == "https://pubmed.ncbi.nlm.nih.gov/31553714/"
    assert pmid_url(31553714.0) is None and pmid_url("123abc") is None and pmid_url("") is None
    assert doi_url("10.1002/cam4.1390") == "https://doi.org/10.1002/cam4.1390"
    assert doi_url("10.1234/a b<script>") is None
    assert doi_url("10.1016/S0140-6736(18)30207-1") == "https://doi.org/10.1016/S0140-6736(18)30207-1"
    row = {"references": "[40] Wang et al. 2014 PMID 24963487 doi:10.1155/2014/864894 | [118] <b>x</b>",
           "pmids": "24963487", "dois": "10.1155/2014/864894"}
    assert reference_links(row) == [("PMID 24963487", "https://pubmed.ncbi.nlm.nih.gov/24963487/"),
                                    ("doi:10.1155/2014/864894", "https://doi.org/10.1155/2014/864894")]
    html = reference_html(row, text_key="references")
    assert html.startswith("[40] Wang et al. 2014 | [118] &lt;b&gt;x&lt;/b&gt; ")
    assert html.count("<a ") == 2 and 'rel="noopener noreferrer"' in html and "<b>" not in html
    assert reference_html({"reference": "[8, 9]"}) == "[8, 9]"


def test_store_and_export_carry_the_verification(tmp_path):
    shared_path("mirbase_v22")
    from exomir.kb import load_store, read_evidence

    kb = load_store()
    table = kb.table().set_index("id")
    for column in ("pmid", "doi", "title", "pmid_source", "doi_source", "id_status", "id_note", "retraction"):
        assert column in table.columns
    row = table.loc["t2-mir-21"]
    assert (row["pmid"], row["doi"], row["id_status"]) == ("24963487", "10.1155/2014/864894", "verified")
    assert row["pmid_source"].startswith("HMDD v3.2")
    assert table.loc["angio-mir-26a", "id_status"] == "not identified" and table.loc["angio-mir-26a", "pmid"] == ""
    assert table.loc["drug-mir-32-5p", "retraction"].startswith("RETRACTED")
    # the export reads back as the same records (identifiers and their sources included)
    path = tmp_path / "export.csv"
    kb.table().to_csv(path, index=False)
    back = {r.id: r.reference for r in read_evidence(path).records}
    assert back["t2-mir-21"] == kb.record("t2-mir-21").reference
    assert back["angio-mir-26a"].id_note == kb.record("angio-mir-26a").reference.id_note


def test_report_evidence_table_links_the_papers():
    shared_path("mirbase_v22")
    from exomir.kb import evidence_for
    from exomir.report.render import _evidence_table

    de = pd.DataFrame({"mirna": ["miR-21", "miR-638"], "comparison": ["HCC_vs_LC"] * 2, "log2fc": [1.2, -0.8],
                       "padj": [0.01, 0.2]})
    roc = pd.DataFrame({"mirna": ["miR-21", "miR-638"], "comparison": ["HCC_vs_LC"] * 2, "auc": [0.8, 0.6]})
    html = str(_evidence_table(evidence_for(de), de, roc))
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/24963487/"' in html  # Wang 2014, serum exosomal miR-21
    assert 'href="https://doi.org/10.1155/2014/864894"' in html
    assert 'href="https://doi.org/10.2147/OTT.S253151"' in html and "(retracted)" in html  # miR-638, retracted
    assert html.count("<a ") == html.count("</a>") and "&lt;a" not in html
