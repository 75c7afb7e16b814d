"""The locked model file is built from typed models (exomir.model.content over exomir.model.schema):
every key the trainer writes is declared, the file round-trips through the models byte for byte,
and a trained model that breaks the file's rules is refused before anything is sealed.

(A committed checksum of a fixed-seed training is not asserted: the fitted numbers go through
BLAS and iterative solvers whose last digits may differ between platforms.)"""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import BaseModel

from exomir.errors import ExomirError
from exomir.model import canonical, content, schema, train_model
from exomir.simulate import simulate_cohort
from exomir.simulate import _effects as fx

# the sub-dicts whose keys belong to other modules (preprocessing, panel tuning, calibration summaries)
OPEN = {"preprocessing", "panel.hyperparameters", "calibration.out_of_fold_before", "calibration.held_out_after"}


@pytest.fixture(scope="module")
def sealed() -> dict:
    cohort = simulate_cohort(100, n_mirnas=len(fx.FIXED_CPM), seed=4)
    return train_model(cohort, afp="afp_ng_ml", seed=0, inner_folds=3, outer_folds=3, max_features=(3,), Cs=(1.0,))


def _body(sealed: dict) -> dict:
    return {k: v for k, v in sealed.items() if k != canonical.CHECKSUM_KEY}


def _undeclared(model, where: str = "") -> list[str]:
    """Keys of a built model that no field declares (outside the open sub-dicts)."""
    if where in OPEN:
        return []
    out = [f"{where}.{k}".lstrip(".") for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{where}.{name}".lstrip(".")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel) and path not in OPEN:
                out += _undeclared(item, path)
    return out


def test_the_trained_file_round_trips_through_the_models(sealed):
    built = content.LockedContent.model_validate(json.loads(json.dumps(_body(sealed))))
    again = canonical.seal(built.model_dump(exclude_unset=True))
    assert canonical.dumps(again) == canonical.dumps(sealed)
    assert again[canonical.CHECKSUM_KEY] == sealed[canonical.CHECKSUM_KEY]
    assert schema.problems(sealed) == []


def test_every_key_the_trainer_writes_is_declared(sealed):
    built = content.LockedContent.model_validate(_body(sealed))
    assert _undeclared(built) == []
    # AFP's unit is written for the clinical feature only; a miRNA feature has no unit key
    features = sealed["panel"]["features"]
    afp = [f for f in features if f["kind"] == "clinical"]
    assert [f["unit"] for f in afp] == ["ng/mL"]
    assert all("unit" not in f for f in features if f["kind"] == "mirna")


def test_the_preprocessing_keys_are_written_as_given(sealed):
    # the schema's defaults (pseudocount, lod, ...) are never added to a file that did not give them
    built = content.LockedContent.model_validate(_body(sealed))
    assert built.model_dump(exclude_unset=True)["preprocessing"] == _body(sealed)["preprocessing"]
    assert "lod" not in sealed["preprocessing"] and sealed["preprocessing"]["measure"] == "counts"


@pytest.mark.parametrize("edit, where", [
    (lambda c: c["thresholds"]["rules"][0].update(probability_threshold=1.5), "thresholds.rules.0.probability_threshold"),
    (lambda c: c["calibration"].update(slope=-0.2), "calibration.slope"),
    (lambda c: c["panel"]["features"][0].pop("n_missing_at_training"), "panel.features.0.n_missing_at_training"),
    (lambda c: c["training"].update(n_case="12"), "training.n_case"),
])  # fmt: skip
def test_a_model_breaking_the_rules_is_refused_before_sealing(sealed, edit, where):
    body = copy.deepcopy(_body(sealed))
    edit(body)
    with pytest.raises(ExomirError, match="none was locked") as caught:
        content.build(**body)
    assert where in str(caught.value)
