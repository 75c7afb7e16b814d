"""The diagnostic panels of a Cohort: ``case`` against ``control`` with miRNAs alone, miRNAs + AFP
and AFP alone, each judged by the nested cross-validation of :mod:`exomir.stats.panel` on the same
outer folds, then against AFP (paired DeLong, NRI, IDI), for calibration and net benefit, and in the
early-stage and AFP-negative subgroups.

:class:`PanelOptions` holds how the panels are built and judged; :func:`read_afp` and
:func:`with_afp` are the AFP rules every panel follows (also the locked model of
:mod:`exomir.model`): a sample without a usable AFP value is left out and recorded, and AFP enters a
panel as a forced feature on the log10(AFP + 1) scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
import logging

import anndata as ad
import numpy as np
import pandas as pd

from exomir.cohort import Selection, matrix_of, record_exclusion, record_step, sample_groups, select_groups
from exomir.errors import InputError
from exomir.preprocess.qc import control_columns, drop_controls
from exomir.progress import steps
from exomir.stats import roc
from exomir.stats.panel import (
    DEFAULT_CS,
    DEFAULT_MAX_FEATURES,
    FittedPanel,
    NestedCvResult,
    bootstrap_aucs,
    bootstrap_cv_interval,
    calibration,
    corrected_t_pvalue,
    decision_curve,
    fit_panel,
    idi,
    is_early_stage,
    nested_cv,
    nri,
    permutation_test,
    validated_threshold,
)

log = logging.getLogger(__name__)

__all__ = ["PanelAnalysis", "PanelOptions", "panel_analysis", "read_afp", "with_afp"]

AFP_NEGATIVE_BELOW = 20.0  # ng/mL, the usual AFP positivity cut-off
AFP_TRANSFORM = "log10p1"  # AFP is skewed over orders of magnitude: log10(AFP + 1) in every panel
DEFAULT_REPEATS = 3  # repeats of the outer CV: the spread between them is reported
DEFAULT_PERMUTATIONS = 100
DEFAULT_BOOTSTRAPS = 40  # bootstrap draws of the whole nested CV behind each panel's AUC interval
PERMUTATION_MAX_N = 200  # above, a permutation test of the nested CV costs too much; corrected t instead


# ---- the AFP rules --------------------------------------------------------------------------


def read_afp(adata: ad.AnnData, obs: pd.DataFrame, afp: str, *, exclusion: str) -> tuple[pd.Series, np.ndarray]:
    """AFP (ng/mL) of the samples of ``obs`` as floats, and the mask of those without a usable value.

    Every such sample is recorded in ``adata``'s exclusions with the reason ``exclusion``: a panel
    with AFP is fitted on the samples that have one, so that it is compared with AFP on the same people.
    """
    if afp not in obs.columns:
        raise InputError(f"no column {afp!r} in the clinical table (AFP)", column=afp,
                         expected=f"one of {list(obs.columns)}")  # fmt: skip
    values = pd.to_numeric(obs[afp], errors="coerce").astype(float)
    missing = values.isna().to_numpy()
    for sample in obs.index[missing]:
        record_exclusion(adata, "sample", sample, exclusion)
    return values, missing


def with_afp(X: pd.DataFrame, afp: pd.Series, name: str = "AFP") -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """``X`` with AFP as its first column under ``name``, and the ``forced`` features and ``transforms``
    that keep it in every panel on the log10(AFP + 1) scale."""
    if name in X.columns:
        raise InputError(f"AFP column name {name!r} is also a miRNA column", column=name)
    return pd.concat([afp.rename(name).set_axis(X.index), X], axis=1), [name], {name: AFP_TRANSFORM}


# ---- options and results --------------------------------------------------------------------


@dataclass(frozen=True)
class PanelOptions:
    """How :func:`panel_analysis` builds and judges the panels.

    ``penalty`` of the miRNA panels (``elasticnet``, ``l1``, ``l2``); nested CV with
    ``outer_folds`` × ``inner_folds`` folds, ``repeats`` times; tuning over ``Cs`` (inverse penalty),
    ``l1_ratios`` (elastic-net mixing) and ``max_features`` (miRNAs kept by the screen);
    ``permutations`` label permutations of the whole procedure give each panel's p-value while the
    samples number at most ``permutation_max_n`` (the corrected CV t-test above); ``bootstraps``
    bootstrap draws of the whole procedure give each panel's AUC interval (0: the corrected CV t
    interval, cheaper but too narrow in small cohorts); ``risk_cutoffs``
    of the categorical NRI; the AFP-negative subgroup is AFP below ``afp_negative_below`` ng/mL.
    """

    penalty: str = "elasticnet"
    outer_folds: int = 5
    inner_folds: int = 5
    repeats: int = DEFAULT_REPEATS
    permutations: int = DEFAULT_PERMUTATIONS
    permutation_max_n: int = PERMUTATION_MAX_N
    bootstraps: int = DEFAULT_BOOTSTRAPS
    risk_cutoffs: Sequence[float] = (0.3, 0.7)
    afp_negative_below: float = AFP_NEGATIVE_BELOW
    seed: int = 0
    Cs: Sequence[float] = DEFAULT_CS
    l1_ratios: Sequence[float] = (0.5,)
    max_features: Sequence[int] = DEFAULT_MAX_FEATURES

    @classmethod
    def of(cls, options: PanelOptions | None = None, **changes) -> PanelOptions:
        """``options`` (default: the defaults) with ``changes``; an unknown option is refused."""
        unknown = sorted(set(changes) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown panel option(s): {', '.join(unknown)}")
        return replace(options or cls(), **changes)

    def nested_cv_options(self) -> dict:
        return dict(outer_folds=self.outer_folds, inner_folds=self.inner_folds, repeats=self.repeats, seed=self.seed,
                    Cs=self.Cs, l1_ratios=self.l1_ratios, max_features=self.max_features)  # fmt: skip


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


@dataclass
class _PanelData:
    """The compared samples: miRNA values, labels, clinical rows, AFP and patient groups."""

    mirnas: pd.DataFrame
    y: np.ndarray
    obs: pd.DataFrame
    afp: pd.Series | None
    groups: np.ndarray | None
    n_missing_values: int


# ---- the Cohort verb ------------------------------------------------------------------------


def panel_analysis(
    adata: ad.AnnData,
    group: str,
    case: str,
    control: str | Sequence[str],
    *,
    afp: str | None = None,
    stage: str | None = None,
    features: Sequence[str] | None = None,
    layer: str | None = None,
    options: PanelOptions | None = None,
    **changes,
) -> PanelAnalysis:
    """Build and judge miRNA panels for ``case`` vs ``control``, with and against AFP.

    Models: ``mirna_panel`` (miRNAs only), and when ``afp`` names an obs column also
    ``mirna_afp_panel`` (AFP always kept, log10(AFP + 1)) and ``AFP`` (logistic on log10(AFP + 1),
    unpenalized). All use the same outer folds, so their out-of-fold predictions are paired.
    Samples without AFP are left out of every model (recorded as exclusions) so that the
    comparisons are made on the same people. ``stage`` names an obs column for the early-stage
    subgroup (stage I / BCLC 0–A cases against all controls); the AFP-negative subgroup is every
    sample with AFP below ``afp_negative_below`` ng/mL. ``control`` is one group or several
    pooled into one arm (a list, or ``"LC+CHB"``); ``features`` restricts the candidate miRNAs.

    ``options`` (:class:`PanelOptions`), changed by keyword (``repeats=1, permutations=0``), say
    how: the p-value of each panel comes from label permutations of the whole nested procedure
    while the samples number at most ``permutation_max_n``, else from the corrected CV t-test
    (``pvalue_method`` says which).
    """
    opts = PanelOptions.of(options, **changes)
    selection = select_groups(adata, group, case, control)
    for column in (afp, stage):
        if column is not None and column not in adata.obs.columns:
            raise InputError(f"no column {column!r} in the clinical table", column=column,
                             expected=f"one of {list(adata.obs.columns)}")  # fmt: skip
    controls = control_columns(adata)
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls never enter a panel
    data = _panel_data(adata, selection, afp, features, layer, controls)
    results, panels, tests = _fit_models(data, opts, selection.name)
    analysis = _judge(data, results, panels, tests, selection.name, stage, opts)
    record_step(adata, "panel_analysis", group=group, case=selection.case, control=selection.control, afp=afp or "",
                penalty=opts.penalty, outer_folds=opts.outer_folds, inner_folds=opts.inner_folds,
                repeats=opts.repeats, permutations=opts.permutations, permutation_max_n=opts.permutation_max_n,
                bootstraps=opts.bootstraps, seed=opts.seed)  # fmt: skip
    return analysis


def _panel_data(adata: ad.AnnData, selection: Selection, afp: str | None, features: Sequence[str] | None,
                layer: str | None, controls: dict[str, str] | None = None) -> _PanelData:  # fmt: skip
    """The compared samples' values; with AFP, only those that have it (the others recorded)."""
    obs = adata.obs
    mirnas = pd.DataFrame(matrix_of(adata, layer), index=obs.index.astype(str),
                          columns=[str(v) for v in adata.var_names])  # fmt: skip
    if features is not None:
        named_controls = [f for f in features if f in (controls or {})]
        if named_controls:
            raise InputError(f"features {named_controls} are control RNAs (spike-ins, U6/RNU/SNORD): they serve "
                             "normalization and QC only and never enter a panel",
                             expected="miRNAs of the cohort")  # fmt: skip
        unknown = [f for f in features if f not in mirnas.columns]
        if unknown:
            raise InputError(f"features not in the cohort: {unknown}")
        mirnas = mirnas[list(features)]
    rows = selection.rows
    mirnas, y, sub_obs = mirnas.loc[rows], selection.y, obs.loc[rows]
    groups = sample_groups(adata)  # one patient's samples stay in one outer fold
    groups = groups[rows] if groups is not None else None
    afp_values = None
    if afp is not None:
        afp_values, missing = read_afp(adata, sub_obs, afp,
                                       exclusion=f"no usable AFP value; left out of panels {selection.name}")
        if missing.any():
            log.warning(f"panels {selection.name}: {int(missing.sum())} samples without AFP left out of every model")
        keep = ~missing
        mirnas, y, sub_obs, afp_values = mirnas[keep], y[keep], sub_obs[keep], afp_values[keep]
        groups = groups[keep] if groups is not None else None
    return _PanelData(mirnas, y, sub_obs, afp_values, groups, int(mirnas.isna().to_numpy().sum()))


