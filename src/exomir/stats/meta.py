"""What several small cohorts or studies say together: random-effects meta-analysis.

* :func:`random_effects` — DerSimonian-Laird or REML (Fisher scoring) pooling of any effect with
  its sampling variance; tau², I², H², Cochran's Q, confidence and prediction intervals,
  forest-plot data and the agreement of direction across studies.
* :func:`pool` — the same from a study table for log hazard ratios, AUCs or log diagnostic
  odds ratios (2×2 tables, continuity correction as ``metafor::escalc``).
* Per-miRNA pooling across cohorts and published studies is the ``meta`` workflow
  (:mod:`exomir.analysis.meta`), built on these functions.

AUCs are pooled on the logit scale: ``logit(AUC)`` with the delta-method variance
``var(AUC) / (AUC·(1 − AUC))²``, pooled, and the estimate, confidence and prediction intervals
back-transformed, so they always lie within [0, 1] (a pooled AUC interval of [0.81, 1.04] on the
AUC scale says nothing). ``se``, ``zval``, ``tau2`` and the ``logit_*`` fields are on the logit
scale; the test of AUC = 0.5 is the test of logit = 0.

Agreement with ``metafor::rma(method = "DL" / "REML")`` is tested in tests/reference/meta (for
AUCs on the logit-transformed inputs).
The prediction interval is ``mu ± z·sqrt(se² + tau²)`` as ``predict.rma`` (``pi_dist="z"``);
``pi_dist="t"`` gives the Higgins-Thompson-Spiegelhalter interval with k − 2 df.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import logging

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from exomir.errors import InputError

log = logging.getLogger(__name__)

MEASURES = ("log_hr", "auc", "log_dor", "generic")


@dataclass
class MetaResult:
    """A pooled estimate. ``forest`` has one row per study; log-scale measures also carry the
    back-transformed columns (``exp_*``) for display."""

    measure: str
    method: str
    k: int
    estimate: float
    se: float
    zval: float
    pvalue: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    null: float
    n_same_direction: int
    direction_agreement: float
    forest: pd.DataFrame
    excluded: list[str]
    test: str = "z"
    df: float = np.inf  # of the t distribution behind the interval and p-value (knha)
    scale: str = "identity"  # "logit" for AUCs: se, zval, tau2 and logit_* are on that scale
    logit: dict = field(default_factory=dict)  # estimate, ci_low, ci_high, pi_low, pi_high (logit scale)

    def summary(self) -> pd.DataFrame:
        """One tidy row (the forest plot's pooled diamond and the heterogeneity statistics)."""
        keys = ["measure", "method", "test", "k", "estimate", "se", "zval", "pvalue", "ci_low", "ci_high",
                "tau2", "se_tau2", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high",
                "n_same_direction", "direction_agreement", "scale"]
        row = {key: getattr(self, key) for key in keys}
        for key, value in self.logit.items():
            row[f"logit_{key}"] = value
        if self.measure in ("log_hr", "log_dor"):
            for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
                row[f"exp_{key}"] = float(np.exp(getattr(self, key)))
        return pd.DataFrame([row])


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """DerSimonian-Laird tau² (statsmodels ``combine_effects``, truncated at 0 as metafor) and
    metafor's standard error of it, which statsmodels does not give (written out below)."""
    with np.errstate(all="ignore"):  # its other statistics use the untruncated tau², maybe < 0
        tau2 = max(0.0, float(combine_effects(y, v, method_re="dl").tau2))
    w = 1.0 / v
    sw = w.sum()
    k = len(y)
    trp = sw - (w**2).sum() / sw
    # metafor's SE of the DL estimate: P is the fixed-effect projection
    p_mat = np.diag(w) - np.outer(w, w) / sw
    se = np.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * (p_mat**2).sum()) / trp**2)
    return tau2, float(se)


def _tau2_reml(y: np.ndarray, v: np.ndarray, start: float, tol: float,
               max_iter: int) -> tuple[float, float, bool]:
    """REML tau² by Fisher scoring with step halving at the boundary (as metafor); hand-written
    because statsmodels' ``combine_effects`` offers DL and Paule-Mandel only, no REML."""
    tau2 = max(0.0, start)
    converged = False
    p_mat = None
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        p_mat = np.diag(w) - np.outer(w, w) / w.sum()
        py = p_mat @ y
        pp = p_mat @ p_mat
        adj = (float(py @ py) - np.trace(p_mat)) / np.trace(pp)
        while tau2 + adj < 0:
            adj /= 2.0
        old = tau2
        tau2 = tau2 + adj
        if abs(old - tau2) <= tol:
            converged = True
            break
    w = 1.0 / (v + tau2)
    p_mat = np.diag(w) - np.outer(w, w) / w.sum()
    return tau2, float(np.sqrt(2.0 / (p_mat**2).sum())), converged


