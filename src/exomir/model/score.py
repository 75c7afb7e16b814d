"""Score new samples with a locked model: calibrated probability, class, contributions, QC.

Nothing is guessed. A table without one of the panel's miRNAs, with another kind of values
than the model was trained on, or a model file whose checksum does not match, is refused.
What the model has a rule for (a non-detect, an empty count cell, a missing value) is applied
and named in the sample's warnings, as are hemolysis and values outside the training range.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.model.locked import LockedModel, load_model
from exomir.model.preprocessing import apply_preprocessing, match_columns
from exomir.atomic import atomic_open
from exomir.cohort import matrix_of, measure_of
from exomir.errors import ExomirError
from exomir.io import read
from exomir.preprocess.qc import quality_control

RESULT_COLUMNS = ["sample", "probability", "class", "threshold", "linear_predictor", "probability_uncalibrated",
                  "hemolysis", "n_warnings", "qc_warnings", "imputed_share"]  # fmt: skip
MAX_IMPUTED_SHARE = 0.5  # a sample with more of its panel filled in by rules than measured is not called
NOT_CALLED = "not called"
# OWASP: a cell starting with one of these is run as a formula by spreadsheet programs
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TooManySamples(InputError):
    """More samples than the caller agreed to score (checked after reading, before scoring)."""


def negative_label(task: dict) -> str:
    """The class of a sample below the threshold as a reader says it: pooled controls
    (``CHB+Healthy+LC``) become "not HCC (CHB, Healthy or LC)"."""
    negative = str(task["negative_class"])
    parts = [p for p in negative.split("+") if p]
    if len(parts) < 2:
        return negative
    return f"not {task['positive_class']} ({', '.join(parts[:-1])} or {parts[-1]})"


def value_column(feature: dict) -> str:
    """The score table's column of a feature's value after the locked preprocessing, named for
    what it holds: ``value_log10(afp_ng_ml+1)`` for AFP on its log scale, ``value_<name>`` otherwise."""
    if feature.get("transform") == "log10p1":
        return f"value_log10({feature['name']}+1)"
    return f"value_{feature['name']}"


def _transform(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "log10p1":
        with np.errstate(invalid="ignore"):
            return np.log10(np.clip(values, 0.0, None) + 1.0)
    if kind == "identity":
        return values
    raise InputError(f"unknown feature transform {kind!r} in the model file")


def score_cohort(model: LockedModel, adata: ad.AnnData, *, measure_given: str = "auto",
                 max_imputed_share: float = MAX_IMPUTED_SHARE) -> pd.DataFrame:
    """One row per sample of ``adata``: see :data:`RESULT_COLUMNS`, then ``value_<feature>``
    (after the locked preprocessing; :func:`value_column` names AFP ``value_log10(afp_ng_ml+1)``) and ``contribution_<feature>`` (coefficient × standardized value).

    A sample whose share of panel features filled in by a missing-value rule (an empty count
    cell read as 0 reads, a missing value replaced by the training median) is above
    ``max_imputed_share`` gets no probability and the class ``"not called"``."""
    measure = measure_of(adata)
    if measure != model.measure:
        raise InputError(
            f"the table holds {measure} values but the model was trained on {model.measure}",
            expected=f"{model.measure} values, as at training (nothing is converted)",
        )
    if measure_given not in ("auto", model.measure):
        raise InputError(f"the measure given ({measure_given}) does not match the model's ({model.measure})")
    features = model.features
    mirnas = [f for f in features if f["kind"] == "mirna"]
    clinical = [f for f in features if f["kind"] == "clinical"]
    found, missing = match_columns(adata, mirnas)
    if missing:
        named = ", ".join(f"{f['canonical_name'] or f['name']}" + (f" ({f['mimat']})" if f["mimat"] else "")
                          for f in missing)  # fmt: skip
        raise InputError(f"the table lacks the model's feature(s) {named}; the model cannot score without them",
                         expected="every panel miRNA measured")  # fmt: skip
    for f in clinical:
        if f["column"] not in adata.obs.columns:
            raise InputError(f"the model needs the clinical column {f['column']!r} ({f['canonical_name']}, {f.get('unit', '')})",
                             column=f["column"], expected="a clinical table with that column")  # fmt: skip
    samples = [str(s) for s in adata.obs_names]
    if not samples:
        raise InputError("the table has no samples")
    imputed = _missing_cells(adata, measure, [found[f["name"]] for f in mirnas])
    values, notes = apply_preprocessing(model.content["preprocessing"], adata, found)
    for f in clinical:
        values[f["name"]] = pd.to_numeric(adata.obs[f["column"]], errors="coerce").astype(float).to_numpy()
    hemolysis = _hemolysis(adata, notes)

    panel = model.content["panel"]
    lp = np.full(len(samples), float(panel["intercept"]))
    out = pd.DataFrame({"sample": samples})
    contributions, shown = {}, {}
    for f in features:
        raw = values[f["name"]].to_numpy(dtype=np.float64)
        x = _transform(raw, f["transform"])
        absent = ~np.isfinite(x)
        if f["kind"] == "clinical" or measure != "counts":
            imputed += absent  # counts: the empty cell was already counted (read as 0 reads)
        for i in np.flatnonzero(absent):
            notes[samples[i]].append(f"{_label(f)} missing: training median used (model rule)")
        x = np.where(absent, f["impute_value"], x)
        lo, hi = f["training_min"], f["training_max"]
        for i in np.flatnonzero(~absent & ((x < lo) | (x > hi))):
            side = "below" if x[i] < lo else "above"
            notes[samples[i]].append(f"{_label(f)} {side} the training range ({x[i]:.3g} vs {lo:.3g}–{hi:.3g})")
        z = (x - f["center"]) / f["scale"]
        contribution = f["coefficient"] * z
        lp += contribution
        shown[value_column(f)] = x
        contributions[f"contribution_{f['name']}"] = contribution
    cal = model.content["calibration"]
    share = imputed / len(features)
    uncalled = share > max_imputed_share
    for i in np.flatnonzero(uncalled):
        notes[samples[i]].append(f"not called: {int(imputed[i])} of {len(features)} panel features were missing and "
                                 f"filled in by rule (more than {max_imputed_share:.0%})")  # fmt: skip
    lp = np.where(uncalled, np.nan, lp)
    with np.errstate(over="ignore"):
        probability = 1.0 / (1.0 + np.exp(-(cal["intercept"] + cal["slope"] * lp)))
        uncalibrated = 1.0 / (1.0 + np.exp(-lp))
    cut = model.locked_threshold
    task = model.content["task"]
    out["probability"] = probability
    called = np.where(probability >= cut["probability_threshold"], task["positive_class"], negative_label(task))
    out["class"] = np.where(uncalled, NOT_CALLED, called)
    out["threshold"] = cut["probability_threshold"]
    out["linear_predictor"] = lp
    out["probability_uncalibrated"] = uncalibrated
    out["hemolysis"] = hemolysis
    out["n_warnings"] = [len(notes[s]) for s in samples]
    out["qc_warnings"] = ["; ".join(notes[s]) for s in samples]
    out["imputed_share"] = share
    for name, column in shown.items():
        out[name] = column
    for name, column in contributions.items():
        out[name] = column
    out.attrs["model"] = model.summary()
    return out


def _missing_cells(adata: ad.AnnData, measure: str, columns: list[str]) -> np.ndarray:
    """Per sample, how many panel miRNA cells of a count table are empty (read as 0 reads by the
    model's rule). Cq non-detects are measurements (below the LOD) and are not counted here."""
    if measure != "counts" or not columns:
        return np.zeros(adata.n_obs)

    raw = matrix_of(adata, "counts" if "counts" in adata.layers else None)
    position = {str(c): j for j, c in enumerate(adata.var_names)}
    block = np.asarray(raw[:, [position[c] for c in columns]], dtype=np.float64)
    return (~np.isfinite(block)).sum(axis=1).astype(float)


def _label(feature: dict) -> str:
    return feature["canonical_name"] or feature["name"]


def _hemolysis(adata: ad.AnnData, notes: dict[str, list[str]]) -> list[str]:
    """Hemolysis category per sample from the QC hemolysis index (unknown when its miRNAs are absent)."""
    try:
        qc = quality_control(adata.copy())
    except (ExomirError, ValueError) as exc:
        for s in notes:
            notes[s].append(f"QC not possible: {exc}")
        return ["unknown"] * adata.n_obs
    category = qc.set_index("sample")["hemolysis"].astype(str)
    out = []
    for s in notes:
        value = category.get(s, "unknown")
        if value in ("possible", "hemolysed"):
            notes[s].append(f"hemolysis {value}: red-cell miRNAs may distort the panel")
        elif value == "unknown":
            notes[s].append("hemolysis not assessable (miR-451a / miR-23a-3p not both measured)")
        out.append(value)
    return out


def score_files(
    model: str | Path | LockedModel,
    expression: str | Path,
    clinical: str | Path | None = None,
    *,
    measure: str = "auto",
    sample_column: str | None = None,
    max_samples: int | None = None,
    max_imputed_share: float = MAX_IMPUTED_SHARE,
) -> pd.DataFrame:
    """Read a table (and clinical data) with exomir's readers and score it with a model file
    (refusing more than ``max_samples`` samples before any is scored)."""
    locked = model if isinstance(model, LockedModel) else load_model(model)
    numeric = [f["column"] for f in locked.features if f["kind"] == "clinical"]
    if numeric and clinical is None:
        raise InputError(f"the model needs clinical column(s) {numeric}", expected="a clinical table with that column")
    adata = read(expression, clinical, measure=measure, sample_column=sample_column,
                        numeric=numeric if clinical is not None else ())  # fmt: skip
    if max_samples is not None and adata.n_obs > max_samples:
        raise TooManySamples(f"{adata.n_obs} samples is more than are scored at once ({max_samples})")
    return score_cohort(locked, adata, measure_given=measure, max_imputed_share=max_imputed_share)


def defuse_formula(value):
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV injection).
    A carriage return inside a cell becomes a line feed, which the CSV writer quotes (it would
    leave a lone CR bare, and CR-only readers would start a new row there)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def defused(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell (and column name) made safe to open in a spreadsheet."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(defuse_formula)
    out.columns = [defuse_formula(str(c)) for c in out.columns]
    return out


def scores_csv_text(scores: pd.DataFrame) -> str:
    """The scores as CSV text with fixed float formatting (same input, same bytes); text cells that
    a spreadsheet would read as a formula (sample names like ``=HYPERLINK(...)``) are prefixed."""
    return defused(scores).to_csv(index=False, lineterminator="\n", float_format="%.6g")


def write_scores(scores: pd.DataFrame, path: str | Path) -> Path:
    """Write the scores CSV (atomically)."""
    with atomic_open(path, "w") as handle:
        handle.write(scores_csv_text(scores))
    return Path(path)
