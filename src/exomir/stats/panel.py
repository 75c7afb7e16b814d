"""Diagnostic panels on arrays (samples × features, labels): miRNAs with or without AFP in
penalized logistic regression, evaluated without fooling ourselves. The Cohort verb building
the miRNA, miRNA + AFP and AFP models and judging them is :func:`exomir.tools.panel`.

* Feature selection (the miRNAs farthest from AUC 0.5) and tuning (penalty strength, number of
  miRNAs, elastic-net mixing) happen only inside the training folds of a nested, stratified,
  seeded cross-validation.
* The AUC is the mean of the held-out folds' AUCs (each fold judged by a model that never saw
  it), reported per repeat (mean and spread). Its interval comes from a bootstrap of the whole
  nested procedure (:func:`bootstrap_aucs`, scaled as ``_panel_cv`` explains), whose coverage was
  checked by simulation at n = 40–400 under the null and under an effect
  (``benchmarks/bench_panel_coverage.py``). A label-permutation test of the whole nested
  procedure gives the p-value of "the panel does better than chance".
* Out-of-fold probabilities give the validated calibration (slope, intercept), Brier score,
  decision curves, NRI and IDI against AFP alone, the sensitivity and specificity of a cut-off
  chosen on the other folds, and results in the early-stage and AFP-negative subgroups.
* Only ``auc_apparent`` (the final panel on its own training samples) is apparent, and named so.

:func:`fit_panel` returns a :class:`FittedPanel` holding everything needed to score new samples
(features, transforms, imputation values, centring and scaling, coefficients, chosen
hyper-parameters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.stats import _panel_model as pm
from exomir.stats import _roc_core as core
from exomir.stats import roc
from exomir.stats._panel_cv import (
    bootstrap_cv_interval,
    corrected_t_pvalue,
    cv_auc_interval,
    permutation_pvalue,
    validated_threshold,
)
from exomir.stats._panel_metrics import calibration, decision_curve, idi, net_benefit, nri
from exomir.stats._panel_model import DEFAULT_CS, DEFAULT_MAX_FEATURES, PENALTIES, FittedPanel, apply_transforms
from exomir.progress import track

__all__ = [
    "DEFAULT_CS",
    "DEFAULT_MAX_FEATURES",
    "FittedPanel",
    "NestedCvResult",
    "apply_transforms",
    "bootstrap_aucs",
    "bootstrap_cv_interval",
    "calibration",
    "corrected_t_pvalue",
    "decision_curve",
    "fit_panel",
    "idi",
    "is_early_stage",
    "naive_selection_cv_auc",
    "nested_cv",
    "net_benefit",
    "nri",
    "permutation_test",
    "validated_threshold",
]


def _check(X, y, forced: Sequence[str], penalty: str) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X, dtype=np.float64))
    X = X.copy()
    X.columns = [str(c) for c in X.columns]
    y = np.asarray(y)
    if y.dtype != bool:
        y = y.astype(bool)
    if y.shape[0] != X.shape[0]:
        raise InputError(f"{y.shape[0]} labels for {X.shape[0]} samples", expected="one label per sample")
    if penalty not in PENALTIES:
        raise InputError(f"unknown penalty {penalty!r}", expected=f"one of {PENALTIES}")
    if y.sum() < 2 or (~y).sum() < 2:
        raise InputError("a panel needs at least two cases and two controls")
    forced = [str(f) for f in forced]
    absent = [f for f in forced if f not in X.columns]
    if absent:
        raise InputError(f"forced features not among the columns: {absent}")
    # forced columns first: the selector keeps the leading n_forced columns
    X = X[forced + [c for c in X.columns if c not in forced]]
    return X, y, forced


def fit_panel(
    X: pd.DataFrame,
    y,
    *,
    name: str = "panel",
    penalty: str = "elasticnet",
    forced: Sequence[str] = (),
    transforms: dict[str, str] | None = None,
    Cs: Sequence[float] = DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = DEFAULT_MAX_FEATURES,
    inner_folds: int = 5,
    seed: int = 0,
) -> FittedPanel:
    """Select, tune (stratified ``inner_folds`` CV on AUC) and fit a panel on all given samples.

    ``X`` is samples × candidate features (miRNAs, AFP); ``forced`` features are always kept
    (e.g. ``["AFP"]``); ``transforms`` maps a feature to ``"log10p1"`` (log10(x + 1), for AFP).
    Missing values are imputed with training medians. The returned panel's AUC on these samples
    is optimistic (apparent): use :func:`nested_cv` to judge it.
    """
    X, y, forced = _check(X, y, forced, penalty)
    transforms = dict(transforms or {})
    values = pm.apply_transforms(X, transforms)
    tuning = {"inner_folds": inner_folds, "Cs": [float(c) for c in Cs],
              "l1_ratios": [float(r) for r in l1_ratios], "max_features": [int(k) for k in max_features]}  # fmt: skip
    tuned = pm.tune(values, y, penalty=penalty, n_forced=len(forced), seed=seed, **tuning)
    panel = pm.to_fitted_panel(name, tuned, list(X.columns), forced, transforms, y, penalty)
    panel.extra["tuning"] = tuning
    panel.extra["seed"] = seed
    return panel


@dataclass
class NestedCvResult:
    """Out-of-fold predictions of a nested cross-validation and what each fold chose.

    ``auc`` is the mean of the held-out folds' AUCs over all repeats (unbiased under the null,
    unlike the AUC of pooled out-of-fold probabilities, which mixes models whose intercepts
    differ fold to fold); ``auc_by_repeat`` the mean of each repeat; ``auc_ci_*`` the corrected
    repeated-CV t interval (see :func:`cv_auc_interval`).
    """

    name: str
    probability: pd.Series  # out-of-fold probability per sample (mean over repeats)
    y: np.ndarray
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    auc_by_repeat: list[float]
    folds: pd.DataFrame  # repeat, fold, n_train, n_test, auc, k, C, l1_ratio, inner_cv_auc, features
    selection_frequency: pd.Series  # share of outer folds in which each feature was selected
    convergence_warnings: int = 0
    ci_method: str = ""
    auc_pooled_by_repeat: list[float] = field(default_factory=list)  # AUC of each repeat's pooled predictions
    probability_by_repeat: np.ndarray | None = None  # repeats × samples
    fold_of: np.ndarray | None = None  # repeats × samples: the outer fold that held each sample out
    outer_folds: int = 5


def nested_cv(
    X: pd.DataFrame,
    y,
    *,
    name: str = "panel",
    penalty: str = "elasticnet",
    forced: Sequence[str] = (),
    transforms: dict[str, str] | None = None,
    outer_folds: int = 5,
    inner_folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    Cs: Sequence[float] = DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = DEFAULT_MAX_FEATURES,
    conf_level: float = 0.95,
    progress: bool = True,
    groups: Sequence | None = None,
) -> NestedCvResult:
    """Nested, stratified, seeded cross-validation of the whole panel procedure.

    For each outer training set the candidates are screened, the hyper-parameters tuned by the
    inner CV and the model fitted, all on that training set alone; its held-out samples are then
    predicted and the fold's AUC computed on them.
    ``groups`` (one label per sample, e.g. the patient: :func:`exomir.cohort.sample_groups`) keeps
    the samples of one group in the same outer fold, so a patient is never both trained on and tested,
    and in the same inner fold, so that tuning is not judged on a patient it trained on either.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    X, y, forced = _check(X, y, forced, penalty)
    smaller = int(min(y.sum(), (~y).sum()))
    if smaller < outer_folds or smaller * (outer_folds - 1) // outer_folds < inner_folds:
        raise InputError(
            f"{smaller} samples in the smaller class are too few for {outer_folds} outer × {inner_folds} inner folds",
            expected="fewer folds or more samples",
        )
    values = pm.apply_transforms(X, dict(transforms or {}))
    columns = list(X.columns)
    prob = np.zeros((repeats, y.size))
    fold_of = np.zeros((repeats, y.size), dtype=int)
    rows = []
    counts = pd.Series(0.0, index=columns)
    n_warn = 0
    group_labels = None if groups is None else np.asarray(groups, dtype=object)
    jobs = [
        (r, fold, train, test)
        for r in range(repeats)
        for fold, (train, test) in enumerate(
            StratifiedKFold(outer_folds, shuffle=True, random_state=seed + r).split(values, y) if groups is None
            else StratifiedGroupKFold(outer_folds, shuffle=True, random_state=seed + r).split(values, y, group_labels)
        )
    ]
    iterator = track(jobs, f"nested CV {name}") if progress else jobs
    for r, fold, train, test in iterator:
        tuned = pm.tune(values[train], y[train], penalty=penalty, n_forced=len(forced),
                        inner_folds=inner_folds, seed=seed, Cs=Cs, l1_ratios=l1_ratios,
                        max_features=max_features, groups=None if groups is None else group_labels[train])  # fmt: skip
        n_warn += tuned.convergence_warnings
        prob[r, test] = tuned.predict_proba(values[test])[:, 1]
        fold_of[r, test] = fold
        pipe = tuned.pipeline
        kept = [columns[i] for i in pipe.named_steps["select"].columns_]
        counts[kept] += 1
        held = y[test]
        fold_auc = _auc(prob[r, test], held) if held.any() and (~held).any() else np.nan
        rows.append({"repeat": r, "fold": fold, "n_train": len(train), "n_test": len(test), "auc": fold_auc,
                     **tuned.params, "features": ";".join(kept)})  # fmt: skip
    folds = pd.DataFrame(rows)
    by_repeat = [float(np.nanmean(folds.loc[folds["repeat"] == r, "auc"])) for r in range(repeats)]
    auc, low, high, method = cv_auc_interval(folds["auc"].to_numpy(), outer_folds, int(y.sum()), int((~y).sum()),
                                            conf_level)  # fmt: skip
    return NestedCvResult(
        name=name,
        probability=pd.Series(prob.mean(axis=0), index=X.index, name=name),
        y=y,
        auc=auc,
        auc_ci_low=low,
        auc_ci_high=high,
        auc_by_repeat=by_repeat,
        folds=folds,
        selection_frequency=(counts / len(jobs)).sort_values(ascending=False, kind="stable"),
        convergence_warnings=n_warn,
        ci_method=method,
        auc_pooled_by_repeat=[_auc(prob[r], y) for r in range(repeats)],
        probability_by_repeat=prob,
        fold_of=fold_of,
        outer_folds=outer_folds,
    )


