"""Hostile locked-model files: every damaged, unsound or foreign file is refused with a message
naming the file and the problem, never a traceback and never a score; signing with HMAC-SHA256;
samples with too much of their panel missing are not called."""

from __future__ import annotations

import copy
import csv
import io
import json

import numpy as np
import pytest

from exomir.errors import InputError
from exomir.model import LockedModel, canonical, load_model, read_key, save_model, score_cohort, sign_model, train_model
from exomir.model.schema import MAX_ABS_COEFFICIENT
from exomir.model.score import NOT_CALLED, scores_csv_text
from exomir.simulate import simulate_cohort
from exomir.simulate import _effects as fx

N_MIRNAS = len(fx.FIXED_CPM)


@pytest.fixture(scope="module")
def model() -> LockedModel:
    cohort = simulate_cohort(80, n_mirnas=N_MIRNAS, seed=9)
    return LockedModel(train_model(cohort, seed=0, inner_folds=3, outer_folds=3, max_features=(3,), Cs=(1.0,)))


@pytest.fixture(scope="module")
def new_samples():
    return simulate_cohort(32, n_mirnas=N_MIRNAS, seed=10)[:12].copy()


def _set(path: str, value):
    """An edit: set the value at a dotted path (list indices as numbers)."""

    def edit(content: dict) -> None:
        *parents, last = path.split(".")
        node = content
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _locked_rule(content: dict) -> int:
    return next(i for i, r in enumerate(content["thresholds"]["rules"]) if r["name"] == content["thresholds"]["locked"])


def _threshold(value):
    return lambda c: c["thresholds"]["rules"][_locked_rule(c)].__setitem__("probability_threshold", value)


def _duplicate_feature(c):
    c["panel"]["features"].append(copy.deepcopy(c["panel"]["features"][0]))


def _duplicate_mimat(c):
    twin = copy.deepcopy(c["panel"]["features"][0])
    twin["name"] = twin["name"] + "_copy"
    c["panel"]["features"].append(twin)


def _same_classes(c):
    c["task"]["negative_class"] = c["task"]["positive_class"]


def _drop(path: str):
    def edit(c):
        *parents, last = path.split(".")
        node = c
        for key in parents:
            node = node[key]
        del node[last]

    return edit


def _swap_range(c):
    f = c["panel"]["features"][0]
    f["training_min"], f["training_max"] = f["training_max"] + 1, f["training_min"] - 1


def _duplicate_rule(c):
    c["thresholds"]["rules"].append(copy.deepcopy(c["thresholds"]["rules"][0]))


# (edit, words the message must contain); each file is sealed again, so the checksum passes and
# only the schema stands between the file and a wrong call
RESEALED = {
    "threshold 1.5": (_threshold(1.5), "probability_threshold"),
    "threshold -3": (_threshold(-3.0), "probability_threshold"),
    "threshold 0": (_threshold(0.0), "probability_threshold"),
    "threshold 1": (_threshold(1.0), "probability_threshold"),
    "threshold as text": (_threshold("0.5"), "probability_threshold"),
    "threshold true": (_threshold(True), "probability_threshold"),
    "scale 0": (_set("panel.features.0.scale", 0.0), "scale"),
    "scale negative": (_set("panel.features.0.scale", -1.0), "scale"),
    "coefficient 1e308": (_set("panel.features.0.coefficient", 1e308), "coefficient"),
    "coefficient beyond bounds": (_set("panel.features.0.coefficient", MAX_ABS_COEFFICIENT * 10), "coefficient"),
    "coefficient null": (_set("panel.features.0.coefficient", None), "coefficient"),
    "coefficient text": (_set("panel.features.0.coefficient", "0.5"), "coefficient"),
    "coefficient list": (_set("panel.features.0.coefficient", [1.0]), "coefficient"),
    "centre null": (_set("panel.features.0.center", None), "center"),
    "impute value 1e300": (_set("panel.features.0.impute_value", 1e300), "impute_value"),
    "intercept text": (_set("panel.intercept", "zero"), "intercept"),
    "empty feature list": (_set("panel.features", []), "features"),
    "features not a list": (_set("panel.features", {"a": 1}), "features"),
    "duplicated feature": (_duplicate_feature, "appears twice"),
    "duplicated MIMAT": (_duplicate_mimat, "appears twice"),
    "empty feature name": (_set("panel.features.0.name", ""), "name"),
    "unknown feature kind": (_set("panel.features.0.kind", "gene"), "kind"),
    "unknown transform": (_set("panel.features.0.transform", "exp"), "transform"),
    "malformed MIMAT": (_set("panel.features.0.mimat", "MIMAT12"), "mimat"),
    "training range reversed": (_swap_range, "training_min"),
    "calibration slope negative": (_set("calibration.slope", -1.2), "slope"),
    "calibration slope 0": (_set("calibration.slope", 0.0), "slope"),
    "calibration slope 1e308": (_set("calibration.slope", 1e308), "slope"),
    "calibration missing": (_drop("calibration"), "calibration"),
    "positive class = negative class": (_same_classes, "both"),
    "case among the controls": (lambda c: c["task"]["controls"].append(c["task"]["case"]), "also a control"),
    "no controls": (_set("task.controls", []), "controls"),
    "dangling locked threshold": (_set("thresholds.locked", "nonexistent"), "nonexistent"),
    "no threshold rules": (_set("thresholds.rules", []), "rules"),
    "repeated threshold names": (_duplicate_rule, "repeat"),
    "sensitivity 2": (lambda c: c["thresholds"]["rules"][0].__setitem__("sensitivity", 2.0), "sensitivity"),
    "unknown measure": (_set("measure", "tpm"), "measure"),
    "measure and preprocessing disagree": (_set("measure", "log"), "preprocessing"),
    "normalization of another measure": (_set("preprocessing.normalization", "global_mean_dcq"), "normalized"),
    "reference without geometric mean": (_set("preprocessing.references.0.log_geomean", None), "log_geomean"),
    "no references": (_set("preprocessing.references", []), "reference"),
    "cv AUC 1.7": (_set("performance.cv_auc", 1.7), "cv_auc"),
    "cv AUC outside its interval": (_set("performance.cv_auc_ci_low", 0.999999), "outside its interval"),
    "trained on 0 samples": (_set("training.n_samples", 0), "n_samples"),
    "panel missing": (_drop("panel"), "panel"),
}


