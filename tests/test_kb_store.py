"""The store: validation errors, queries in any name form, conflicts, rebuilds and lab files."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from conftest import shared_path
from exomir.errors import InputError

GOOD_LAB = textwrap.dedent(
    """\
    provenance:
      name: liverlab
    records:
    - id: lab-mir-21-lc
      mirna: hsa-miR-21-5p
      direction: up
      comparison: HCC vs LC
      clinical_role: diagnostic
      biofluid: plasma
      metrics: {auc: 0.81}
      effect: In our own plasma exosome cohort miR-21-5p was higher in HCC than in cirrhosis.
      reference: {citation: Lab cohort 2024, pmid: "12345678"}
      source: lab cohort A
    - id: lab-mir-122-lc
      mirna: MIMAT0000421
      direction: up
      comparison: HCC vs LC
      effect: In our cohort exosomal miR-122-5p was higher in HCC than in cirrhosis.
      reference: {citation: Lab cohort 2024}
      source: lab cohort A
    """
)


@pytest.fixture(scope="module")
def kb():
    shared_path("mirbase_v22")
    from exomir.kb import load_store

    return load_store()


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache and user data folder of its own, so registered lab files do not leak into other tests."""
    shared_path("mirbase_v22")
    monkeypatch.setenv("EXOMIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOMIR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


# ----------------------------------------------------------------------------- validation
def _write(tmp_path: Path, text: str, name: str = "lab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bad_enum_names_file_record_line_and_field(tmp_path):
    from exomir.kb import read_evidence

    path = _write(tmp_path, GOOD_LAB.replace("biofluid: plasma", "biofluid: urine"))
    with pytest.raises(InputError) as err:
        read_evidence(path)
    exc = err.value
    assert (exc.path, exc.record, exc.column, exc.line) == (str(path), "lab-mir-21-lc", "biofluid", 4)
    assert "'urine' is not allowed" in str(exc) and "serum" in str(exc)


@pytest.mark.parametrize(
    "change,field,words",
    [
        (("  clinical_role: diagnostic", "  target: TIM-3\n  clinical_role: diagnostic"), "target", "HAVCR2"),
        (("  target: x", ""), "target", "HGNC"),
        (("  direction: up\n  comparison: HCC vs LC\n  clinical_role", "  direction: sideways\n  comparison: HCC vs LC\n  clinical_role"), "direction", "sideways"),
        (("metrics: {auc: 0.81}", "metrics: {auc: 81}"), "metrics.auc", "less than or equal to 1"),
        (("  effect: In our own", "  effectt: In our own"), "effectt", "unknown field"),
        (("  reference: {citation: Lab cohort 2024, pmid: \"12345678\"}\n", ""), "reference", "required field is missing"),
        (("  mirna: MIMAT0000421\n", "  mirna: MIMAT0000421\n  mimat: MI0000077\n"), "mimat", "MIMAT0000076"),
    ],
)
def test_malformed_records_name_the_field(tmp_path, change, field, words):
    from exomir.kb import read_evidence

    old, new = change
    if old == "  target: x":  # lower-case gene names are not symbols
        old, new = "  clinical_role: diagnostic", "  target: [pten]\n  clinical_role: diagnostic"
    assert old in GOOD_LAB
    text = GOOD_LAB.replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_evidence(path)
    assert err.value.column == field
    assert err.value.path == str(path)
    assert err.value.record in {"lab-mir-21-lc", "lab-mir-122-lc"}
    assert words in str(err.value)


def test_duplicate_ids_and_bad_yaml(tmp_path):
    from exomir.kb import read_evidence

    dup = GOOD_LAB.replace("id: lab-mir-122-lc", "id: lab-mir-21-lc")
    with pytest.raises(InputError, match="duplicate record id") as err:
        read_evidence(_write(tmp_path, dup))
    assert err.value.line == 14
    with pytest.raises(InputError, match="not valid YAML") as err:
        read_evidence(_write(tmp_path, "records:\n- id: [unclosed\n", "broken.yaml"))
    assert err.value.line is not None


def test_csv_evidence_unknown_column_and_bad_value(tmp_path):
    from exomir.kb import read_evidence

    path = tmp_path / "lab.csv"
    path.write_text("id,mirna,effect,reference,source,colour\nx1,miR-21,An effect sentence.,[1] A 2020,lab,red\n")
    with pytest.raises(InputError, match="unknown column 'colour'"):
        read_evidence(path)
    path.write_text("id,mirna,effect,reference,source,hallmark\nx1,miR-21,An effect sentence.,[1] A 2020,lab,angiogenesis;flying\n")
    with pytest.raises(InputError) as err:
        read_evidence(path)
    assert (err.value.line, err.value.record, err.value.column) == (2, "x1", "hallmark")


# ----------------------------------------------------------------------------- queries
@pytest.mark.parametrize("name", ["miR-122", "exo-miR-122", "exomiR-122", "hsa-miR-122-5p", "MIMAT0000421",
                                  "hsa-miR-122a", "HSA-MIR-122-5P"])
def test_show_any_name_form(kb, name):
    assert len(kb.show(name)) == 8


def test_filters(kb):
    assert set(kb.search(cell="NK", hallmark="immune escape")["id"]) == {"t1-mir-92b", "immune-mir-449c-5p", "immune-mir-92b"}
    pi3k = kb.search(pathway="PI3K/Akt")
    assert set(pi3k["name"]) == {"hsa-miR-23a-3p", "hsa-miR-32-5p"}
    assert set(kb.search(target="PTEN")["name"]) == {"hsa-miR-23a-3p", "hsa-miR-32-5p"}
    assert set(kb.search(role="therapeutic")["id"]) == {"t2-mir-9-3p", "meta-mir-21", "meta-mir-10b", "emt-mir-320a", "drug-mir-199a-3p"}
    assert kb.search("miR-21", direction="down").empty
    with pytest.raises(InputError, match="not a known hallmark"):
        kb.search(hallmark="flying")


def test_conflicts(kb):
    conflicts = kb.conflicts()
    assert list(conflicts["mirna"]) == ["hsa-miR-122-5p", "hsa-miR-1247-3p"]
    mir122 = conflicts.iloc[0]
    assert mir122["kind"] == "direction" and bool(mir122["same_comparison"])
    assert set(mir122["references"].split(";")) == {"41", "43", "118"}
    assert set(mir122["record_ids"].split(";")) == {"expr-mir-122-lc", "expr-mir-122-healthy", "clin-mir-122-chb", "clin-mir-122-lc"}
    mir1247 = conflicts.iloc[1]
    assert mir1247["kind"] == "parental_cell" and mir1247["references"] == "91"
    assert "hcc_cell" in mir1247["detail"] and "fibroblast" in mir1247["detail"]


def test_sqlite_tables(kb):
    con = sqlite3.connect(kb.path)
    n = con.execute("SELECT count(*) FROM records").fetchone()[0]
    genes = con.execute("SELECT count(DISTINCT gene) FROM record_genes").fetchone()[0]
    fp = con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()[0]
    con.close()
    assert n == 91 and genes == 16
    assert kb.path.name == f"evidence-{fp[:16]}.sqlite"


# ----------------------------------------------------------------------------- rebuilds and lab files
def test_store_rebuilds_when_sources_change(private_cache):
    from exomir.kb import load_store

    lab = _write(private_cache, GOOD_LAB)
    first = load_store([lab])
    assert len(first.table()) == 93
    assert load_store([lab]) is first  # same sources: the built store is reused
    lab.write_text(GOOD_LAB.replace("metrics: {auc: 0.81}", "metrics: {auc: 0.85}"))
    second = load_store([lab])
    assert second.path != first.path
    assert second.show("miR-21").set_index("id").loc["lab-mir-21-lc", "auc"] == 0.85


def test_lab_evidence_merged_with_provenance(private_cache):
    from exomir.kb import import_lab_file, load_store

    lab = _write(private_cache, GOOD_LAB)
    dest = import_lab_file(lab)
    assert dest.parent.name == "lab"
    kb = load_store()
    table = kb.table()
    assert len(table) == 93
    mine = table[table["provenance"] == "liverlab"].set_index("id")
    assert mine.loc["lab-mir-21-lc", "mimat"] == "MIMAT0000076"
    assert mine.loc["lab-mir-122-lc", "name"] == "hsa-miR-122-5p"
    assert mine.loc["lab-mir-21-lc", "reference"] == "Lab cohort 2024 PMID 12345678"
    sources = kb.sources()
    assert list(sources["name"]) == ["review", "liverlab"]
    assert sources.iloc[1]["sha256"] == __import__("hashlib").sha256(lab.read_bytes()).hexdigest()
    # The lab's miR-122 record joins the conflict on the review's side of "up".
    ids = kb.conflicts().set_index("mirna").loc["hsa-miR-122-5p", "record_ids"]
    assert "lab-mir-122-lc" in ids
    # An id already used is refused, naming both files.
    clash = _write(private_cache, GOOD_LAB.replace("name: liverlab", "name: other"), "other.yaml")
    with pytest.raises(InputError, match="already used"):
        import_lab_file(clash)


def test_export_csv_round_trips_as_lab_file(kb, tmp_path, private_cache):
    from exomir.kb import read_evidence

    path = tmp_path / "export.csv"
    kb.table().to_csv(path, index=False)
    source = read_evidence(path)
    originals = {r.id: r for r in kb.records()}
    assert len(source.records) == 91
    for record in source.records:
        assert record.model_dump(exclude={"mimat"}) == originals[record.id].model_dump(exclude={"mimat"}), record.id


def test_vocabulary_labels_for_display():
    from exomir.kb.vocab import labels_of

    assert labels_of("hcc_cell;nk_cell") == "HCC cells, NK cells"
    assert labels_of("pi3k_akt") == "PI3K/Akt"
    assert labels_of("immune_escape; angiogenesis", separator="; ") == "immune escape; angiogenesis"
    assert labels_of("not_a_code") == "not a code" and labels_of(None) == ""
