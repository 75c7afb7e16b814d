"""exomir.stats.roc against pROC (values committed by tests/reference/roc/make_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from exomir.stats import roc
from exomir.tools import _roc as roc_tools

REF = Path(__file__).parent / "reference" / "roc"
TOL = 1e-6


def _load_tcga_logcpm() -> tuple[pd.DataFrame, np.ndarray]:
    """log2(CPM + 1) of TCGA-LIHC precursors, primary tumour (01) and solid normal (11) only.

    CPM uses each aliquot's total over all precursors, as the R script does.
    """
    path = shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz")
    counts = pd.read_csv(path, index_col=0)
    sample_type = counts.columns.str.slice(13, 15)
    logcpm = np.log2(counts / counts.sum(axis=0) * 1e6 + 1.0)
    keep = sample_type.isin(["01", "11"])
    return logcpm.loc[:, keep].T, np.asarray(sample_type[keep] == "01")


@pytest.fixture(scope="module")
def tcga():
    return _load_tcga_logcpm()


@pytest.fixture(scope="module")
def simulated():
    sim = pd.read_csv(REF / "simulated_markers.csv")
    return sim, (sim["group"] == "case").to_numpy()


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(REF / "proc_auc.csv")


@pytest.fixture(scope="module")
def expected_paired():
    return pd.read_csv(REF / "proc_paired.csv")


def _data(dataset, tcga, simulated):
    if dataset == "tcga_lihc":
        return tcga
    sim, y = simulated
    return sim.drop(columns=["sample", "group"]), y


@pytest.mark.parametrize("dataset", ["tcga_lihc", "simulated"])
def test_auc_delong_interval_and_direction(dataset, tcga, simulated, expected):
    values, y = _data(dataset, tcga, simulated)
    ref = expected[expected["dataset"] == dataset]
    table = roc.auc_table(values[ref["marker"].tolist()], y).set_index("mirna")
    assert len(ref) >= 4
    for _, r in ref.iterrows():
        got = table.loc[r["marker"]]
        assert got["direction"] == r["direction"], r["marker"]
        assert (got["n_case"], got["n_control"]) == (r["n_case"], r["n_control"])
        assert got["auc"] == pytest.approx(r["auc"], abs=TOL), r["marker"]
        assert got["auc_se"] ** 2 == pytest.approx(r["auc_var"], abs=1e-9), r["marker"]
        assert got["auc_ci_low"] == pytest.approx(r["ci_low"], abs=TOL), r["marker"]
        assert got["auc_ci_high"] == pytest.approx(r["ci_high"], abs=TOL), r["marker"]
        # the single-marker path agrees with the vectorized one
        single = roc.roc_auc(values[r["marker"]], y)
        assert single.auc == pytest.approx(r["auc"], abs=TOL)
        assert single.ci_low == pytest.approx(r["ci_low"], abs=TOL)


@pytest.mark.parametrize("dataset", ["tcga_lihc", "simulated"])
def test_partial_auc(dataset, tcga, simulated, expected):
    values, y = _data(dataset, tcga, simulated)
    ref = expected[expected["dataset"] == dataset]
    for _, r in ref.iterrows():
        x = values[r["marker"]].to_numpy()
        d = r["direction"]
        assert roc.partial_auc(x, y, d, limits=(1, 0.9)) == pytest.approx(r["pauc_sp90"], abs=TOL)
        assert roc.partial_auc(x, y, d, limits=(1, 0.9), focus="sensitivity") == pytest.approx(
            r["pauc_se90"], abs=TOL
        )
        assert roc.partial_auc(x, y, d, limits=(0.8, 0.6)) == pytest.approx(r["pauc_sp60_80"], abs=TOL)
        for column, focus in (("pauc_sp90_corrected", "specificity"), ("pauc_se90_corrected", "sensitivity")):
            got = roc.partial_auc(x, y, d, limits=(1, 0.9), focus=focus, correct=True)
            if np.isnan(r[column]):
                assert np.isnan(got), (r["marker"], column)
            else:
                assert got == pytest.approx(r[column], abs=TOL), (r["marker"], column)


@pytest.mark.parametrize("dataset", ["tcga_lihc", "simulated"])
def test_youden_point_is_one_of_procs_best(dataset, tcga, simulated, expected):
    values, y = _data(dataset, tcga, simulated)
    ref = expected[expected["dataset"] == dataset]
    table = roc.auc_table(values[ref["marker"].tolist()], y).set_index("mirna")
    for _, r in ref.iterrows():
        got = table.loc[r["marker"]]
        assert got["sensitivity"] + got["specificity"] - 1 == pytest.approx(r["youden"], abs=1e-9)
        pairs = zip(str(r["youden_sensitivity"]).split(";"), str(r["youden_specificity"]).split(";"), strict=True)
        assert any(
            abs(float(se) - got["sensitivity"]) < 1e-9 and abs(float(sp) - got["specificity"]) < 1e-9
            for se, sp in pairs
        ), r["marker"]


@pytest.mark.parametrize("dataset", ["tcga_lihc", "simulated"])
def test_paired_delong_test(dataset, tcga, simulated, expected_paired):
    values, y = _data(dataset, tcga, simulated)
    ref = expected_paired[expected_paired["dataset"] == dataset]
    assert len(ref) >= 3
    for _, r in ref.iterrows():
        got = roc.delong_paired(
            values[r["marker_a"]], values[r["marker_b"]], y,
            direction_a=r["direction_a"], direction_b=r["direction_b"],
        )  # fmt: skip
        assert got["auc_a"] == pytest.approx(r["auc_a"], abs=TOL)
        assert got["auc_b"] == pytest.approx(r["auc_b"], abs=TOL)
        assert got["z"] == pytest.approx(r["z"], abs=TOL)
        assert got["pvalue"] == pytest.approx(r["p_value"], abs=TOL)
        assert got["ci_low"] == pytest.approx(r["diff_ci_low"], abs=TOL)
        assert got["ci_high"] == pytest.approx(r["diff_ci_high"], abs=TOL)
        # auto directions reproduce the ones pROC chose
        auto = roc.delong_paired(values[r["marker_a"]], values[r["marker_b"]], y)
        assert (auto["direction_a"], auto["direction_b"]) == (r["direction_a"], r["direction_b"])


def test_screen_of_every_tcga_precursor_matches_proc(tcga):
    """All 1,046 precursors (many zeros and ties) through the vectorized screen of a Cohort."""
    import anndata as ad

    values, y = tcga
    ref = pd.read_csv(REF / "proc_screen_all_precursors.csv").set_index("marker")
    obs = pd.DataFrame({"type": np.where(y, "tumour", "normal")}, index=values.index)
    cohort = ad.AnnData(X=values.to_numpy(), obs=obs, var=pd.DataFrame(index=values.columns))
    table = roc_tools.roc_screen(cohort, "type", "tumour", "normal").set_index("mirna").loc[ref.index]
    assert len(table) == 1046
    assert (table["direction"] == ref["direction"]).all()
    np.testing.assert_allclose(table["auc"], ref["auc"], atol=TOL)
    delong = (table["ci_method"] == "delong").to_numpy()
    assert delong.sum() > 800
    np.testing.assert_allclose(table["auc_ci_low"][delong], ref["ci_low"][delong], atol=TOL)
    np.testing.assert_allclose(table["auc_ci_high"][delong], ref["ci_high"][delong], atol=TOL)
    # where pROC's DeLong SE is 0 (AUC 0, 1, or a constant marker) its interval is a point;
    # exomir gives Newcombe's score interval there, which contains the AUC and has width
    rest = table[~delong]
    assert (ref["ci_high"][~delong] == ref["ci_low"][~delong]).all()
    assert ((rest["auc_ci_low"] <= rest["auc"]) & (rest["auc"] <= rest["auc_ci_high"])).all()
    assert (rest["auc_ci_high"] - rest["auc_ci_low"] > 0.05).all()
    full = roc_tools.roc_screen(cohort, "type", "tumour", "normal", ci_method="delong").set_index("mirna").loc[ref.index]
    np.testing.assert_allclose(full["auc_ci_low"], ref["ci_low"], atol=TOL)
    np.testing.assert_allclose(full["auc_ci_high"], ref["ci_high"], atol=TOL)


def test_stratified_bootstrap_interval_close_to_procs(tcga):
    """Monte Carlo on both sides (4,000 resamples each): the limits agree to about 0.005."""
    values, y = tcga
    ref = pd.read_csv(REF / "proc_bootstrap.csv")
    for _, r in ref.iterrows():
        got = roc.roc_auc(values[r["marker"]], y, ci_method="bootstrap", n_boot=int(r["boot_n"]), seed=3)
        assert got.auc == pytest.approx(r["auc"], abs=TOL)
        assert got.ci_low == pytest.approx(r["ci_low"], abs=0.006)
        assert got.ci_high == pytest.approx(r["ci_high"], abs=0.006)


def test_calibration_matches_r_glm():
    from exomir.stats import panel

    data = pd.read_csv(REF / "calibration_input.csv")
    ref = pd.read_csv(REF / "calibration_glm.csv").iloc[0]
    got = panel.calibration(data["y"].to_numpy(), data["prob"].to_numpy())
    for key in ("calibration_slope", "calibration_slope_se", "calibration_intercept",
                "calibration_intercept_se", "brier"):  # fmt: skip
        assert got[key] == pytest.approx(ref[key], abs=1e-6), key
