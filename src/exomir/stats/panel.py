"""Diagnostic panels: miRNAs with or without AFP in penalized logistic regression, evaluated
without fooling ourselves.

* Feature selection (the miRNAs farthest from AUC 0.5) and tuning (penalty strength, number of
  miRNAs, elastic-net mixing) happen only inside the training folds of a nested, stratified,
  seeded cross-validation.
* The AUC is the mean of the held-out folds' AUCs (each fold judged by a model that never saw
  it), reported per repeat (mean and spread). Its interval is the corrected repeated-CV t
  interval (Nadeau & Bengio 2003) whose coverage was checked by simulation at n = 40–400 under
  the null and under an effect (``benchmarks/bench_panel_coverage.py``). A label-permutation
  test of the whole nested procedure gives the p-value of "the panel does better than chance".
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
from exomir.preprocess.qc import drop_controls
from exomir.stats import _panel_model as pm
from exomir.stats import _roc_core as core
from exomir.stats import roc
from exomir.stats._common import matrix_of
from exomir.stats._panel_cv import corrected_t_pvalue, cv_auc_interval, permutation_pvalue, validated_threshold
from exomir.stats._panel_metrics import calibration, decision_curve, idi, net_benefit, nri
from exomir.stats._panel_model import PENALTIES, FittedPanel

__all__ = [
    "FittedPanel",
    "NestedCvResult",
    "PanelAnalysis",
    "calibration",
    "decision_curve",
    "fit_panel",
    "idi",
    "is_early_stage",
    "naive_selection_cv_auc",
    "nested_cv",
    "net_benefit",
    "nri",
    "panel_analysis",
    "permutation_test",
]

AFP_NEGATIVE_BELOW = 20.0  # ng/mL, the usual AFP positivity cut-off
DEFAULT_REPEATS = 3  # repeats of the outer CV: the spread between them is reported
DEFAULT_PERMUTATIONS = 100
PERMUTATION_MAX_N = 200  # above, a permutation test of the nested CV costs too much; corrected t instead


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
    Cs: Sequence[float] = pm.DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = pm.DEFAULT_MAX_FEATURES,
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
    Cs: Sequence[float] = pm.DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = pm.DEFAULT_MAX_FEATURES,
    conf_level: float = 0.95,
    progress: bool = True,
    groups: Sequence | None = None,
) -> NestedCvResult:
    """Nested, stratified, seeded cross-validation of the whole panel procedure.

    For each outer training set the candidates are screened, the hyper-parameters tuned by the
    inner CV and the model fitted, all on that training set alone; its held-out samples are then
    predicted and the fold's AUC computed on them.
    ``groups`` (one label per sample, e.g. the patient: :func:`exomir.cohort.sample_groups`) keeps
    the samples of one group in the same outer fold, so a patient is never both trained on and tested.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from exomir.progress import track

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
    jobs = [
        (r, fold, train, test)
        for r in range(repeats)
        for fold, (train, test) in enumerate(
            StratifiedKFold(outer_folds, shuffle=True, random_state=seed + r).split(values, y) if groups is None
            else StratifiedGroupKFold(outer_folds, shuffle=True, random_state=seed + r).split(
                values, y, np.asarray(groups, dtype=object))
        )
    ]
    iterator = track(jobs, f"nested CV {name}") if progress else jobs
    for r, fold, train, test in iterator:
        tuned = pm.tune(values[train], y[train], penalty=penalty, n_forced=len(forced),
                        inner_folds=inner_folds, seed=seed, Cs=Cs, l1_ratios=l1_ratios,
                        max_features=max_features)  # fmt: skip
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


# ---- the Cohort analysis --------------------------------------------------------------------


@dataclass
class PanelAnalysis:
    """Everything :func:`panel_analysis` found, as tidy tables plus the fitted panels."""

    comparison: str
    summary: pd.DataFrame  # one row per model, roc.csv columns first
    comparisons: pd.DataFrame  # paired DeLong tests of each panel against AFP alone
    reclassification: pd.DataFrame  # NRI (categorical, continuous) and IDI against AFP alone
    decision_curve: pd.DataFrame
    calibration: pd.DataFrame
    subgroups: pd.DataFrame
    selection: pd.DataFrame  # selection frequency of each feature per panel
    folds: pd.DataFrame
    out_of_fold: pd.DataFrame  # samples × models out-of-fold probabilities, plus is_case
    panels: dict[str, FittedPanel] = field(default_factory=dict)


