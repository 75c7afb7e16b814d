"""The schema of a locked model file: types, ranges and consistency, checked after the checksum.

A checksum only says the file is the one that was sealed; it does not say the sealed numbers
make sense. A file edited by hand and sealed again, or written by a buggy tool, could carry a
threshold of 1.5, a scale of 0 or a negative calibration slope and still pass. Each of those
would give confident wrong calls, so the file is refused with every problem named.

Unknown keys are allowed (newer writers may add facts); the keys the scorer reads are strict.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# A standardized coefficient of 100 already means an odds ratio of e^100 per standard deviation:
# no fitted panel comes near it, so anything beyond is damage or a separated fit.
MAX_ABS_COEFFICIENT = 100.0
MAX_ABS_VALUE = 1e6  # centres, imputation values, training ranges, intercepts (log-scale numbers)
CHECKSUM_ALGORITHMS = ("sha256",)

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
Fraction = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1.0)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    # strict: a string "0.5" or a bool is not a number; extra keys are kept for newer writers
    model_config = ConfigDict(strict=True, extra="allow")


class Task(Strict):
    group_column: Text
    case: Text
    controls: list[Text] = Field(min_length=1)
    positive_class: Text
    negative_class: Text

    @model_validator(mode="after")
    def _distinct(self):
        if self.positive_class == self.negative_class:
            raise ValueError(f"positive and negative class are both {self.positive_class!r}")
        if self.case in self.controls:
            raise ValueError(f"the case group {self.case!r} is also a control group")
        return self


class Feature(Strict):
    name: Text
    kind: Literal["mirna", "clinical"]
    transform: Literal["log10p1", "identity"]
    coefficient: Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_COEFFICIENT, le=MAX_ABS_COEFFICIENT)]
    center: Finite
    scale: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=MAX_ABS_VALUE)]
    impute_value: Finite
    training_min: Finite | None = None
    training_max: Finite | None = None
    training_median: Finite | None = None
    mimat: str = Field(default="", pattern=r"^(MIMAT\d{7})?$")
    canonical_name: str = ""
    column: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if self.training_min is not None and self.training_max is not None and self.training_min > self.training_max:
            raise ValueError(f"training_min {self.training_min} is above training_max {self.training_max}")
        if self.kind == "clinical" and not self.column:
            raise ValueError("a clinical feature needs the column it is read from")
        return self


class Panel(Strict):
    intercept: Finite
    features: list[Feature] = Field(min_length=1)

    @field_validator("features")
    @classmethod
    def _unique(cls, features: list[Feature]) -> list[Feature]:
        seen: dict[str, str] = {}
        for f in features:
            for key in (f"name {f.name}", f"MIMAT {f.mimat}" if f.mimat else None):
                if key is None:
                    continue
                if key in seen:
                    raise ValueError(f"feature {key} appears twice")
                seen[key] = f.name
        return features


class Calibration(Strict):
    intercept: Finite
    slope: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=MAX_ABS_VALUE)]


class Threshold(Strict):
    name: Text
    probability_threshold: Annotated[float, Field(allow_inf_nan=False, gt=0.0, lt=1.0)]
    sensitivity: Fraction
    specificity: Fraction


class Thresholds(Strict):
    locked: Text
    rules: list[Threshold] = Field(min_length=1)

    @model_validator(mode="after")
    def _locked_exists(self):
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"threshold names repeat: {names}")
        if self.locked not in names:
            raise ValueError(f"the locked threshold {self.locked!r} is not among the rules {names}")
        return self


class Performance(Strict):
    cv_auc: Fraction
    cv_auc_ci_low: Fraction
    cv_auc_ci_high: Fraction

    @model_validator(mode="after")
    def _ordered(self):
        if not self.cv_auc_ci_low <= self.cv_auc <= self.cv_auc_ci_high:
            raise ValueError(f"cv_auc {self.cv_auc} is outside its interval [{self.cv_auc_ci_low}, {self.cv_auc_ci_high}]")
        return self


class Training(Strict):
    n_samples: Annotated[int, Field(ge=2)]


class Preprocessing(Strict):
    measure: Literal["counts", "cq", "log"]
    normalization: Literal["median_of_ratios", "global_mean_dcq", "none"]
    references: list[dict] = Field(default_factory=list)
    min_reference_fraction: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1.0)] = 0.5
    pseudocount: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=MAX_ABS_VALUE)] = 1.0
    factor_scale: Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=MAX_ABS_VALUE)] = 1.0
    lod: Finite | None = None
    nondetect_floor: Finite | None = None  # Cq models since non-detects tie below measured values

    @model_validator(mode="after")
    def _references(self):
        expected = {"counts": "median_of_ratios", "cq": "global_mean_dcq", "log": "none"}[self.measure]
        if self.normalization != expected:
            raise ValueError(f"{self.measure} values are normalized by {expected}, not {self.normalization}")
        if self.normalization != "none" and not self.references:
            raise ValueError("no normalization reference miRNAs")
        for i, ref in enumerate(self.references):
            if not isinstance(ref.get("name"), str) or not ref["name"]:
                raise ValueError(f"reference {i} has no name")
            if self.normalization == "median_of_ratios":
                g = ref.get("log_geomean")
                if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g):
                    raise ValueError(f"reference {ref['name']} has no finite log_geomean")
        if self.measure == "cq" and self.lod is None:
            raise ValueError("a Cq model needs its limit of detection (lod)")
        return self


class Checksum(Strict):
    algorithm: Literal[CHECKSUM_ALGORITHMS]  # type: ignore[valid-type]
    value: str = Field(pattern=r"^[0-9a-f]{64}$")


class ModelContent(Strict):
    """Everything the checksum covers."""

    format: Literal["exomir-locked-model"]
    format_version: Literal[1]
    exomir_version: Text
    task: Task
    measure: Literal["counts", "cq", "log"]
    preprocessing: Preprocessing
    panel: Panel
    calibration: Calibration
    thresholds: Thresholds
    performance: Performance
    training: Training

    @model_validator(mode="after")
    def _consistent(self):
        if self.preprocessing.measure != self.measure:
            raise ValueError(f"measure {self.measure!r} but preprocessing for {self.preprocessing.measure!r}")
        return self


class ModelFile(ModelContent):
    checksum: Checksum


def messages(exc: ValidationError) -> list[str]:
    """The problems of a failed validation as ``where: what``."""
    out = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        out.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return out


def problems(content: dict) -> list[str]:
    """Every schema problem of ``content`` as ``where: what`` (empty when the file is sound)."""
    try:
        ModelFile.model_validate(content)
    except ValidationError as exc:
        return messages(exc)
    return []
