"""Fit and lock a diagnostic panel: nested CV for the performance, the final fit on all samples.

The panel procedure is :mod:`exomir.stats.panel` (screening, tuning and fitting inside the
training folds only). On top of it the locked model adds what scoring new patients needs: the
normalization references (:mod:`exomir.model.preprocessing`), a logistic recalibration of the
out-of-fold linear predictors (Platt scaling), decision thresholds chosen on the recalibrated
out-of-fold probabilities, and the training cohort's summary.

Every figure stored is validated unless its name says ``apparent``: the recalibration is judged
on each outer fold after fitting it on the others, and a threshold's sensitivity and specificity
are those of the same rule applied on the other folds. Perfect separation is detected here (the
out-of-fold predictions, or a single candidate, putting every case above every control), not
left to statsmodels, which only warns: separated out-of-fold predictions lock nothing.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from exomir._version import __version__
from exomir.cohort import meta, record_exclusion, select_groups
from exomir.errors import ExomirError, InputError
import exomir.model.canonical as canonical
import exomir.model.content as content
from exomir.model.preprocessing import fit_preprocessing
from exomir.model.schema import Task
from exomir.progress import steps
from exomir.cohort import sample_groups
from exomir.model.preprocessing import feature_key
from exomir.preprocess.qc import control_columns
from exomir.stats import _roc_core as core, panel as sp, roc
from exomir.stats.panel import apply_transforms, validated_threshold
from exomir.stats.roc import wilson_interval
from exomir.tools import read_afp, with_afp

log = logging.getLogger(__name__)

FORMAT = "exomir-locked-model"
FORMAT_VERSION = 1
SENSITIVITY_TARGET = 0.90
SPECIFICITY_TARGET = 0.90
_FOREIGN_SPECIES = re.compile(r"^(?!hsa-)[a-z]{3}-(mir|let|lin)-", re.IGNORECASE)


def _labels(adata: ad.AnnData, group: str, case: str, controls: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """The training samples (case or control; the others recorded as left out) and the control groups."""
    selection = select_groups(adata, group, case, list(controls) if controls else None)
    rows = selection.rows
    labels = adata.obs[group].astype("string")
    for sample, value in zip(adata.obs_names[~rows], labels[~rows]):
        why = "no group" if pd.isna(value) else f"group {value!r} is neither case nor control"
        record_exclusion(adata, "sample", sample, f"{why}: not used to train the model")
    return rows, list(selection.controls)


def _candidates(values: pd.DataFrame, key: pd.DataFrame) -> list[str]:
    """miRNA columns a panel may use: spike-ins of other species and blank columns are not biomarkers."""
    canonical_name = dict(zip(key["column"], key["name"]))
    out = []
    for column in values.columns:
        name = canonical_name.get(column) or column
        if _FOREIGN_SPECIES.match(name) or _FOREIGN_SPECIES.match(column):
            continue
        if values[column].notna().sum() == 0:
            continue
        out.append(column)
    return out


def _without_controls(adata: ad.AnnData, candidates: list[str]) -> list[str]:
    """Spike-ins and small-RNA controls (U6, RNU48, ...) normalize; they are never panel features."""
    roles = control_columns(adata)
    for column in candidates:
        if column in roles:
            record_exclusion(adata, "mirna", column, "control, used for normalization/QC only: not trained on",
                             role=roles[column])
    return [c for c in candidates if c not in roles]


def _chosen(candidates: list[str], key: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """The columns the user named (by column name, canonical name or MIMAT); unknown names refused."""
    lookup = {}
    for column, mimat, name in zip(key["column"], key["mimat"], key["name"]):
        for k in (column, mimat, name):
            if k:
                lookup.setdefault(str(k).lower(), column)
    chosen, unknown = [], []
    for feature in features:
        column = lookup.get(str(feature).lower())
        if column is None and not str(feature).lower().startswith("hsa-"):
            column = lookup.get("hsa-" + str(feature).lower())
        if column is None or column not in candidates:
            unknown.append(str(feature))
        elif column not in chosen:
            chosen.append(column)
    if unknown:
        raise InputError(f"candidate feature(s) not among the cohort's usable miRNA columns: {', '.join(unknown)}")
    return chosen


def _separates(y: np.ndarray, score: np.ndarray) -> bool:
    """True when a score puts every case on one side of every control (ties at the border
    included): the logistic maximum-likelihood slope on it is then infinite."""
    cases, controls = score[y], score[~y]
    return bool(cases.min() >= controls.max() or cases.max() <= controls.min())


def _platt(y: np.ndarray, lp: np.ndarray) -> tuple[float, float] | None:
    """Logistic recalibration (Platt scaling) P(case) = 1 / (1 + exp(-(a + b·lp))); ``None`` when
    the linear predictor separates the classes (detected here, not left to statsmodels, which
    only warns) or the fit reports separation or does not converge."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if _separates(y, lp):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = sm.GLM(y.astype(float), sm.add_constant(lp), family=sm.families.Binomial()).fit()
        except (ValueError, np.linalg.LinAlgError, PerfectSeparationWarning):
            return None
    if not np.all(np.isfinite(fit.params)) or not np.all(np.isfinite(fit.bse)):
        return None
    a, b = (float(v) for v in fit.params)
    return a, b


