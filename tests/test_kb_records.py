"""The curated records: every miRNA of the review, with the claims the review makes about it."""

from __future__ import annotations

import re

import pytest

from conftest import REPO, shared_path


@pytest.fixture(scope="module")
def kb():
    shared_path("mirbase_v22")
    from exomir.kb import load_store

    return load_store()


@pytest.fixture(scope="module")
def table(kb):
    return kb.table()


def _review_names() -> list[str]:
    """Every miRNA name written in the review (text and tables), PDF line breaks undone."""
    text = shared_path("..", "seed", "exosomal_mirna_hcc_review.txt").read_text(encoding="utf-8")
    text = re.sub(r"(?<=[Rr])\s*\n\s*", "-", text)
    text = re.sub(r"-\s*\n\s*", "-", text)
    pattern = re.compile(r"(?:exo-?)?mi[Rr]-?\d+[a-z]?(?:-\d(?!p))?(?:-[35]p)?(?:/[a-z0-9]+)*")
    return sorted(set(pattern.findall(text)))


def test_every_mirna_of_the_review_has_records(kb, table):
    from exomir.identity import expand, resolve

    names = _review_names()
    assert len(names) >= 60  # the review's many spellings of ~40 miRNAs
    expanded = [part for name in names for part in expand(name)]
    assert "miR-23b" in {p.replace("exo-", "") for p in expanded}
    resolved = resolve(expanded)
    assert set(resolved["status"]) <= {"exact", "alias"}, resolved[~resolved["status"].isin(["exact", "alias"])]
    missing = sorted(set(resolved["mimat"]) - set(table["mimat"]))
    assert missing == []
    assert table.loc[table["marker_type"] == "mirna", "mimat"].ne("").all()
    assert table["mimat"][table["marker_type"] == "mirna"].nunique() == resolved["mimat"].nunique() == 35


def test_ids_unique_and_every_record_cited(table):
    assert table["id"].is_unique
    assert table["reference_numbers"].ne("").all()
    assert table["source"].ne("").all()
    assert table["effect"].str.len().gt(30).all()
    assert len(table) == 91


# Table 1 of the review, row by row: cells, direction, target, reference.
TABLE_1 = [
    ("miR-210", "hcc_cell", "endothelial_cell", "up", "SMAD4;STAT6", "42"),
    ("miR-744", "hcc_cell", "", "down", "PAX2", "112"),
    ("miR-21", "hcc_cell", "", "up", "", "94"),
    ("miR-10b", "hcc_cell", "", "up", "", "94"),
    ("miR-1247-3p", "hcc_cell", "fibroblast", "", "B4GALT3", "91"),
    ("miR-451a", "", "hcc_cell;endothelial_cell", "down", "LPIN1", "78"),
    ("miR-23a-3p", "hcc_cell", "macrophage", "", "PTEN", "59"),
    ("miR-32-5p", "hcc_cell", "hcc_cell", "up", "PTEN", "58"),
    ("miR-92b", "hcc_cell", "nk_cell", "up", "", "116"),
    ("miR-320a", "stromal_cell", "hcc_cell", "down", "PBX3", "68"),
    ("miR-638", "hcc_cell", "hcc_cell;endothelial_cell", "down", "SP1", "77"),
    ("miR-200b-3p", "hcc_cell", "endothelial_cell", "down", "ERG", "103"),
]


@pytest.mark.parametrize("mirna,parental,recipient,direction,target,ref", TABLE_1)
def test_table_1_rows(table, mirna, parental, recipient, direction, target, ref):
    rows = table[(table["source"] == "Table 1") & (table["mirna"] == mirna)]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["parental_cell"], row["recipient_cell"], row["direction"], row["target"], row["reference_numbers"]) == (
        parental, recipient, direction, target, ref)


def test_table_1_details_kept(table):
    t1 = table[table["source"] == "Table 1"].set_index("mirna")
    assert t1.loc["miR-23a-3p", "parental_detail"] == "ER-stressed HCC cells"
    assert t1.loc["miR-23a-3p", "regulates"] == "CD274"
    assert "Bel/5-FU" in t1.loc["miR-32-5p", "parental_detail"]
    assert "Bel7402" in t1.loc["miR-32-5p", "recipient_detail"]
    assert t1.loc["miR-92b", "regulates"] == "CD69"
    assert t1.loc["miR-1247-3p", "pathway"] == "nfkb"
    assert t1.loc["miR-320a", "pathway"] == "mapk_erk"
    assert set(t1.loc["miR-32-5p", "hallmark"].split(";")) == {"drug_resistance", "angiogenesis", "emt"}