def random_effects(yi: Sequence[float], vi: Sequence[float], *, method: str = "REML",
                   studies: Sequence[str] | None = None, measure: str = "generic",
                   null: float | None = None, level: float = 0.95, pi_dist: str = "z",
                   test: str = "z", tol: float = 1e-12, max_iter: int = 10000) -> MetaResult:
    """Random-effects pooling of effects ``yi`` with sampling variances ``vi``.

    ``method``: ``"REML"`` (default), ``"DL"`` (DerSimonian-Laird) or ``"FE"`` (fixed effect).
    Studies with a missing effect or a non-positive variance are left out and listed in
    ``excluded``. ``null`` is the no-effect value (0 for log ratios, 0.5 for AUCs; default by
    ``measure``): the z (or t) test is of ``estimate = null`` and the direction agreement is
    counted around it. With ``null = 0`` the test is metafor's.

    ``test="knha"`` applies the Hartung-Knapp(-Sidik-Jonkman) adjustment advised for few
    studies: the variance of the pooled estimate is scaled by the weighted residual mean square
    and intervals, p-value and prediction interval use t with k − 1 df (as ``rma(test="knha")``);
    ``zval`` then holds the t statistic.
    """
    method = method.upper()
    if method not in ("REML", "DL", "FE"):
        raise InputError(f"unknown meta-analysis method {method!r}", expected="REML, DL or FE")
    y_all = np.asarray(yi, dtype=float)
    v_all = np.asarray(vi, dtype=float)
    names = [str(s) for s in studies] if studies is not None \
        else [f"study {i + 1}" for i in range(len(y_all))]
    if not (len(y_all) == len(v_all) == len(names)):
        raise InputError("effects, variances and study names differ in length")
    if measure == "auc":
        return _logit_auc(y_all, v_all, names, method=method, null=0.5 if null is None else null, level=level,
                          pi_dist=pi_dist, test=test, tol=tol, max_iter=max_iter)
    ok = np.isfinite(y_all) & np.isfinite(v_all) & (v_all > 0)
    excluded = [names[i] for i in np.flatnonzero(~ok)]
    if excluded:
        log.warning(f"meta-analysis: {len(excluded)} stud(y/ies) without a usable effect and variance "
                    f"left out: {', '.join(excluded)}")
    y, v = y_all[ok], v_all[ok]
    k = len(y)
    if k == 0:
        raise InputError("no study has a usable effect and variance")
    if null is None:
        null = 0.5 if measure == "auc" else 0.0
    z = float(stats.norm.ppf(0.5 + level / 2.0))

    w_fe = 1.0 / v
    mu_fe = (w_fe * y).sum() / w_fe.sum()
    q = float((w_fe * (y - mu_fe) ** 2).sum()) if k > 1 else 0.0
    tau2, se_tau2 = 0.0, np.nan
    if method != "FE" and k > 1:
        tau2, se_tau2 = _tau2_dl(y, v)
        if method == "REML":
            tau2, se_tau2, converged = _tau2_reml(y, v, tau2, tol, max_iter)
            if not converged:
                log.warning("meta-analysis: REML did not converge; tau² is the last iterate")
    if test not in ("z", "knha"):
        raise InputError(f"test must be 'z' or 'knha', not {test!r}")
    if k == 1:
        test = "z"  # one study: nothing to adjust, and the label says what was done
    w = 1.0 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    se = float(np.sqrt(1.0 / w.sum()))
    tdf = np.inf
    crit_mu = z
    if test == "knha" and k > 1:  # HKSJ by hand: two lines on the REML/DL weights (statsmodels' needs its own tau²)
        se = float(np.sqrt((w * (y - mu) ** 2).sum() / (k - 1) / w.sum()))
        tdf = float(k - 1)
        crit_mu = float(stats.t.ppf(0.5 + level / 2.0, tdf))
    with np.errstate(divide="ignore", invalid="ignore"):  # knha: identical studies have se 0
        zval = float(np.float64(mu - null) / np.float64(se))
    pvalue = float(2 * stats.norm.sf(abs(zval))) if np.isinf(tdf) else float(2 * stats.t.sf(abs(zval), tdf))
    if k > 1:
        vt = (k - 1) / (w_fe.sum() - (w_fe**2).sum() / w_fe.sum())
        if method == "FE":
            i2 = max(0.0, 100.0 * (q - (k - 1)) / q) if q > 0 else 0.0
            h2 = q / (k - 1)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
        q_p = float(stats.chi2.sf(q, k - 1))
    else:  # heterogeneity is not defined for one study
        i2, h2, q, q_p = np.nan, np.nan, np.nan, np.nan
    if not np.isinf(tdf):
        crit = crit_mu
    elif pi_dist == "t" and k > 2:
        crit = float(stats.t.ppf(0.5 + level / 2.0, k - 2))
    elif pi_dist in ("z", "t"):
        crit = z
    else:
        raise InputError(f"pi_dist must be 'z' or 't', not {pi_dist!r}")
    half = crit * np.sqrt(se**2 + tau2)
    side = np.sign(mu - null)
    same = int((np.sign(y - null) == side).sum()) if side != 0 else 0
    forest = pd.DataFrame({
        "study": [names[i] for i in np.flatnonzero(ok)], "estimate": y, "se": np.sqrt(v),
        "ci_low": y - z * np.sqrt(v), "ci_high": y + z * np.sqrt(v),
        "weight": 100.0 * w / w.sum(), "direction": np.where(y > null, "above_null",
                                                           np.where(y < null, "below_null", "null")),
    })
    if measure in ("log_hr", "log_dor"):
        for key in ("estimate", "ci_low", "ci_high"):
            forest[f"exp_{key}"] = np.exp(forest[key])
    return MetaResult(measure, method, k, mu, se, zval, pvalue,
                      mu - crit_mu * se, mu + crit_mu * se, float(tau2), float(se_tau2), float(i2),
                      float(h2), q, k - 1, q_p, mu - half, mu + half, float(null), same, same / k,
                      forest, excluded, test, tdf)


