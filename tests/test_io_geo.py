"""GEO series matrix: sample characteristics into obs, the value table into the Cohort."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from exomir.cohort import meta
from exomir.errors import InputError
from exomir.io import is_series_matrix, read, read_expression, read_geo_series_matrix

SERIES = """!Series_title\t"Serum exosomal microRNA profiles of hepatocellular carcinoma"
!Series_geo_accession\t"GSE999001"
!Series_status\t"Public on Jan 01 2020"
!Series_type\t"Non-coding RNA profiling by array"
!Series_platform_id\t"GPL99901"

!Sample_title\t"HCC serum 1"\t"HCC serum 2"\t"Cirrhosis serum 1"\t"Healthy serum 1"
!Sample_geo_accession\t"GSM5000001"\t"GSM5000002"\t"GSM5000003"\t"GSM5000004"
!Sample_status\t"Public on Jan 01 2020"\t"Public on Jan 01 2020"\t"Public on Jan 01 2020"\t"Public on Jan 01 2020"
!Sample_source_name_ch1\t"serum exosomes"\t"serum exosomes"\t"serum exosomes"\t"serum exosomes"
!Sample_organism_ch1\t"Homo sapiens"\t"Homo sapiens"\t"Homo sapiens"\t"Homo sapiens"
!Sample_characteristics_ch1\t"disease state: HCC"\t"disease state: HCC"\t"disease state: liver cirrhosis"\t"disease state: healthy"
!Sample_characteristics_ch1\t"age: 61"\t"age: 55"\t"age: 58"\t"gender: female"
!Sample_characteristics_ch1\t"gender: male"\t"gender: male"\t"gender: female"\t""
!Sample_characteristics_ch1\t"afp (ng/ml): 412.5"\t"afp (ng/ml): 12"\t"afp (ng/ml): 6.3"\t"afp (ng/ml): 2.1"
!Sample_platform_id\t"GPL99901"\t"GPL99901"\t"GPL99901"\t"GPL99901"
!Sample_data_processing\t"log2 quantile normalized"\t"log2 quantile normalized"\t"log2 quantile normalized"\t"log2 quantile normalized"
!series_matrix_table_begin
"ID_REF"\t"GSM5000001"\t"GSM5000002"\t"GSM5000003"\t"GSM5000004"
"hsa-miR-21-5p"\t11.82\t12.05\t9.71\t9.12
"hsa-miR-122-5p"\t8.40\t8.95\t10.88\t7.03
"hsa-miR-10b-5p"\t6.91\t7.30\t4.02\tnull
"hsa-miR-16-5p"\t13.5\t13.1\t13.3\t13.6
!series_matrix_table_end
"""


def write_series(path: Path, text: str = SERIES) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_series_matrix_values_and_characteristics(tmp_path):
    path = write_series(tmp_path / "GSE999001_series_matrix.txt.gz")
    assert is_series_matrix(path)
    series = read_geo_series_matrix(path)
    values = series.expression.values
    assert list(values.index) == ["GSM5000001", "GSM5000002", "GSM5000003", "GSM5000004"]
    assert values.loc["GSM5000003", "hsa-miR-122-5p"] == pytest.approx(10.88)
    assert np.isnan(values.loc["GSM5000004", "hsa-miR-10b-5p"])
    assert series.expression.measure == "log"
    assert series.expression.missing == 1
    obs = series.obs
    assert obs.loc["GSM5000001", "title"] == "HCC serum 1"
    assert obs.loc["GSM5000003", "disease_state"] == "liver cirrhosis"
    # keys are placed by their own name even when GEO shifted them to another line
    assert obs.loc["GSM5000004", "gender"] == "female"
    assert np.isnan(obs.loc["GSM5000004", "age"])
    assert obs.loc["GSM5000002", "age"] == 55
    assert obs["afp_(ng/ml)"].tolist() == pytest.approx([412.5, 12, 6.3, 2.1])
    assert series.series["geo_accession"] == "GSE999001"
    assert series.series["platform_id"] == "GPL99901"


def test_series_matrix_recognized_by_content_and_loaded_as_cohort(tmp_path):
    path = write_series(tmp_path / "download.txt")
    assert is_series_matrix(path)
    assert read_expression(path).orientation_reason.startswith("GEO series matrix")
    adata = read(path, annotate=False)
    assert adata.shape == (4, 4)
    assert list(adata.obs["disease_state"]) == ["HCC", "HCC", "liver cirrhosis", "healthy"]
    assert meta(adata)["source"]["geo_geo_accession"] == "GSE999001"


def test_series_matrix_with_clinical_table(tmp_path):
    path = write_series(tmp_path / "GSE999001_series_matrix.txt")
    clinical = tmp_path / "clin.csv"
    clinical.write_text("gsm,group\nGSM5000001,HCC\nGSM5000002,HCC\nGSM5000003,LC\nGSM5000004,healthy\n")
    adata = read(path, clinical, group="group", annotate=False)
    assert list(adata.obs["group"]) == ["HCC", "HCC", "LC", "healthy"]
    assert "disease_state" in adata.obs.columns


def test_probe_ids_renamed_with_a_map(tmp_path):
    text = SERIES.replace('"hsa-miR-21-5p"', '"1001"').replace('"hsa-miR-16-5p"', '"1004"')
    path = write_series(tmp_path / "GSE1_series_matrix.txt", text)
    series = read_geo_series_matrix(path, id_map={"1001": "hsa-miR-21-5p"})
    assert "hsa-miR-21-5p" in series.expression.mirnas and "1004" in series.expression.mirnas
    assert any("3 probes had no name" in note for note in series.expression.notes)


def test_series_matrix_without_table(tmp_path):
    text = SERIES.split("!series_matrix_table_begin")[0]
    path = write_series(tmp_path / "GSE2_series_matrix.txt", text)
    with pytest.raises(InputError, match="no !series_matrix_table_begin"):
        read_geo_series_matrix(path)


def test_truncated_series_matrix(tmp_path):
    text = SERIES.replace("!series_matrix_table_end\n", "")
    path = write_series(tmp_path / "GSE3_series_matrix.txt", text)
    with pytest.raises(InputError, match="not closed by !series_matrix_table_end"):
        read_geo_series_matrix(path)


def test_series_matrix_errors_name_the_line(tmp_path):
    text = SERIES.replace('"hsa-miR-122-5p"\t8.40', '"hsa-miR-122-5p"\tabc')
    path = write_series(tmp_path / "GSE4_series_matrix.txt", text)
    with pytest.raises(InputError) as err:
        read_geo_series_matrix(path)
    assert "line 21" in str(err.value) and "'abc'" in str(err.value) and "GSM5000001" in str(err.value)

    text = SERIES.replace('"age: 55"\t', "")
    path = write_series(tmp_path / "GSE5_series_matrix.txt", text)
    with pytest.raises(InputError, match="3 values for 4 samples") as err:
        read_geo_series_matrix(path)
    assert "line 13" in str(err.value)

    text = SERIES.replace('"hsa-miR-16-5p"\t13.5\t', '"hsa-miR-16-5p"\t')
    path = write_series(tmp_path / "GSE6_series_matrix.txt", text)
    with pytest.raises(InputError, match="ragged row") as err:
        read_geo_series_matrix(path)
    assert "line 23" in str(err.value)
