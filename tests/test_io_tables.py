"""Expression tables: orientation, measure detection, non-detects, and located errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from exomir.errors import InputError
from exomir.io import read_expression
from exomir.io.tables import COLUMNS, ROWS, detect_orientation


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


COUNTS_ROWS = (
    "miRNA,S1,S2,S3\n"
    "hsa-miR-21-5p,1520,980,2011\n"
    "hsa-miR-122-5p,0,45,310\n"
    "hsa-let-7a-5p,8800,7600,9120\n"
    "hsa-miR-10b-5p,12,0,33\n"
)


def test_counts_with_mirnas_as_rows(tmp_path):
    table = read_expression(write(tmp_path / "counts.csv", COUNTS_ROWS))
    assert table.orientation == ROWS
    assert "row labels" in table.orientation_reason
    assert table.measure == "counts"
    assert table.measure_reason.startswith("detected")
    assert table.samples == ["S1", "S2", "S3"]
    assert table.mirnas == ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-let-7a-5p", "hsa-miR-10b-5p"]
    assert table.values.loc["S2", "hsa-miR-122-5p"] == 45
    assert table.values.loc["S3", "hsa-miR-10b-5p"] == 33
    assert table.delimiter == ","


def test_counts_gzipped_tsv_with_mirnas_as_columns(tmp_path):
    text = "sample\tmiR-21\tmiR-122\tlet-7a\nP1\t10\t0\t300\nP2\t25\t4\t410\n"
    path = tmp_path / "counts.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    table = read_expression(path)
    assert table.orientation == COLUMNS
    assert table.delimiter == "\t"
    assert table.values.shape == (2, 3)
    assert table.values.loc["P2", "let-7a"] == 410
    assert table.source()["orientation"] == "miRNAs as columns"


def test_cq_values_with_nondetects(tmp_path):
    text = (
        "Sample,hsa-miR-21-5p,hsa-miR-122-5p,hsa-miR-451a,cel-miR-39-3p\n"
        "HCC01,27.31,Undetermined,22.10,24.02\n"
        "HCC02,26.88,33.95,No Ct,23.97\n"
        "LC01,29.02,,21.40,N/A\n"
    )
    table = read_expression(write(tmp_path / "cq.csv", text))
    assert table.measure == "cq"
    assert "Undetermined" in table.measure_reason
    assert table.nondetects == 4
    assert np.isnan(table.values.loc["HCC01", "hsa-miR-122-5p"])
    assert np.isnan(table.values.loc["LC01", "cel-miR-39-3p"])
    assert table.values.loc["HCC02", "hsa-miR-122-5p"] == pytest.approx(33.95)
    assert "4 non-detects" in table.report()


def test_cq_detected_from_range_without_nondetect_words(tmp_path):
    text = "target;A;B;C\nmiR-21;25,1;26,3;24,8\nmiR-122;30,2;31,0;29,9\n"
    table = read_expression(write(tmp_path / "cq_semicolon.csv", text))
    assert table.delimiter == ";"
    assert table.measure == "cq"
    assert "cycle range" in table.measure_reason
    assert table.values.loc["B", "miR-21"] == pytest.approx(26.3)
    assert any("decimal comma" in note for note in table.notes)


def test_log_values_and_given_measure(tmp_path):
    text = "id,miR-21,miR-122\nA,-1.25,3.5\nB,0.75,4.1\n"
    path = write(tmp_path / "log.csv", text)
    table = read_expression(path)
    assert table.measure == "log"
    assert "negatives" in table.measure_reason
    given = read_expression(path, measure="log")
    assert given.measure_reason.startswith("given")


def test_linear_values_become_log2(tmp_path):
    text = "miRNA,S1,S2\nmiR-21,1023.5,511.25\nmiR-122,0.0,15.5\nmiR-16,2047.75,100.1\n"
    table = read_expression(write(tmp_path / "rpm.csv", text))
    assert table.measure == "log"
    assert "log2(x + 1)" in table.measure_reason
    assert table.values.loc["S1", "miR-21"] == pytest.approx(np.log2(1024.5))
    assert table.values.loc["S2", "miR-122"] == pytest.approx(np.log2(16.5))


def test_fractional_counts_are_rounded_and_reported(tmp_path):
    rows = "\n".join(f"miR-{i},{i * 10},{i * 7}" for i in range(1, 20))
    text = "miRNA,S1,S2\n" + rows + "\nmiR-99,12.6,0\n"
    table = read_expression(write(tmp_path / "frac.csv", text))
    assert table.measure == "counts"
    assert "1 values that were not whole numbers rounded" in table.measure_reason
    assert table.values.loc["S1", "miR-99"] == 13


def test_orientation_by_shape_and_corner(tmp_path):
    assert detect_orientation(["p1", "p2", "p3"], ["a", "b"])[0] == ROWS
    orient, reason = detect_orientation(["a", "b"], ["p1", "p2", "p3"])
    assert orient == COLUMNS and "by shape" in reason
    orient, reason = detect_orientation(["a", "b"], ["p1", "p2", "p3"], corner="ID_REF")
    assert orient == ROWS and "ID_REF" in reason
    text = "probe,GSM1,GSM2,GSM3\n1001,5.5,6.1,7.2\n1002,8.1,8.0,7.9\n"
    table = read_expression(write(tmp_path / "probes.csv", text))
    assert table.orientation == ROWS and table.samples == ["GSM1", "GSM2", "GSM3"]


def test_annotation_columns_are_kept_apart(tmp_path):
    text = (
        "miRNA,accession,S1,S2\n"
        "hsa-miR-21-5p,MIMAT0000076,120,98\n"
        "hsa-miR-122-5p,MIMAT0000421,0,45\n"
    )
    table = read_expression(write(tmp_path / "annot.csv", text))
    assert table.samples == ["S1", "S2"]
    assert table.feature_annotations.loc["hsa-miR-122-5p", "accession"] == "MIMAT0000421"
    assert {"what": "column", "item": "accession", "reason": "text only: kept as miRNA annotation, not as values"} in table.excluded


def test_counting_tool_summary_lines_are_excluded(tmp_path):
    text = "miRNA\tS1\tS2\nmiR-21\t5\t6\nmiR-16\t50\t60\n__no_feature\t100\t120\n"
    table = read_expression(write(tmp_path / "htseq.tsv", text))
    assert table.mirnas == ["miR-21", "miR-16"]
    assert table.excluded[0]["item"] == "__no_feature"


def test_header_without_corner_cell(tmp_path):
    text = "S1,S2\nmiR-21,5,6\nmiR-16,50,60\nmiR-122,0,3\n"
    table = read_expression(write(tmp_path / "rnames.csv", text))
    assert table.samples == ["S1", "S2"] and table.values.loc["S2", "miR-16"] == 60


# --- malformed input -------------------------------------------------------------------------


def test_empty_file(tmp_path):
    path = write(tmp_path / "empty.csv", "")
    with pytest.raises(InputError, match="empty") as err:
        read_expression(path)
    assert str(path) in str(err.value)


def test_header_only(tmp_path):
    with pytest.raises(InputError, match="no data rows") as err:
        read_expression(write(tmp_path / "h.csv", "miRNA,S1,S2\n"))
    assert "line 1" in str(err.value)


def test_single_column_file_names_the_problem(tmp_path):
    path = write(tmp_path / "one.csv", "miRNA\nmiR-21\nmiR-122\n")
    with pytest.raises(InputError, match="single field") as err:
        read_expression(path)
    assert "one.csv" in str(err.value) and "line 1" in str(err.value)


def test_wrong_delimiter_given(tmp_path):
    path = write(tmp_path / "semi.csv", "miRNA;S1;S2\nmiR-21;5;6\n")
    with pytest.raises(InputError, match="separated by semicolons") as err:
        read_expression(path, delimiter=",")
    assert "line 1" in str(err.value)


def test_mixed_delimiters_are_a_ragged_row(tmp_path):
    path = write(tmp_path / "mixed.csv", "miRNA;S1;S2\nmiR-21;5;6\nmiR-122,7,8\n")
    with pytest.raises(InputError, match="ragged row: 1 fields where the header has 3") as err:
        read_expression(path)
    assert "line 3" in str(err.value) and "separated by commas, the header by semicolons" in str(err.value)


def test_ragged_row(tmp_path):
    path = write(tmp_path / "ragged.csv", "miRNA,S1,S2,S3\nmiR-21,1,2,3\nmiR-16,4,5\n")
    with pytest.raises(InputError) as err:
        read_expression(path)
    message = str(err.value)
    assert "line 3" in message and "3 fields where the header has 4" in message


def test_duplicated_sample_ids(tmp_path):
    path = write(tmp_path / "dup.csv", "miRNA,S1,S2,S1\nmiR-21,1,2,3\nmiR-16,4,5,6\n")
    with pytest.raises(InputError, match="duplicated sample ID 'S1' in header columns 2 and 4"):
        read_expression(path)


def test_duplicated_mirna_names(tmp_path):
    path = write(tmp_path / "dupm.csv", "miRNA,S1,S2\nmiR-21,1,2\nmiR-16,4,5\nmiR-21,7,8\n")
    with pytest.raises(InputError, match="duplicated miRNA name 'miR-21' \\(first seen on line 2\\)") as err:
        read_expression(path)
    assert "line 4" in str(err.value)


def test_non_numeric_value_named_with_line_and_column(tmp_path):
    path = write(tmp_path / "bad.csv", "miRNA,S1,S2\nmiR-21,1,2\nmiR-16,4,abc\nmiR-122,x,8\n")
    with pytest.raises(InputError) as err:
        read_expression(path)
    message = str(err.value)
    assert "bad.csv" in message and "line 3" in message and "column 'S2'" in message
    assert "'abc'" in message and "2 such cells" in message and "line 4" in message


def test_negative_counts_given(tmp_path):
    path = write(tmp_path / "neg.csv", "miRNA,S1,S2\nmiR-21,1,2\nmiR-16,4,-5\n")
    with pytest.raises(InputError, match="negative read count") as err:
        read_expression(path, measure="counts")
    assert "line 3" in str(err.value) and "column 'S2'" in str(err.value)


def test_empty_label(tmp_path):
    path = write(tmp_path / "nolabel.csv", "miRNA,S1,S2\nmiR-21,1,2\n,4,5\n")
    with pytest.raises(InputError, match="empty miRNA name") as err:
        read_expression(path)
    assert "line 3" in str(err.value)


def test_all_nondetects(tmp_path):
    path = write(tmp_path / "none.csv", "sample,miR-21,miR-16\nA,Undetermined,NA\nB,,No Ct\n")
    with pytest.raises(InputError, match="non-detect"):
        read_expression(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_expression(tmp_path / "nope.csv")


def test_instrument_exports_go_to_the_qpcr_reader(tmp_path):
    pytest.importorskip("exomir.io.qpcr")
    from exomir.cohort import meta
    from exomir.io import read

    text = (
        "Sample,Target,Cq\n"
        "HCC01,hsa-miR-21-5p,27.1\nHCC01,hsa-miR-21-5p,27.3\n"
        "HCC01,hsa-miR-122-5p,Undetermined\nHCC01,hsa-miR-122-5p,Undetermined\n"
        "LC01,hsa-miR-21-5p,29.0\nLC01,hsa-miR-21-5p,29.4\n"
        "LC01,hsa-miR-122-5p,31.2\nLC01,hsa-miR-122-5p,31.0\n"
    )
    path = write(tmp_path / "long.csv", text)
    table = read_expression(path)
    assert table.measure == "cq" and table.orientation.startswith("instrument export")
    assert table.values.loc["HCC01", "hsa-miR-21-5p"] == pytest.approx(27.2)
    assert table.values.loc["LC01", "hsa-miR-122-5p"] == pytest.approx(31.1)
    assert np.isnan(table.values.loc["HCC01", "hsa-miR-122-5p"])
    clinical = write(tmp_path / "clin.csv", "sample,group\nHCC01,HCC\nLC01,LC\n")
    adata = read(path, clinical, group="group", annotate=False)
    assert list(adata.obs["group"]) == ["HCC", "LC"]
    assert meta(adata)["source"]["clinical"] == str(clinical)
    assert meta(adata)["steps"][0]["step"] == "read_qpcr"
    assert "qpcr_replicates" in adata.uns
    with pytest.raises(InputError, match="holds Cq values, not counts"):
        read_expression(path, measure="counts")


def test_array_intensities_are_not_taken_for_cq(tmp_path):
    text = "ID_REF,A,B\nmiR-21,12.41,13.02\nmiR-122,8.77,15.93\nmiR-16,14.2,14.6\n"
    table = read_expression(write(tmp_path / "array.csv", text))
    assert table.measure == "log"


def test_small_whole_numbers_are_counts(tmp_path):
    text = "miRNA,A,B\nmiR-21,15,22\nmiR-122,31,18\n"
    table = read_expression(write(tmp_path / "few.csv", text))
    assert table.measure == "counts" and "100% whole numbers" in table.measure_reason


def test_comment_lines_are_reported(tmp_path):
    text = "# exported by the core facility\nmiRNA,S1,S2\n# batch 2\nmiR-21,5,6\nmiR-16,50,60\n"
    table = read_expression(write(tmp_path / "comments.csv", text))
    assert table.values.shape == (2, 2)
    assert "2 comment line(s) starting with # skipped" in table.notes


def test_excel_workbook_is_refused_with_advice(tmp_path):
    import zipfile

    path = tmp_path / "counts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match="Excel workbook") as err:
        read_expression(path)
    assert "Save As" in str(err.value)


def test_text_columns_of_a_samples_as_rows_table_become_sample_annotations(tmp_path):
    text = "sample,group,miR-21,miR-122\nA,HCC,10,3\nB,LC,12,40\n"
    table = read_expression(write(tmp_path / "wide.csv", text))
    assert table.orientation == COLUMNS and table.mirnas == ["miR-21", "miR-122"]
    assert table.sample_annotations.loc["B", "group"] == "LC"
    assert table.excluded[0]["reason"] == "text only: kept as sample annotation, not as values"