def panel_analysis(
    adata,
    group: str,
    case: str,
    control: str,
    *,
    afp: str | None = None,
    features: Sequence[str] | None = None,
    layer: str | None = None,
    penalty: str = "elasticnet",
    stage: str | None = None,
    afp_negative_below: float = AFP_NEGATIVE_BELOW,
    outer_folds: int = 5,
    inner_folds: int = 5,
    repeats: int = DEFAULT_REPEATS,
    permutations: int = DEFAULT_PERMUTATIONS,
    permutation_max_n: int = PERMUTATION_MAX_N,
    risk_cutoffs: Sequence[float] = (0.3, 0.7),
    seed: int = 0,
    Cs: Sequence[float] = pm.DEFAULT_CS,
    l1_ratios: Sequence[float] = (0.5,),
    max_features: Sequence[int] = pm.DEFAULT_MAX_FEATURES,
) -> PanelAnalysis:
    """Build and judge miRNA panels for ``case`` vs ``control``, with and against AFP.

    Models: ``mirna_panel`` (miRNAs only), and when ``afp`` names an obs column also
    ``mirna_afp_panel`` (AFP always kept, log10(AFP + 1)) and ``AFP`` (logistic on log10(AFP + 1),
    unpenalized). All use the same outer folds, so their out-of-fold predictions are paired.
    Samples without AFP are left out of every model (recorded as exclusions) so that the
    comparisons are made on the same people. ``stage`` names an obs column for the early-stage
    subgroup (stage I / BCLC 0–A cases against all controls); the AFP-negative subgroup is every
    sample with AFP below ``afp_negative_below`` ng/mL.

    ``permutations`` label permutations of the whole nested procedure give each panel's p-value
    while the samples number at most ``permutation_max_n``; above it (where the permutation
    test would cost ``permutations`` nested CVs on a large cohort) the p-value comes from the
    corrected CV t-test, and ``pvalue_method`` says which was used.
    """
    from exomir.cohort import record_exclusion, record_step
    from exomir.progress import steps

    case, control = str(case), str(control)
    comparison = f"{case}_vs_{control}"
    obs = adata.obs
    for column in (group, afp, stage):
        if column is not None and column not in obs.columns:
            raise InputError(f"no column {column!r} in the clinical table", column=column,
                             expected=f"one of {list(obs.columns)}")  # fmt: skip
    labels = obs[group].astype("string")
    for value in (case, control):
        if not (labels == value).any():
            raise InputError(f"group {value!r} not found in column {group!r}", column=group)
    rows = ((labels == case) | (labels == control)).fillna(False).to_numpy(dtype=bool)
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls never enter a panel
    mirnas = pd.DataFrame(matrix_of(adata, layer), index=obs.index.astype(str),
                          columns=[str(v) for v in adata.var_names])  # fmt: skip
    if features is not None:
        unknown = [f for f in features if f not in mirnas.columns]
        if unknown:
            raise InputError(f"features not in the cohort: {unknown}")
        mirnas = mirnas[list(features)]
    mirnas = mirnas.loc[rows]
    y = (labels[rows] == case).to_numpy(dtype=bool)
    sub_obs = obs.loc[rows]
    afp_values = None
    if afp is not None:
        afp_values = pd.to_numeric(sub_obs[afp], errors="coerce")
        missing_afp = afp_values.isna().to_numpy()
        for sample in sub_obs.index[missing_afp]:
            record_exclusion(adata, "sample", sample, f"no usable AFP value; left out of panels {comparison}")
        if missing_afp.any():
            from exomir.progress import warn

            warn(f"panels {comparison}: {int(missing_afp.sum())} samples without AFP left out of every model")
        keep = ~missing_afp
        mirnas, y, sub_obs, afp_values = mirnas[keep], y[keep], sub_obs[keep], afp_values[keep]
    n_missing_values = int(mirnas.isna().to_numpy().sum())
    from exomir.cohort import sample_groups

    groups = sample_groups(adata)  # one patient's samples stay in one outer fold
    if groups is not None:
        groups = groups[rows][keep] if afp is not None else groups[rows]

    common = dict(outer_folds=outer_folds, inner_folds=inner_folds, repeats=repeats, seed=seed,
                  Cs=Cs, l1_ratios=l1_ratios, max_features=max_features, groups=groups)  # fmt: skip
    designs: dict[str, tuple[pd.DataFrame, list[str], dict, str]] = {
        "mirna_panel": (mirnas, [], {}, penalty),
    }
    if afp_values is not None:
        with_afp = pd.concat([afp_values.rename("AFP"), mirnas], axis=1)
        designs["mirna_afp_panel"] = (with_afp, ["AFP"], {"AFP": "log10p1"}, penalty)
        designs["AFP"] = (afp_values.rename("AFP").to_frame(), ["AFP"], {"AFP": "log10p1"}, "none")

    results: dict[str, NestedCvResult] = {}
    panels: dict[str, FittedPanel] = {}
    tests: dict[str, dict] = {}
    with steps(f"panels {comparison}", 3 * len(designs)) as advance:
        for name, (frame, forced, transforms, pen) in designs.items():
            options = dict(name=name, penalty=pen, forced=forced, transforms=transforms, progress=False, **common)
            results[name] = nested_cv(frame, y, **options)
            advance(f"{name}: nested CV")
            panels[name] = fit_panel(frame, y, name=name, penalty=pen, forced=forced, transforms=transforms,
                                     Cs=Cs, l1_ratios=l1_ratios, max_features=max_features,
                                     inner_folds=inner_folds, seed=seed)  # fmt: skip
            advance(f"{name}: final fit")
            tests[name] = _chance_test(frame, y, results[name], options, permutations, permutation_max_n, seed)
            tests[name]["auc_apparent"] = roc.roc_auc(panels[name].predict_proba(frame), y, "higher_in_case").auc
            advance(f"{name}: {tests[name]['pvalue_method']}")

    oof = pd.DataFrame({name: r.probability for name, r in results.items()})
    oof["is_case"] = y
    calib = pd.DataFrame([{"model": name, **calibration(y, oof[name])} for name in results])
    curve = decision_curve(y, {name: oof[name].to_numpy() for name in results})
    summary = _summary(results, panels, tests, comparison, y)
    summary["n_missing_values_imputed"] = n_missing_values
    comparisons, reclass = _against_afp(oof, y, comparison, risk_cutoffs)
    if "AFP" in oof:
        comps = comparisons.set_index("model")
        summary["vs_afp_auc_difference"] = summary["mirna"].map(comps["difference"])
        summary["vs_afp_pvalue"] = summary["mirna"].map(comps["pvalue"])
    summary = _with_validated_measures(summary, calib, curve, reclass)
    subgroups = _subgroups(oof, y, sub_obs, stage, afp_values, afp_negative_below, comparison)
    selection = pd.concat(
        [r.selection_frequency.rename("frequency").rename_axis("feature").reset_index().assign(model=name)
         for name, r in results.items()], ignore_index=True,
    )[["model", "feature", "frequency"]]  # fmt: skip
    folds = pd.concat([r.folds.assign(model=name) for name, r in results.items()], ignore_index=True)
    record_step(adata, "panel_analysis", group=group, case=case, control=control, afp=afp or "",
                penalty=penalty, outer_folds=outer_folds, inner_folds=inner_folds, repeats=repeats,
                permutations=permutations, permutation_max_n=permutation_max_n, seed=seed)  # fmt: skip
    return PanelAnalysis(comparison=comparison, summary=summary, comparisons=comparisons,
                         reclassification=reclass, decision_curve=curve, calibration=calib,
                         subgroups=subgroups, selection=selection, folds=folds, out_of_fold=oof,
                         panels=panels)  # fmt: skip