def test_table_2_rows(table):
    t2 = table[table["source"] == "Table 2"]
    assert len(t2) == 16
    assert t2["biofluid"].eq("serum").all()
    by_ref = t2.groupby("reference_numbers")["mirna"].apply(sorted).to_dict()
    assert by_ref["43"] == sorted(["miR-18a", "miR-221", "miR-222", "miR-224", "miR-101", "miR-106b", "miR-122", "miR-195"])
    assert by_ref["117"] == ["miR-10b-5p", "miR-215-5p"]
    roles = t2.set_index("id")["clinical_role"]
    assert roles["t2-mir-215-5p"] == "prognostic"
    assert roles["t2-mir-9-3p"] == "therapeutic"
    assert roles["t2-mir-665"] == "diagnostic;prognostic"
    assert t2.set_index("id").loc["t2-mir-122-panel", "panel"] == "miR-148a;AFP"


def test_sohn_directions_and_comparisons(kb):
    sohn = kb.search(reference=43)
    directed = sohn[sohn["direction"] != ""]
    up = directed[directed["direction"] == "up"]
    down = directed[directed["direction"] == "down"]
    assert set(up["name"]) == {"hsa-miR-18a-5p", "hsa-miR-221-3p", "hsa-miR-222-3p", "hsa-miR-224-5p"}
    assert set(down["name"]) == {"hsa-miR-101-3p", "hsa-miR-106b-5p", "hsa-miR-122-5p", "hsa-miR-195-5p"}
    assert set(up["comparison"]) == {"HCC vs CHB", "HCC vs LC"}
    assert set(down["comparison"]) == {"HCC vs CHB"}
    assert (up["comparison"] == "HCC vs LC").sum() == 4  # the clinical section: higher than CHB or LC


def test_metrics_recorded_as_numbers(kb):
    mir10b = kb.search("miR-10b-5p", role="diagnostic")
    with_metrics = mir10b[mir10b["auc"].notna()]
    assert len(with_metrics) == 1
    row = with_metrics.iloc[0]
    assert (row["sensitivity"], row["specificity"], row["auc"]) == (0.911, 0.75, 0.932)
    afp = kb.show("AFP").iloc[0]
    assert (afp["sensitivity"], afp["specificity"], afp["approximate"]) == (0.60, 0.80, "true")
    assert afp["mimat"] == "" and afp["resolution"] == "not a miRNA"


def test_text_claims(kb):
    immune = kb.search(hallmark="immune_escape")
    assert set(immune["name"]) == {"hsa-miR-449c-5p", "hsa-miR-92b-3p", "hsa-miR-23a-3p"}
    tim3 = kb.search(target="TIM-3")
    assert list(tim3["target"]) == ["HAVCR2"] and list(tim3["recipient_cell"]) == ["nk_cell"]
    assert "circUHRF1" in tim3.iloc[0]["effect"]
    pdl1 = kb.search(target="PD-L1")
    assert set(pdl1["id"]) == {"t1-mir-23a-3p", "pi3k-mir-23a", "immune-mir-23a"}
    angio = kb.search(reference=97)
    assert set(angio["name"]) == {"hsa-miR-21-5p", "hsa-miR-26a-5p", "hsa-miR-122-5p", "hsa-miR-146a-5p",
                                  "hsa-miR-155-5p", "hsa-miR-182-5p"}
    assert angio["reference"].eq("[57, 97–102]").all()
    lc118 = kb.search(reference=118).set_index("name")["direction"].to_dict()
    assert lc118 == {"hsa-miR-21-5p": "up", "hsa-miR-96-5p": "up", "hsa-miR-122-5p": "down"}
    dfs = kb.search("miR-215-5p", role="prognostic")
    assert "disease-free survival" in " ".join(dfs["effect"])
    recurrence = kb.search("miR-92b", role="prognostic").iloc[0]
    assert (recurrence["direction"], recurrence["comparison"]) == ("up", "recurrence vs no recurrence")
    mast = kb.search(cell="mast cells").iloc[0]
    assert (mast["name"], mast["recipient_cell"], mast["pathway"]) == ("hsa-miR-490-3p", "hcc_cell", "mapk_erk")
    adipo = kb.search(cell="adipocyte")
    assert set(adipo["name"]) == {"hsa-miR-23a-3p", "hsa-miR-23b-3p"}


def test_files_are_packaged():
    from exomir.kb.sources import builtin_evidence_files

    files = builtin_evidence_files()
    assert [f.name for f in files] == ["review.yaml"]
    assert files[0].resolve().is_relative_to((REPO / "src" / "exomir" / "kb" / "evidence").resolve())