def _logit_auc(auc: np.ndarray, var: np.ndarray, names: list[str], *, null: float, **options) -> MetaResult:
    """Pool AUCs on the logit scale and back-transform (see the module notes). An AUC of 0 or 1
    (perfect separation) has no logit and no usable variance: that study is left out and listed."""
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(auc / (1.0 - auc))
        vi = var / (auc * (1.0 - auc)) ** 2
    inside = (auc > 0) & (auc < 1)
    yi, vi = np.where(inside, yi, np.nan), np.where(inside, vi, np.nan)
    if not 0.0 < null < 1.0:
        raise InputError(f"the null AUC must lie strictly between 0 and 1, not {null!r}")
    res = random_effects(yi, vi, studies=names, measure="logit_auc", null=float(np.log(null / (1 - null))),
                         **options)
    expit = _expit
    logit = {key: float(getattr(res, key)) for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    forest = res.forest.copy()
    for key in ("estimate", "ci_low", "ci_high"):
        forest[f"logit_{key}"] = forest[key]
        forest[key] = expit(forest[key].to_numpy(float))
    kept = np.flatnonzero(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))  # the studies random_effects used
    forest["logit_se"] = forest["se"]
    forest["se"] = np.sqrt(var[kept])
    forest["direction"] = np.where(forest["estimate"] > null, "above_null",
                                   np.where(forest["estimate"] < null, "below_null", "null"))
    res.forest = forest
    res.measure, res.scale, res.logit, res.null = "auc", "logit", logit, float(null)
    for key, value in logit.items():
        setattr(res, key, float(expit(value)))
    return res