def _designs(data: _PanelData, penalty: str) -> dict[str, tuple[pd.DataFrame, list[str], dict, str]]:
    """Each model's features, forced features, transforms and penalty: miRNAs, miRNAs + AFP, AFP alone."""
    designs = {"mirna_panel": (data.mirnas, [], {}, penalty)}
    if data.afp is not None:
        designs["mirna_afp_panel"] = (*with_afp(data.mirnas, data.afp), penalty)
        designs["AFP"] = (*with_afp(data.mirnas.iloc[:, :0], data.afp), "none")
    return designs


def _fit_models(data: _PanelData, opts: PanelOptions, comparison: str):
    """Nested CV, final fit and chance test of every model, on the same outer folds."""
    designs = _designs(data, opts.penalty)
    y = data.y
    results: dict[str, NestedCvResult] = {}
    panels: dict[str, FittedPanel] = {}
    tests: dict[str, dict] = {}
    with steps(f"panels {comparison}", 3 * len(designs)) as advance:
        for name, (frame, forced, transforms, pen) in designs.items():
            options = dict(name=name, penalty=pen, forced=forced, transforms=transforms, progress=False,
                           groups=data.groups, **opts.nested_cv_options())  # fmt: skip
            results[name] = nested_cv(frame, y, **options)
            advance(f"{name}: nested CV")
            panels[name] = fit_panel(frame, y, name=name, penalty=pen, forced=forced, transforms=transforms,
                                     Cs=opts.Cs, l1_ratios=opts.l1_ratios, max_features=opts.max_features,
                                     inner_folds=opts.inner_folds, seed=opts.seed)  # fmt: skip
            advance(f"{name}: final fit")
            tests[name] = _chance_test(frame, y, results[name], options, opts.permutations, opts.permutation_max_n,
                                       opts.seed)  # fmt: skip
            tests[name].update(_interval(frame, y, results[name], options, opts.bootstraps, opts.seed))
            tests[name]["auc_apparent"] = roc.roc_auc(panels[name].predict_proba(frame), y, "higher_in_case").auc
            advance(f"{name}: {tests[name]['pvalue_method']}")
    return results, panels, tests


