"""Cohorts written to and read from .h5ad: lossless provenance, atomic writes."""

from __future__ import annotations

import time

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions, meta, record_exclusion, record_step
from exomir.errors import InputError
from exomir.io import read, read_h5ad, write_h5ad


def make_cohort() -> ad.AnnData:
    values = pd.DataFrame(
        [[120.0, 0.0, 35.0], [98.0, 12.0, np.nan]],
        index=["S1", "S2"],
        columns=["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-10b-5p"],
    )
    obs = pd.DataFrame(
        {"group": ["HCC", "LC"], "AFP": [412.5, np.nan], "note": ["ok", None], "mixed": [1, "x"]},
        index=["S1", "S2"],
    )
    adata = build_cohort(values, "counts", obs=obs, source={"expression": "counts.csv", "notes": ["a", "b"]}, annotate=False)
    record_exclusion(adata, "miRNA", "__no_feature", "counting-tool summary line")
    record_step(adata, "normalize", method="median-of-ratios", size_factors=[1.0, 0.9])
    return adata


def test_round_trip_keeps_values_obs_and_provenance(tmp_path):
    adata = make_cohort()
    path = write_h5ad(adata, tmp_path / "cohort.h5ad")
    back = read_h5ad(path)
    assert back.shape == (2, 3)
    assert list(back.obs_names) == ["S1", "S2"] and list(back.var_names) == list(adata.var_names)
    assert np.array_equal(back.layers["counts"], adata.layers["counts"], equal_nan=True)
    assert back.obs.loc["S1", "AFP"] == 412.5 and np.isnan(back.obs.loc["S2", "AFP"])
    assert back.obs.loc["S2", "mixed"] == "x" and back.obs.loc["S1", "mixed"] == "1"
    assert pd.isna(back.obs.loc["S2", "note"])
    assert meta(back) == meta(adata)
    assert meta(back)["source"]["notes"] == ["a", "b"]
    assert exclusions(back).to_dict("records") == [
        {"what": "miRNA", "item": "__no_feature", "reason": "counting-tool summary line", "role": ""}
    ]
    # the caller's object is left as it was
    assert "exomir" in adata.uns and adata.obs["mixed"].tolist() == [1, "x"]


def test_same_cohort_same_bytes(tmp_path):
    first = write_h5ad(make_cohort(), tmp_path / "a.h5ad")
    time.sleep(1.1)  # a timestamp in the file would show up as a difference
    second = write_h5ad(make_cohort(), tmp_path / "b.h5ad")
    assert first.read_bytes() == second.read_bytes()
    assert ad.read_h5ad(first).uns["exomir_json"] == ad.read_h5ad(second).uns["exomir_json"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ad.AnnData, "write_h5ad", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_h5ad(make_cohort(), tmp_path / "out" / "cohort.h5ad")
    assert list((tmp_path / "out").iterdir()) == []


def test_read_from_h5ad_with_clinical(tmp_path):
    path = write_h5ad(make_cohort(), tmp_path / "cohort.h5ad")
    clinical = tmp_path / "clin.csv"
    clinical.write_text("id,stage,DFS_days\nS1,II,400\nS2,,\nS9,I,100\n")
    adata = read(path, clinical)
    assert adata.obs.loc["S1", "stage"] == "II" and adata.obs.loc["S1", "DFS_days"] == 400
    assert adata.obs.loc["S1", "group"] == "HCC"
    assert meta(adata)["source"]["clinical_without_expression"] == ["S9"]
    assert "S9" in set(exclusions(adata)["item"])


def test_not_an_h5ad_file(tmp_path):
    path = tmp_path / "broken.h5ad"
    path.write_text("miRNA,S1\n")
    with pytest.raises(InputError, match="not a readable .h5ad file") as err:
        read_h5ad(path)
    assert "broken.h5ad" in str(err.value)


def test_h5ad_measure_must_agree(tmp_path):
    path = write_h5ad(make_cohort(), tmp_path / "cohort.h5ad")
    assert meta(read(path, measure="counts"))["measure"] == "counts"
    with pytest.raises(InputError, match="holds counts values, not cq"):
        read(path, measure="cq")
