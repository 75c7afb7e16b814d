"""Locked diagnostic model: training, the canonical checksummed file, scoring and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from exomir.errors import InputError
from exomir.model import LockedModel, load_model, model_from_text, save_model, score_cohort, score_files, train_model
from exomir.model import canonical
from exomir.simulate import simulate_cohort
from exomir.simulate import _effects as fx
from exomir.stats import roc

# Cohorts drawn with different sample seeds come from one population (the simulator's
# population_seed), so the validation cohort is independent of, and comparable to, the training one.
N_MIRNAS = len(fx.FIXED_CPM)
N_MIRNAS_REALISTIC = 150
FAST = dict(inner_folds=3, max_features=(3, 6), Cs=(0.1, 1.0))


@pytest.fixture(scope="module")
def training():
    return simulate_cohort(160, n_mirnas=N_MIRNAS_REALISTIC, seed=51)


@pytest.fixture(scope="module")
def model(training) -> LockedModel:
    return LockedModel(train_model(training, seed=0, **FAST))


@pytest.fixture(scope="module")
def validation():
    return simulate_cohort(600, n_mirnas=N_MIRNAS_REALISTIC, seed=52)


def _is_case(adata) -> np.ndarray:
    return (adata.obs["group"].astype(str) == "HCC").to_numpy()


def test_independent_cohort_auc_within_training_interval(model, validation):
    perf = model.content["performance"]
    scores = score_cohort(model, validation)
    result = roc.roc_auc(scores["probability"].to_numpy(), _is_case(validation), "higher_in_case")
    assert perf["cv_auc_ci_low"] <= result.auc <= perf["cv_auc_ci_high"], (result.auc, perf)
    assert result.auc > 0.95
    # the planted HCC markers carry the panel
    names = {f["canonical_name"] for f in model.features}
    assert {"hsa-miR-10b-5p", "hsa-miR-21-5p"} <= names
    # the locked threshold keeps most of its sensitivity and specificity in the new cohort
    called = (scores["class"] == "HCC").to_numpy()
    y = _is_case(validation)
    assert called[y].mean() > 0.85 and (~called[~y]).mean() > 0.85


def test_held_out_samples_of_the_same_population():
    big = simulate_cohort(560, n_mirnas=N_MIRNAS, seed=41)
    train, test = big[:160].copy(), big[160:].copy()
    locked = LockedModel(train_model(train, seed=0, **FAST))
    perf = locked.content["performance"]
    scores = score_cohort(locked, test)
    y = _is_case(test)
    auc = roc.roc_auc(scores["probability"].to_numpy(), y, "higher_in_case").auc
    assert perf["cv_auc_ci_low"] <= auc <= perf["cv_auc_ci_high"]
    # calibrated probabilities: mean predicted risk close to the observed share of cases
    assert abs(scores["probability"].mean() - y.mean()) < 0.05


def test_model_content(model, training):
    c = model.content
    assert c["format"] == "exomir-locked-model" and c["measure"] == "counts"
    prep = c["preprocessing"]
    # median-of-ratios references: the miRNAs with reads in every training sample
    counts = np.nan_to_num(np.asarray(training.layers["counts"], dtype=float))
    assert prep["normalization"] == "median_of_ratios"
    assert len(prep["references"]) == int(np.all(counts > 0, axis=0).sum()) > 0
    assert c["training"]["n_case"] == int(_is_case(training).sum())
    assert sum(c["training"]["n_per_group"].values()) == training.n_obs
    for f in model.features:
        assert f["mimat"].startswith("MIMAT") and f["scale"] > 0 and f["coefficient"] != 0
        assert f["training_min"] <= f["center"] <= f["training_max"]
    rules = {t["name"]: t for t in c["thresholds"]["rules"]}
    assert set(rules) == {"youden", "sensitivity_90", "specificity_90"}
    # the target is met on the predictions that chose the cut-off (apparent); judged on held-out
    # folds it is met only approximately
    assert rules["sensitivity_90"]["sensitivity_apparent"] >= 0.9
    assert rules["specificity_90"]["specificity_apparent"] >= 0.9
    assert rules["sensitivity_90"]["sensitivity"] >= 0.8 and rules["specificity_90"]["specificity"] >= 0.8
    for t in rules.values():
        assert t["estimated_on"].startswith("validated")
        assert t["sensitivity_ci_low"] <= t["sensitivity"] <= t["sensitivity_ci_high"]
        assert t["tp"] + t["fn"] == c["training"]["n_case"] and t["tn"] + t["fp"] == c["training"]["n_control"]
        n = t["tp"] + t["fn"]
        lo, hi = roc.wilson_interval(t["tp"], n)
        assert t["sensitivity_ci_low"] == pytest.approx(float(lo), abs=1e-9)
    assert c["calibration"]["slope"] > 0
    # recalibration judged on held-out folds: near 1 but not 1 by construction (the apparent
    # slope 1.0000000 of a recalibration judged on its own fitting data is not reported)
    held = c["calibration"]["held_out_after"]
    assert "out_of_fold_after" not in c["calibration"]
    assert 0.5 < held["calibration_slope"] < 2.0 and held["calibration_slope"] != pytest.approx(1.0, abs=1e-6)
    assert c["training"]["separating_features"] == []
    assert c["performance"]["cv_auc_ci_low"] < c["performance"]["cv_auc"] <= c["performance"]["cv_auc_ci_high"]


def test_locked_preprocessing_reproduces_the_cohort_normalization(model, training):
    """Scoring the training samples one by one gives the values of DESeq2 normalization of the whole cohort."""
    from exomir.preprocess.normalize import normalize

    scores = score_cohort(model, training)
    normalized = normalize(training.copy())
    for f in model.features:
        j = list(training.var_names).index(f["name"])
        np.testing.assert_allclose(scores[f"value_{f['name']}"].to_numpy(), normalized.X[:, j], rtol=1e-10)
    # contributions add up to the linear predictor
    parts = scores[[f"contribution_{f['name']}" for f in model.features]].sum(axis=1)
    np.testing.assert_allclose(parts + model.content["panel"]["intercept"], scores["linear_predictor"], rtol=1e-10)
    cal = model.content["calibration"]
    expected = 1 / (1 + np.exp(-(cal["intercept"] + cal["slope"] * scores["linear_predictor"])))
    np.testing.assert_allclose(scores["probability"], expected, rtol=1e-12)


def test_round_trip_is_byte_identical(model, tmp_path):
    first = save_model(model, tmp_path / "model.json")
    again = save_model(load_model(first), tmp_path / "again.json")
    assert first.read_bytes() == again.read_bytes()
    text = first.read_text()
    assert json.loads(text)["checksum"]["value"] == canonical.checksum(json.loads(text))
    assert text == canonical.dumps(json.loads(text))  # sorted keys, fixed float form
    assert "NaN" not in text and "Infinity" not in text


def test_same_cohort_and_seed_same_bytes(training, model):
    again = train_model(training, seed=0, **FAST)
    assert canonical.dumps(again) == model.to_text()


def test_tampering_is_detected(model, tmp_path):
    path = save_model(model, tmp_path / "model.json")
    content = json.loads(path.read_text())
    content["panel"]["features"][0]["coefficient"] *= 1.5
    path.write_text(canonical.dumps(content))
    with pytest.raises(InputError, match="checksum mismatch"):
        load_model(path)
    # a changed threshold is tampering too, even in the text's last digit
    text = model.to_text().replace('"locked": "youden"', '"locked": "sensitivity_90"')
    with pytest.raises(InputError, match="checksum"):
        model_from_text(text)
    with pytest.raises(InputError, match="not an exomir locked model"):
        model_from_text('{"format": "other"}')


def test_missing_feature_refused_and_named(model, validation, tmp_path):
    from exomir.simulate import write_cohort

    paths = write_cohort(validation[:40].copy(), f"{tmp_path}/cohort/")
    table = pd.read_csv(paths["expression"], index_col=0)
    dropped = model.features[-1]
    name = dropped["name"]
    assert name in table.index  # miRNAs are rows of the simulator's table
    table.drop(index=name).to_csv(tmp_path / "lacking.csv")
    with pytest.raises(InputError) as err:
        score_files(model, tmp_path / "lacking.csv")
    assert name in str(err.value) and dropped["mimat"] in str(err.value)
    # the full table scores
    scores = score_files(model, paths["expression"], paths["clinical"])
    assert len(scores) == 40 and scores["probability"].between(0, 1).all()


def test_two_columns_for_one_feature_refused(model, validation):
    import anndata as ad

    sub = validation[:40].copy()
    feature = model.features[0]
    extra = sub[:, [feature["name"]]].copy()
    extra.var_names = ["duplicate-of-" + feature["name"]]
    both = ad.concat([sub, extra], axis=1, merge="first", uns_merge="first")
    both.var["mimat"] = list(sub.var["mimat"]) + [feature["mimat"]]
    both.var["name"] = list(sub.var["name"]) + [feature["canonical_name"]]
    with pytest.raises(InputError, match="both measure " + feature["mimat"]):
        score_cohort(model, both)


def test_other_measure_refused(model):
    cq = simulate_cohort(40, measure="cq", n_mirnas=N_MIRNAS, seed=3)
    with pytest.raises(InputError, match="trained on counts"):
        score_cohort(model, cq)


def test_warnings_hemolysis_range_and_missing_values(model, validation):
    sub = validation[:120].copy()
    hemolysed = set(sub.obs_names) & set(validation.uns["exomir"]["planted"]["hemolysis"]["samples"])
    assert hemolysed
    feature = model.features[0]
    j = list(sub.var_names).index(feature["name"])
    sub.layers["counts"][0, j] = sub.layers["counts"][:, j].max() * 50  # far above anything seen at training
    scores = score_cohort(model, sub).set_index("sample")
    assert "above the training range" in scores.iloc[0]["qc_warnings"]
    flagged = scores.loc[sorted(hemolysed), "hemolysis"]
    assert (flagged.isin(["possible", "hemolysed"])).mean() >= 0.8
    suspect = scores["hemolysis"].isin(["possible", "hemolysed"])
    assert scores.loc[suspect, "qc_warnings"].str.contains("hemolysis").all()
    assert not scores.loc[~suspect, "qc_warnings"].str.contains("hemolysis").any()
    clean = scores.drop(index=sorted(hemolysed))
    assert (clean["hemolysis"] == "clean").mean() > 0.9


def test_cq_model_uses_global_mean_and_lod():
    from exomir.preprocess.qpcr import censor_nondetects, global_mean_dcq, place_nondetects_below

    cohort = simulate_cohort(160, measure="cq", n_mirnas=N_MIRNAS, seed=7)
    locked = LockedModel(train_model(cohort, controls=["LC", "CHB", "Healthy"], seed=0, **FAST))
    prep = locked.content["preprocessing"]
    assert prep["normalization"] == "global_mean_dcq" and prep["lod"] == 35.0
    assert "cel-miR-39-3p" not in {f["name"] for f in locked.features}  # spike-ins are not biomarkers
    reference = global_mean_dcq(censor_nondetects(cohort, lod=35.0))
    place_nondetects_below(reference)  # as exomir analyze: non-detects tie below every measured value
    scores = score_cohort(locked, cohort)
    for f in locked.features:
        j = list(reference.var_names).index(f["name"])
        np.testing.assert_allclose(scores[f"value_{f['name']}"].to_numpy(), -reference.X[:, j], rtol=1e-10)
    # a non-detect of a panel miRNA in a new sample follows the model's non-detect rule and is named
    new = cohort[:5].copy()
    j = list(new.var_names).index(locked.features[0]["name"])
    new.layers["cq"][0, j] = np.nan
    out = score_cohort(locked, new)
    assert "not detected: tied below every measured value" in out.loc[0, "qc_warnings"]
    assert np.isfinite(out["probability"]).all()


def test_train_refuses_unknown_groups_and_features(training):
    with pytest.raises(InputError, match="control group 'Cirrhosis' not found"):
        train_model(training, controls=["Cirrhosis"], **FAST)
    with pytest.raises(InputError, match="miR-99999"):
        train_model(training, features=["miR-21-5p", "miR-99999"], **FAST)


def test_cli_train_and_score(tmp_path, training, validation):
    from typer.testing import CliRunner

    from exomir.cli import app
    from exomir.io import write_h5ad
    from exomir.simulate import write_cohort

    write_h5ad(training, tmp_path / "train.h5ad")
    paths = write_cohort(validation[:50].copy(), f"{tmp_path}/new/")
    runner = CliRunner()
    result = runner.invoke(app, ["-q", "train", "--cohort", str(tmp_path / "train.h5ad"), "--out", str(tmp_path / "m.json"),
                                 "--afp", "afp_ng_ml", "--inner-folds", "3", "--max-features", "3,6", "--seed", "1"])
    assert result.exit_code == 0, result.output
    locked = load_model(tmp_path / "m.json")
    assert any(f["kind"] == "clinical" and f["transform"] == "log10p1" for f in locked.features)
    result = runner.invoke(app, ["-q", "score", "--model", str(tmp_path / "m.json"), "--expression", str(paths["expression"]),
                                 "--clinical", str(paths["clinical"]), "--out", str(tmp_path / "scores.csv")])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns[:9]) == ["sample", "probability", "class", "threshold", "linear_predictor",
                                        "probability_uncalibrated", "hemolysis", "n_warnings", "qc_warnings"]
    assert len(scores) == 50 and set(scores["class"]) == {"HCC", "not HCC (CHB, Healthy or LC)"}
    # AFP enters the model as log10(AFP + 1), and its column says so
    clinical = pd.read_csv(paths["clinical"]).set_index("sample_id").loc[scores["sample"]]
    np.testing.assert_allclose(scores["value_log10(afp_ng_ml+1)"], np.log10(clinical["afp_ng_ml"] + 1.0), rtol=1e-5)
    assert "value_afp_ng_ml" not in scores
    # AFP models refuse a table without clinical data, and nothing is written
    result = runner.invoke(app, ["-q", "score", "--model", str(tmp_path / "m.json"), "--expression", str(paths["expression"]),
                                 "--out", str(tmp_path / "none.csv")])
    assert isinstance(result.exception, InputError) and "afp_ng_ml" in str(result.exception)
    assert not (tmp_path / "none.csv").exists()


def test_perfect_separation_refuses_to_lock():
    """One miRNA separating HCC perfectly: statsmodels only warns, exomir detects it and locks nothing."""
    from exomir.errors import ExomirError

    cohort = simulate_cohort(120, n_mirnas=N_MIRNAS, seed=7)
    y = _is_case(cohort)
    counts = np.asarray(cohort.layers["counts"], dtype=float).copy()
    column = list(cohort.var_names).index("hsa-miR-21-5p")
    counts[:, column] = np.where(y, 50_000.0, 5.0)  # no overlap between the groups
    cohort.layers["counts"] = counts
    cohort.X = counts.copy()
    with pytest.raises(ExomirError, match="separate HCC from the controls perfectly.*no model was locked"):
        train_model(cohort, seed=0, **FAST)


def test_platt_detects_separation_itself():
    from exomir.model.train import _platt, _separates

    y = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    lp = np.r_[np.linspace(1, 2, 10), np.linspace(-2, 1, 10)]  # touching at 1: quasi-complete
    assert _separates(y, lp) and _platt(y, lp) is None
    lp[0] = -1.5
    assert not _separates(y, lp)
    a, b = _platt(y, lp)
    assert b > 0 and np.isfinite(a)