def _chance_test(frame, y, result: NestedCvResult, options: dict, permutations: int, max_n: int, seed: int) -> dict:
    """p-value of "this panel does better than chance" (one-sided), by permutation when affordable."""
    first = result.folds[result.folds["repeat"] == 0]["auc"].to_numpy()
    if permutations > 0 and y.size <= max_n:
        p, _ = permutation_test(frame, y, float(np.nanmean(first)), n_perm=permutations, seed=seed,
                                **{k: v for k, v in options.items() if k not in ("repeats", "progress", "seed")})  # fmt: skip
        return {"pvalue": p, "pvalue_method": f"permutation ({permutations} label permutations of the whole "
                "nested CV, one-sided, first repeat)", "n_permutations": permutations}  # fmt: skip
    why = "permutations off" if permutations <= 0 else f"n {y.size} > {max_n}, permutation skipped"
    return {"pvalue": corrected_t_pvalue(result.folds["auc"].to_numpy(), result.outer_folds),
            "pvalue_method": f"corrected CV t-test, one-sided ({why})", "n_permutations": 0}  # fmt: skip


def _summary(results, panels, tests, comparison, y) -> pd.DataFrame:
    rows = []
    for name, r in results.items():
        th = roc.thresholds(r.probability.to_numpy(), y, "higher_in_case").iloc[0]
        held_out = validated_threshold(r.probability_by_repeat, y, r.fold_of)
        panel = panels[name]
        spread = np.asarray(r.auc_by_repeat, dtype=float)
        rows.append({
            "mirna": name, "comparison": comparison, "n_case": int(y.sum()), "n_control": int((~y).sum()),
            "auc": r.auc, "auc_ci_low": r.auc_ci_low, "auc_ci_high": r.auc_ci_high,
            "ci_method": r.ci_method, "direction": "higher_in_case",
            "threshold": th["threshold"],
            "sensitivity": held_out["sensitivity"], "specificity": held_out["specificity"],
            "threshold_rule": ">=", "threshold_criterion": "youden (out-of-fold probability)",
            "threshold_estimate": "validated: sensitivity and specificity of a cut-off chosen on the other "
                                  "folds' out-of-fold probabilities, applied to each held-out fold",
            "sensitivity_apparent": th["sensitivity"], "specificity_apparent": th["specificity"],
            "estimate": "validated (held-out folds); columns ending in _apparent are not",
            "auc_repeat_mean": float(spread.mean()), "auc_repeat_sd": float(spread.std(ddof=1)) if spread.size > 1 else np.nan,
            "auc_repeat_min": float(spread.min()), "auc_repeat_max": float(spread.max()), "n_repeats": int(spread.size),
            "auc_pooled_out_of_fold": float(np.mean(r.auc_pooled_by_repeat)),
            **tests[name],
            "penalty": panel.penalty, "n_features": len(panel.nonzero_features),
            "features": ";".join(panel.nonzero_features),
            "C": panel.hyperparameters["C"], "l1_ratio": panel.hyperparameters["l1_ratio"],
            "k": panel.hyperparameters["k"],
        })  # fmt: skip
    return pd.DataFrame(rows)