def _auc(prob: np.ndarray, y: np.ndarray) -> float:
    return float(core.placements(prob[None, :], y).auc[0])


def permutation_test(
    X: pd.DataFrame, y, observed: float, *, n_perm: int = 100, seed: int = 0, **options
) -> tuple[float, np.ndarray]:
    """One-sided label-permutation p-value of a nested-CV AUC (one repeat) being above chance.

    Each permutation shuffles the labels and reruns the whole nested procedure (screening,
    tuning, fitting) with ``options`` as given to :func:`nested_cv` (``repeats`` is forced to 1:
    ``observed`` must be the first repeat's AUC). Returns ``(p, null AUCs)`` with
    p = (1 + #{null ≥ observed}) / (1 + n_perm), exact at any n under exchangeability.
    """
    y = np.asarray(y, dtype=bool)
    rng = np.random.default_rng(seed + 7_919)
    options = {**options, "repeats": 1, "progress": False, "seed": seed}
    null = np.array([nested_cv(X, rng.permutation(y), **options).auc for _ in range(n_perm)])
    return permutation_pvalue(observed, null), null


def bootstrap_aucs(X: pd.DataFrame, y, *, n_boot: int = 40, seed: int = 0, groups: Sequence | None = None,
                   **options) -> np.ndarray:  # fmt: skip
    """AUCs of the whole nested procedure (one repeat) on ``n_boot`` bootstrap draws of the samples.

    Without ``groups`` the cases and the controls are drawn separately (each class keeps its
    size); with ``groups`` whole groups (patients) are drawn. The copies of one sample or patient
    share a group, so they always fall in the same fold, outer and inner: a copy is never both
    trained on and tested. A draw the procedure cannot run on (a class too small for the folds)
    is NaN."""
    y = np.asarray(y, dtype=bool)
    rng = np.random.default_rng(seed + 104_729)
    options = {**options, "repeats": 1, "progress": False}
    if groups is None:
        cases, controls = np.flatnonzero(y), np.flatnonzero(~y)
    else:
        labels, unit_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        members = [np.flatnonzero(unit_of == u) for u in range(len(labels))]
    out = np.full(n_boot, np.nan)
    for b in range(n_boot):
        if groups is None:  # a sample is its own unit: the rows drawn are the copies
            rows = copy_of = np.concatenate([rng.choice(cases, cases.size), rng.choice(controls, controls.size)])
        else:
            drawn = rng.choice(len(members), len(members))
            rows = np.concatenate([members[u] for u in drawn])
            copy_of = np.concatenate([np.full(members[u].size, u) for u in drawn])
        try:
            out[b] = nested_cv(X.iloc[rows].reset_index(drop=True), y[rows], groups=copy_of, seed=seed + 1 + b,
                               **options).auc  # fmt: skip
        except InputError:
            continue
    return out