def _separating_features(X: pd.DataFrame, y: np.ndarray) -> list[str]:
    """Candidate columns that alone separate cases from controls in the training samples."""
    values = X.to_numpy(dtype=np.float64).T
    auc = core.placements(values, y).auc
    return [str(c) for c, a in zip(X.columns, auc, strict=True) if a in (0.0, 1.0)]


def _held_out_recalibration(y: np.ndarray, lp: np.ndarray, fold_of: np.ndarray) -> dict:
    """Calibration after a recalibration fitted without the samples it is judged on: for each
    repeat and outer fold, Platt scaling on the other folds' out-of-fold linear predictors is
    applied to this fold. Returns :func:`calibration` of those probabilities (mean over repeats)."""
    results = []
    for lp_r, folds in zip(np.atleast_2d(lp), np.atleast_2d(fold_of), strict=True):
        prob = np.full(y.size, np.nan)
        for fold in np.unique(folds):
            held = folds == fold
            fitted = _platt(y[~held], lp_r[~held])
            if fitted is not None:
                prob[held] = 1.0 / (1.0 + np.exp(-(fitted[0] + fitted[1] * lp_r[held])))
        ok = np.isfinite(prob)
        if ok.any() and y[ok].any() and (~y[ok]).any():
            results.append({**sp.calibration(y[ok], prob[ok]), "n_samples": int(ok.sum())})
    if not results:
        return {"note": "no fold could be recalibrated without the others separating the classes"}
    out = {}
    for key, value in results[0].items():
        if isinstance(value, str):  # notes: the distinct ones, in order
            out[key] = "; ".join(dict.fromkeys(r[key] for r in results if r[key]))
        else:
            out[key] = float(np.nanmean([r[key] for r in results]))
    return out


def _logit(prob: np.ndarray) -> np.ndarray:
    prob = np.clip(prob, 1e-12, 1 - 1e-12)
    return np.log(prob / (1 - prob))


