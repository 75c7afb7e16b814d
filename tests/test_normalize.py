"""Normalization against DESeq2 (size factors) and edgeR (TMM), and its bookkeeping in the Cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, meta
from exomir.errors import InputError
from exomir.preprocess.normalize import median_of_ratios, normalize, tmm_factors

REFERENCE = Path(__file__).parent / "reference" / "normalize"


def _counts(name: str) -> pd.DataFrame:
    """samples × miRNAs counts of a reference fixture (stored miRNAs as rows)."""
    return pd.read_csv(REFERENCE / f"{name}.csv", index_col=0).T


@pytest.mark.parametrize("name", ["counts", "counts_sparse"])
def test_size_factors_match_deseq2(name):
    counts = _counts(name)
    expected = pd.read_csv(REFERENCE / f"{name}_factors.csv")
    factors, kind = median_of_ratios(counts.to_numpy())
    assert kind == expected["size_factor_type"].iloc[0]
    np.testing.assert_allclose(factors, expected["size_factor"].to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["counts", "counts_sparse"])
def test_tmm_factors_match_edger(name):
    counts = _counts(name)
    expected = pd.read_csv(REFERENCE / f"{name}_factors.csv")
    np.testing.assert_allclose(tmm_factors(counts.to_numpy()), expected["tmm"].to_numpy(), rtol=1e-10)


def _cohort(measure: str = "counts") -> object:
    counts = _counts("counts")
    return build_cohort(counts.astype(float), measure, annotate=False)


def test_median_of_ratios_log_values_and_provenance():
    adata = _cohort()
    expected = pd.read_csv(REFERENCE / "counts_factors.csv")["size_factor"].to_numpy()
    normalize(adata)  # auto: counts → median of ratios
    raw = adata.layers["counts"]
    np.testing.assert_allclose(adata.X, np.log2(raw / expected[:, None] + 1.0), rtol=1e-10)
    np.testing.assert_allclose(adata.obs["size_factor"], expected, rtol=1e-10)
    step = meta(adata)["steps"][-1]
    assert step["step"] == "normalize" and step["method"] == "median_of_ratios" and step["requested"] == "auto"
    # raw values are never touched
    np.testing.assert_array_equal(raw, _counts("counts").to_numpy(dtype=float))


def test_cpm_and_tmm_values():
    adata = _cohort()
    normalize(adata, "cpm")
    raw = adata.layers["counts"]
    library = raw.sum(axis=1)
    np.testing.assert_allclose(adata.X, np.log2(raw / library[:, None] * 1e6 + 1.0))
    adata = _cohort()
    normalize(adata, "tmm")
    tmm = pd.read_csv(REFERENCE / "counts_factors.csv")["tmm"].to_numpy()
    np.testing.assert_allclose(adata.X, np.log2(raw / (library * tmm)[:, None] * 1e6 + 1.0), rtol=1e-9)
    assert meta(adata)["steps"][-1]["method"] == "tmm"


def test_none_leaves_values_as_given():
    adata = _cohort()
    adata.X = np.zeros_like(adata.X)
    normalize(adata, "none")
    np.testing.assert_array_equal(adata.X, adata.layers["counts"])
    assert meta(adata)["steps"][-1]["method"] == "none"


def test_wrong_method_for_measure_is_an_input_error():
    adata = _cohort()
    with pytest.raises(InputError, match="global_mean.*Cq"):
        normalize(adata, "global_mean")
    with pytest.raises(InputError, match="unknown normalization 'quantile'"):
        normalize(adata, "quantile")
    cq = build_cohort(pd.DataFrame([[25.0, 30.0], [26.0, 31.0]], index=["a", "b"], columns=["m1", "m2"]), "cq",
                      annotate=False)
    with pytest.raises(InputError, match="needs read counts"):
        normalize(cq, "cpm")


def test_sample_without_reads_is_named():
    counts = pd.DataFrame([[10.0, 5.0], [0.0, 0.0], [3.0, 8.0]], index=["s1", "s2", "s3"], columns=["m1", "m2"])
    adata = build_cohort(counts, "counts", annotate=False)
    with pytest.raises(InputError, match="s2"):
        normalize(adata, "cpm")


def test_cq_global_mean_delegates_to_qpcr_room():
    rng = np.random.default_rng(1)
    cq = 20.0 + rng.normal(0, 1, size=(6, 15)) + np.arange(15)[None, :] * 0.5
    frame = pd.DataFrame(cq, index=[f"s{i}" for i in range(6)], columns=[f"hsa-miR-{i}" for i in range(1, 16)])
    adata = build_cohort(frame, "cq", annotate=False)
    normalize(adata)  # auto: Cq → ΔCq against the global mean
    # every miRNA is detected everywhere, so the global mean is the row mean of the Cq values
    np.testing.assert_allclose(adata.X, -(cq - cq.mean(axis=1, keepdims=True)), atol=1e-12)
    assert meta(adata)["steps"][-1]["method"] == "global_mean"
    assert meta(adata)["x_scale"] == "neg_delta_cq"