NET_BENEFIT_AT = (0.1, 0.2, 0.3, 0.5)


def _with_validated_measures(summary: pd.DataFrame, calib: pd.DataFrame, curve: pd.DataFrame,
                             reclass: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """Calibration, net benefit at a few threshold probabilities and NRI/IDI against AFP, all
    from out-of-fold probabilities, as columns of the panel summary (panels.csv)."""
    out = summary.merge(calib.rename(columns={"model": "mirna"}), on="mirna", how="left")
    for pt in NET_BENEFIT_AT:
        at = curve[np.isclose(curve["threshold"], pt)].set_index("model")["net_benefit"]
        out[f"net_benefit_at_{pt:g}"] = out["mirna"].map(at)
        out[f"net_benefit_treat_all_at_{pt:g}"] = at.get("treat_all", np.nan)
    if len(reclass):
        keys = {"NRI (categorical)": "nri_categorical", "NRI (continuous)": "nri_continuous", "IDI": "idi"}
        for measure, prefix in keys.items():
            part = reclass[reclass["measure"] == measure].set_index("model")
            for column, suffix in (("estimate", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"),
                                   ("pvalue", "_pvalue")):  # fmt: skip
                out[prefix + suffix] = out["mirna"].map(part[column])
    return out


def _against_afp(oof: pd.DataFrame, y, comparison, risk_cutoffs) -> tuple[pd.DataFrame, pd.DataFrame]:
    comp_rows, re_rows = [], []
    if "AFP" not in oof:
        return pd.DataFrame(comp_rows), pd.DataFrame(re_rows)
    panels = [c for c in oof.columns if c not in ("AFP", "is_case")]
    tests = roc.compare_to_reference(oof[panels], oof["AFP"].to_numpy(), y, direction="higher_in_case",
                                     reference_direction="higher_in_case", reference_name="AFP")  # fmt: skip
    comps = tests.rename(columns={"mirna": "model"})
    comps.insert(1, "comparison", comparison)
    for name in panels:
        new, old = oof[name].to_numpy(), oof["AFP"].to_numpy()
        for res in (nri(y, new, old, risk_cutoffs), nri(y, new, old), idi(y, new, old)):
            re_rows.append({"model": name, "reference": "AFP", "comparison": comparison, **res})
    return comps, pd.DataFrame(re_rows)


def _subgroups(oof, y, sub_obs, stage, afp_values, afp_negative_below, comparison) -> pd.DataFrame:
    masks: dict[str, np.ndarray] = {}
    if stage is not None:
        early = is_early_stage(sub_obs[stage]).fillna(False).to_numpy(dtype=bool)
        masks["early_stage (stage I / BCLC 0-A) cases vs all controls"] = ~y | early
    if afp_values is not None:
        masks[f"AFP-negative (< {afp_negative_below:g} ng/mL)"] = (afp_values < afp_negative_below).to_numpy()
    rows = []
    models = [c for c in oof.columns if c != "is_case"]
    for label, mask in masks.items():
        yy = y[mask]
        for name in models:
            row = {"subgroup": label, "model": name, "comparison": comparison,
                   "n_case": int(yy.sum()), "n_control": int((~yy).sum())}  # fmt: skip
            if yy.sum() >= 2 and (~yy).sum() >= 2:
                res = roc.roc_auc(oof[name].to_numpy()[mask], yy, "higher_in_case")
                row.update(auc=res.auc, auc_ci_low=res.ci_low, auc_ci_high=res.ci_high)
                if name != "AFP" and "AFP" in oof:
                    test = roc.delong_paired(oof[name].to_numpy()[mask], oof["AFP"].to_numpy()[mask], yy,
                                             direction_a="higher_in_case", direction_b="higher_in_case")  # fmt: skip
                    row.update(vs_afp_auc_difference=test["difference"], vs_afp_pvalue=test["pvalue"])
            rows.append(row)
    return pd.DataFrame(rows)