def train_model(
    adata: ad.AnnData,
    *,
    group: str = "group",
    case: str = "HCC",
    controls: Sequence[str] | None = None,
    afp: str | None = None,
    penalty: str = "elasticnet",
    seed: int = 0,
    outer_folds: int = 5,
    inner_folds: int = 5,
    repeats: int = 1,
    max_features: Sequence[int] = (5, 10, 20),
    Cs: Sequence[float] | None = None,
    lod: float = 35.0,
    features: Sequence[str] | None = None,
    cohort_name: str = "",
) -> dict:
    """Fit a locked diagnostic model on a Cohort; returns the sealed (checksummed) model content.

    ``controls``: the control groups pooled against ``case`` (default: every other group).
    ``afp``: an obs column with AFP (ng/mL), always kept in the panel as log10(AFP + 1).
    ``features``: the candidate miRNAs (any name form of the cohort's columns; default: all).
    The cross-validated AUC comes from a nested CV of the whole procedure; the model stored is
    the same procedure fitted once on all samples.
    """
    rows, chosen = _labels(adata, group, case, controls)
    sub = adata[rows].copy()
    prep, values = fit_preprocessing(sub, lod=lod, groups=sub.obs[group])  # group-aware detection, as analyze

    key = feature_key(sub)
    candidates = _without_controls(adata, _candidates(values, key))
    if features is not None:
        candidates = _chosen(candidates, key, features)
    if not candidates:
        raise InputError("the cohort has no miRNA column a panel could use")
    X = values[candidates]
    y_labels = sub.obs[group].astype("string").to_numpy()
    y = y_labels == case
    forced: list[str] = []
    transforms: dict[str, str] = {}
    if afp is not None:  # the AFP rules of the diagnostic panels
        afp_values, missing = read_afp(adata, sub.obs, afp, exclusion=f"no AFP value in {afp!r}: not used to train the model")
        if missing.any():
            log.warning(f"{int(missing.sum())} sample(s) without an AFP value left out of training")
        X, forced, transforms = with_afp(X, afp_values, afp)
        X = X[~missing]
        y, y_labels = y[~missing], y_labels[~missing]
    if y.sum() < 10 or (~y).sum() < 10:
        raise InputError(f"{int(y.sum())} cases and {int((~y).sum())} controls are too few to lock a model",
                         expected="at least 10 of each")  # fmt: skip
    tuning = {"max_features": tuple(int(k) for k in max_features)}
    if Cs is not None:
        tuning["Cs"] = tuple(float(c) for c in Cs)

    groups = sample_groups(sub)  # uns groups_column: one patient's samples stay in one outer fold
    if groups is not None:
        groups = pd.Series(groups, index=list(map(str, sub.obs_names))).reindex(X.index.astype(str)).to_numpy(object)
    fit = _fit(X, y, case, penalty=penalty, forced=forced, transforms=transforms, outer_folds=outer_folds,
               inner_folds=inner_folds, repeats=repeats, seed=seed, groups=groups, tuning=tuning)  # fmt: skip
    nested = fit.nested
    records = _feature_records(fit.panel, X, key, afp)
    body = content.build(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        exomir_version=__version__,
        cohort=_cohort(adata, cohort_name),
        task=Task(group_column=group, case=case, controls=list(chosen), positive_class=case,
                  negative_class="+".join(chosen)),  # fmt: skip
        measure=prep["measure"],
        preprocessing=prep,
        missing_values=content.MissingValues(
            counts="an empty count cell is 0 reads",
            cq=prep.get("nondetect_rule", "a non-detect (Cq missing or above the LOD) is set to the LOD"),
            other="a missing value of a panel feature is replaced by its training median (warned per sample)",
        ),
        panel=_panel(fit.panel, records),
        calibration=_calibration(y, fit),
        thresholds=content.Thresholds(locked="youden", rule="probability >= threshold is called " + case,
                                      rules=_threshold_records(fit.cuts, fit.held_out)),  # fmt: skip
        performance=_performance(nested, outer_folds=outer_folds, inner_folds=inner_folds, repeats=repeats, seed=seed),
        training=_training(adata, y, y_labels, fit.separating),
    )
    log.info(f"locked model: {len(records)} features, nested-CV AUC {nested.auc:.3f} "
             f"({nested.auc_ci_low:.3f}–{nested.auc_ci_high:.3f})")  # fmt: skip
    return canonical.seal(body)


@dataclass(frozen=True)
class _Fit:
    """The panel procedure's results a locked model is made of."""

    nested: Any  # nested CV of the whole procedure: the validated performance and out-of-fold predictions
    panel: Any  # the same procedure fitted once on all samples: the model stored
    oof: np.ndarray  # out-of-fold probabilities (clipped away from 0 and 1)
    intercept: float  # Platt recalibration of the out-of-fold linear predictors
    slope: float
    cuts: pd.DataFrame  # locked cut-offs on the recalibrated out-of-fold probabilities
    held_out: dict[str, dict]  # validated rates of each cut-off rule
    separating: list[str]  # candidates that alone separate cases from controls in training


