"""Pre-analytical QC: simulated hemolysed samples are flagged, clean ones are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, meta
from exomir.preprocess.qc import (
    HEMOLYSIS_SENSITIVE,
    hemolysis_category,
    hemolysis_warnings,
    is_hemolysis_sensitive,
    mirna_column,
    quality_control,
    robust_z,
)

RED_CELL = ["hsa-miR-451a", "hsa-miR-16-5p", "hsa-miR-92a-3p", "hsa-miR-486-5p"]


def simulate_cq(seed: int = 5) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """40 sera × 30 assays; planted: hemolysed, possibly hemolysed, low-input outlier, lost spike-in."""
    rng = np.random.default_rng(seed)
    n, names = 40, [f"hsa-miR-{100 + i}-5p" for i in range(25)] + RED_CELL[1:] + ["hsa-miR-23a-3p", "hsa-miR-451a", "cel-miR-39-3p"]
    base = rng.uniform(22, 31, len(names))
    names_idx = {name: i for i, name in enumerate(names)}
    base[names_idx["hsa-miR-23a-3p"]] = 26.0
    base[names_idx["cel-miR-39-3p"]] = 20.0
    input_shift = rng.normal(0, 0.4, n)
    cq = base[None, :] + input_shift[:, None] + rng.normal(0, 0.3, (n, len(names)))
    cq[:, names_idx["cel-miR-39-3p"]] = 20.0 + rng.normal(0, 0.3, n)  # added after extraction
    # miR-451a sits 4-5.5 cycles ahead of miR-23a-3p in clean sera
    cq[:, names_idx["hsa-miR-451a"]] = cq[:, names_idx["hsa-miR-23a-3p"]] - rng.uniform(3.5, 5.5, n)
    planted = {"hemolysed": [0, 1, 2], "possible": [3, 4], "outlier": [5], "spike_low": [6]}
    for i, dcq in zip(planted["hemolysed"], (8.6, 9.4, 10.2)):
        cq[i, names_idx["hsa-miR-451a"]] = cq[i, names_idx["hsa-miR-23a-3p"]] - dcq
        for other in RED_CELL[1:]:
            cq[i, names_idx[other]] -= 2.0
    for i, dcq in zip(planted["possible"], (7.3, 7.8)):
        cq[i, names_idx["hsa-miR-451a"]] = cq[i, names_idx["hsa-miR-23a-3p"]] - dcq
    cq[5, :-1] += 6.0  # very little RNA: every endogenous miRNA 6 cycles late
    cq[5, names_idx["hsa-miR-451a"]] = cq[5, names_idx["hsa-miR-23a-3p"]] - 4.5
    cq[6, names_idx["cel-miR-39-3p"]] += 3.0  # extraction lost most of the spike-in
    frame = pd.DataFrame(cq, index=[f"S{i:02d}" for i in range(n)], columns=names)
    return frame, planted


def test_cq_hemolysis_spike_in_and_outliers():
    frame, planted = simulate_cq()
    adata = build_cohort(frame, "cq", annotate=False)
    qc = quality_control(adata).set_index("sample")
    expected_dcq = frame["hsa-miR-23a-3p"] - frame["hsa-miR-451a"]
    np.testing.assert_allclose(qc["hemolysis_dcq"], expected_dcq)
    status = qc["hemolysis"]
    assert list(status.index[status == "hemolysed"]) == ["S00", "S01", "S02"]
    assert list(status.index[status == "possible"]) == ["S03", "S04"]
    assert (status.drop(["S00", "S01", "S02", "S03", "S04"]) == "clean").all()
    assert list(qc.index[qc["outlier"]]) == ["S05"]
    assert "outlier:global_mean" in qc.loc["S05", "flags"]
    assert qc.loc["S06", "spike_in_recovery"] == pytest.approx(2 ** -(frame.loc["S06", "cel-miR-39-3p"] - frame["cel-miR-39-3p"].median()))
    assert qc.loc["S06", "spike_in_recovery"] < 0.25 and "spike_in_low" in qc.loc["S06", "flags"]
    flagged = set(qc.index[qc["flags"] != ""])
    assert flagged == {"S00", "S01", "S02", "S03", "S04", "S05", "S06"}
    # written into obs
    assert list(adata.obs.loc[["S00", "S03", "S10"], "qc_hemolysis"]) == ["hemolysed", "possible", "clean"]
    assert adata.obs["qc_outlier"].sum() == 1
    assert adata.obs.loc["S00", "qc_flags"] == "hemolysed"
    step = meta(adata)["steps"][-1]
    assert step["step"] == "quality_control" and step["n_hemolysed"] == 3 and step["n_possible"] == 2


def test_cq_hemolysis_with_undetected_mir23a():
    frame = pd.DataFrame(
        {"hsa-miR-451a": [20.0, 30.0, 24.0], "hsa-miR-23a-3p": [np.nan, np.nan, 36.0], "hsa-miR-21-5p": [25.0, 26.0, 25.5]},
        index=["a", "b", "c"],
    )
    qc = quality_control(build_cohort(frame, "cq", annotate=False)).set_index("sample")
    # a: miR-23a absent, ΔCq ≥ 35 − 20 = 15 → hemolysed; b: bound 5 → unknown; c: 36 > LOD → bound 11
    assert list(qc["hemolysis"]) == ["hemolysed", "unknown", "hemolysed"]
    assert qc.loc["a", "hemolysis_dcq"] == 15.0


def simulate_counts(seed: int = 9) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    rng = np.random.default_rng(seed)
    n, m = 30, 120
    names = [f"hsa-miR-{200 + i}-3p" for i in range(m - 3)] + ["hsa-miR-23a-3p", "hsa-miR-451a", "cel-miR-39-3p"]
    mean_share = rng.lognormal(0, 1.5, m)
    mean_share[m - 3] = 2.0  # miR-23a-3p
    mean_share[m - 1] = 1.0  # spike-in
    mean_share /= mean_share.sum()
    library = rng.uniform(2e6, 4e6, n)
    log2_ratio = rng.uniform(3.0, 5.5, n)  # miR-451a / miR-23a-3p in clean sera
    planted = {"hemolysed": [0, 1], "possible": [2], "outlier": [3]}
    log2_ratio[[0, 1]] = [8.8, 9.6]
    log2_ratio[2] = 7.5
    counts = np.zeros((n, m))
    for i in range(n):
        share = mean_share.copy()
        share[m - 2] = share[m - 3] * 2 ** log2_ratio[i]
        share /= share.sum()
        size = library[i] / (100.0 if i == 3 else 1.0)  # a failed library
        mu = share * size
        counts[i] = rng.negative_binomial(20, 20 / (20 + mu))
    frame = pd.DataFrame(counts, index=[f"L{i:02d}" for i in range(n)], columns=names)
    return frame, planted


def test_counts_hemolysis_ratio_and_library_outlier():
    frame, planted = simulate_counts()
    adata = build_cohort(frame, "counts", annotate=False)
    qc = quality_control(adata).set_index("sample")
    ratio = np.log2((frame["hsa-miR-451a"] + 1) / (frame["hsa-miR-23a-3p"] + 1))
    np.testing.assert_allclose(qc["hemolysis_log2_ratio"], ratio)
    np.testing.assert_allclose(qc["library_size"], frame.sum(axis=1))
    status = qc["hemolysis"]
    assert list(status.index[status == "hemolysed"]) == ["L00", "L01"]
    assert list(status.index[status == "possible"]) == ["L02"]
    assert (status.drop(["L00", "L01", "L02"]) == "clean").all()
    assert list(qc.index[qc["outlier"]]) == ["L03"]
    assert "library_size" in qc.loc["L03", "flags"]
    assert qc["spike_in_recovery"].between(0.5, 2.0).all()


def test_log_measure_and_missing_markers():
    frame = pd.DataFrame({"miR-451a": [12.0, 15.0, 11.0], "miR-23a-3p": [7.0, 6.5, 6.0], "miR-21": [9.0, 9.5, 9.2]}, index=["a", "b", "c"])
    qc = quality_control(build_cohort(frame, "log", annotate=False))
    assert list(qc["hemolysis_log2_ratio"]) == [5.0, 8.5, 5.0]
    assert list(qc["hemolysis"]) == ["clean", "hemolysed", "clean"]
    no_markers = build_cohort(frame[["miR-21"]], "log", annotate=False)
    assert set(quality_control(no_markers)["hemolysis"]) == {"unknown"}


def test_name_matching_through_canonical_names():
    frame = pd.DataFrame({"MIR451": [20.0, 21.0], "mir-23a": [26.0, 30.0], "x": [25.0, 25.0]}, index=["a", "b"])
    var = pd.DataFrame({"name": ["hsa-miR-451a", "hsa-miR-23a-3p", ""]}, index=frame.columns)
    adata = build_cohort(frame, "cq", var=var, annotate=False)
    assert mirna_column(adata, "hsa-miR-451a") == "MIR451"
    assert mirna_column(adata, "miR-23a-3p") == "mir-23a"
    plain = build_cohort(pd.DataFrame({"hsa-miR-16-5p": [1.0], "miR-23a": [2.0]}), "cq", annotate=False)
    assert mirna_column(plain, "miR-16") == "hsa-miR-16-5p"  # arm-less query
    assert mirna_column(plain, "hsa-miR-23a-3p") == "miR-23a"  # arm-less column
    assert mirna_column(plain, "miR-16-3p") is None  # a different arm is a different miRNA
    qc = quality_control(adata).set_index("sample")
    assert list(qc["hemolysis"]) == ["clean", "hemolysed"]


def test_hemolysis_warnings_and_helpers():
    assert "hsa-miR-451a" in HEMOLYSIS_SENSITIVE and is_hemolysis_sensitive("miR-16")
    assert is_hemolysis_sensitive("hsa-miR-486-5p") and not is_hemolysis_sensitive("miR-122-5p")
    qc = pd.DataFrame({"hemolysis": ["hemolysed", "clean", "possible", "clean"]})
    messages = hemolysis_warnings(["hsa-miR-122-5p", "miR-451a", "hsa-miR-92a-3p", "miR-451a"], qc)
    assert len(messages) == 2
    assert messages[0].startswith("miR-451a is abundant in red blood cells")
    assert "1 sample(s) are flagged hemolysed and 1 possibly" in messages[0]
    assert hemolysis_warnings(["miR-21-5p", "miR-122-5p"]) == []
    assert list(hemolysis_category(np.array([6.9, 7.0, 7.01, 8.0, 8.5, np.nan]))) == [
        "clean", "clean", "possible", "possible", "hemolysed", "unknown"]
    z = robust_z(np.array([10.0, 10.5, 9.5, 10.2, 9.8, 20.0]))
    assert abs(z[-1]) > 3.5 and (np.abs(z[:-1]) < 3.5).all()


@pytest.mark.parametrize("measure", ["counts", "cq"])
def test_demo_simulator_hemolysis_is_recovered(measure):
    """The demo simulator plants hemolysis (miR-451a up 2^5.5-2^7): QC finds it, and nothing else."""
    simulate = pytest.importorskip("exomir.simulate")
    adata = simulate.simulate_cohort(120, measure=measure, n_mirnas=150, seed=2, hemolysis_fraction=0.1, annotate=False)
    planted = set(simulate.planted(adata)["hemolysis"]["samples"])
    qc = quality_control(adata).set_index("sample")
    called = set(qc.index[qc["hemolysis"].isin(["possible", "hemolysed"])])
    assert len(planted) == 12
    assert len(called & planted) >= 11  # the smallest planted shifts can land just under 7
    assert called <= planted  # no clean serum is called hemolysed
    assert qc["outlier"].sum() <= 3
