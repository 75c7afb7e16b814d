"""RT-qPCR normalization: non-detect rules, global mean, spike-in, references, ΔΔCq, efficiency."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions, meta
from exomir.errors import InputError
from exomir.io.qpcr_merge import calibrate_plates
from exomir.preprocess.qpcr import (
    censor_nondetects,
    ddcq,
    delta_delta_cq,
    efficiency_correct,
    efficiency_from_slope,
    fold_change,
    global_mean_dcq,
    log2_abundance,
    pfaffl_ratio,
    reference_dcq,
    spike_in_dcq,
)

NAN = float("nan")


def cohort(values: dict[str, list[float]], samples: list[str], obs: pd.DataFrame | None = None):
    frame = pd.DataFrame(values, index=samples)
    return build_cohort(frame, "cq", obs=obs, annotate=False)


def test_censor_nondetects_excludes_and_censors():
    adata = cohort(
        {
            "miR-21-5p": [24.0, 25.0, 36.0, 24.5],  # 1 of 4 above the LOD
            "miR-122-5p": [NAN, NAN, 33.0, NAN],  # 3 of 4 missing: excluded
            "miR-16-5p": [20.0, 21.0, 20.5, 20.2],
        },
        ["a", "b", "c", "d"],
    )
    out = censor_nondetects(adata, lod=35.0, max_fraction=0.5)
    assert list(out.var_names) == ["miR-21-5p", "miR-16-5p"]
    np.testing.assert_allclose(out.X[:, 0], [24.0, 25.0, 35.0, 24.5])
    assert out.layers["cq"][2, 0] == 36.0  # raw value kept
    table = exclusions(out)
    assert table.loc[0, "item"] == "miR-122-5p" and "75%" in table.loc[0, "reason"]
    assert "set to the LOD" in meta(out)["nondetect_rule"]
    missing = censor_nondetects(adata, lod=35.0, max_fraction=0.8, rule="missing")
    assert missing.n_vars == 3 and math.isnan(missing.X[2, 0]) and math.isnan(missing.X[0, 1])
    lenient = censor_nondetects(adata, lod=37.0, max_fraction=0.8)
    assert lenient.X[2, 0] == 36.0 and lenient.X[0, 1] == 37.0


def test_global_mean_uses_commonly_detected_mirnas():
    adata = cohort(
        {
            "miR-16-5p": [20.0, 22.0, 21.0],
            "miR-21-5p": [24.0, 26.0, 25.0],
            "miR-122-5p": [30.0, NAN, 29.0],  # not detected in all: not in the mean
            "cel-miR-39-3p": [18.0, 25.0, 19.0],  # spike-in: never in the mean
        },
        ["s1", "s2", "s3"],
    )
    global_mean_dcq(adata, min_mirnas=1)
    np.testing.assert_allclose(adata.obs["global_mean_cq"], [22.0, 24.0, 23.0])
    np.testing.assert_allclose(adata.X[:, 0], [-2.0, -2.0, -2.0])
    np.testing.assert_allclose(adata.X[:, 2], [8.0, NAN, 6.0])
    assert list(adata.var["in_global_mean"]) == [True, True, False, False]
    assert meta(adata)["x_scale"] == "delta_cq"
    np.testing.assert_allclose(adata.layers["log2_abundance"][:, 0], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(log2_abundance(adata)[:, 1], [-2.0, -2.0, -2.0])
    assert meta(adata)["steps"][-1]["n_mirnas"] == 2
    # with min_fraction 2/3 miR-122 joins: sample means over its detected miRNAs
    other = cohort({"a": [20.0, 22.0, 21.0], "b": [24.0, 26.0, 25.0], "c": [30.0, NAN, 29.0]}, ["s1", "s2", "s3"])
    global_mean_dcq(other, min_fraction=0.6, min_mirnas=1)
    np.testing.assert_allclose(other.obs["global_mean_cq"], [74 / 3, 24.0, 25.0])


def test_global_mean_refuses_counts_and_undetected():
    counts = build_cohort(pd.DataFrame({"m": [1.0, 2.0]}, index=["a", "b"]), "counts", annotate=False)
    with pytest.raises(InputError, match="needs Cq values"):
        global_mean_dcq(counts)
    nothing = cohort({"m": [NAN, 30.0], "n": [31.0, NAN]}, ["a", "b"])
    with pytest.raises(InputError, match="no miRNA is detected"):
        global_mean_dcq(nothing)


def test_spike_in_and_reference_dcq():
    adata = cohort(
        {
            "miR-21-5p": [24.0, 26.0, 25.0],
            "miR-16-5p": [20.0, 21.0, 22.0],
            "miR-93-5p": [23.0, 24.0, 25.0],
            "cel-miR-39-3p": [18.0, 19.0, NAN],
        },
        ["s1", "s2", "s3"],
    )
    spiked = spike_in_dcq(adata)
    assert list(spiked.var_names) == ["miR-21-5p", "miR-16-5p", "miR-93-5p"]
    np.testing.assert_allclose(spiked.X[:2, 0], [6.0, 7.0])
    assert np.isnan(spiked.X[2]).all()
    assert exclusions(spiked)["item"].tolist() == ["cel-miR-39-3p"]
    ref = reference_dcq(adata.copy(), ["miR-16", "miR-93-5p"])  # arm-less name found
    np.testing.assert_allclose(ref.obs["reference_cq"], [21.5, 22.5, 23.5])
    np.testing.assert_allclose(ref.X[:, 0], [2.5, 3.5, 1.5])
    with pytest.raises(InputError, match="not in the data"):
        reference_dcq(adata.copy(), ["miR-999"])


def test_delta_delta_cq_recovers_planted_fold_change():
    rng = np.random.default_rng(7)
    n = 12
    groups = np.array(["HCC"] * 6 + ["healthy"] * 6)
    ref = 20 + rng.normal(0, 0.6, n)  # input amount varies by sample
    target = ref + 5.0 - np.where(groups == "HCC", 2.0, 0.0)  # 4-fold more in HCC
    adata = cohort({"miR-21-5p": list(target), "miR-16-5p": list(ref), "miR-93-5p": list(ref + 3)},
                   [f"s{i}" for i in range(n)], obs=pd.DataFrame({"group": groups}, index=[f"s{i}" for i in range(n)]))
    reference_dcq(adata, ["miR-16-5p"])
    table = delta_delta_cq(adata, "group", "healthy")
    row = table[(table["mirna"] == "miR-21-5p") & (table["group"] == "HCC")].iloc[0]
    assert row["ddcq"] == pytest.approx(-2.0)
    assert row["fold_change"] == pytest.approx(4.0)
    assert row["n"] == 6
    np.testing.assert_allclose(adata.layers["ddcq"][groups == "HCC", 0], -2.0)
    # after the analysis turned X into −ΔCq (higher = more), ΔΔCq reads the same
    flipped = adata.copy()
    flipped.X = -flipped.X
    meta(flipped)["x_scale"] = "neg_delta_cq"
    again = delta_delta_cq(flipped, "group", "healthy")
    np.testing.assert_allclose(again["ddcq"], table["ddcq"])
    np.testing.assert_allclose(log2_abundance(flipped), log2_abundance(adata))
    assert ddcq(np.array([[1.0], [3.0]]), np.array([False, True]))[0, 0] == -2.0
    assert fold_change(-1.0) == 2.0 and fold_change(1.0, 1.9) == pytest.approx(1 / 1.9)


def test_pfaffl_efficiency_correction():
    # target: control 25, sample 22 (ΔCq 3 at E = 1.9); reference: control 20, sample 19 (ΔCq 1 at E = 2)
    ratio = pfaffl_ratio(25.0, 22.0, 20.0, 19.0, efficiency_target=1.9, efficiency_reference=2.0)
    assert ratio == pytest.approx(1.9**3 / 2.0**1)
    assert efficiency_from_slope(-3.3219) == pytest.approx(2.0, abs=1e-3)
    assert efficiency_from_slope(-3.6) == pytest.approx(10 ** (1 / 3.6))
    # the Cohort route gives the same ratio: Cq·log2(E), reference ΔCq, then 2^-ΔΔCq
    obs = pd.DataFrame({"group": ["control", "case"]}, index=["c", "s"])
    adata = cohort({"miR-21-5p": [25.0, 22.0], "miR-16-5p": [20.0, 19.0]}, ["c", "s"], obs=obs)
    efficiency_correct(adata, {"miR-21-5p": 90, "miR-16-5p": 2.0})  # 90 % means E = 1.9
    reference_dcq(adata, ["miR-16-5p"])
    table = delta_delta_cq(adata, "group", "control")
    fc = table[(table["mirna"] == "miR-21-5p") & (table["group"] == "case")]["fold_change"].item()
    assert fc == pytest.approx(1.9**3 / 2.0)
    with pytest.raises(ValueError, match="implausible"):
        efficiency_correct(adata, {"miR-21-5p": 3.0})


def test_calibrate_plates_array_level():
    wells = pd.DataFrame(
        {
            "plate": ["p1", "p1", "p2", "p2"],
            "well": ["A1", "A2", "A1", "A2"],
            "sample": ["IPC", "x", "IPC", "y"],
            "target": ["m"] * 4,
            "cq": [20.0, 25.0, 21.0, 26.0],
            "raw": [""] * 4,
            "task": ["sample"] * 4,
            "omit": [False] * 4,
            "line": [1, 2, 1, 2],
            "file": ["f1", "f1", "f2", "f2"],
        }
    )
    out = calibrate_plates(wells, "IPC")
    np.testing.assert_allclose(out["cq"], [20.5, 25.5, 20.5, 25.5])
    np.testing.assert_allclose(out["plate_offset"], [-0.5, -0.5, 0.5, 0.5])
