"""A locked Cq model ranks non-detects as ``exomir analyze`` does: tied below every measured value
after normalization (never the LOD minus each sample's own global mean), for training and for
scored samples; ``exomir train --lod`` is recorded in the model; model files written before the
rule (no ``nondetect_floor``) still load and score as they were trained.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from exomir.model import LockedModel, load_model, model_from_text, score_cohort, train_model
from exomir.model import canonical
from exomir.model.preprocessing import fit_preprocessing
from exomir.preprocess.qpcr import censor_nondetects, global_mean_dcq, nondetect_floor, place_nondetects_below
from exomir.simulate import simulate_cohort
from exomir.simulate import _effects as fx

FAST = dict(outer_folds=3, inner_folds=3, max_features=(3,), Cs=(0.1, 1.0))
CONTROLS = ["LC", "CHB", "Healthy"]


@pytest.fixture(scope="module")
def cohort():
    """A simulated Cq array with ~15 % non-detects (no Cq, or Cq 40) scattered over half its miRNAs."""
    adata = simulate_cohort(160, measure="cq", n_mirnas=len(fx.FIXED_CPM), seed=7)
    rng = np.random.default_rng(11)
    cq = np.asarray(adata.layers["cq"], dtype=float).copy()
    for j in range(0, adata.n_vars, 2):
        if str(adata.var_names[j]).startswith("cel-"):
            continue
        rows = rng.uniform(size=adata.n_obs) < 0.15
        cq[rows, j] = np.where(rng.uniform(size=int(rows.sum())) < 0.5, np.nan, 40.0)
    adata.layers["cq"] = cq
    adata.X = cq.copy()
    return adata


@pytest.fixture(scope="module")
def locked(cohort):
    return LockedModel(train_model(cohort, controls=CONTROLS, seed=0, **FAST))


def _values(scores, name):
    return scores[f"value_{name}"].to_numpy(dtype=float)


def test_training_values_are_those_of_analyze(cohort):
    prep, values = fit_preprocessing(cohort, lod=35.0)
    reference = global_mean_dcq(censor_nondetects(cohort, lod=35.0))
    placed = place_nondetects_below(reference)
    assert placed > 0  # the simulated array has non-detects to place
    np.testing.assert_allclose(values.to_numpy(), -np.asarray(reference.X), rtol=1e-12)
    assert prep["nondetect_floor"] == pytest.approx(nondetect_floor(reference.obs["global_mean_cq"], 35.0), abs=1e-12)
    # every non-detect ties at the floor, every measured value lies at or above it
    raw = np.asarray(reference.layers["cq"], dtype=float)
    missed = ~(np.isfinite(raw) & (raw <= 35.0))
    table = values.to_numpy()
    assert np.all(table[missed] == prep["nondetect_floor"])
    assert np.all(table[~missed & np.isfinite(table)] >= prep["nondetect_floor"])


def test_a_scored_non_detect_never_ranks_above_a_measured_value(locked, cohort):
    mirnas = [f["name"] for f in locked.features if f["kind"] == "mirna"]
    assert mirnas
    name = mirnas[0]
    j = list(cohort.var_names).index(name)
    # sample 0 has the highest training global mean, sample 2 the lowest: under the earlier rule
    # (LOD minus the sample's own global mean) 0's non-detect ranked above 2's Cq measured at the LOD
    means = global_mean_dcq(censor_nondetects(cohort, lod=35.0)).obs["global_mean_cq"].to_numpy()
    hi, lo = int(np.argmax(means)), int(np.argmin(means))
    others = [i for i in range(cohort.n_obs) if i not in (hi, lo)][:9]
    new = cohort[[hi, others[0], lo, *others[1:]]].copy()
    assert means[hi] - means[lo] > 0.5
    cq = np.asarray(new.layers["cq"], dtype=float).copy()
    cq[0, j] = np.nan  # not detected
    cq[1, j] = 38.0  # above the LOD: not detected
    cq[2, j] = 35.0  # measured at the LOD
    # a sample whose global mean lies below every training sample's (all its Cq 6 cycles earlier)
    cq[3, :] = np.where(np.isfinite(cq[3, :]) & (cq[3, :] <= 35.0), cq[3, :] - 6.0, cq[3, :])
    cq[3, j] = 34.9  # measured, but after a low global mean its −ΔCq falls below the training floor
    new.layers["cq"] = cq
    new.X = cq.copy()
    scores = score_cohort(locked, new)
    values = _values(scores, name)
    floor = locked.content["preprocessing"]["nondetect_floor"]
    assert values[0] == values[1] == floor
    measured = np.delete(values, [0, 1])
    assert measured.min() >= floor  # ties at most, never a non-detect above a measured value
    assert values[3] == floor  # raised, and the sample is told
    assert "raised to it" in scores.loc[3, "qc_warnings"]
    assert "not detected: tied below every measured value" in scores.loc[0, "qc_warnings"]
    assert values[2] == pytest.approx(floor, abs=1e-9)  # measured at the LOD in the lowest-mean sample: a tie
    # and against the training cohort: below every measured training value of that miRNA
    _, training = fit_preprocessing(cohort[cohort.obs["group"].isin(["HCC", *CONTROLS])].copy(), lod=35.0)
    raw = np.asarray(cohort.layers["cq"], dtype=float)[:, j]
    assert values[0] <= training[name].to_numpy()[np.isfinite(raw) & (raw <= 35.0)].min()


def test_scoring_the_training_samples_gives_the_training_values(locked, cohort):
    _, training = fit_preprocessing(cohort, lod=35.0)
    scores = score_cohort(locked, cohort)
    for f in locked.features:
        if f["kind"] == "mirna":
            np.testing.assert_allclose(_values(scores, f["name"]), training[f["name"]].to_numpy(), rtol=1e-10)


def test_train_lod_is_recorded_and_used(cohort):
    content = train_model(cohort, controls=CONTROLS, seed=0, lod=33.0, **FAST)
    prep = content["preprocessing"]
    assert prep["lod"] == 33.0
    reference = global_mean_dcq(censor_nondetects(cohort, lod=33.0), lod=33.0)
    assert prep["nondetect_floor"] == pytest.approx(float(reference.obs["global_mean_cq"].min()) - 33.0, abs=1e-9)
    assert "33" in content["missing_values"]["cq"]


def test_cli_train_lod(tmp_path, cohort):
    from typer.testing import CliRunner

    from exomir.cli import app
    from exomir.io import write_h5ad

    write_h5ad(cohort, tmp_path / "train.h5ad")
    args = ["-q", "train", "--cohort", str(tmp_path / "train.h5ad"), "--out", str(tmp_path / "m.json"),
            "--control", "LC,CHB,Healthy", "--outer-folds", "3", "--inner-folds", "3", "--max-features", "3"]
    result = CliRunner().invoke(app, [*args, "--lod", "36.5"])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.json")
    assert model.content["preprocessing"]["lod"] == 36.5
    assert model.content["preprocessing"]["nondetect_floor"] < 0
    bad = CliRunner().invoke(app, [*args, "--lod", "-1"])
    assert bad.exit_code != 0 and "--lod" in str(bad.exception)


def test_model_file_without_floor_still_loads_and_scores_as_trained(locked, cohort):
    old = json.loads(canonical.dumps(locked.content))
    del old["preprocessing"]["nondetect_floor"]
    old["preprocessing"]["nondetect_rule"] = "Cq missing or above 35 set to 35 (the LOD)"
    old.pop("checksum")
    text = canonical.dumps(canonical.seal(old))
    model = model_from_text(text)  # checksum and schema accept the earlier file
    name = next(f["name"] for f in model.features if f["kind"] == "mirna")
    j = list(cohort.var_names).index(name)
    new = cohort[:6].copy()
    cq = np.asarray(new.layers["cq"], dtype=float).copy()
    cq[0, j] = np.nan
    new.layers["cq"] = cq
    new.X = cq.copy()
    scores = score_cohort(model, new)
    # the earlier rule: the LOD against the sample's own global mean, and said so
    reference = global_mean_dcq(censor_nondetects(cohort, lod=35.0))
    used = np.asarray(reference.var["in_global_mean"], dtype=bool)
    raw = np.asarray(cohort.layers["cq"], dtype=float)[0, used]
    assert _values(scores, name)[0] == pytest.approx(raw.mean() - 35.0, abs=1e-9)
    assert "set to the LOD" in scores.loc[0, "qc_warnings"]


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_training_detection_filter_is_group_aware(cohort):
    """A miRNA measured in every HCC sample and missed by most others (70 % non-detects overall)
    stays a candidate of the locked model, as it stays in exomir analyze."""
    adata = cohort.copy()
    j = next(k for k in range(1, adata.n_vars, 2) if not str(adata.var_names[k]).startswith("cel-"))
    name = str(adata.var_names[j])
    is_case = (adata.obs["group"] == "HCC").to_numpy()
    assert 0.25 < is_case.mean() < 0.5
    cq = np.asarray(adata.layers["cq"], dtype=float).copy()
    # missed in most controls, not all: a marker that alone separated the groups would (rightly) be
    # refused a locked model, as a perfectly separating training cohort cannot be calibrated
    controls = np.flatnonzero(~is_case)
    missed = np.zeros(adata.n_obs, dtype=bool)
    missed[controls[np.arange(controls.size) % 8 != 0]] = True
    cq[missed, j] = np.nan
    assert (~missed).mean() < 0.5
    adata.layers["cq"] = cq
    adata.X = cq.copy()
    _, pooled = fit_preprocessing(adata, lod=35.0)
    assert name not in pooled.columns  # the filter over all samples drops it
    prep, by_group = fit_preprocessing(adata, lod=35.0, groups=adata.obs["group"])
    assert name in by_group.columns and prep["nondetect_filter_by_group"] is True
    values = by_group[name].to_numpy()
    assert np.all(values[missed] == prep["nondetect_floor"]) and np.all(values[~missed] >= prep["nondetect_floor"])
    content = train_model(adata, controls=CONTROLS, seed=0, **FAST)
    assert name in {f["name"] for f in content["panel"]["features"]}  # the marker reaches the locked panel
    assert content["preprocessing"]["nondetect_filter_by_group"] is True
