"""ROC inference that holds in small samples and under the null: Mann-Whitney p-values (exact or
by permutation below 20 per group), Newcombe's score interval for perfect separators, directions
given in advance, and directions in expression terms on raw Cq."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from exomir.cohort import build_cohort
from exomir.errors import InputError
from exomir.stats import roc
from exomir.tools import _roc as roc_tools
from exomir.stats._roc_core import newcombe_interval
from exomir.stats._roc_tests import mann_whitney_pvalues


def test_perfect_separator_keeps_an_exact_p_and_a_score_interval():
    y = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    x = np.r_[np.arange(10.0) + 100, np.arange(10.0)]  # every case above every control
    table = roc.auc_table(pd.DataFrame({"sep": x, "rev": -x}), y, "auto", ci_method="auto")
    row = table.set_index("mirna").loc["sep"]
    assert row["auc"] == 1.0
    assert row["pvalue"] == pytest.approx(2 / 184_756)  # two-sided exact: 2 / C(20, 10)
    assert row["pvalue_method"] == "mann-whitney (exact)"
    assert row["ci_method"].startswith("newcombe")
    assert 0.80 < row["auc_ci_low"] < 0.90 and row["auc_ci_high"] == pytest.approx(1.0)
    # the same marker read the other way round: same p, AUC 1 in its own direction
    assert table.set_index("mirna").loc["rev", "pvalue"] == row["pvalue"]
    # pROC's DeLong interval stays available on request (a point at AUC 1)
    delong = roc.auc_table(pd.DataFrame({"sep": x}), y, "auto").iloc[0]
    assert delong["auc_ci_low"] == delong["auc_ci_high"] == 1.0


def test_newcombe_interval_solves_its_score_equation():
    a, m, n = 0.8, 12, 15
    low, high = newcombe_interval(a, m, n)
    z2 = stats.norm.ppf(0.975) ** 2
    extra = (m + n) / 2 - 1
    for t in (low, high):
        v = t * (1 - t) / (m * n) * (1 + extra * (1 - t) / (2 - t) + extra * t / (1 + t))
        assert (t - a) ** 2 == pytest.approx(z2 * v, rel=1e-9)
    assert low < a < high


def test_mann_whitney_p_agrees_with_scipy_in_every_regime():
    rng = np.random.default_rng(3)
    y_big = np.r_[np.ones(30, bool), np.zeros(25, bool)]
    x = np.round(rng.normal(size=(6, 55)) + 0.5 * y_big, 1)  # ties: normal approximation
    p, method = mann_whitney_pvalues(x, y_big)
    want = stats.mannwhitneyu(x[:, y_big], x[:, ~y_big], axis=1, method="asymptotic").pvalue
    np.testing.assert_allclose(p, want, rtol=1e-10)
    assert set(method) == {"mann-whitney (normal, tie + continuity corrected)"}
    y_small = np.r_[np.ones(8, bool), np.zeros(11, bool)]
    x = rng.normal(size=(5, 19)) + y_small  # small and tie-free: exact
    p, method = mann_whitney_pvalues(x, y_small)
    want = stats.mannwhitneyu(x[:, y_small], x[:, ~y_small], axis=1, method="exact").pvalue
    np.testing.assert_allclose(p, want, rtol=1e-12)
    # small with ties: permutation p close to scipy's permutation test
    x = np.round(rng.normal(size=19) + y_small, 0)
    p, method = mann_whitney_pvalues(x[None, :], y_small, n_perm=20_000)
    ref = stats.mannwhitneyu(x[y_small], x[~y_small], method=stats.PermutationMethod(n_resamples=20_000,
                                                                                       random_state=1)).pvalue
    assert method[0].startswith("mann-whitney (permutation")
    assert p[0] == pytest.approx(ref, abs=0.015)


def test_null_markers_with_auto_direction_are_not_over_called():
    """The data-driven direction does not bias the two-sided test: under the null, at most the
    nominal share of 2,000 markers has p < 0.05 (DeLong's z-test flagged 8 % at this size)."""
    rng = np.random.default_rng(11)
    y = np.r_[np.ones(15, bool), np.zeros(15, bool)]
    x = pd.DataFrame(rng.normal(size=(30, 2000)))
    table = roc.auc_table(x, y, "auto", ci_method="auto")
    assert (table["auc"] >= 0.5).mean() > 0.8  # directions chosen from the data (medians)...
    share = (table["pvalue"] < 0.05).mean()
    assert 0.03 < share <= 0.055, share  # ...yet the test holds its level
    assert table["pvalue_test"].iloc[0].startswith("two-sided")


def test_direction_given_in_advance_and_read_from_a_file(tmp_path):
    y = np.r_[np.ones(25, bool), np.zeros(25, bool)]
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"up": rng.normal(size=50) + y, "down": rng.normal(size=50) - y, "other": rng.normal(size=50)})
    prior = {"up": "lower_in_case", "down": "lower_in_case"}  # a wrong prior is kept, not flipped
    t = roc.auc_table(x, y, prior).set_index("mirna")
    assert t.loc["up", "auc"] < 0.5 and t.loc["down", "auc"] > 0.5
    assert t.loc["up", "direction_source"].startswith("prior") and t.loc["other", "direction_source"] == "auto (medians)"
    path = tmp_path / "discovery_roc.csv"
    path.write_text("mirna,direction,auc\nup,higher_in_case,0.8\ndown,lower_in_case,0.7\n")
    assert roc_tools.direction_prior(str(path)) == {"up": "higher_in_case", "down": "lower_in_case"}
    assert roc_tools.direction_prior("auto") == "auto" and roc_tools.direction_prior("lower_in_case") == "lower_in_case"
    path.write_text("mirna,direction\nup,higher_in_case\nup,lower_in_case\n")
    with pytest.raises(InputError, match=r"line 3.*both directions"):
        roc_tools.direction_prior(str(path))
    path.write_text("mirna,direction\nup,up\n")
    with pytest.raises(InputError, match=r"line 2.*unknown direction"):
        roc_tools.direction_prior(str(path))
    with pytest.raises(InputError, match="neither a direction nor a file"):
        roc_tools.direction_prior("sideways")