def _fit(X: pd.DataFrame, y: np.ndarray, case: str, *, penalty: str, forced: list[str], transforms: dict[str, str],
         outer_folds: int, inner_folds: int, repeats: int, seed: int, groups, tuning: dict) -> _Fit:
    """Nested CV, final fit, recalibration and thresholds; refuses what cannot be locked."""
    with steps("train locked model", 3) as advance:
        nested = sp.nested_cv(X, y, name="locked_model", penalty=penalty, forced=forced, transforms=transforms,
                              outer_folds=outer_folds, inner_folds=inner_folds, repeats=repeats, seed=seed,
                              progress=False, groups=groups, **tuning)  # fmt: skip
        advance(f"nested CV AUC {nested.auc:.3f}")
        panel = sp.fit_panel(X, y, name="locked_model", penalty=penalty, forced=forced, transforms=transforms,
                             inner_folds=inner_folds, seed=seed, **tuning)  # fmt: skip
        advance(f"final fit: {len(panel.nonzero_features)} features")
        oof = np.clip(nested.probability.to_numpy(), 1e-12, 1 - 1e-12)
        lp_oof = _logit(oof)
        separating = _separating_features(X, y)
        fitted = _platt(y, lp_oof)
        if fitted is None:
            alone = f"; alone, {', '.join(separating[:5])} separate them in training" if separating else ""
            raise ExomirError(
                f"the out-of-fold predictions separate {case} from the controls perfectly{alone}: the "
                "recalibration slope would be infinite and every probability 0 or 1, so no model was locked. "
                "A locked model needs a cohort in which the panel makes mistakes it can be calibrated on "
                "(more samples, or the difficult controls it is meant for)")  # fmt: skip
        a, b = fitted
        if separating:
            log.warning(f"{len(separating)} candidate(s) alone separate {case} from the controls in training "
                        f"({', '.join(separating[:5])}); recorded in the model (training.separating_features): "
                        "expect optimistic accuracy")  # fmt: skip
        if not b > 0:
            raise ExomirError(f"the panel does not rank samples out of fold (recalibration slope {b:.3g} ≤ 0, "
                              f"cross-validated AUC {nested.auc:.3f}); no model was locked")  # fmt: skip
        calibrated = 1.0 / (1.0 + np.exp(-(a + b * lp_oof)))
        cuts = roc.thresholds(calibrated, y, "higher_in_case", sensitivity=SENSITIVITY_TARGET,
                              specificity=SPECIFICITY_TARGET)  # fmt: skip
        held_out = _held_out_thresholds(nested, y)
        advance("recalibration and thresholds")
    if not panel.nonzero_features:
        raise ExomirError("the final penalized fit kept no feature (all coefficients 0); no model was locked")
    return _Fit(nested, panel, oof, a, b, cuts, held_out, separating)


def _cohort(adata: ad.AnnData, name: str) -> content.Cohort:
    # file names only: the training machine's folders are not part of the model
    source = {k: (Path(str(v)).name if k != "simulated" else str(v))
              for k, v in sorted(dict(meta(adata).get("source", {})).items())
              if k in ("expression", "clinical", "simulated")}  # fmt: skip
    return content.Cohort(name=name, source=source)


def _panel(panel, features: list[content.Feature]) -> content.Panel:
    return content.Panel(
        penalty=panel.penalty,
        hyperparameters=panel.hyperparameters,
        intercept=panel.intercept,
        features=features,
        selected_with_zero_coefficient=[f for f in panel.features if f not in panel.nonzero_features],
        linear_predictor="intercept + sum(coefficient * (transform(value) - center) / scale)",
        n_candidates=len(panel.candidates),
        convergence_warnings=panel.convergence_warnings,
    )


def _calibration(y: np.ndarray, fit: _Fit) -> content.Calibration:
    """The Platt recalibration, with the calibration before it and after it on held-out folds."""
    nested = fit.nested
    return content.Calibration(
        method="logistic recalibration (Platt) of the nested-CV out-of-fold linear predictors",
        intercept=fit.intercept,
        slope=fit.slope,
        probability="1 / (1 + exp(-(intercept + slope * linear_predictor)))",
        out_of_fold_before=sp.calibration(y, fit.oof),
        held_out_after=_held_out_recalibration(y, _logit(nested.probability_by_repeat), nested.fold_of),
        held_out_after_method="each outer fold recalibrated by Platt scaling fitted on the other folds' "
                              "out-of-fold predictions (validated; mean over repeats)",
        note="recalibrated probabilities judged on the predictions the recalibration was fitted to are "
             "calibrated by construction (slope 1, intercept 0) and are not reported",
    )  # fmt: skip


def _performance(nested, *, outer_folds: int, inner_folds: int, repeats: int, seed: int) -> content.Performance:
    return content.Performance(
        cv_auc=nested.auc,
        cv_auc_ci_low=nested.auc_ci_low,
        cv_auc_ci_high=nested.auc_ci_high,
        ci_method=nested.ci_method,
        estimate="mean AUC of the held-out outer folds (validated)",
        auc_pooled_by_repeat=nested.auc_pooled_by_repeat,
        outer_folds=outer_folds,
        inner_folds=inner_folds,
        repeats=repeats,
        seed=seed,
        auc_by_repeat=nested.auc_by_repeat,
        selection_frequency={k: float(v) for k, v in nested.selection_frequency.head(25).items()},
    )