def _reseal(content: dict) -> str:
    body = {k: v for k, v in content.items() if k != canonical.CHECKSUM_KEY}
    body[canonical.CHECKSUM_KEY] = {"algorithm": "sha256", "value": canonical.checksum(body)}
    return canonical.dumps(body)


@pytest.mark.parametrize("probe", sorted(RESEALED))
def test_unsound_files_are_refused_even_with_a_valid_checksum(model, tmp_path, probe):
    edit, words = RESEALED[probe]
    content = copy.deepcopy(model.content)
    edit(content)
    path = tmp_path / "hostile.json"
    path.write_text(_reseal(content), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_model(path)
    message = str(caught.value)
    assert str(path) in message and "not sound" in message, message
    assert words in message, message


def test_literal_nan_and_infinity_are_refused(model, tmp_path):
    text = canonical.dumps(model.content)
    coefficient = json.dumps(model.features[0]["coefficient"])
    for literal in ("NaN", "Infinity", "-Infinity"):
        path = tmp_path / f"{literal}.json"
        path.write_text(text.replace(f'"coefficient": {coefficient}', f'"coefficient": {literal}', 1))
        with pytest.raises(InputError, match=f"{literal} is not a number a model may hold") as caught:
            load_model(path)
        assert str(path) in str(caught.value)


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "", None, "SHA256"])
def test_only_the_supported_checksum_algorithm(model, tmp_path, algorithm):
    content = copy.deepcopy(model.content)
    content["checksum"]["algorithm"] = algorithm
    path = tmp_path / "algo.json"
    path.write_text(canonical.dumps(content))
    with pytest.raises(InputError, match="checksum algorithm .* is not supported"):
        load_model(path)


@pytest.mark.parametrize("text", ["", "[]", "null", '"model"', "{", '{"format": "exomir-locked-model"}',
                                  '{"format": "exomir-locked-model", "format_version": 2}',
                                  '{"format": "exomir-locked-model", "format_version": 1, "checksum": "abc"}',
                                  "[" * 100_000 + "]" * 100_000])  # fmt: skip
def test_foreign_and_broken_files(tmp_path, text):
    path = tmp_path / "foreign.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


def test_the_written_model_passes_and_round_trips(model, tmp_path):
    path = save_model(model, tmp_path / "ok.json")
    assert load_model(path).content == model.content


