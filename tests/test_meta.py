"""Random-effects meta-analysis against metafor::rma (tests/reference/meta)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.errors import InputError
from exomir.stats import meta

REF = Path(__file__).parent / "reference" / "meta"
STUDIES = pd.read_csv(REF / "studies.csv")
RMA = pd.read_csv(REF / "rma.csv")
LOGIT = pd.read_csv(REF / "rma_auc_logit.csv")


def _pool(measure, **options):
    """The raw-scale AUC references of rma.csv are pooled as generic effects (AUCs are pooled on
    the logit scale under measure "auc")."""
    if measure == "auc":
        table = STUDIES.assign(yi=STUDIES["auc"], vi=STUDIES["se_auc"] ** 2)
        return meta.pool(table, measure="generic", **options)
    return meta.pool(STUDIES, measure=measure, **options)


@pytest.mark.parametrize("measure", ["log_hr", "auc", "log_dor"])
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_pooled_estimates_match_metafor(measure, method):
    ref = RMA[(RMA["measure"] == measure) & (RMA["method"] == method)].iloc[0]
    # metafor tests every estimate against 0; exomir tests AUCs against 0.5 unless told otherwise
    res = _pool(measure, method=method, null=0.0)
    assert res.k == ref["k"] == 7
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"),
                         ("ci_high", "ci_high"), ("tau2", "tau2"), ("pi_low", "pi_low"),
                         ("pi_high", "pi_high"), ("zval", "zval")]:
        assert getattr(res, ours) == pytest.approx(ref[theirs], abs=1e-6), ours
    assert res.i2 == pytest.approx(ref["i2"], abs=1e-6)
    assert res.h2 == pytest.approx(ref["h2"], abs=1e-6)
    assert res.q == pytest.approx(ref["q"], abs=1e-8)
    assert res.q_p == pytest.approx(ref["q_p"], rel=1e-6)
    assert res.pvalue == pytest.approx(ref["pval"], rel=1e-6)
    assert res.se_tau2 == pytest.approx(ref["se_tau2"], rel=1e-6)


@pytest.mark.parametrize("measure", ["log_hr", "auc", "log_dor"])
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_hartung_knapp_matches_metafor(measure, method):
    ref = pd.read_csv(REF / "rma_knha.csv")
    ref = ref[(ref["measure"] == measure) & (ref["method"] == method)].iloc[0]
    res = _pool(measure, method=method, test="knha", null=0.0)
    assert res.df == ref["df"] == 6 and res.test == "knha"
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("zval", "tval"), ("ci_low", "ci_low"),
                         ("ci_high", "ci_high"), ("pi_low", "pi_low"), ("pi_high", "pi_high")]:
        assert getattr(res, ours) == pytest.approx(ref[theirs], abs=1e-6), ours
    assert res.pvalue == pytest.approx(ref["pval"], rel=1e-6)


def test_log_dor_continuity_correction_matches_escalc():
    ref = pd.read_csv(REF / "log_dor.csv")
    got = meta.log_diagnostic_odds_ratio(STUDIES["tp"], STUDIES["fp"], STUDIES["fn"], STUDIES["tn"])
    np.testing.assert_allclose(got["yi"], ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(got["vi"], ref["vi"], rtol=1e-12)
    # cohort E has fp = 0: 0.5 was added to each of its cells
    e = STUDIES.index[STUDIES["study"] == "Cohort E"][0]
    assert got["yi"][e] == pytest.approx(np.log(33.5 * 30.5 / (0.5 * 7.5)))
    none = meta.log_diagnostic_odds_ratio([1, 0], [1, 2], [1, 3], [1, 4], to="none")
    assert np.isnan(none["yi"][1])


def test_forest_weights_and_direction():
    ref = pd.read_csv(REF / "weights_log_hr_reml.csv")
    res = meta.pool(STUDIES, measure="log_hr", method="REML")
    np.testing.assert_allclose(res.forest["weight"], ref["weight"], atol=1e-6)
    assert res.forest["weight"].sum() == pytest.approx(100.0)
    # six cohorts above HR 1 and one (D) below, pooled estimate above
    assert res.n_same_direction == 6 and res.direction_agreement == pytest.approx(6 / 7)
    assert res.forest.loc[res.forest["study"] == "Cohort D", "direction"].item() == "below_null"
    np.testing.assert_allclose(res.forest["exp_estimate"], np.exp(STUDIES["log_hr"]))
    row = res.summary().iloc[0]
    assert row["exp_estimate"] == pytest.approx(np.exp(res.estimate))
    auc = meta.pool(STUDIES, measure="auc", method="DL")
    assert auc.null == 0.5 and auc.n_same_direction == 7
    np.testing.assert_allclose(auc.forest["estimate"], STUDIES["auc"], rtol=1e-12)


def test_hr_from_confidence_interval_equals_log_se():
    z = 1.959963984540054
    table = pd.DataFrame({"study": STUDIES["study"], "hr": np.exp(STUDIES["log_hr"]),
                          "hr_ci_low": np.exp(STUDIES["log_hr"] - z * STUDIES["se_log_hr"]),
                          "hr_ci_high": np.exp(STUDIES["log_hr"] + z * STUDIES["se_log_hr"])})
    ref = RMA[(RMA["measure"] == "log_hr") & (RMA["method"] == "REML")].iloc[0]
    assert meta.pool(table, measure="log_hr").estimate == pytest.approx(ref["estimate"], abs=1e-8)


def test_homogeneous_studies_give_zero_tau2_and_t_prediction_interval_is_wider():
    res = meta.random_effects([0.30, 0.31, 0.29, 0.30], [0.04, 0.05, 0.04, 0.06], method="REML")
    assert res.tau2 == 0.0 and res.i2 == 0.0
    fe = meta.random_effects([0.30, 0.31, 0.29, 0.30], [0.04, 0.05, 0.04, 0.06], method="FE")
    assert fe.estimate == pytest.approx(res.estimate)
    wide = meta.pool(STUDIES, measure="log_hr", pi_dist="t")
    narrow = meta.pool(STUDIES, measure="log_hr")
    assert wide.pi_high - wide.pi_low > narrow.pi_high - narrow.pi_low


def test_unusable_studies_are_reported_not_dropped_silently():
    res = meta.random_effects([0.2, np.nan, 0.5], [0.01, 0.02, 0.0], studies=["a", "b", "c"])
    assert res.k == 1 and res.excluded == ["b", "c"]
    with pytest.raises(InputError, match="needs column"):
        meta.pool(pd.DataFrame({"study": ["a"], "hr": [1.2]}), measure="log_hr")
    with pytest.raises(InputError, match="unknown meta-analysis method"):
        meta.random_effects([0.1, 0.2], [0.01, 0.01], method="PM")


def test_pooled_auc_is_tested_against_one_half_on_the_logit_scale():
    auc = np.array([0.62, 0.58, 0.71, 0.55])
    var = np.array([0.0016, 0.0025, 0.0030, 0.0020])
    res = meta.random_effects(auc, var, measure="auc", method="DL")
    logit = meta.random_effects(np.log(auc / (1 - auc)), var / (auc * (1 - auc)) ** 2, method="DL")
    assert res.scale == "logit" and res.null == 0.5
    assert res.estimate == pytest.approx(1 / (1 + np.exp(-logit.estimate)), abs=1e-14)
    assert res.logit["estimate"] == pytest.approx(logit.estimate, abs=1e-14)
    assert res.tau2 == pytest.approx(logit.tau2, abs=1e-15)
    assert res.pvalue == pytest.approx(logit.pvalue, rel=1e-12)  # AUC = 0.5 is logit = 0
    assert res.pvalue < 0.01  # every cohort above 0.5


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_logit_auc_pooling_matches_metafor_to_1e8(method, test):
    ref = LOGIT[(LOGIT["method"] == method) & (LOGIT["test"] == test)].iloc[0]
    res = meta.pool(STUDIES, measure="auc", method=method, test=test)
    assert res.scale == "logit" and res.k == 7 and res.test == test
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert res.logit[key] == pytest.approx(ref[f"logit_{key}"], abs=1e-8), key
        assert getattr(res, key) == pytest.approx(ref[key], abs=1e-8), key
    for ours, theirs in (("se", "se"), ("zval", "zval"), ("tau2", "tau2"), ("i2", "i2"), ("q", "q")):
        assert getattr(res, ours) == pytest.approx(ref[theirs], abs=1e-8), ours
    assert res.pvalue == pytest.approx(ref["pval"], rel=1e-8)
    row = res.summary().iloc[0]
    assert row["logit_estimate"] == pytest.approx(ref["logit_estimate"], abs=1e-8)


def test_pooled_auc_intervals_never_leave_zero_one():
    """Seeded inputs from every corner: AUCs near 1 (and 0), tiny and huge SEs, 2–8 cohorts,
    both tests and both estimators. On the AUC scale (the old pooling) many intervals exceed 1."""
    rng = np.random.default_rng(20261130)
    outside_raw = 0
    for trial in range(400):
        k = int(rng.integers(2, 9))
        centre = rng.choice([0.02, 0.5, 0.9, 0.97, 0.995])
        auc = np.clip(centre + rng.normal(0, 0.05, k), 0.001, 0.999)
        se = rng.choice([0.002, 0.02, 0.08, 0.3], size=k)
        method = ("DL", "REML")[trial % 2]
        test = ("z", "knha")[(trial // 2) % 2]
        res = meta.random_effects(auc, se**2, measure="auc", method=method, test=test)
        for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            assert 0.0 <= getattr(res, key) <= 1.0, (trial, key, getattr(res, key))
        assert res.ci_low <= res.estimate <= res.ci_high and res.pi_low <= res.ci_low
        assert ((res.forest[["ci_low", "ci_high"]] >= 0) & (res.forest[["ci_low", "ci_high"]] <= 1)).all().all()
        raw = meta.random_effects(auc, se**2, measure="generic", method=method, test=test)
        outside_raw += bool(raw.ci_high > 1 or raw.pi_high > 1 or raw.ci_low < 0 or raw.pi_low < 0)
    assert outside_raw > 100  # the inputs do probe the boundary


def test_auc_of_one_is_left_out_with_its_name():
    res = meta.random_effects([0.8, 1.0, 0.75], [0.002, 0.0, 0.003], measure="auc", studies=["a", "b", "c"])
    assert res.k == 2 and res.excluded == ["b"]


def test_truncated_published_interval_does_not_shrink_the_se():
    # a Wald interval 0.97 ± 1.96·0.03 = [0.911, 1.029] published cut at 1
    se, truncated = meta.auc_se_from_ci([0.97, 0.80], [0.91120108, 0.70], [1.0, 0.90])
    assert se[0] == pytest.approx(0.03, rel=1e-6) and truncated.tolist() == [True, False]
    assert se[1] == pytest.approx(0.1 / 1.959963984540054 , rel=1e-12)
    # the old symmetric rule gave (1 − 0.911)/(2·1.96) = 0.0227: a quarter too small
    table = pd.DataFrame({"study": ["a", "b"], "auc": [0.97, 0.80], "auc_ci_low": [0.91120108, 0.70],
                          "auc_ci_high": [1.0, 0.90]})
    yi, vi = meta.effects_from_table(table, "auc")
    assert np.sqrt(vi[0]) == pytest.approx(0.03, rel=1e-6)


def test_one_study_has_no_heterogeneity_and_no_knha_label():
    res = meta.random_effects([0.4], [0.04], test="knha")
    assert res.k == 1 and res.test == "z" and np.isinf(res.df)
    assert np.isnan(res.i2) and np.isnan(res.q_p) and np.isnan(res.h2)
    assert res.pvalue == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(2.0)), rel=1e-12)
