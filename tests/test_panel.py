"""exomir.stats.panel: nested CV without leakage, fitted panels, calibration, NRI/IDI, subgroups."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from exomir.cohort import exclusions
from exomir.errors import InputError
from exomir.stats import panel
from exomir.tools import _panel as panel_tools
from exomir.stats import _panel_model as pm


def _noise(seed=0, n=120, p=500):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"miR-{i}" for i in range(p)])
    y = np.r_[np.ones(n // 2, bool), np.zeros(n - n // 2, bool)]
    return X, y


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_nested_cv_does_not_leak_on_pure_noise(penalty):
    X, y = _noise()
    nested = panel.nested_cv(X, y, penalty=penalty, seed=1, progress=False)
    assert 0.40 <= nested.auc <= 0.60, nested.auc
    # the same data with selection done once on all samples looks like a real biomarker
    naive = panel.naive_selection_cv_auc(X, y, k=10, seed=1)
    assert naive > 0.70
    assert naive - nested.auc > 0.2
    # each outer fold's miRNAs are the top-k of its own training samples, not of all samples
    from sklearn.model_selection import StratifiedKFold

    assert len(nested.folds) == 5
    splits = list(StratifiedKFold(5, shuffle=True, random_state=1).split(X, y))
    values = X.to_numpy()
    for (train, _), (_, row) in zip(splits, nested.folds.iterrows(), strict=True):
        top = pm.rank_candidates(values[train], y[train], 0)[: row["k"]]
        assert set(row["features"].split(";")) == {X.columns[i] for i in top}
    whole = pm.rank_candidates(values, y, 0)[:10]
    assert any(set(r.split(";")) != {X.columns[i] for i in whole[: len(r.split(";"))]}
               for r in nested.folds["features"])  # fmt: skip


def test_planted_signal_is_recovered():
    X, y = _noise(seed=4, p=300)
    planted = [f"miR-{i}" for i in range(5)]
    X.loc[y, planted] += 1.0
    nested = panel.nested_cv(X, y, penalty="l1", seed=2, progress=False)
    assert nested.auc > 0.8
    assert nested.auc_ci_low > 0.7
    assert (nested.selection_frequency[planted] >= 0.8).sum() >= 4
    fitted = panel.fit_panel(X, y, penalty="l1", seed=2)
    assert len(set(planted) & set(fitted.nonzero_features)) >= 4
    assert all(fitted.coefficients[f] > 0 for f in set(planted) & set(fitted.nonzero_features))


def test_fit_panel_is_inspectable_and_scores_without_scikit_learn():
    rng = np.random.default_rng(8)
    n = 160
    y = rng.random(n) < 0.45
    X = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"m{i}" for i in range(30)])
    X["m0"] += 1.2 * y
    X["m1"] -= 0.9 * y
    X.insert(0, "AFP", np.exp(rng.normal(2, 1, n) + 1.0 * y))
    X.iloc[3, 5] = np.nan
    fitted = panel.fit_panel(X, y, penalty="elasticnet", forced=["AFP"], transforms={"AFP": "log10p1"},
                             Cs=(0.1, 1.0), max_features=(3, 8), seed=5)  # fmt: skip
    assert fitted.features[0] == "AFP" and fitted.forced == ["AFP"]
    assert fitted.hyperparameters["k"] in (3, 8) and fitted.hyperparameters["C"] in (0.1, 1.0)
    assert fitted.hyperparameters["l1_ratio"] == 0.5
    assert {"m0", "m1"} <= set(fitted.features)
    table = fitted.coefficient_table().set_index("feature")
    assert table.loc["m0", "coefficient_per_sd"] > 0 > table.loc["m1", "coefficient_per_sd"]
    assert table.loc["AFP", "transform"] == "log10(x + 1)"
    # the stored numbers reproduce the fitted scikit-learn pipeline exactly
    tuned = pm.tune(pm.apply_transforms(X[fitted.candidates], fitted.transforms), y, penalty="elasticnet",
                    n_forced=1, seed=5, inner_folds=5, Cs=(0.1, 1.0), l1_ratios=(0.5,),
                    max_features=(3, 8))  # fmt: skip
    expected = tuned.predict_proba(pm.apply_transforms(X[fitted.candidates], fitted.transforms))[:, 1]
    np.testing.assert_allclose(fitted.predict_proba(X), expected, rtol=1e-10, atol=1e-12)
    # JSON round trip of the plain description
    text = json.dumps(fitted.to_dict())
    back = json.loads(text)
    assert back["features"] == fitted.features and back["hyperparameters"]["k"] == fitted.hyperparameters["k"]
    with pytest.raises(InputError, match="needs columns"):
        fitted.predict_proba(X.drop(columns=["AFP"]))


def test_same_seed_same_predictions():
    X, y = _noise(seed=2, n=80, p=40)
    X.loc[y, "miR-0"] += 1
    a = panel.nested_cv(X, y, penalty="l2", seed=3, progress=False, max_features=(5,), Cs=(0.1, 1.0))
    b = panel.nested_cv(X, y, penalty="l2", seed=3, progress=False, max_features=(5,), Cs=(0.1, 1.0))
    c = panel.nested_cv(X, y, penalty="l2", seed=4, progress=False, max_features=(5,), Cs=(0.1, 1.0))
    np.testing.assert_array_equal(a.probability.to_numpy(), b.probability.to_numpy())
    assert not np.array_equal(a.probability.to_numpy(), c.probability.to_numpy())


def test_auc_is_the_mean_of_held_out_folds_with_repeat_spread():
    X, y = _noise(seed=6, n=80, p=60)
    X.loc[y, "miR-0"] += 1.0
    r = panel.nested_cv(X, y, penalty="l2", Cs=(0.3,), max_features=(5,), repeats=3, seed=1, progress=False)
    assert len(r.folds) == 15 and len(r.auc_by_repeat) == 3
    assert r.auc == pytest.approx(r.folds["auc"].mean())
    for k in range(3):
        assert r.auc_by_repeat[k] == pytest.approx(r.folds.loc[r.folds["repeat"] == k, "auc"].mean())
    # the corrected repeated-CV t interval, by hand: (1/J + 1/(K − 1)) · s², t with J − 1 df
    from scipy import stats

    a = r.folds["auc"].to_numpy()
    half = stats.t.ppf(0.975, 14) * np.sqrt((1 / 15 + 1 / 4) * a.var(ddof=1))
    assert r.auc_ci_low == pytest.approx(max(a.mean() - half, 0)) and r.auc_ci_high == pytest.approx(min(a.mean() + half, 1))
    assert r.ci_method.startswith("corrected repeated-CV t")
    # each repeat's pooled out-of-fold AUC is kept beside it (not the headline)
    from exomir.stats import roc

    assert r.auc_pooled_by_repeat[2] == pytest.approx(roc.roc_auc(r.probability_by_repeat[2], y, "higher_in_case").auc)


def test_perfect_separation_in_every_fold_gets_a_score_interval():
    X, y = _noise(seed=3, n=40, p=10)
    X.loc[y, "miR-0"] += 10.0
    r = panel.nested_cv(X, y, penalty="l2", Cs=(1.0,), max_features=(3,), seed=0, progress=False)
    assert r.auc == 1.0 and "newcombe" in r.ci_method
    assert 0.85 < r.auc_ci_low < 1.0 and r.auc_ci_high == pytest.approx(1.0)


def test_permutation_p_of_the_whole_nested_procedure():
    X, y = _noise(seed=5, n=40, p=30)
    options = {"penalty": "l2", "Cs": (1.0,), "max_features": (5,), "inner_folds": 3}
    observed = panel.nested_cv(X, y, seed=2, progress=False, **options).auc
    p, null = panel.permutation_test(X, y, observed, n_perm=19, seed=2, **options)
    assert null.shape == (19,) and p == pytest.approx((1 + np.sum(null >= observed - 1e-12)) / 20)
    assert p > 0.05  # noise: nothing to find
    X.loc[y, ["miR-0", "miR-1"]] += 1.5
    strong = panel.nested_cv(X, y, seed=2, progress=False, **options).auc
    p_strong, _ = panel.permutation_test(X, y, strong, n_perm=19, seed=2, **options)
    assert p_strong == pytest.approx(1 / 20)  # the smallest p 19 permutations can give
    again, _ = panel.permutation_test(X, y, strong, n_perm=19, seed=2, **options)
    assert again == p_strong


def test_validated_threshold_is_chosen_without_the_fold_it_judges():
    from exomir.stats._panel_cv import validated_threshold

    y = np.r_[np.ones(6, bool), np.zeros(6, bool)]
    # two folds; in each, the other fold's best cut is 0.5, which misclassifies one case here
    prob = np.array([[0.9, 0.8, 0.4, 0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3]])
    fold_of = np.array([[0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]])
    got = validated_threshold(prob, y, fold_of)
    assert got["sensitivity"] == pytest.approx(5 / 6) and got["specificity"] == pytest.approx(1.0)


def test_calibration_slope_and_intercept():
    rng = np.random.default_rng(0)
    lp = rng.normal(0, 1.5, 6000)
    y = rng.random(lp.size) < 1 / (1 + np.exp(-lp))
    good = panel.calibration(y, 1 / (1 + np.exp(-lp)))
    assert good["calibration_slope"] == pytest.approx(1.0, abs=0.08)
    assert good["calibration_intercept"] == pytest.approx(0.0, abs=0.08)
    overfit = panel.calibration(y, 1 / (1 + np.exp(-2 * lp)))  # too extreme → slope ≈ 0.5
    assert overfit["calibration_slope"] == pytest.approx(0.5, abs=0.05)
    shifted = panel.calibration(y, 1 / (1 + np.exp(-(lp + 1))))  # too high → intercept ≈ −1
    assert shifted["calibration_intercept"] == pytest.approx(-1.0, abs=0.08)
    p = 1 / (1 + np.exp(-lp))
    assert good["brier"] == pytest.approx(np.mean((p - y) ** 2))


def test_net_benefit_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.3, 0.1, 0.1, 0.05])
    nb = panel.net_benefit(y, p, [0.25, 0.5])
    # pt 0.25: called 0.9 0.6 0.7 0.3 → TP 2, FP 2; 2/8 − 2/8·(1/3)
    assert nb[0] == pytest.approx(2 / 8 - 2 / 8 * (0.25 / 0.75))
    assert nb[1] == pytest.approx(2 / 8 - 1 / 8)
    curve = panel.decision_curve(y, {"m": p}, [0.25])
    assert curve.set_index("model").loc["treat_all", "net_benefit"] == pytest.approx(3 / 8 - 5 / 8 / 3)


def test_nri_and_idi_by_hand():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    old = np.array([0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8])
    new = np.array([0.5, 0.5, 0.5, 0.9, 0.1, 0.5, 0.3, 0.65])
    cont = panel.nri(y, new, old)
    # events: up 3 (0.2→.5, .4→.5, .8→.9), down 1 → 0.5; non-events: down 3, up 1 → 0.5
    assert cont["events_component"] == pytest.approx(0.5)
    assert cont["nonevents_component"] == pytest.approx(0.5)
    assert cont["estimate"] == pytest.approx(1.0)
    var = (1.0 - 0.25) / 4 + (1.0 - 0.25) / 4
    assert cont["se"] == pytest.approx(np.sqrt(var))
    cat = panel.nri(y, new, old, cutoffs=[0.3, 0.7])
    # categories old: 0,1,1,2 | 0,1,1,2; new: 1,1,1,2 | 0,1,1,1 → events up 1; non-events down 1
    assert cat["events_component"] == pytest.approx(0.25)
    assert cat["nonevents_component"] == pytest.approx(0.25)
    result = panel.idi(y, new, old)
    d = new - old
    assert result["estimate"] == pytest.approx(d[y].mean() - d[~y].mean())
    assert result["se"] == pytest.approx(np.sqrt(d[y].var(ddof=1) / 4 + d[~y].var(ddof=1) / 4))


def test_early_stage_parsing():
    got = panel.is_early_stage(["Stage I", "stage IA", "Stage II", "Stage IIIA", "BCLC 0", "BCLC-A", "B",
                                "A", "IV", None, "", "[Not Available]"])  # fmt: skip
    assert got.tolist()[:9] == [True, True, False, False, True, True, False, True, False]
    assert got.isna().tolist()[9:] == [True, True, True]


def _cohort(seed=3):
    rng = np.random.default_rng(seed)
    n_h, n_c = 70, 80
    y = np.r_[np.ones(n_h, bool), np.zeros(n_c, bool)]
    X = rng.normal(size=(y.size, 20))
    X[y, :3] += 0.9
    afp = np.exp(rng.normal(1.5, 1.0, y.size) + 1.8 * y * (rng.random(y.size) < 0.6))
    stage = np.where(y, rng.choice(["Stage I", "Stage II", "Stage III"], y.size), "")
    obs = pd.DataFrame({"group": np.where(y, "HCC", "LC"), "afp": afp, "stage": stage},
                       index=[f"s{i}" for i in range(y.size)])  # fmt: skip
    obs.loc["s5", "afp"] = np.nan
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"miR-{i}" for i in range(20)]))


def test_panel_analysis_against_afp_with_subgroups():
    adata = _cohort()
    res = panel_tools.panel_analysis(adata, "group", "HCC", "LC", afp="afp", stage="stage", penalty="l1",
                               permutations=4, bootstraps=4, repeats=2, inner_folds=3, seed=2, Cs=(0.1, 1.0),
                               max_features=(3, 6))  # fmt: skip
    s = res.summary.set_index("mirna")
    assert list(s.index) == ["mirna_panel", "mirna_afp_panel", "AFP"]
    assert list(res.summary.columns[:12]) == ["mirna", "comparison", "n_case", "n_control", "auc", "auc_ci_low",
                                              "auc_ci_high", "ci_method", "direction", "threshold",
                                              "sensitivity", "specificity"]  # fmt: skip
    assert (s["n_case"] == 69).all() and (s["n_control"] == 80).all()  # s5 has no AFP
    assert s.loc["mirna_afp_panel", "auc"] > s.loc["AFP", "auc"]
    assert s.loc["mirna_afp_panel", "vs_afp_pvalue"] < 0.05
    assert s.loc["AFP", "features"] == "AFP"
    assert set(s.loc["mirna_panel", "features"].split(";")) >= {"miR-0", "miR-1", "miR-2"}
    # out-of-fold AUC recomputed from the stored predictions
    from exomir.stats import roc

    oof = res.out_of_fold
    pooled = roc.roc_auc(oof["AFP"], oof["is_case"], "higher_in_case").auc
    # (the table's figure is the mean of each repeat's pooled AUC; here the repeats' mean probability)
    assert pooled == pytest.approx(s.loc["AFP", "auc_pooled_out_of_fold"], abs=0.01)
    assert s.loc["AFP", "auc"] == pytest.approx(s.loc["AFP", "auc_repeat_mean"])
    assert (s["n_repeats"] == 2).all() and (s["auc_repeat_sd"] >= 0).all()
    # permutation p of the panel against chance; apparent figures named so
    assert (s["n_permutations"] == 4).all() and s.loc["mirna_afp_panel", "pvalue"] == pytest.approx(0.2)
    assert s["pvalue_method"].str.startswith("permutation").all()
    # the interval: bootstrap of the whole nested CV, around the reported AUC
    assert (s["n_bootstraps"] == 4).all() and s["ci_method"].str.startswith("bootstrap of the whole nested CV").all()
    assert ((s["auc_ci_low"] < s["auc"]) & (s["auc"] < s["auc_ci_high"])).all()
    assert (s["auc_apparent"] >= s["auc"] - 0.02).all()
    assert s["threshold_estimate"].str.startswith("validated").all()
    # validated calibration, net benefit and NRI/IDI are columns of the summary (panels.csv)
    calib = res.calibration.set_index("model")
    assert s.loc["mirna_panel", "calibration_slope"] == pytest.approx(calib.loc["mirna_panel", "calibration_slope"])
    assert s.loc["mirna_afp_panel", "idi"] > 0 and np.isnan(s.loc["AFP", "idi"])
    curve = res.decision_curve
    nb = curve[(curve["model"] == "mirna_afp_panel") & np.isclose(curve["threshold"], 0.2)]["net_benefit"].iloc[0]
    assert s.loc["mirna_afp_panel", "net_benefit_at_0.2"] == pytest.approx(nb)
    # reclassification against AFP alone
    rc = res.reclassification
    assert set(rc["measure"]) == {"NRI (categorical)", "NRI (continuous)", "IDI"}
    idi_row = rc[(rc["model"] == "mirna_afp_panel") & (rc["measure"] == "IDI")].iloc[0]
    assert idi_row["estimate"] > 0
    # subgroups: early-stage cases against all controls; AFP-negative samples
    sub = res.subgroups
    early = sub[sub["subgroup"].str.startswith("early")]
    obs = adata.obs.drop(index="s5")
    n_early = int(((obs["group"] == "HCC") & (obs["stage"] == "Stage I")).sum())
    assert (early["n_case"] == n_early).all() and (early["n_control"] == 80).all()
    neg = sub[sub["subgroup"].str.startswith("AFP-negative")]
    assert (neg["n_case"] == int(((obs["group"] == "HCC") & (obs["afp"] < 20)).sum())).all()
    assert set(res.calibration["model"]) == {"mirna_panel", "mirna_afp_panel", "AFP"}
    assert set(res.decision_curve["model"]) >= {"treat_all", "treat_none", "AFP"}
    assert res.panels["mirna_afp_panel"].forced == ["AFP"]
    assert (exclusions(adata)["item"] == "s5").any()


def test_panel_analysis_rejects_bad_input():
    adata = _cohort()
    with pytest.raises(InputError, match="no column 'afp_level'"):
        panel_tools.panel_analysis(adata, "group", "HCC", "LC", afp="afp_level")
    with pytest.raises(InputError, match="penalty"):
        panel.nested_cv(pd.DataFrame(np.zeros((10, 2))), np.r_[np.ones(5), np.zeros(5)], penalty="ridge")


def test_bootstrap_interval_scales_the_draws_logit_variance_by_the_measured_ratio():
    from scipy.special import expit, logit

    from exomir.stats.panel import bootstrap_cv_interval

    low, high, se, method = bootstrap_cv_interval(0.7, np.array([0.6, 0.7, 0.8, np.nan]), 20, 20)
    assert se == pytest.approx(np.sqrt(np.var(logit([0.6, 0.7, 0.8]), ddof=1) / 1.8))  # the three finite draws
    assert (low, high) == pytest.approx((expit(logit(0.7) - 1.959964 * se), expit(logit(0.7) + 1.959964 * se)))
    assert 0.7 - low > high - 0.7  # asymmetric: more room below an AUC above 0.5
    assert method == "bootstrap of the whole nested CV (3 draws, logit scale, variance / 1.8)"
    # the estimate's own repeat-to-repeat variance is taken as measured (over its 3 repeats), not scaled
    repeats = [0.68, 0.7, 0.72]
    s2 = np.var(logit(repeats), ddof=1)
    _, _, se_r, _ = bootstrap_cv_interval(0.7, np.array([0.6, 0.7, 0.8]), 20, 20, repeats)
    assert se_r == pytest.approx(np.sqrt((np.var(logit([0.6, 0.7, 0.8]), ddof=1) - s2) / 1.8 + s2 / 3))
    # a draw at 1 counts as half a discordant pair (20 x 20): finite, the upper bound stays below 1
    low, high, _, _ = bootstrap_cv_interval(0.98, np.array([0.9, 1.0, 1.0]), 20, 20)
    assert 0.5 < low < 0.9 and 0.99 < high < 1.0
    # every draw the same: no spread to use, Newcombe's interval instead
    low, high, se, method = bootstrap_cv_interval(1.0, np.array([1.0, 1.0, 1.0]), 10, 10)
    assert se == 0.0 and method.startswith("newcombe") and 0.8 < low < 0.9 and high == 1.0
    assert np.isnan(bootstrap_cv_interval(0.7, np.array([0.6]), 20, 20)[0])


def test_bootstrap_draws_keep_each_samples_copies_in_one_fold(monkeypatch):
    from exomir.stats import panel

    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.standard_normal((40, 6)), columns=[f"m{i}" for i in range(6)])
    y = np.arange(40) < 18
    x.loc[y, "m0"] += 1.5
    seen = []
    real = panel.nested_cv

    def spy(X, labels, **kw):
        seen.append((X.to_numpy(), np.asarray(labels), np.asarray(kw["groups"])))
        return real(X, labels, **kw)

    monkeypatch.setattr(panel, "nested_cv", spy)
    options = dict(penalty="l2", Cs=(1.0,), max_features=(3,), inner_folds=3, outer_folds=4)
    first = panel.bootstrap_aucs(x, y, n_boot=6, seed=3, **options)
    assert len(seen) == 6 and np.isfinite(first).all() and (first > 0.5).mean() >= 5 / 6
    for values, labels, groups in seen:
        assert labels.sum() == 18 and labels.size == 40  # each class keeps its size
        for g in np.unique(groups):  # a group is the copies of one sample
            rows = values[groups == g]
            assert (rows == rows[0]).all()
        assert len(np.unique(groups)) < 40  # draws with replacement repeat samples
    again = panel.bootstrap_aucs(x, y, n_boot=6, seed=3, **options)
    assert np.array_equal(first, again)  # seeded
    # whole patients are drawn when samples are grouped
    seen.clear()
    patients = np.repeat(np.arange(20), 2)
    panel.bootstrap_aucs(x, np.repeat(np.arange(20) < 9, 2), n_boot=2, seed=3, groups=patients, **options)
    for _, labels, groups in seen:
        assert all((groups == g).sum() % 2 == 0 for g in np.unique(groups))
