"""ROC analysis of diagnostic markers on arrays: AUC with DeLong or bootstrap intervals, thresholds,
partial AUC, precision-recall, paired comparisons and a vectorized table of many markers (the
Cohort screen built on it is :func:`exomir.tools.roc`).

Conventions (stated once, used everywhere):

* ``direction`` is ``"higher_in_case"`` or ``"lower_in_case"``; ``"auto"`` picks it per marker
  as pROC does (lower_in_case when the control median exceeds the case median) and the choice
  is reported in the output. The AUC is never flipped afterwards: a marker whose stated direction
  is wrong gets an AUC below 0.5.
* Thresholds are observed values. With ``higher_in_case`` a sample is called case when its value
  is ``>= threshold``; with ``lower_in_case`` when it is ``<= threshold`` (column ``threshold_rule``).
* Samples with a missing value are left out marker by marker and counted (``n_missing``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score

from exomir.errors import InputError
from exomir.stats import _roc_core as core
from exomir.stats._roc_core import DIRECTIONS, HIGHER, LOWER, holm, newcombe_interval, wilson_interval
from exomir.stats._roc_resample import bootstrap_aucs, percentile_interval
from exomir.stats._roc_tests import SMALL_GROUP, mann_whitney_pvalues

__all__ = [
    "HIGHER",
    "LOWER",
    "RocResult",
    "auc_table",
    "average_precision",
    "bootstrap_ci",
    "compare_to_reference",
    "delong_omnibus",
    "delong_paired",
    "partial_auc",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "thresholds",
    "wilson_interval",
]


# ---- input checks ---------------------------------------------------------------------------


def _labels(is_case, n: int | None = None) -> np.ndarray:
    arr = np.asarray(is_case)
    if arr.dtype != bool:
        values = pd.unique(pd.Series(arr.ravel()).dropna())
        if not set(values.tolist()) <= {0, 1, True, False}:
            raise InputError("case labels must be True/False or 1/0", expected="a boolean per sample")
        if pd.isna(pd.Series(arr.ravel())).any():
            raise InputError("case labels contain missing values", expected="a boolean per sample")
        arr = arr.astype(bool)
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{arr.shape[0]} case labels for {n} scores", expected="one label per sample")
    return arr


def _scores(scores) -> np.ndarray:
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"scores are not numeric ({exc})", expected="numbers") from None
    if arr.ndim != 1:
        raise InputError(f"scores must be one value per sample, got shape {arr.shape}")
    return arr


def _direction(direction: str) -> str:
    if direction not in (*DIRECTIONS, "auto"):
        raise InputError(
            f"unknown direction {direction!r}", expected="'higher_in_case', 'lower_in_case' or 'auto'"
        )
    return direction


def _prepare(scores, is_case, direction: str):
    """Observed scores, labels, resolved direction, oriented scores (higher = case), n missing."""
    x = _scores(scores)
    y = _labels(is_case, x.shape[0])
    _direction(direction)
    keep = ~np.isnan(x)
    x, y = x[keep], y[keep]
    if not y.any() or y.all():
        raise InputError(
            f"ROC needs cases and controls with values; got {int(y.sum())} cases and {int((~y).sum())} controls",
            expected="at least one of each",
        )
    if direction == "auto":
        direction = str(core.auto_directions(x[None, :], y)[0])
    oriented = -x if direction == LOWER else x
    return x, y, direction, oriented, int((~keep).sum())


def _rule(direction: str) -> str:
    return ">=" if direction == HIGHER else "<="


# ---- single marker --------------------------------------------------------------------------


@dataclass(frozen=True)
class RocResult:
    """AUC of one marker with its interval and the direction it was computed in."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    conf_level: float
    direction: str
    direction_source: str
    n_case: int
    n_control: int
    n_missing: int
    pvalue: float  # two-sided Mann-Whitney test of AUC = 0.5 (exact/permutation for a group < 20)

    def as_dict(self) -> dict:
        return asdict(self)