def _training(adata: ad.AnnData, y: np.ndarray, y_labels: np.ndarray, separating: list[str]) -> content.Training:
    groups_used = pd.Series(y_labels).value_counts().sort_index()
    excluded = [e for e in meta(adata).get("excluded", []) if "train the model" in e.get("reason", "")]
    return content.Training(
        n_samples=int(y.size),
        n_case=int(y.sum()),
        n_control=int((~y).sum()),
        n_per_group={str(k): int(v) for k, v in groups_used.items()},
        separating_features=separating,
        n_excluded=len(excluded),
    )


def _feature_records(panel, X: pd.DataFrame, key: pd.DataFrame, afp: str | None) -> list[content.Feature]:
    by_column = key.set_index("column")
    out = []
    for name in panel.nonzero_features:
        transformed = apply_transforms(X[[name]], panel.transforms)[:, 0]
        finite = transformed[np.isfinite(transformed)]
        if name == afp:
            where = dict(mimat="", canonical_name="AFP", column=afp, unit="ng/mL")
        else:
            row = by_column.loc[name]
            where = dict(mimat=row["mimat"] if str(row["mimat"]).startswith("MIMAT") else "",
                         canonical_name=row["name"], column=name)  # fmt: skip
        out.append(content.Feature(
            name=name,
            kind="clinical" if name == afp else "mirna",
            transform=panel.transforms.get(name, "identity"),
            coefficient=float(panel.coefficients[name]),
            center=float(panel.center[name]),
            scale=float(panel.scale[name]),
            impute_value=float(panel.impute_values[name]),
            training_min=float(finite.min()) if finite.size else None,
            training_max=float(finite.max()) if finite.size else None,
            training_median=float(np.median(finite)) if finite.size else None,
            n_missing_at_training=int((~np.isfinite(transformed)).sum()),
            **where,
        ))
    return out


_CRITERIA = {"youden": ("youden", None), "fixed_sensitivity": ("sensitivity_90", SENSITIVITY_TARGET),
             "fixed_specificity": ("specificity_90", SPECIFICITY_TARGET)}


def _held_out_thresholds(nested, y: np.ndarray) -> dict[str, dict]:
    """Per criterion: the rates of a cut-off chosen on the other outer folds, applied to each fold."""
    picks = {"youden": core.youden_index,
             "fixed_sensitivity": lambda c: core.fixed_sensitivity_index(c, SENSITIVITY_TARGET),
             "fixed_specificity": lambda c: core.fixed_specificity_index(c, SPECIFICITY_TARGET)}  # fmt: skip
    return {name: validated_threshold(nested.probability_by_repeat, y, nested.fold_of, pick)
            for name, pick in picks.items()}  # fmt: skip


def _count(value: float):
    return int(value) if float(value).is_integer() else float(value)


def _threshold_records(cuts: pd.DataFrame, held_out: dict[str, dict]) -> list[content.Threshold]:
    """The locked cut-offs (chosen on all recalibrated out-of-fold probabilities) with validated
    rates (cut-off chosen without the fold judged) and the apparent ones beside them."""
    out = []
    for _, row in cuts.iterrows():
        if not np.isfinite(row.get("threshold", np.nan)):
            continue
        v = held_out[row["criterion"]]
        m, n = v["tp"] + v["fn"], v["tn"] + v["fp"]
        se_lo, se_hi = wilson_interval(v["tp"], m)
        sp_lo, sp_hi = wilson_interval(v["tn"], n)
        out.append(content.Threshold(
            name=_CRITERIA.get(row["criterion"], (row["criterion"],))[0],
            criterion=row["criterion"],
            target=row["target"],
            probability_threshold=row["threshold"],
            sensitivity=v["sensitivity"], sensitivity_ci_low=float(se_lo), sensitivity_ci_high=float(se_hi),
            specificity=v["specificity"], specificity_ci_low=float(sp_lo), specificity_ci_high=float(sp_hi),
            tp=_count(v["tp"]), fp=_count(v["fp"]), tn=_count(v["tn"]), fn=_count(v["fn"]),
            estimated_on="validated: the cut-off chosen by the same rule on the other outer folds' out-of-fold "
                         "probabilities, applied to each held-out fold (Wilson 95% intervals)",
            sensitivity_apparent=row["sensitivity"], specificity_apparent=row["specificity"],
            apparent_note="the locked cut-off on the out-of-fold probabilities that chose it (optimistic)",
        ))  # fmt: skip
    return out
