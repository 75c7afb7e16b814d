"""Penalized logistic panels: the modelling procedure (impute → select → scale → fit)
and its tuning by inner cross-validation (the nested cross-validation that judges it is in
``panel.py``).

The whole procedure, feature selection included, is one scikit-learn pipeline, so every
resampling step (inner folds, outer folds, permutations) repeats the selection on its own
training data only: nothing learned from held-out samples reaches the model evaluated on them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from exomir.stats import _roc_core as core
from exomir.errors import InputError

PENALTIES = ("l1", "l2", "elasticnet", "none")
DEFAULT_CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
DEFAULT_MAX_FEATURES = (5, 10, 20)
TRANSFORMS = {"log10p1": "log10(x + 1)", "identity": "x"}


class AucSelector(TransformerMixin, BaseEstimator):
    """Keep the ``n_forced`` leading columns and the ``k`` others whose AUC is farthest from 0.5.

    The AUC is direction-free here (|AUC − 0.5|) so miRNAs lower in cases compete equally.
    """

    def __init__(self, k: int = 10, n_forced: int = 0):
        self.k = k
        self.n_forced = n_forced

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=bool)
        chosen = np.sort(rank_candidates(X, y, self.n_forced)[: self.k])
        self.columns_ = np.r_[np.arange(self.n_forced), chosen].astype(int)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return np.asarray(X, dtype=np.float64)[:, self.columns_]


def rank_candidates(X: np.ndarray, y: np.ndarray, n_forced: int) -> np.ndarray:
    """Column indices of the non-forced candidates, strongest (|AUC − 0.5|) first.

    Equal strength keeps column order (stable sort), so results do not depend on sort quirks.
    """
    candidates = np.arange(n_forced, X.shape[1])
    if candidates.size == 0:
        return candidates
    strength = np.abs(core.placements(X[:, candidates].T, y).auc - 0.5)
    return candidates[np.argsort(-strength, kind="stable")]


def _logistic(penalty: str, seed: int) -> LogisticRegression:
    if penalty == "l1":
        return LogisticRegression(l1_ratio=1.0, solver="liblinear", max_iter=5000, random_state=seed)
    if penalty == "l2":
        return LogisticRegression(l1_ratio=0.0, solver="lbfgs", max_iter=5000)
    if penalty == "elasticnet":
        return LogisticRegression(l1_ratio=0.5, solver="saga", max_iter=20000, tol=1e-4, random_state=seed)
    if penalty == "none":
        return LogisticRegression(C=np.inf, solver="lbfgs", max_iter=5000)
    raise ValueError(f"penalty must be one of {PENALTIES}")


def pipeline(penalty: str, n_forced: int, seed: int) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("select", AucSelector(k=10, n_forced=n_forced)),
            ("scale", StandardScaler()),
            ("model", _logistic(penalty, seed)),
        ]
    )


def grid(
    penalty: str,
    n_candidates: int,
    *,
    Cs: Sequence[float] = DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = DEFAULT_MAX_FEATURES,
) -> dict:
    """Hyper-parameter grid; feature counts above the number of candidates collapse to 'all'."""
    ks = sorted({min(int(k), n_candidates) for k in max_features}) or [n_candidates]
    out: dict = {"select__k": ks}
    if penalty != "none":
        out["model__C"] = [float(c) for c in Cs]
    if penalty == "elasticnet":
        out["model__l1_ratio"] = [float(r) for r in l1_ratios]
    return out


def apply_transforms(frame: pd.DataFrame, transforms: dict[str, str]) -> np.ndarray:
    values = frame.to_numpy(dtype=np.float64, copy=True)
    for j, name in enumerate(frame.columns):
        kind = transforms.get(str(name), "identity")
        if kind == "log10p1":
            with np.errstate(invalid="ignore"):
                values[:, j] = np.log10(np.clip(values[:, j], 0.0, None) + 1.0)
        elif kind != "identity":
            raise ValueError(f"unknown transform {kind!r} (known: {sorted(TRANSFORMS)})")
    return values


@dataclass
class Tuned:
    """The procedure refitted on all its training data with the hyper-parameters that won the
    inner cross-validation (mean held-out AUC over the inner folds, as GridSearchCV scores)."""

    pipeline: Pipeline
    params: dict
    inner_cv_auc: float
    convergence_warnings: int

    def predict_proba(self, X):
        return self.pipeline.predict_proba(X)


def _combos(params: dict) -> list[dict]:
    ks = params["select__k"]
    cs = params.get("model__C", [np.inf])
    ratios = params.get("model__l1_ratio", [None])
    return [{"k": k, "C": c, "l1_ratio": r} for k in ks for c in cs for r in ratios]


#: above this many training samples the inner-CV grid search runs on a stratified subsample of
#: this size (the chosen model is still fitted on all of them), so that tuning costs the same at
#: n = 5,000 as at n = 1,000; AUC differences between grid points are resolved long before that.
MAX_TUNE_SAMPLES = 1000


def _tuning_rows(y: np.ndarray, seed: int, limit: int) -> np.ndarray:
    """All rows, or a seeded stratified subsample of ``limit`` rows (class shares kept)."""
    if y.size <= limit:
        return np.arange(y.size)
    rng = np.random.default_rng(seed)
    cases, controls = np.flatnonzero(y), np.flatnonzero(~y)
    n_case = max(2, round(limit * cases.size / y.size))
    picked = np.r_[rng.choice(cases, n_case, replace=False), rng.choice(controls, limit - n_case, replace=False)]
    return np.sort(picked)


def tune(
    values: np.ndarray, y: np.ndarray, *, penalty: str, n_forced: int, inner_folds: int, seed: int,
    max_tune_samples: int = MAX_TUNE_SAMPLES, groups: np.ndarray | None = None, **grid_options,
) -> Tuned:  # fmt: skip
    """Choose k, C (and the elastic-net mixing) by stratified inner CV on AUC, then refit.

    Equivalent to a grid search over the whole pipeline, but each inner training set is
    imputed and its candidates ranked once and reused for every grid point. With more than
    ``max_tune_samples`` samples the grid search uses a stratified subsample of that size.
    ``groups`` (a patient, or the copies of one sample in a bootstrap draw) stay in one inner fold.
    """
    params = grid(penalty, values.shape[1] - n_forced, **grid_options)
    combos = _combos(params)
    n_warn = 0
    with one_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if len(combos) > 1:
            scores = np.zeros((inner_folds, len(combos)))
            rows = _tuning_rows(y, seed, max_tune_samples)
            if groups is None:
                splits = StratifiedKFold(inner_folds, shuffle=True, random_state=seed).split(values[rows], y[rows])
            else:
                splits = StratifiedGroupKFold(inner_folds, shuffle=True, random_state=seed).split(
                    values[rows], y[rows], np.asarray(groups)[rows])
            for f, (tr, va) in enumerate(splits):
                tr, va = rows[tr], rows[va]
                imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(values[tr])
                xt, xv = imputer.transform(values[tr]), imputer.transform(values[va])
                order = rank_candidates(xt, y[tr], n_forced)
                for k in params["select__k"]:
                    cols = np.r_[np.arange(n_forced), np.sort(order[:k])].astype(int)
                    scaler = StandardScaler().fit(xt[:, cols])
                    zt, zv = scaler.transform(xt[:, cols]), scaler.transform(xv[:, cols])
                    for j, combo in enumerate(combos):
                        if combo["k"] != k:
                            continue
                        model = _logistic(penalty, seed)
                        model.set_params(C=combo["C"])
                        if combo["l1_ratio"] is not None:
                            model.set_params(l1_ratio=combo["l1_ratio"])
                        model.fit(zt, y[tr])
                        pv = model.predict_proba(zv)[:, 1]
                        scores[f, j] = core.placements(pv[None, :], y[va]).auc[0]
            mean = scores.mean(axis=0)
            best = int(np.argmax(mean))  # first best in grid order, as GridSearchCV ranks
            inner_auc = float(mean[best])
        else:
            best, inner_auc = 0, float("nan")
        combo = combos[best]
        pipe = pipeline(penalty, n_forced, seed).set_params(select__k=combo["k"], model__C=combo["C"])
        if combo["l1_ratio"] is not None:
            pipe.set_params(model__l1_ratio=combo["l1_ratio"])
        pipe.fit(values, y)
        n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    model = pipe.named_steps["model"]
    chosen = {"k": int(combo["k"]), "C": float(model.C), "l1_ratio": float(model.l1_ratio), "inner_cv_auc": inner_auc}
    return Tuned(pipeline=pipe, params=chosen, inner_cv_auc=inner_auc, convergence_warnings=n_warn)


@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_thread():
    """Limit BLAS/OpenMP to one thread while a small model fits (threads only cost there).

    One controller is kept for the process: building it scans the loaded libraries, which cost
    about a fifth of a small nested CV when done for every fit."""
    return _controller().limit(limits=1)


def fit_quietly(estimator, X, y):
    """Fit on one thread, turning solver convergence warnings into a count."""
    with one_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return sum(issubclass(w.category, ConvergenceWarning) for w in caught)


@dataclass
class FittedPanel:
    """A fitted, inspectable penalized logistic panel.

    ``predict_proba`` needs only the numbers stored here (no scikit-learn object), so a panel
    can be written to a file and scored elsewhere: raw values → transform → impute with the
    training medians → standardise with the training mean and scale → linear predictor.
    """

    name: str
    penalty: str
    features: list[str]
    forced: list[str]
    coefficients: pd.Series  # per standard deviation of each (transformed) feature
    intercept: float
    center: pd.Series
    scale: pd.Series
    impute_values: pd.Series
    transforms: dict[str, str]
    hyperparameters: dict
    candidates: list[str]
    n_case: int
    n_control: int
    convergence_warnings: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def nonzero_features(self) -> list[str]:
        return [f for f in self.features if self.coefficients[f] != 0.0]

    def linear_predictor(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise InputError(f"panel {self.name!r} needs columns that are absent: {missing}",
                             expected="the panel's features")  # fmt: skip
        values = apply_transforms(frame[self.features], self.transforms)
        values = np.where(np.isnan(values), self.impute_values[self.features].to_numpy(), values)
        z = (values - self.center[self.features].to_numpy()) / self.scale[self.features].to_numpy()
        return self.intercept + z @ self.coefficients[self.features].to_numpy()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of being a case for each row of a samples × features table."""
        return 1.0 / (1.0 + np.exp(-self.linear_predictor(frame)))

    def coefficient_table(self) -> pd.DataFrame:
        """One row per feature: coefficient per SD, odds ratio per SD, per-unit coefficient."""
        coef = self.coefficients[self.features]
        return pd.DataFrame(
            {
                "feature": self.features,
                "forced": [f in self.forced for f in self.features],
                "transform": [TRANSFORMS[self.transforms.get(f, "identity")] for f in self.features],
                "coefficient_per_sd": coef.to_numpy(),
                "odds_ratio_per_sd": np.exp(coef.to_numpy()),
                "coefficient_per_unit": (coef / self.scale[self.features]).to_numpy(),
                "center": self.center[self.features].to_numpy(),
                "scale": self.scale[self.features].to_numpy(),
                "impute_value": self.impute_values[self.features].to_numpy(),
            }
        )

    def to_dict(self) -> dict:
        """Plain numbers and strings only (JSON-ready)."""
        return {
            "name": self.name,
            "penalty": self.penalty,
            "features": list(self.features),
            "forced": list(self.forced),
            "coefficients": {k: float(v) for k, v in self.coefficients[self.features].items()},
            "intercept": float(self.intercept),
            "center": {k: float(v) for k, v in self.center[self.features].items()},
            "scale": {k: float(v) for k, v in self.scale[self.features].items()},
            "impute_values": {k: float(v) for k, v in self.impute_values[self.features].items()},
            "transforms": dict(self.transforms),
            "hyperparameters": dict(self.hyperparameters),
            "candidates": list(self.candidates),
            "n_case": self.n_case,
            "n_control": self.n_control,
            "convergence_warnings": self.convergence_warnings,
            **self.extra,
        }


def to_fitted_panel(name, tuned: Tuned, columns: list[str], forced: list[str], transforms, y, penalty):
    pipe = tuned.pipeline
    imputer = pipe.named_steps["impute"]
    selector = pipe.named_steps["select"]
    scaler = pipe.named_steps["scale"]
    model = pipe.named_steps["model"]
    kept = [columns[i] for i in selector.columns_]
    return FittedPanel(
        name=name,
        penalty=penalty,
        features=kept,
        forced=list(forced),
        coefficients=pd.Series(model.coef_[0], index=kept),
        intercept=float(model.intercept_[0]),
        center=pd.Series(scaler.mean_, index=kept),
        scale=pd.Series(scaler.scale_, index=kept),
        impute_values=pd.Series(imputer.statistics_[selector.columns_], index=kept),
        transforms={k: v for k, v in transforms.items() if k in kept},
        hyperparameters=dict(tuned.params),
        candidates=list(columns),
        n_case=int(np.sum(y)),
        n_control=int(np.sum(~np.asarray(y, bool))),
        convergence_warnings=tuned.convergence_warnings,
    )