def roc_auc(
    scores,
    is_case,
    direction: str = "auto",
    *,
    conf_level: float = 0.95,
    ci_method: str = "delong",
    n_boot: int = 2000,
    seed: int = 0,
) -> RocResult:
    """AUC of one marker with a DeLong (default) or stratified-bootstrap percentile interval."""
    x, y, resolved, oriented, n_missing = _prepare(scores, is_case, direction)
    p = core.placements(oriented[None, :], y)
    var = core.delong_variance(p)
    auc = float(p.auc[0])
    se = float(np.sqrt(var[0]))
    if ci_method == "delong":
        low, high = core.normal_ci(p.auc, var, conf_level)
    elif ci_method == "bootstrap":
        reps = bootstrap_aucs(oriented[None, :], y, n_boot=n_boot, seed=seed)
        low, high = percentile_interval(reps, conf_level)
    else:
        raise InputError(f"unknown ci_method {ci_method!r}", expected="'delong' or 'bootstrap'")
    return RocResult(
        auc=auc,
        se=se,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        ci_method=ci_method,
        conf_level=conf_level,
        direction=resolved,
        direction_source="auto (medians)" if direction == "auto" else "given",
        n_case=int(y.sum()),
        n_control=int((~y).sum()),
        n_missing=n_missing,
        pvalue=float(mann_whitney_pvalues(x[None, :], y, seed=seed)[0][0]),
    )


def roc_curve(scores, is_case, direction: str = "auto") -> pd.DataFrame:
    """ROC points for plotting: one row per distinct threshold, from (0, 0) to (1, 1).

    Columns ``threshold`` (observed value; first row ±inf calls nobody), ``threshold_rule``,
    ``fpr``, ``tpr``, ``sensitivity``, ``specificity``, ``tp``, ``fp``, ``direction``.
    """
    _, y, resolved, oriented, _ = _prepare(scores, is_case, direction)
    c = core.curve(oriented, y)
    threshold = c.threshold if resolved == HIGHER else -c.threshold
    return pd.DataFrame(
        {
            "threshold": threshold,
            "threshold_rule": _rule(resolved),
            "fpr": c.fp / c.n_control,
            "tpr": c.tp / c.n_case,
            "sensitivity": c.sensitivity,
            "specificity": c.specificity,
            "tp": c.tp.astype(int),
            "fp": c.fp.astype(int),
            "direction": resolved,
        }
    )


