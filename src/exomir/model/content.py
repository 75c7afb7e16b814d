"""What the trainer writes into a locked model file, as typed models.

Each model here extends the one :mod:`exomir.model.schema` checks when a file is loaded, adding
the facts a reader of the file is told (how a figure was estimated, the training cohort, the
apparent rates beside the validated ones) to the keys the scorer reads. The file is the
``exclude_unset`` dump of :class:`LockedContent`, sealed by :func:`exomir.model.canonical.seal`:
a key appears when the trainer gives it (AFP's ``unit``, the preprocessing's own keys), and the
schema's rules hold before anything is sealed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from exomir.errors import ExomirError
import exomir.model.schema as schema
from exomir.model.schema import Strict

Count = int | float  # a confusion count: whole on one repeat, a mean over repeats otherwise


class Cohort(Strict):
    name: str
    source: dict[str, str]  # file names only: the training machine's folders are not part of the model


class MissingValues(Strict):
    counts: str
    cq: str
    other: str


class Feature(schema.Feature):
    n_missing_at_training: int
    unit: str | None = None  # AFP's (ng/mL); absent for a miRNA


class Panel(schema.Panel):
    penalty: str
    hyperparameters: dict[str, Any]
    features: list[Feature]
    selected_with_zero_coefficient: list[str]
    linear_predictor: str
    n_candidates: int
    convergence_warnings: int


class Calibration(schema.Calibration):
    method: str
    probability: str
    out_of_fold_before: dict[str, Any]
    held_out_after: dict[str, Any]
    held_out_after_method: str
    note: str


class Threshold(schema.Threshold):
    criterion: str
    target: float | None
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    specificity_ci_low: float
    specificity_ci_high: float
    tp: Count
    fp: Count
    tn: Count
    fn: Count
    estimated_on: str
    sensitivity_apparent: float
    specificity_apparent: float
    apparent_note: str


class Thresholds(schema.Thresholds):
    rule: str
    rules: list[Threshold]


class Performance(schema.Performance):
    ci_method: str
    estimate: str
    auc_pooled_by_repeat: list[float]
    outer_folds: int
    inner_folds: int
    repeats: int
    seed: int
    auc_by_repeat: list[float]
    selection_frequency: dict[str, float]


class Training(schema.Training):
    n_case: int
    n_control: int
    n_per_group: dict[str, int]
    separating_features: list[str]
    n_excluded: int


class LockedContent(schema.ModelContent):
    """The whole content of a model file but its checksum."""

    cohort: Cohort
    missing_values: MissingValues
    panel: Panel
    calibration: Calibration
    thresholds: Thresholds
    performance: Performance
    training: Training


def build(**fields: Any) -> dict:
    """The file's content from its parts (models or plain dicts), as plain data ready to seal;
    a trained model that breaks the file's rules is refused here, before it is ever written."""
    try:
        content = LockedContent.model_validate(fields)
    except ValidationError as exc:
        raise ExomirError("the trained model breaks the rules of a model file, so none was locked: "
                          + "; ".join(schema.messages(exc))) from None  # fmt: skip
    return content.model_dump(exclude_unset=True)