def test_raw_cq_directions_are_in_expression_terms():
    """--normalization none on Cq: a miRNA more abundant in HCC has a LOWER Cq. roc.csv says
    higher_in_case (as the differential table's positive log2FC does) and gives the cut-off in Cq."""
    rng = np.random.default_rng(5)
    n = 40
    group = np.where(np.arange(n) < 20, "HCC", "LC")
    cq = pd.DataFrame({"hsa-miR-21-5p": 28 - 2.0 * (group == "HCC") + rng.normal(0, 0.5, n),
                       "hsa-miR-122-5p": 25 + rng.normal(0, 0.5, n)},
                      index=[f"s{i}" for i in range(n)])  # fmt: skip
    cohort = build_cohort(cq, "cq", obs=pd.DataFrame({"group": group}, index=cq.index), annotate=False)
    table = roc_tools.roc_screen(cohort, "group", "HCC", "LC").set_index("mirna")
    row = table.loc["hsa-miR-21-5p"]
    assert row["direction"] == "higher_in_case" and row["auc"] > 0.95
    assert row["threshold_rule"] == "<=" and 24 < row["threshold"] < 29  # called HCC at Cq ≤ cut-off
    assert row["threshold_scale"].startswith("Cq")
    called = cq["hsa-miR-21-5p"] <= row["threshold"]
    assert called[group == "HCC"].mean() == pytest.approx(row["sensitivity"])
    assert (~called[group == "LC"]).mean() == pytest.approx(row["specificity"])
    from exomir.tools._differential import differential_expression

    de = differential_expression(cohort, "group", "HCC", "LC", method="moderated_t").set_index("mirna")
    assert de.loc["hsa-miR-21-5p", "log2fc"] > 0  # the same sign in both tables
    assert row["threshold_estimate"].startswith("apparent")