def thresholds(
    scores,
    is_case,
    direction: str = "auto",
    *,
    sensitivity: float | Sequence[float] = 0.90,
    specificity: float | Sequence[float] = 0.90,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Cut-offs by Youden's J, at fixed sensitivities and at fixed specificities.

    For a fixed sensitivity s the cut-off reaching at least s with the highest specificity is
    given (and the reverse for a fixed specificity); a target no cut-off reaches gives a row of
    NaN. Each row has sensitivity and specificity with Wilson intervals and the 2×2 counts.
    """
    _, y, resolved, oriented, _ = _prepare(scores, is_case, direction)
    c = core.curve(oriented, y)
    picks: list[tuple[str, float, int | None]] = [("youden", float("nan"), core.youden_index(c))]
    for target in np.atleast_1d(sensitivity):
        picks.append(("fixed_sensitivity", float(target), core.fixed_sensitivity_index(c, float(target))))
    for target in np.atleast_1d(specificity):
        picks.append(("fixed_specificity", float(target), core.fixed_specificity_index(c, float(target))))
    rows = []
    for criterion, target, k in picks:
        row = {"criterion": criterion, "target": target, "direction": resolved, "threshold_rule": _rule(resolved)}
        if k is None:
            rows.append(row)
            continue
        tp, fp = c.tp[k], c.fp[k]
        tn, fn = c.n_control - fp, c.n_case - tp
        se_lo, se_hi = wilson_interval(tp, c.n_case, conf_level)
        sp_lo, sp_hi = wilson_interval(tn, c.n_control, conf_level)
        t = c.threshold[k]
        row.update(
            threshold=float(t if resolved == HIGHER else -t),
            sensitivity=tp / c.n_case,
            sensitivity_ci_low=float(se_lo),
            sensitivity_ci_high=float(se_hi),
            specificity=tn / c.n_control,
            specificity_ci_low=float(sp_lo),
            specificity_ci_high=float(sp_hi),
            youden_j=tp / c.n_case + tn / c.n_control - 1.0,
            tp=int(tp),
            fp=int(fp),
            tn=int(tn),
            fn=int(fn),
        )
        rows.append(row)
    columns = [
        "criterion", "target", "threshold", "threshold_rule", "direction", "sensitivity",
        "sensitivity_ci_low", "sensitivity_ci_high", "specificity", "specificity_ci_low",
        "specificity_ci_high", "youden_j", "tp", "fp", "tn", "fn",
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)


def partial_auc(
    scores,
    is_case,
    direction: str = "auto",
    *,
    limits: tuple[float, float] = (1.0, 0.9),
    focus: str = "specificity",
    correct: bool = False,
) -> float:
    """Partial AUC over a specificity (or sensitivity) range, as pROC's ``auc(partial.auc=...)``.

    ``correct`` applies McClish's standardisation (0.5 = no discrimination, 1 = perfect within
    the range); NaN when the curve lies below the diagonal there.
    """
    if not all(0.0 <= v <= 1.0 for v in limits) or limits[0] == limits[1]:
        raise InputError(f"partial AUC limits {limits} must be two different values in [0, 1]")
    _, y, _, oriented, _ = _prepare(scores, is_case, direction)
    return core.partial_auc(core.curve(oriented, y), limits, focus=focus, correct=correct)


def pr_curve(scores, is_case, direction: str = "auto") -> pd.DataFrame:
    """Precision-recall points: one row per distinct threshold (recall increasing).

    Columns ``threshold``, ``threshold_rule``, ``recall``, ``precision``, ``tp``, ``fp``.
    The curve starts at recall 0 with precision 1 (as scikit-learn draws it). Kept on the ROC
    points: scikit-learn's ``precision_recall_curve`` gives the same points (bit for bit) but not
    the ``tp``/``fp`` counts.
    """
    _, y, resolved, oriented, _ = _prepare(scores, is_case, direction)
    c = core.curve(oriented, y)
    called = c.tp[1:] + c.fp[1:]
    threshold = c.threshold[1:] if resolved == HIGHER else -c.threshold[1:]
    return pd.DataFrame(
        {
            "threshold": np.r_[np.inf if resolved == HIGHER else -np.inf, threshold],
            "threshold_rule": _rule(resolved),
            "recall": np.r_[0.0, c.tp[1:] / c.n_case],
            "precision": np.r_[1.0, c.tp[1:] / called],
            "tp": np.r_[0, c.tp[1:]].astype(int),
            "fp": np.r_[0, c.fp[1:]].astype(int),
        }
    )


def average_precision(scores, is_case, direction: str = "auto") -> float:
    """Area under the precision-recall step curve: Σ (ΔR) · P, no interpolation (scikit-learn's
    ``average_precision_score`` on the oriented scores)."""
    _, y, _, oriented, _ = _prepare(scores, is_case, direction)
    return float(average_precision_score(y, oriented))


# ---- several markers ------------------------------------------------------------------------


def _matrix(values) -> tuple[np.ndarray, list[str]]:
    """(markers × samples array, marker names) from a samples × markers DataFrame or array."""
    if isinstance(values, pd.DataFrame):
        return values.to_numpy(dtype=np.float64).T, [str(c) for c in values.columns]
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return arr.T, [f"marker_{i + 1}" for i in range(arr.shape[1])]


def _directions_with_prior(x: np.ndarray, y: np.ndarray, names: list[str], direction):
    """Per-marker directions and their source; a mapping gives priors, the rest is ``auto``."""
    if isinstance(direction, Mapping):
        unknown = {str(d) for d in direction.values()} - set(DIRECTIONS)
        if unknown:
            raise InputError(f"unknown direction(s) {sorted(unknown)}", expected="'higher_in_case' or 'lower_in_case'")
        auto = core.auto_directions(x, y)
        given = np.array([name in direction for name in names])
        directions = np.array([str(direction.get(name, a)) for name, a in zip(names, auto, strict=True)], dtype=object)
        sources = np.where(given, "prior (given before seeing these data)", "auto (medians)").astype(object)
        return directions, sources
    directions, source = _resolve_directions(x, y, direction)
    return directions, np.full(len(names), source, dtype=object)


def _resolve_directions(x: np.ndarray, y: np.ndarray, direction) -> tuple[np.ndarray, str]:
    if isinstance(direction, str):
        _direction(direction)
        if direction == "auto":
            return core.auto_directions(x, y), "auto (medians)"
        return np.full(x.shape[0], direction, dtype=object), "given"
    given = np.asarray(list(direction), dtype=object)
    if given.shape[0] != x.shape[0]:
        raise InputError(f"{given.shape[0]} directions for {x.shape[0]} markers")
    for d in given:
        if d not in DIRECTIONS:
            _direction(str(d))
    return given, "given"


CI_DELONG = "delong"
CI_NEWCOMBE = "newcombe score (small group or AUC 0/1, where DeLong is unreliable)"
APPARENT_THRESHOLD = "apparent: cut-off chosen on these same samples (optimistic; validate elsewhere)"


def auc_table(
    values,
    is_case,
    direction="auto",
    *,
    conf_level: float = 0.95,
    sensitivity: float = 0.90,
    specificity: float = 0.90,
    ci_method: str = "delong",
    seed: int = 0,
) -> pd.DataFrame:
    """AUC, interval, p-value and thresholds of every marker (columns of a samples × markers table).

    The vectorized engine behind :func:`roc_screen`: one sort per marker gives AUC, DeLong
    variance, the Youden cut-off and the cut-offs at the fixed sensitivity/specificity.
    ``direction`` is ``"auto"``, one direction for all, a sequence (one per marker) or a mapping
    marker → direction (a prior, e.g. from a discovery cohort; markers it lacks are ``auto``).
    ``ci_method="auto"`` keeps DeLong (as pROC) where both groups have ≥ 20 samples and the AUC is
    strictly between 0 and 1, and uses Newcombe's score interval elsewhere. The p-value is the
    two-sided Mann-Whitney test of AUC = 0.5 (exact or permutation with a group under 20).
    """
    x, names = _matrix(values)
    y = _labels(is_case, x.shape[1])
    if isinstance(direction, str) and direction == "auto":  # medians from the screen's own sort
        r = core.screen_arrays(x, y, None, sensitivity=sensitivity, specificity=specificity)
        lower = r["lower"]
        directions = np.where(lower, LOWER, HIGHER).astype(object)
        sources = np.full(len(names), "auto (medians)", dtype=object)
    else:
        directions, sources = _directions_with_prior(x, y, names, direction)
        lower = directions == LOWER
        r = core.screen_arrays(x, y, lower, sensitivity=sensitivity, specificity=specificity)
    low, high = core.normal_ci(r["auc"], r["var"], conf_level)
    methods = np.full(len(names), CI_DELONG, dtype=object)
    if ci_method == "auto":
        small = (np.minimum(r["n_case"], r["n_control"]) < SMALL_GROUP) | ~(r["var"] > 0)
        small &= np.isfinite(r["auc"])
        if small.any():
            nl, nh = newcombe_interval(r["auc"][small], r["n_case"][small], r["n_control"][small], conf_level)
            low, high = low.copy(), high.copy()
            low[small], high[small] = nl, nh
            methods[small] = CI_NEWCOMBE
    elif ci_method != "delong":
        raise InputError(f"unknown ci_method {ci_method!r}", expected="'delong' or 'auto'")
    pvalue, pvalue_method = mann_whitney_pvalues(x, y, seed=seed)
    se_lo, se_hi = wilson_interval(r["tp"], r["n_case"], conf_level)
    sp_lo, sp_hi = wilson_interval(r["n_control"] - r["fp"], r["n_control"], conf_level)
    frame = pd.DataFrame(
        {
            "mirna": names,
            "n_case": r["n_case"].astype(int),
            "n_control": r["n_control"].astype(int),
            "n_missing": (x.shape[1] - r["n_case"] - r["n_control"]).astype(int),
            "auc": r["auc"],
            "auc_ci_low": low,
            "auc_ci_high": high,
            "ci_method": methods.astype(str),
            "direction": directions.astype(str),
            "threshold": r["threshold"],
            "sensitivity": r["sensitivity"],
            "specificity": r["specificity"],
            "auc_se": np.sqrt(r["var"]),
            "pvalue": pvalue,
            "pvalue_method": pvalue_method.astype(str),
            "pvalue_test": "two-sided test of AUC = 0.5 (independent of the direction reported)",
            "direction_source": sources.astype(str),
            "threshold_rule": np.where(lower, "<=", ">="),
            "threshold_criterion": "youden",
            "threshold_estimate": APPARENT_THRESHOLD,
            "sensitivity_ci_low": se_lo,
            "sensitivity_ci_high": se_hi,
            "specificity_ci_low": sp_lo,
            "specificity_ci_high": sp_hi,
            f"threshold_at_sens{_pct(sensitivity)}": r["fixed_sens_threshold"],
            f"specificity_at_sens{_pct(sensitivity)}": r["fixed_sens_specificity"],
            f"threshold_at_spec{_pct(specificity)}": r["fixed_spec_threshold"],
            f"sensitivity_at_spec{_pct(specificity)}": r["fixed_spec_sensitivity"],
        }
    )
    return frame


def _pct(value: float) -> str:
    return f"{100 * value:g}".replace(".", "_")


def _pairwise(a: np.ndarray, b: np.ndarray, y: np.ndarray, da: str, db: str):
    """Complete-case placements of two markers, oriented, and the count excluded."""
    keep = ~(np.isnan(a) | np.isnan(b))
    oa = -a[keep] if da == LOWER else a[keep]
    ob = -b[keep] if db == LOWER else b[keep]
    yy = y[keep]
    pa = core.placements(oa[None, :], yy)
    pb = core.placements(ob[None, :], yy)
    return pa, pb, yy, int((~keep).sum())


def delong_paired(
    scores_a,
    scores_b,
    is_case,
    *,
    direction_a: str = "auto",
    direction_b: str = "auto",
    conf_level: float = 0.95,
) -> dict:
    """DeLong's test of two correlated AUCs measured on the same samples (pROC's
    ``roc.test(method="delong", paired=TRUE)``), with an interval on AUC(a) − AUC(b).

    Samples missing either score are left out of both curves and counted (``n_excluded``).
    Each direction is resolved on its own; differing directions are reported, not hidden.
    """
    a, b = _scores(scores_a), _scores(scores_b)
    if a.shape != b.shape:
        raise InputError(f"paired scores differ in length ({a.shape[0]} and {b.shape[0]})")
    y = _labels(is_case, a.shape[0])
    keep = ~(np.isnan(a) | np.isnan(b))
    da = _resolve_directions(a[keep][None, :], y[keep], direction_a)[0][0]
    db = _resolve_directions(b[keep][None, :], y[keep], direction_b)[0][0]
    pa, pb, yy, excluded = _pairwise(a, b, y, da, db)
    var_a, var_b = core.delong_variance(pa)[0], core.delong_variance(pb)[0]
    cov = core.delong_covariance(pa, pb)[0]
    diff = float(pa.auc[0] - pb.auc[0])
    var = var_a + var_b - 2.0 * cov
    z = stats.norm.ppf(0.5 + conf_level / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        zscore = diff / np.sqrt(var)
    return {
        "auc_a": float(pa.auc[0]),
        "auc_b": float(pb.auc[0]),
        "difference": diff,
        "ci_low": float(diff - z * np.sqrt(var)),
        "ci_high": float(diff + z * np.sqrt(var)),
        "z": float(zscore),
        "pvalue": float(2.0 * stats.norm.sf(abs(zscore))) if np.isfinite(zscore) else float("nan"),
        "correlation": float(cov / np.sqrt(var_a * var_b)),
        "direction_a": str(da),
        "direction_b": str(db),
        "n_case": int(yy.sum()),
        "n_control": int((~yy).sum()),
        "n_excluded": excluded,
        "conf_level": conf_level,
    }


def compare_to_reference(
    candidates,
    reference,
    is_case,
    *,
    direction="auto",
    reference_direction: str = "auto",
    conf_level: float = 0.95,
    reference_name: str = "reference",
) -> pd.DataFrame:
    """Each candidate (column of a samples × markers table) against one reference curve
    (e.g. AFP) by paired DeLong tests, with Holm-adjusted p-values over the candidates.

    The Holm adjustment keeps the family-wise error rate of "this candidate differs from the
    reference" claims at the nominal level across all candidates compared in one call.
    """
    x, names = _matrix(candidates)
    ref = _scores(reference)
    y = _labels(is_case, x.shape[1])
    if ref.shape[0] != x.shape[1]:
        raise InputError(f"reference has {ref.shape[0]} values for {x.shape[1]} samples")
    directions, _ = _resolve_directions(x, y, direction)
    rows = []
    for name, row, d in zip(names, x, directions, strict=True):
        res = delong_paired(row, ref, y, direction_a=str(d), direction_b=reference_direction, conf_level=conf_level)
        rows.append({"mirna": name, "reference": reference_name, **res})
    frame = pd.DataFrame(rows)
    frame = frame.rename(columns={"auc_a": "auc", "auc_b": "reference_auc", "direction_a": "direction",
                                  "direction_b": "reference_direction"})  # fmt: skip
    frame["pvalue_holm"] = holm(frame["pvalue"].to_numpy()) if len(frame) else []
    return frame


def delong_omnibus(values, is_case, direction="auto") -> dict:
    """DeLong's chi-square test that several correlated AUCs (columns) are all equal.

    Uses complete cases across all markers; returns the AUCs, chi-square, df and p-value.
    """
    x, names = _matrix(values)
    y = _labels(is_case, x.shape[1])
    keep = ~np.isnan(x).any(axis=0)
    x, y = x[:, keep], y[keep]
    directions, _ = _resolve_directions(x, y, direction)
    p = core.placements(core.orient(x, directions), y)
    m, n = y.sum(), (~y).sum()
    vc = p.cases - p.auc[:, None]
    vn = p.controls - p.auc[:, None]
    s = vc @ vc.T / (m - 1) / m + vn @ vn.T / (n - 1) / n
    k = x.shape[0]
    contrast = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    d = contrast @ p.auc
    cov = contrast @ s @ contrast.T
    chi2 = float(d @ np.linalg.pinv(cov) @ d)
    df = int(np.linalg.matrix_rank(cov))
    return {
        "markers": names,
        "auc": p.auc.tolist(),
        "directions": [str(v) for v in directions],
        "chi2": chi2,
        "df": df,
        "pvalue": float(stats.chi2.sf(chi2, df)) if df else float("nan"),
        "n_excluded": int((~keep).sum()),
    }


def bootstrap_ci(x: np.ndarray, y: np.ndarray, directions, *, n_boot: int = 2000, seed: int = 0,
                 conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Stratified bootstrap percentile interval of the AUC of each row of ``x`` (markers × samples)
    in its direction; the same resamples for all complete markers, and a marker with missing
    values resamples its own samples."""
    oriented = core.orient(x, np.asarray(directions))
    complete = ~np.isnan(oriented).any(axis=1)
    low = np.full(oriented.shape[0], np.nan)
    high = np.full(oriented.shape[0], np.nan)
    if complete.any():
        reps = bootstrap_aucs(oriented[complete], y, n_boot=n_boot, seed=seed)
        low[complete], high[complete] = percentile_interval(reps, conf_level)
    for i in np.flatnonzero(~complete):
        keep = ~np.isnan(oriented[i])
        reps = bootstrap_aucs(oriented[i, keep][None, :], y[keep], n_boot=n_boot, seed=seed)
        low[i], high[i] = (v[0] for v in percentile_interval(reps, conf_level))
    return low, high
