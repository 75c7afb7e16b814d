"""Non-detects and unmeasured targets in qPCR data.

* A non-detect is below the limit of detection: after normalization it ranks below every measured
  value of its miRNA, whatever the sample's global mean.
* The detection filter is group-aware; the LOD can be set; non-detects are counted per miRNA and group.
* A target absent from a plate was not measured there: missing, never a non-detect (so never Cq 35).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions
from exomir.io.qpcr import read_qpcr
from exomir.preprocess.normalize import normalize
from exomir.preprocess.qc import quality_control
from exomir.preprocess.qpcr import censor_nondetects, nondetect_counts, nondetect_mask

HEADER = "\t".join(["Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher", "CT"])


def _cohort(n=40, n_mirnas=30, seed=3):
    """Cq values whose samples differ in global mean by several cycles (input amount), with a
    miRNA near the LOD that is often non-detected."""
    rng = np.random.default_rng(seed)
    offset = rng.uniform(-3, 3, n)[:, None]
    cq = 26 + rng.normal(0, 1.5, n_mirnas)[None, :] + offset + rng.normal(0, 0.4, (n, n_mirnas))
    cq[:, 0] = 34.0 + offset[:, 0] + rng.normal(0, 0.6, n)  # around the LOD
    cq[cq > 35] = np.nan
    names = [f"hsa-miR-{100 + j}" for j in range(n_mirnas)]
    samples = [f"S{i:02d}" for i in range(n)]
    groups = np.where(np.arange(n) < n // 2, "HCC", "LC")
    obs = pd.DataFrame({"group": groups}, index=samples)
    return build_cohort(pd.DataFrame(cq, index=samples, columns=names), "cq", obs=obs, annotate=False)


def _pairs_out_of_order(adata, column=0, lod=35.0) -> int:
    nd = nondetect_mask(adata, lod)[:, column]
    x = np.asarray(adata.X, dtype=float)[:, column]
    return int(sum((x[nd][:, None] > x[~nd][None, :]).ravel()))


def test_nondetects_rank_below_every_measured_value():
    adata = _cohort()
    assert 5 < nondetect_mask(adata)[:, 0].sum() < 35
    censored = censor_nondetects(adata, lod=35.0, max_fraction=0.9)
    # the old rule (LOD − each sample's own global mean) puts non-detects above measured values
    naive = censored.copy()
    raw = np.asarray(naive.X, dtype=float)
    used = np.isfinite(np.asarray(naive.layers["cq"])).all(axis=0)
    gm = np.nanmean(np.where(np.asarray(naive.layers["cq"]) <= 35, raw, np.nan)[:, used], axis=1)
    naive.X = -(raw - gm[:, None])
    assert _pairs_out_of_order(naive) > 0
    normed = normalize(censored, "global_mean")
    assert _pairs_out_of_order(normed) == 0
    nd = nondetect_mask(normed, 35.0)[:, 0]
    x = np.asarray(normed.X)[:, 0]
    assert np.ptp(x[nd]) == 0 and x[nd].max() <= x[~nd].min()  # tied, at the limit
    assert any(s["step"] == "place_nondetects_below" for s in normed.uns["exomir"]["steps"])


def test_detection_filter_is_group_aware_and_counts_are_reported():
    adata = _cohort()
    cq = np.array(adata.layers["cq"])
    cq[:20, 5] = 30.0  # detected in every HCC sample ...
    cq[20:, 5] = np.nan  # ... and in no LC sample: 50 % non-detected overall
    cq[:, 6] = np.where(np.arange(40) < 8, 30.0, np.nan)  # detected in 8 of 20 HCC only
    adata.layers["cq"] = cq
    adata.X = cq.copy()
    flat = censor_nondetects(adata, lod=35.0, max_fraction=0.4)
    grouped = censor_nondetects(adata, lod=35.0, max_fraction=0.4, groups=adata.obs["group"])
    assert "hsa-miR-105" not in flat.var_names and "hsa-miR-105" in grouped.var_names
    assert "hsa-miR-106" not in grouped.var_names
    reason = exclusions(grouped).set_index("item").loc["hsa-miR-106", "reason"]
    assert "detected in at most 40% of the samples of any group" in reason
    counts = nondetect_counts(adata, "group").set_index(["mirna", "group"])
    assert counts.loc[("hsa-miR-105", "HCC"), "n_nondetect"] == 0
    assert counts.loc[("hsa-miR-105", "LC"), "n_nondetect"] == 20
    assert counts.loc[("hsa-miR-105", "all"), "fraction_detected"] == 0.5


def test_lod_is_an_option_of_analyze(tmp_path):
    from exomir.analysis import analyze

    adata = _cohort(n=40, n_mirnas=20, seed=8)
    values = pd.DataFrame(np.asarray(adata.layers["cq"]), index=adata.obs_names, columns=adata.var_names)
    expression = tmp_path / "cq.csv"
    values.T.round(3).to_csv(expression)
    clinical = tmp_path / "clinical.csv"
    adata.obs.rename_axis("sample").to_csv(clinical)
    strict = analyze(expression, clinical, tmp_path / "a", measure="cq", controls="LC", panels=False, lod=30.0)
    loose = analyze(expression, clinical, tmp_path / "b", measure="cq", controls="LC", panels=False)
    nd_strict = strict.tables["nondetects"].query("group == 'all'").set_index("mirna")["n_nondetect"]
    nd_loose = loose.tables["nondetects"].query("group == 'all'").set_index("mirna")["n_nondetect"]
    assert (nd_strict >= nd_loose).all() and nd_strict.sum() > nd_loose.sum() + 20
    assert (tmp_path / "a" / "tables" / "nondetects.csv").is_file()
    assert [s for s in strict.adata.uns["exomir"]["steps"] if s["step"] == "censor_nondetects"][0]["lod"] == 30.0


def _plate(path: Path, samples, targets, value) -> Path:
    lines = [f"* Experiment Name = {path.stem}", "* Instrument Type = QuantStudio 5", "", "[Results]", HEADER]
    well = 1
    for sample in samples:
        for target in targets:
            lines.append(f"{well}\tW{well}\tfalse\t{sample}\t{target}\tUNKNOWN\tFAM\tNFQ-MGB\t{value(sample, target)}")
            well += 1
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_target_missing_from_a_plate_is_not_measured_not_a_nondetect(tmp_path):
    targets = ["hsa-miR-16-5p", "hsa-miR-23a-3p", "hsa-miR-21-5p", "hsa-miR-451a", "hsa-miR-122-5p"]
    rng = np.random.default_rng(1)
    base = {"hsa-miR-16-5p": 22.0, "hsa-miR-23a-3p": 27.0, "hsa-miR-21-5p": 25.0, "hsa-miR-451a": 22.5,
            "hsa-miR-122-5p": 28.0}

    def value(sample, target):
        return f"{base[target] + rng.normal(0, 0.2):.3f}"

    one = _plate(tmp_path / "p1.txt", [f"A{i}" for i in range(6)], targets, value)
    two = _plate(tmp_path / "p2.txt", [f"B{i}" for i in range(6)], [t for t in targets if t != "hsa-miR-451a"], value)
    data = read_qpcr([one, two])
    assert data.not_measured.loc["B0", "hsa-miR-451a"] and not data.not_measured.loc["A0", "hsa-miR-451a"]
    assert data.unmeasured.to_dict("records") == [{"plate": "p2", "target": "hsa-miR-451a", "n_samples": 6}]
    adata = data.to_cohort(annotate=False)
    assert not nondetect_mask(adata)[:, list(adata.var_names).index("hsa-miR-451a")].any()
    censored = censor_nondetects(adata, lod=35.0, max_fraction=0.5)
    column = list(censored.var_names).index("hsa-miR-451a")
    x = np.asarray(censored.X)[:, column]
    b_rows = np.array([s.startswith("B") for s in censored.obs_names])
    assert np.isnan(x[b_rows]).all() and np.isfinite(x[~b_rows]).all()  # never set to the LOD
    # hemolysis (miR-23a − miR-451a) is unknown on plate 2, not a 500-fold drop read as "clean"
    qc = quality_control(adata).set_index("sample")
    assert (qc.loc[[f"B{i}" for i in range(6)], "hemolysis"] == "unknown").all()
    assert (qc.loc[[f"A{i}" for i in range(6)], "hemolysis"] == "clean").all()
    reasons = exclusions(adata)
    assert "hsa-miR-451a on plate p2" in set(reasons["item"])
    counts = nondetect_counts(adata).set_index("mirna")
    assert counts.loc["hsa-miR-451a", "n_not_measured"] == 6 and counts.loc["hsa-miR-451a", "n_nondetect"] == 0
