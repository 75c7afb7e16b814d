"""Clinical tables and the join to expression samples: named IDs, numeric columns, groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exomir.cohort import exclusions, meta
from exomir.errors import InputError
from exomir.io import read, read_clinical

EXPRESSION = (
    "miRNA,HCC01,HCC02,LC01,CHB01\n"
    "hsa-miR-21-5p,1520,1980,800,760\n"
    "hsa-miR-122-5p,40,55,300,910\n"
    "hsa-miR-10b-5p,220,310,20,25\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def expression(tmp_path) -> Path:
    return write(tmp_path / "counts.csv", EXPRESSION)


def test_read_clinical_types_and_lines(tmp_path):
    text = (
        "sample_id,group,AFP,stage,DFS_months,recurrence\n"
        "HCC01,HCC,125.4,II,14.5,1\n"
        "HCC02,HCC,8.1,I,30.0,0\n"
        "LC01,LC,3.2,,NA,\n"
        "CHB01,CHB,,,,\n"
    )
    table = read_clinical(write(tmp_path / "clin.csv", text))
    assert table.sample_column == "sample_id"
    assert list(table.frame.index) == ["HCC01", "HCC02", "LC01", "CHB01"]
    assert table.numeric_columns == ["AFP", "DFS_months", "recurrence"]
    assert table.frame.loc["HCC01", "AFP"] == pytest.approx(125.4)
    assert np.isnan(table.frame.loc["CHB01", "AFP"])
    assert table.frame.loc["HCC02", "stage"] == "I"
    assert table.lines["LC01"] == 4


def test_sample_column_by_name(tmp_path):
    text = "group,patient\nHCC,HCC01\nLC,LC01\n"
    table = read_clinical(write(tmp_path / "c.tsv", text), sample_column="patient")
    assert list(table.frame.index) == ["HCC01", "LC01"] and list(table.frame.columns) == ["group"]
    with pytest.raises(InputError, match="no column 'sample'") as err:
        read_clinical(tmp_path / "c.tsv", sample_column="sample")
    assert "'patient'" in str(err.value)


def test_duplicated_clinical_ids(tmp_path):
    path = write(tmp_path / "dup.csv", "id,group\nA,HCC\nB,LC\nA,CHB\n")
    with pytest.raises(InputError, match="duplicated sample ID 'A' \\(first seen on line 2\\)") as err:
        read_clinical(path)
    assert "line 4" in str(err.value) and "dup.csv" in str(err.value)


def test_missing_clinical_id(tmp_path):
    path = write(tmp_path / "miss.csv", "id,group\nA,HCC\n,LC\n")
    with pytest.raises(InputError, match="missing sample ID") as err:
        read_clinical(path)
    assert "line 3" in str(err.value) and "column 'id'" in str(err.value)


def test_text_in_a_clearly_numeric_column_is_an_error(tmp_path):
    path = write(tmp_path / "afp.csv", "id,AFP\nA,12.5\nB,high\nC,400\nD,35\n")
    with pytest.raises(InputError) as err:
        read_clinical(path)
    message = str(err.value)
    assert "afp.csv" in message and "line 3" in message and "column 'AFP'" in message and "'high'" in message


def test_values_at_an_assay_limit_are_censored_at_the_bound_and_counted(tmp_path):
    path = write(tmp_path / "afp.csv", "id,AFP,DCP\nA,12.5,40\nB,<2,>7500\nC,>1000,12\nD,35,<= 5\nE,>60500,9\n")
    table = read_clinical(path)
    assert table.frame["AFP"].tolist() == [12.5, 2.0, 1000.0, 35.0, 60500.0]
    assert table.frame["DCP"].tolist() == [40.0, 7500.0, 12.0, 5.0, 9.0]
    assert table.censored["AFP"] == [(3, "<2"), (4, ">1000"), (6, ">60500")]
    summary = table.censored_summary()
    assert summary["AFP"].startswith("1 below a limit (<2); 2 above a limit (>1000, >60500)")
    assert summary["DCP"].startswith("1 below a limit (<= 5); 1 above a limit (>7500)")
    assert any(line.startswith("AFP: 1 below") for line in table.source()["censored_values"])


def test_negative_marker_value_is_an_error(tmp_path):
    path = write(tmp_path / "afp.csv", "id,AFP\nA,12.5\nB,-5\nC,400\n")
    with pytest.raises(InputError, match="negative value '-5'") as err:
        read_clinical(path)
    assert err.value.line == 3 and err.value.column == "AFP"


def test_text_in_a_forced_numeric_column_is_an_error(tmp_path):
    path = write(tmp_path / "ev.csv", "id,relapse\nA,1\nB,0\nC,yes\n")
    with pytest.raises(InputError, match="non-numeric value 'yes'") as err:
        read_clinical(path, numeric=["relapse"])
    assert "line 4" in str(err.value)


def test_mostly_numeric_column_keeps_its_text_and_says_so(tmp_path, capsys):
    rows = "".join(f"P{i},{1 + i % 3}\n" for i in range(9))
    path = write(tmp_path / "stage.csv", "id,bclc\n" + rows + "P9,3A\n")
    table = read_clinical(path)
    assert "bclc" not in table.numeric_columns
    assert table.frame.loc["P9", "bclc"] == "3A"
    assert table.text_in_numeric["bclc"] == [(11, "3A")]
    assert table.source()["text_in_mostly_numeric_columns"] == ["bclc: line 11 '3A'"]
    assert "line 11 '3A'" in " ".join(capsys.readouterr().err.split())


def test_read_joins_in_expression_order(expression, tmp_path):
    clinical = write(
        tmp_path / "clin.csv",
        "sample,group,AFP\nCHB01,CHB,3.1\nLC01,LC,9.5\nHCC02,HCC,880\nHCC01,HCC,25\n",
    )
    adata = read(expression, clinical, group="group", annotate=False)
    assert list(adata.obs_names) == ["HCC01", "HCC02", "LC01", "CHB01"]
    assert list(adata.obs["group"]) == ["HCC", "HCC", "LC", "CHB"]
    assert adata.obs.loc["HCC02", "AFP"] == pytest.approx(880)
    assert adata.layers["counts"][0, 0] == 1520
    source = meta(adata)["source"]
    assert source["expression"] == str(expression) and source["clinical"] == str(clinical)
    assert source["orientation"] == "miRNAs as rows" and source["measure"] == "counts"
    assert source["matched_samples"] == 4 and source["group"] == "group"
    assert meta(adata)["measure"] == "counts"


def test_unmatched_ids_are_named(expression, tmp_path, capsys):
    clinical = write(
        tmp_path / "clin.csv",
        "sample,group\nHCC01,HCC\nHCC02,HCC\nLC01,LC\nHV07,healthy\nHV08,healthy\n",
    )
    adata = read(expression, clinical, annotate=False)
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "CHB01" in err and "HV07 (line 5)" in err and "HV08 (line 6)" in err
    assert adata.n_obs == 4 and adata.obs["group"].isna().tolist() == [False, False, False, True]
    source = meta(adata)["source"]
    assert source["expression_without_clinical"] == ["CHB01"]
    assert source["clinical_without_expression"] == ["HV07", "HV08"]
    table = exclusions(adata)
    assert set(table.loc[table["what"] == "clinical row", "item"]) == {"HV07", "HV08"}


def test_no_id_matches_is_an_error(expression, tmp_path):
    clinical = write(tmp_path / "clin.csv", "sample,group\nhcc-01,HCC\nhcc-02,HCC\nlc-01,LC\n")
    with pytest.raises(InputError) as err:
        read(expression, clinical, annotate=False)
    message = str(err.value)
    assert "no expression sample matches" in message
    assert "'HCC01'" in message and "'hcc-01'" in message
    assert "3 would match ignoring case" in message


def test_group_column_missing_or_empty(expression, tmp_path):
    clinical = write(tmp_path / "clin.csv", "sample,group,AFP\nHCC01,,1\nHCC02,,2\nLC01,,3\nCHB01,,4\n")
    with pytest.raises(InputError, match="no group column 'diagnosis'"):
        read(expression, clinical, group="diagnosis", annotate=False)
    with pytest.raises(InputError, match="group column 'group' is empty for every expression sample"):
        read(expression, clinical, group="group", annotate=False)


def test_samples_without_group_are_recorded(expression, tmp_path):
    clinical = write(tmp_path / "clin.csv", "sample,group\nHCC01,HCC\nHCC02,\nLC01,LC\nCHB01,CHB\n")
    adata = read(expression, clinical, group="group", annotate=False)
    table = exclusions(adata)
    row = table[table["item"] == "HCC02"]
    assert len(row) == 1 and "no value in group column 'group'" in row["reason"].iloc[0]
    assert adata.n_obs == 4  # kept in the Cohort, left out of group comparisons only


def test_cq_cohort_with_annotation_from_mirbase(tmp_path, mirbase_dir):
    text = "sample,hsa-miR-21-5p,miR-122,hsa-miR-99zz\nA,27.1,Undetermined,30.2\nB,26.0,31.5,29.9\n"
    adata = read(write(tmp_path / "cq.csv", text))
    assert meta(adata)["measure"] == "cq"
    assert meta(adata)["source"]["nondetects"] == 1
    assert adata.var.loc["hsa-miR-21-5p", "mimat"] == "MIMAT0000076"
    assert adata.var.loc["miR-122", "name"] == "hsa-miR-122-5p"
    assert adata.var.loc["hsa-miR-99zz", "status"] == "unknown"
    assert "hsa-miR-99zz" in meta(adata)["unresolved"]
    assert list(adata.var_names) == ["hsa-miR-21-5p", "miR-122", "hsa-miR-99zz"]  # nothing dropped


def test_group_coded_as_numbers_stays_labels(expression, tmp_path):
    clinical = write(tmp_path / "clin.csv", "sample,hcc\nHCC01,1\nHCC02,1\nLC01,0\nCHB01,0\n")
    adata = read(expression, clinical, group="hcc", annotate=False)
    assert list(adata.obs["hcc"]) == ["1", "1", "0", "0"]
    assert read_clinical(clinical).frame["hcc"].tolist() == [1, 1, 0, 0]