def _expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def auc_se_from_ci(auc, low, high, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Standard error of published AUCs from their (Wald) interval, and which were truncated.

    A published interval cut at 1 (or 0) is narrower than the one its SE gives, so the half-width
    on the side that was not cut is used (``truncated`` marks those rows) instead of shrinking the
    SE silently. An interval cut on both sides keeps the wider half.
    """
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    auc, low, high = (np.asarray(a, dtype=float) for a in (auc, low, high))
    at_top, at_bottom = high >= 1.0, low <= 0.0
    below, above = (auc - low) / z, (high - auc) / z
    se = (high - low) / (2.0 * z)
    se = np.where(at_top & ~at_bottom, below, se)
    se = np.where(at_bottom & ~at_top, above, se)
    se = np.where(at_top & at_bottom, np.maximum(below, above), se)
    return se, (at_top | at_bottom) & np.isfinite(se)


def log_diagnostic_odds_ratio(tp, fp, fn, tn, *, add: float = 0.5,
                              to: str = "only0") -> pd.DataFrame:
    """Log diagnostic odds ratio ``log(tp·tn / (fp·fn))`` and its variance (sum of reciprocal
    cells). ``add`` is added to every cell of a study with a zero cell (``to="only0"``, as
    ``metafor::escalc``), of every study (``"all"``), or never (``"none"``)."""
    cells = np.column_stack([np.asarray(c, dtype=float) for c in (tp, fp, fn, tn)])
    if np.any(cells < 0) or not np.all(np.isfinite(cells)):
        raise InputError("2×2 counts must be non-negative numbers",
                         expected="tp, fp, fn, tn >= 0")
    if to == "only0":
        cells = cells + add * (cells == 0).any(axis=1, keepdims=True)
    elif to == "all":
        cells = cells + add
    elif to != "none":
        raise InputError(f"to must be only0, all or none, not {to!r}")
    a, b, c, d = cells.T
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(a * d / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    return pd.DataFrame({"yi": np.where(bad, np.nan, yi), "vi": np.where(bad, np.nan, vi)})


def _se_from_ci(low, high, level: float = 0.95, log: bool = False) -> np.ndarray:
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    low, high = np.asarray(low, float), np.asarray(high, float)
    if log:
        low, high = np.log(low), np.log(high)
    return (high - low) / (2.0 * z)


def _need(table: pd.DataFrame, columns: Sequence[str], measure: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise InputError(f"the {measure} meta-analysis needs column(s) {missing}",
                         expected=", ".join(columns))


def effects_from_table(table: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Effects and variances from a study table.

    * ``log_hr``: ``log_hr`` + ``se_log_hr``, or ``hr`` + ``hr_ci_low``/``hr_ci_high`` (SE
      from the log-scale 95 % interval), or ``coef`` + ``se`` (a survival screen).
    * ``auc``: ``auc`` + ``se_auc``, or ``auc`` + ``auc_ci_low``/``auc_ci_high`` (an interval cut
      at 0 or 1 gives its SE from the other half: :func:`auc_se_from_ci`). AUCs and their
      variances are returned on the AUC scale; :func:`random_effects` pools them on the logit scale.
    * ``log_dor``: ``tp, fp, fn, tn`` (0.5 added to the cells of studies with a zero cell).
    * ``generic``: ``yi`` + ``vi``.
    """
    if measure == "log_hr":
        if {"log_hr", "se_log_hr"} <= set(table):
            return table["log_hr"].to_numpy(float), table["se_log_hr"].to_numpy(float) ** 2
        if {"coef", "se"} <= set(table):
            return table["coef"].to_numpy(float), table["se"].to_numpy(float) ** 2
        _need(table, ["hr", "hr_ci_low", "hr_ci_high"], measure)
        se = _se_from_ci(table["hr_ci_low"], table["hr_ci_high"], log=True)
        return np.log(table["hr"].to_numpy(float)), se**2
    if measure == "auc":
        if {"auc", "se_auc"} <= set(table):
            return table["auc"].to_numpy(float), table["se_auc"].to_numpy(float) ** 2
        _need(table, ["auc", "auc_ci_low", "auc_ci_high"], measure)
        se, _ = auc_se_from_ci(table["auc"], table["auc_ci_low"], table["auc_ci_high"])
        return table["auc"].to_numpy(float), se**2
    if measure == "log_dor":
        _need(table, ["tp", "fp", "fn", "tn"], measure)
        d = log_diagnostic_odds_ratio(table["tp"], table["fp"], table["fn"], table["tn"])
        return d["yi"].to_numpy(), d["vi"].to_numpy()
    if measure == "generic":
        _need(table, ["yi", "vi"], measure)
        return table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    raise InputError(f"unknown measure {measure!r}", expected=", ".join(MEASURES))


def pool(table: pd.DataFrame, *, measure: str = "log_hr", method: str = "REML",
         study: str = "study", **kwargs) -> MetaResult:
    """Pool a study table (one row per study or cohort); see :func:`effects_from_table`."""
    yi, vi = effects_from_table(table, measure)
    names = table[study].astype(str).tolist() if study in table else None
    return random_effects(yi, vi, method=method, studies=names, measure=measure, **kwargs)