def test_hmac_signature(model, tmp_path, monkeypatch):
    path = save_model(model, tmp_path / "panel.json")
    key_file = tmp_path / "lab.key"
    key_file.write_text("correct horse battery staple 2026\n")
    key = read_key(key_file)
    sign_model(path, key)
    signed = load_model(path, key=key)
    assert signed.checksum == model.checksum  # the signature sits outside the checksum
    assert signed.content["signature"]["algorithm"] == "hmac-sha256"
    # a server given the key refuses unsigned files and files signed with another key
    with pytest.raises(InputError, match="not signed"):
        load_model(save_model(model, tmp_path / "unsigned.json"), key=key)
    other = b"another lab's key of enough bytes"
    with pytest.raises(InputError, match="signature does not match"):
        load_model(path, key=other)
    # a re-sealed edit keeps a valid checksum but loses the signature's agreement
    content = json.loads(path.read_text())
    content["panel"]["features"][0]["coefficient"] *= 2
    content["checksum"]["value"] = canonical.checksum(content)
    forged = tmp_path / "forged.json"
    forged.write_text(canonical.dumps(content))
    load_model(forged, key=None)  # sound and intact: only the signature can tell
    with pytest.raises(InputError, match="signature does not match"):
        load_model(forged, key=key)
    monkeypatch.setenv("EXOMIR_MODEL_KEY_FILE", str(key_file))
    assert load_model(path).checksum == model.checksum
    with pytest.raises(InputError, match="signature does not match"):
        load_model(forged)
    with pytest.raises(InputError, match="too short"):
        sign_model(path, b"short")


def test_sample_with_most_features_missing_is_not_called(model, new_samples):
    adata = new_samples.copy()
    names = [f["name"] for f in model.features if f["kind"] == "mirna"]
    layer = "counts" if "counts" in adata.layers else None
    matrix = np.asarray(adata.layers[layer] if layer else adata.X, dtype=float).copy()
    columns = [list(map(str, adata.var_names)).index(n) for n in names]
    matrix[0, columns] = np.nan  # every panel miRNA of the first sample missing
    matrix[1, columns[:1]] = np.nan  # one of three for the second: still called, with a warning
    if layer:
        adata.layers[layer] = matrix
    else:
        adata.X = matrix
    scores = score_cohort(model, adata)
    assert scores.loc[0, "class"] == NOT_CALLED and np.isnan(scores.loc[0, "probability"])
    assert scores.loc[0, "imputed_share"] == 1.0 and "not called" in scores.loc[0, "qc_warnings"]
    assert scores.loc[1, "class"] != NOT_CALLED and scores.loc[1, "imputed_share"] == pytest.approx(1 / len(names))
    assert (scores.loc[2:, "class"] != NOT_CALLED).all() and (scores.loc[2:, "imputed_share"] == 0).all()
    lenient = score_cohort(model, adata, max_imputed_share=1.0)
    assert lenient.loc[0, "class"] != NOT_CALLED


def test_score_csv_defuses_formulas(model, new_samples):
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
    adata = new_samples[: len(hostile)].copy()
    adata.obs_names = hostile
    text = scores_csv_text(score_cohort(model, adata))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[0] for row in rows[1:]] == ["'" + h.replace("\r", "\n") for h in hostile]
    assert "'=HYPERLINK" in text and "'@SUM(A1:A9)" in text and "'-2+3" in text


def test_cli_sign_and_serve_refusal(model, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from exomir.cli import app
    from exomir.web import WebSettings, create_app

    path = save_model(model, tmp_path / "panel.json")
    key_file = tmp_path / "lab.key"
    key_file.write_bytes(b"0123456789abcdef-lab-key")
    result = CliRunner().invoke(app, ["sign", "--model", str(path), "--key-file", str(key_file), "--out", str(tmp_path / "signed.json")])
    assert result.exit_code == 0, result.output
    assert "signed (hmac-sha256" in result.output
    # a server told to require signatures offers the signed model and names the refused unsigned one
    monkeypatch.setenv("EXOMIR_MODEL_KEY_FILE", str(key_file))
    app_ = create_app(WebSettings(models=(tmp_path / "signed.json", path)))
    assert len(app_.state.exomir.models) == 1
    assert [(r.path.name, "not signed" in r.reason) for r in app_.state.exomir.refused] == [("panel.json", True)]


def test_server_starts_and_names_a_refused_model(model, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from exomir.web import WebSettings, create_app

    text = canonical.dumps(model.content)
    coefficient = json.dumps(model.features[0]["coefficient"])
    nan_file = tmp_path / "nan-model.json"
    nan_file.write_text(text.replace(f'"coefficient": {coefficient}', '"coefficient": NaN', 1))
    good = save_model(model, tmp_path / "good.json")
    client = TestClient(create_app(WebSettings(models=(nan_file, good))))
    assert "nan-model.json" in capsys.readouterr().err  # said when the server starts
    health = client.get("/api/health").json()
    assert health["models"] == 1 and health["refused_models"][0]["file"] == "nan-model.json"
    assert "NaN is not a number a model may hold" in health["refused_models"][0]["reason"]