def _judge(data: _PanelData, results, panels, tests, comparison: str, stage: str | None,
           opts: PanelOptions) -> PanelAnalysis:  # fmt: skip
    """The tables of the panels from their out-of-fold probabilities."""
    y = data.y
    oof = pd.DataFrame({name: r.probability for name, r in results.items()})
    oof["is_case"] = y
    calib = pd.DataFrame([{"model": name, **calibration(y, oof[name])} for name in results])
    curve = decision_curve(y, {name: oof[name].to_numpy() for name in results})
    summary = _summary(results, panels, tests, comparison, y)
    summary["n_missing_values_imputed"] = data.n_missing_values
    comparisons, reclass = _against_afp(oof, y, comparison, opts.risk_cutoffs)
    if "AFP" in oof:
        comps = comparisons.set_index("model")
        summary["vs_afp_auc_difference"] = summary["mirna"].map(comps["difference"])
        summary["vs_afp_pvalue"] = summary["mirna"].map(comps["pvalue"])
    summary = _with_validated_measures(summary, calib, curve, reclass)
    subgroups = _subgroups(oof, y, data.obs, stage, data.afp, opts.afp_negative_below, comparison)
    selection = pd.concat(
        [r.selection_frequency.rename("frequency").rename_axis("feature").reset_index().assign(model=name)
         for name, r in results.items()], ignore_index=True,
    )[["model", "feature", "frequency"]]  # fmt: skip
    folds = pd.concat([r.folds.assign(model=name) for name, r in results.items()], ignore_index=True)
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


def _interval(frame, y, result: NestedCvResult, options: dict, bootstraps: int, seed: int) -> dict:
    """The AUC interval: bootstrap of the whole nested CV, or the corrected CV t when it is off."""
    if bootstraps <= 0:
        return {"n_bootstraps": 0}
    boot = bootstrap_aucs(frame, y, n_boot=bootstraps, seed=seed,
                          **{k: v for k, v in options.items() if k not in ("repeats", "progress", "seed")})  # fmt: skip
    low, high, _, method = bootstrap_cv_interval(result.auc, boot, int(y.sum()), int((~y).sum()),
                                            result.auc_by_repeat)
    if not np.isfinite(low):
        return {"n_bootstraps": 0}
    return {"auc_ci_low": low, "auc_ci_high": high, "ci_method": method, "n_bootstraps": int(np.isfinite(boot).sum())}


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
            "ci_method": r.ci_method, "direction": "higher_in_case",  # the interval: the bootstrap's (tests) when drawn
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
