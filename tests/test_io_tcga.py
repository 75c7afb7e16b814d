"""TCGA-LIHC miRNA-seq and clinical files (real data in ../shared/data/tcga_lihc)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from exomir.cohort import exclusions, meta
from exomir.errors import InputError
from exomir.io import parse_barcode, read_tcga_lihc


@pytest.fixture(scope="module")
def lihc():
    counts = shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz")
    clinical = shared_path("tcga_lihc", "clinical_survival.csv")
    return read_tcga_lihc(counts, clinical, level="counts")


def test_parse_barcode():
    info = parse_barcode("TCGA-2V-A95S-01A-11R-A37G-13")
    assert info == {"patient": "TCGA-2V-A95S", "sample_type_code": "01", "sample_type": "Primary Solid Tumor", "tissue": "tumour"}
    assert parse_barcode("TCGA-BC-A10Q-11A-11R-A131-13")["tissue"] == "normal"
    assert parse_barcode("TCGA-DD-A1EH-02A-11R-A131-13")["sample_type"] == "Recurrent Solid Tumor"
    with pytest.raises(InputError, match="not a TCGA sample barcode"):
        parse_barcode("S1")


def test_samples_and_tissue(lihc):
    assert lihc.shape == (424, 1046)
    counts = lihc.obs["sample_type_code"].value_counts().to_dict()
    assert counts == {"01": 372, "11": 50, "02": 2}
    assert (lihc.obs["tissue"] == "normal").sum() == 50
    assert lihc.obs["patient"].nunique() == 373
    assert meta(lihc)["measure"] == "counts"
    assert np.array_equal(lihc.layers["counts"], np.round(lihc.layers["counts"]))


def test_values_match_the_file(lihc):
    path = shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz")
    with gzip.open(path, "rt") as handle:
        header = handle.readline().rstrip("\n").split(",")
        first = handle.readline().rstrip("\n").split(",")
    assert first[0] == "hsa-let-7a-1"
    column = lihc.var_names.get_loc("hsa-let-7a-1")
    assert list(lihc.obs_names) == header[1:]
    assert lihc.layers["counts"][:5, column].tolist() == [float(v) for v in first[1:6]]


def test_survival_joined_by_patient(lihc):
    clinical = pd.read_csv(shared_path("tcga_lihc", "clinical_survival.csv")).set_index("patient")
    obs = lihc.obs
    expected = clinical.reindex(obs["patient"].to_numpy())
    for column in ("OS_days", "OS_event", "new_tumor_event_days", "days_to_birth"):
        assert np.allclose(obs[column].to_numpy(float), expected[column].to_numpy(float), equal_nan=True)
    assert list(obs["pathologic_stage"].fillna("")) == list(expected["pathologic_stage"].fillna(""))
    assert obs["OS_days"].isna().sum() == 1  # the one patient without follow-up time
    # a patient's normal sample carries the same survival as their tumour
    normal = obs[obs["tissue"] == "normal"].iloc[0]
    same = obs[(obs["patient"] == normal["patient"]) & (obs["tissue"] == "tumour")]
    assert len(same) >= 1 and same["OS_days"].iloc[0] == normal["OS_days"]
    # derived recurrence endpoint
    has_event = obs["new_tumor_event_days"].notna()
    assert (obs.loc[has_event, "recurrence_event"] == 1).all()
    assert (obs.loc[~has_event, "recurrence_event"] == 0).all()
    assert (obs.loc[has_event, "recurrence_days"] == obs.loc[has_event, "new_tumor_event_days"]).all()
    censored = ~has_event & obs["OS_days"].notna()
    assert (obs.loc[censored, "recurrence_days"] == obs.loc[censored, "OS_days"]).all()
    primary = obs[obs["sample_type_code"] == "01"]
    assert int(primary["OS_event"].sum()) == int(clinical.reindex(primary["patient"].unique())["OS_event"].sum())


def test_clinical_rows_without_samples_are_reported(lihc):
    source = meta(lihc)["source"]
    assert source["clinical_patients_without_samples"] == ["TCGA-DD-A1E9", "TCGA-DD-A4NJ", "TCGA-DD-A4NK", "TCGA-FV-A3R3"]
    table = exclusions(lihc)
    assert sorted(table.loc[table["what"] == "clinical row", "item"]) == source["clinical_patients_without_samples"]
    assert "precursor" in source["caveat"]
    assert source["feature_level"] == "precursor"


def test_precursor_names_resolve_as_precursors(lihc):
    var = lihc.var
    assert var.loc["hsa-mir-21", "status"] == "ambiguous"
    assert "MIMAT0000076:hsa-miR-21-5p" in var.loc["hsa-mir-21", "candidates"]
    assert "MIMAT0000421:hsa-miR-122-5p" in var.loc["hsa-mir-122", "candidates"]
    assert len(var) == 1046  # none dropped, resolved or not


def test_rpm_level(tmp_path):
    path = shared_path("tcga_lihc", "mirna_precursor_rpm.csv.gz")
    adata = read_tcga_lihc(path, level="rpm", annotate=False)
    assert meta(adata)["measure"] == "log"
    assert np.allclose(adata.layers["log"], np.log2(adata.layers["rpm"] + 1))
    with gzip.open(path, "rt") as handle:
        handle.readline()
        first = handle.readline().rstrip("\n").split(",")
    assert adata.layers["rpm"][0, 0] == pytest.approx(float(first[1]))
    assert "OS_days" not in adata.obs


def test_not_a_tcga_file(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("precursor,S1,S2\nhsa-mir-21,1,2\n")
    with pytest.raises(InputError, match="'S1' is not a TCGA sample barcode") as err:
        read_tcga_lihc(path)
    assert "column 2" in str(err.value)
