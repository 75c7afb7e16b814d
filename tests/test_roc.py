"""exomir.stats.roc: curves, thresholds, intervals and the Cohort screen."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from statsmodels.stats.proportion import proportion_confint

from exomir.cohort import exclusions
from exomir.errors import InputError
from exomir.stats import roc
from exomir.tools import _roc as roc_tools
from exomir.stats._roc_core import holm, midranks


def _two_groups(seed=1, n_case=60, n_control=90, shift=1.0, ties=False):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_case, bool), np.zeros(n_control, bool)]
    x = rng.normal(size=y.size) + shift * y
    if ties:
        x = np.round(x * 2) / 2
    return x, y


def test_midranks_match_scipy_with_ties_and_nan():
    from scipy.stats import rankdata

    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(5, 40)), 0)
    np.testing.assert_allclose(midranks(x), rankdata(x, axis=1))
    x[1, [3, 7]] = np.nan
    got = midranks(x)[1]
    keep = ~np.isnan(x[1])
    np.testing.assert_allclose(got[keep], rankdata(x[1, keep]))
    assert np.isnan(got[~keep]).all()


@pytest.mark.parametrize("ties", [False, True])
def test_auc_and_curve_match_scikit_learn(ties):
    x, y = _two_groups(ties=ties)
    res = roc.roc_auc(x, y, "higher_in_case")
    assert res.auc == pytest.approx(metrics.roc_auc_score(y, x), abs=1e-12)
    curve = roc.roc_curve(x, y, "higher_in_case")
    fpr, tpr, thr = metrics.roc_curve(y, x, drop_intermediate=False)
    np.testing.assert_allclose(curve["fpr"], fpr)
    np.testing.assert_allclose(curve["tpr"], tpr)
    np.testing.assert_allclose(curve["threshold"].to_numpy()[1:], thr[1:])
    # trapezoid area under the plotted points is the AUC
    assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(res.auc, abs=1e-12)


def test_direction_is_explicit_and_never_flipped():
    x, y = _two_groups(shift=-1.2)
    auto = roc.roc_auc(x, y)
    assert auto.direction == "lower_in_case" and auto.direction_source == "auto (medians)"
    assert auto.auc > 0.75
    wrong = roc.roc_auc(x, y, "higher_in_case")
    assert wrong.direction_source == "given"
    assert wrong.auc == pytest.approx(1 - auto.auc, abs=1e-12)  # reported below 0.5, not flipped
    curve = roc.roc_curve(x, y, "lower_in_case")
    assert (curve["threshold_rule"] == "<=").all()
    row = curve.iloc[5]
    called = x <= row["threshold"]
    assert row["tp"] == (called & y).sum() and row["fp"] == (called & ~y).sum()
    with pytest.raises(InputError, match="direction"):
        roc.roc_auc(x, y, "up")


def test_thresholds_with_wilson_intervals_against_statsmodels():
    x, y = _two_groups(seed=3, ties=True)
    table = roc.thresholds(x, y, "higher_in_case", sensitivity=[0.9, 0.8], specificity=0.95)
    assert list(table["criterion"]) == ["youden", "fixed_sensitivity", "fixed_sensitivity", "fixed_specificity"]
    for _, row in table.iterrows():
        called = x >= row["threshold"]
        tp, fp = (called & y).sum(), (called & ~y).sum()
        assert (row["tp"], row["fp"]) == (tp, fp)
        assert row["sensitivity"] == pytest.approx(tp / y.sum())
        lo, hi = proportion_confint(tp, y.sum(), alpha=0.05, method="wilson")
        assert (row["sensitivity_ci_low"], row["sensitivity_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        lo, hi = proportion_confint(row["tn"], (~y).sum(), alpha=0.05, method="wilson")
        assert (row["specificity_ci_low"], row["specificity_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    # Fixed sensitivity: reaches the target, and no other cut reaching it has more specificity.
    curve = roc.roc_curve(x, y, "higher_in_case")
    fixed = table.iloc[1]
    assert fixed["sensitivity"] >= 0.9
    assert fixed["specificity"] == pytest.approx(curve.loc[curve["sensitivity"] >= 0.9, "specificity"].max())
    spec = table.iloc[3]
    assert spec["specificity"] >= 0.95
    assert spec["sensitivity"] == pytest.approx(curve.loc[curve["specificity"] >= 0.95, "sensitivity"].max())
    youden = table.iloc[0]
    j = curve["sensitivity"] + curve["specificity"] - 1
    assert youden["youden_j"] == pytest.approx(j.max())


def test_wilson_vectorized_matches_statsmodels():
    k = np.array([0, 1, 17, 40, 50])
    n = np.array([50, 50, 50, 50, 50])
    lo, hi = roc.wilson_interval(k, n, 0.9)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-12)


def test_precision_recall_matches_scikit_learn():
    x, y = _two_groups(seed=5, ties=True)
    pr = roc.pr_curve(x, y, "higher_in_case")
    precision, recall, _ = metrics.precision_recall_curve(y, x, drop_intermediate=False)
    np.testing.assert_allclose(pr["precision"].to_numpy(), precision[::-1])
    np.testing.assert_allclose(pr["recall"].to_numpy(), recall[::-1])
    assert roc.average_precision(x, y, "higher_in_case") == pytest.approx(
        metrics.average_precision_score(y, x), abs=1e-12
    )
    # lower_in_case is the same curve on the negated scores
    assert roc.average_precision(-x, y, "lower_in_case") == pytest.approx(metrics.average_precision_score(y, x))


def test_bootstrap_interval_is_seeded_and_close_to_delong():
    x, y = _two_groups(seed=7, n_case=150, n_control=150, shift=0.8)
    a = roc.roc_auc(x, y, "higher_in_case", ci_method="bootstrap", n_boot=600, seed=11)
    b = roc.roc_auc(x, y, "higher_in_case", ci_method="bootstrap", n_boot=600, seed=11)
    c = roc.roc_auc(x, y, "higher_in_case", ci_method="bootstrap", n_boot=600, seed=12)
    d = roc.roc_auc(x, y, "higher_in_case")
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.ci_low == pytest.approx(d.ci_low, abs=0.015)
    assert a.ci_high == pytest.approx(d.ci_high, abs=0.015)
    assert a.ci_low < a.auc < a.ci_high


def test_delong_coverage_on_simulation():
    """The 95 % DeLong interval covers the true AUC about 95 % of the time."""
    from scipy.stats import norm

    rng = np.random.default_rng(42)
    shift = 0.7
    truth = norm.cdf(shift / np.sqrt(2))
    n_case, n_control, reps = 40, 60, 400
    y = np.r_[np.ones(n_case, bool), np.zeros(n_control, bool)]
    x = rng.normal(size=(y.size, reps)) + shift * y[:, None]
    table = roc.auc_table(x, y, "higher_in_case")
    covered = ((table["auc_ci_low"] <= truth) & (truth <= table["auc_ci_high"])).mean()
    assert 0.91 <= covered <= 0.98


def test_compare_to_reference_with_holm():
    rng = np.random.default_rng(9)
    n = 200
    y = rng.random(n) < 0.5
    afp = rng.normal(size=n) + 0.6 * y
    strong = afp + rng.normal(size=n) * 0.3 + 1.0 * y
    same = afp + rng.normal(size=n) * 0.3
    noise = rng.normal(size=n)
    cands = pd.DataFrame({"strong": strong, "same": same, "noise": noise})
    table = compare_to_reference = roc.compare_to_reference(cands, afp, y, direction="higher_in_case",
                                                            reference_direction="higher_in_case",
                                                            reference_name="AFP")  # fmt: skip
    table = compare_to_reference.set_index("mirna")
    assert table.loc["strong", "difference"] > 0 and table.loc["strong", "pvalue_holm"] < 0.01
    assert table.loc["same", "pvalue_holm"] > 0.05
    assert table.loc["noise", "difference"] < 0
    np.testing.assert_allclose(table["pvalue_holm"], holm(table["pvalue"].to_numpy()))
    from statsmodels.stats.multitest import multipletests

    np.testing.assert_allclose(table["pvalue_holm"], multipletests(table["pvalue"], method="holm")[1])
    for name in cands:
        single = roc.delong_paired(cands[name], afp, y, direction_a="higher_in_case", direction_b="higher_in_case")
        assert table.loc[name, "z"] == pytest.approx(single["z"])


def test_omnibus_reduces_to_paired_test_for_two_markers():
    x, y = _two_groups(seed=13)
    other = x + np.random.default_rng(1).normal(size=x.size)
    omni = roc.delong_omnibus(np.c_[x, other], y, "higher_in_case")
    pair = roc.delong_paired(x, other, y, direction_a="higher_in_case", direction_b="higher_in_case")
    assert omni["df"] == 1
    assert omni["chi2"] == pytest.approx(pair["z"] ** 2, rel=1e-9)
    assert omni["pvalue"] == pytest.approx(pair["pvalue"], rel=1e-9)


def _cohort():
    rng = np.random.default_rng(21)
    groups = np.array(["HCC"] * 40 + ["LC"] * 30 + ["healthy"] * 30 + ["CHB"] * 5)
    n = groups.size
    is_hcc = groups == "HCC"
    values = rng.normal(size=(n, 6))
    values[is_hcc, 0] += 2.0  # up in HCC
    values[is_hcc, 1] -= 1.5  # down in HCC
    values[:7, 2] = np.nan  # missing in 7 HCC samples
    afp = np.exp(rng.normal(2.5, 1.0, n) + 1.5 * is_hcc)
    obs = pd.DataFrame({"group": groups, "afp": afp}, index=[f"s{i}" for i in range(n)])
    obs.loc["s3", "afp"] = np.nan
    var = pd.DataFrame({"mimat": [f"MIMAT{i:07d}" for i in range(6)]},
                       index=["miR-21-5p", "miR-122-5p", "miR-224-5p", "miR-a", "miR-b", "miR-c"])  # fmt: skip
    return ad.AnnData(X=values, obs=obs, var=var)


def test_roc_screen_columns_rows_and_exclusions():
    adata = _cohort()
    table = roc_tools.roc_screen(adata, "group", "HCC", ["LC", "healthy"], afp="afp")
    assert list(table.columns[:12]) == roc_tools.ROC_COLUMNS
    assert len(table) == 2 * (6 + 1)
    assert set(table["comparison"]) == {"HCC_vs_LC", "HCC_vs_healthy"}
    lc = table[table["comparison"] == "HCC_vs_LC"].set_index("mirna")
    assert lc.loc["miR-21-5p", "direction"] == "higher_in_case" and lc.loc["miR-21-5p", "auc"] > 0.85
    assert lc.loc["miR-122-5p", "direction"] == "lower_in_case" and lc.loc["miR-122-5p", "auc"] > 0.8
    assert lc.loc["miR-224-5p", "n_case"] == 33 and lc.loc["miR-224-5p", "n_missing"] == 7
    assert lc.loc["AFP", "n_case"] == 39 and lc.loc["AFP", "direction"] == "higher_in_case"
    assert lc.loc["miR-21-5p", "mimat"] == "MIMAT0000000"
    # each row matches the single-marker computation on exactly those samples
    obs = adata.obs
    rows = obs["group"].isin(["HCC", "LC"]).to_numpy()
    y = (obs["group"] == "HCC").to_numpy()[rows]
    x = adata.X[rows, 2]
    single = roc.roc_auc(x, y)
    assert lc.loc["miR-224-5p", "auc"] == pytest.approx(single.auc)
    assert lc.loc["miR-224-5p", "auc_ci_low"] == pytest.approx(single.ci_low)
    # the stated threshold rule reproduces the reported sensitivity and specificity
    r = lc.loc["miR-122-5p"]
    x = adata.X[rows, 1]
    called = x <= r["threshold"]
    assert r["threshold_rule"] == "<="
    assert r["sensitivity"] == pytest.approx((called & y).sum() / y.sum())
    assert r["specificity"] == pytest.approx((~called & ~y).sum() / (~y).sum())
    excl = exclusions(adata)
    assert ((excl["item"] == "miR-224-5p") & excl["reason"].str.contains("7 samples")).sum() == 2
    assert (excl["item"] == "AFP").sum() == 2
    assert adata.uns["exomir"]["steps"][-1]["step"] == "roc_screen"


def test_roc_screen_bootstrap_is_reproducible():
    adata = _cohort()
    a = roc_tools.roc_screen(adata, "group", "HCC", "LC", ci_method="bootstrap", n_boot=300, seed=4)
    b = roc_tools.roc_screen(adata, "group", "HCC", "LC", ci_method="bootstrap", n_boot=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert a["ci_method"].str.startswith("bootstrap").all()
    assert (a["auc_ci_low"] <= a["auc"]).all() and (a["auc"] <= a["auc_ci_high"]).all()


def test_roc_screen_rejects_bad_requests():
    adata = _cohort()
    with pytest.raises(InputError, match="no column 'stage'"):
        roc_tools.roc_screen(adata, "stage", "HCC", "LC")
    with pytest.raises(InputError, match="'cirrhosis' not found"):
        roc_tools.roc_screen(adata, "group", "HCC", "cirrhosis")
    with pytest.raises(InputError, match="no layer"):
        roc_tools.roc_screen(adata, "group", "HCC", "LC", layer="counts")


def test_vectorized_table_matches_per_marker_computation_with_ties_and_missing():
    rng = np.random.default_rng(17)
    n, p = 90, 40
    y = rng.random(n) < 0.4
    x = np.round(rng.normal(size=(n, p)) + rng.normal(0, 0.8, p) * y[:, None], 1)
    x[rng.random((n, p)) < 0.08] = np.nan
    x[:, 0] = np.where(y, 1.0, 0.0)  # perfect separation
    x[:, 1] = 3.0  # constant: AUC 0.5, no useful cut
    table = roc.auc_table(x, y)
    for j in range(p):
        keep = ~np.isnan(x[:, j])
        xj, yj = x[keep, j], y[keep]
        med_case, med_ctrl = np.median(xj[yj]), np.median(xj[~yj])
        assert table.loc[j, "direction"] == ("lower_in_case" if med_ctrl > med_case else "higher_in_case")
        single = roc.roc_auc(xj, yj, table.loc[j, "direction"])
        assert table.loc[j, "auc"] == pytest.approx(single.auc, abs=1e-12)
        assert table.loc[j, "auc_se"] == pytest.approx(single.se, abs=1e-12, nan_ok=True)
        oriented = xj if table.loc[j, "direction"] == "higher_in_case" else -xj
        assert single.auc == pytest.approx(metrics.roc_auc_score(yj, oriented), abs=1e-12)
        th = roc.thresholds(xj, yj, table.loc[j, "direction"]).set_index("criterion")
        assert table.loc[j, "sensitivity"] == pytest.approx(th.loc["youden", "sensitivity"])
        assert table.loc[j, "specificity"] == pytest.approx(th.loc["youden", "specificity"])
        assert table.loc[j, "specificity_at_sens90"] == pytest.approx(th.loc["fixed_sensitivity", "specificity"])
        assert table.loc[j, "sensitivity_at_spec90"] == pytest.approx(th.loc["fixed_specificity", "sensitivity"])
    assert table.loc[0, "auc"] == 1.0 and table.loc[0, "threshold"] == 1.0
    assert table.loc[1, "auc"] == 0.5 and table.loc[1, "sensitivity"] == 0.0