def naive_selection_cv_auc(
    X: pd.DataFrame, y, *, k: int = 10, folds: int = 5, seed: int = 0, C: float = 1.0
) -> float:
    """The leaky procedure, for demonstration only: choose the k best features on ALL samples,
    then cross-validate the model on them. Its AUC is inflated on noise; never report it."""
    X, y, _ = _check(X, y, (), "l2")
    values = X.to_numpy(dtype=np.float64)
    selector = pm.AucSelector(k=k).fit(values, y)
    chosen = values[:, selector.columns_]
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    prob = cross_val_predict(model, chosen, y, cv=cv, method="predict_proba")[:, 1]
    return roc.roc_auc(prob, y, "higher_in_case").auc


# ---- subgroups ------------------------------------------------------------------------------

_EARLY = {"I", "IA", "IB", "0", "A", "A1", "A2", "A3", "A4"}


def is_early_stage(values) -> pd.Series:
    """True for TNM stage I or BCLC 0/A, False for later stages, NA when unknown.

    Accepts forms such as ``"Stage I"``, ``"stage IA"``, ``"I"``, ``"BCLC 0"``, ``"BCLC-A"``,
    ``"A"``, ``"0"``; ``"Stage II"``, ``"IIIA"``, ``"BCLC B"`` … are not early.
    """
    series = pd.Series(values)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    for key, raw in series.items():
        if pd.isna(raw) or str(raw).strip() == "":
            continue
        text = re.sub(r"^(STAGE|BCLC)[\s_:-]*", "", str(raw).strip().upper()).strip()
        if text in {"NA", "N/A", "UNKNOWN", "[NOT AVAILABLE]", "[DISCREPANCY]"}:
            continue
        out[key] = text in _EARLY
    return out
