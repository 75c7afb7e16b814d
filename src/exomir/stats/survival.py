"""Survival numerics on arrays: log-rank test, maxstat cutpoints, Kaplan-Meier tables and
time-dependent AUC (the Cohort verbs built on them are in :mod:`exomir.tools`).

Agreement with R (tests/reference/survival): ``survdiff`` chi-square, ``survfit`` (log, log-log
and plain intervals) and ``maxstat.test(smethod = "LogRank", pmethod = "Lau94")``; the Cox fits
of :mod:`exomir.stats._survival_core` agree with ``coxph`` (Efron ties) and ``cox.zph``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from exomir.stats import _survival_core as core
from exomir.stats._survival_core import (
    Z975,
    KMTable,
    concordance,
    cox_firth,
    cox_fit,
    cumulative_dynamic_auc,
    km_confidence,
    logrank,
    logrank_scores,
    maxstat_logrank,
    step_at,
)
from exomir.stats._survival_core import kaplan_meier as km_table

__all__ = ["KMTable", "Z975", "concordance", "cox_firth", "cox_fit", "cumulative_dynamic_auc", "kaplan_meier",
           "km_confidence", "km_table", "logrank", "logrank_scores", "logrank_test", "maxstat_cutpoint",
           "maxstat_logrank", "nice_times", "std_err", "step_at", "time_dependent_auc", "time_roc_curves"]


def logrank_test(time, event, group) -> core.LogRank:
    """k-sample log-rank test (R ``survdiff``): ``chisq``, ``df``, ``pvalue``, observed/expected."""
    return core.logrank(np.asarray(time, float), np.asarray(event, float), np.asarray(group))


def maxstat_cutpoint(x, time, event, *, minprop: float = 0.1, maxprop: float = 0.9) -> core.MaxStat:
    """Optimal cutpoint by maximally selected log-rank statistics, Lau94-adjusted p-value.

    Groups are ``x <= cutpoint`` and ``x > cutpoint``; candidate cutpoints leave at least
    ``minprop`` and at most ``maxprop`` of the samples below (as R ``maxstat.test``).
    """
    return core.maxstat_logrank(np.asarray(x, float), np.asarray(time, float),
                                np.asarray(event, float), minprop=minprop, maxprop=maxprop)


def time_dependent_auc(marker, time, event, times: Sequence[float]) -> pd.DataFrame:
    """Cumulative/dynamic AUC(t) at the given times (Uno's IPCW estimator): cases have the event
    by t, controls are event-free beyond t; higher marker = higher risk."""
    marker = np.asarray(marker, float)
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    ok = np.isfinite(marker) & np.isfinite(time) & np.isfinite(event)
    auc, n_case, n_ctrl = core.cumulative_dynamic_auc(time[ok], event[ok], marker[ok],
                                                      np.asarray(times, float))
    return pd.DataFrame({"time": np.asarray(times, float), "auc": auc,
                         "n_cases": n_case, "n_controls": n_ctrl})


def time_roc_curves(marker, time, event, times: Sequence[float]) -> pd.DataFrame:
    """Cumulative/dynamic ROC curves at each of ``times``: ``time, threshold, fpr, tpr, auc,
    n_cases, n_controls`` (one row per threshold; higher marker = higher risk)."""
    marker = np.asarray(marker, float)
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    ok = np.isfinite(marker) & np.isfinite(time) & np.isfinite(event)
    auc, n_case, n_ctrl = core.cumulative_dynamic_auc(time[ok], event[ok], marker[ok], np.asarray(times, float))
    frames = []
    for k, t in enumerate(times):
        thr, fpr, tpr = core.time_roc_curve(time[ok], event[ok], marker[ok], float(t))
        frames.append(pd.DataFrame({"time": float(t), "threshold": thr, "fpr": fpr, "tpr": tpr,
                                    "auc": auc[k], "n_cases": n_case[k], "n_controls": n_ctrl[k]}))
    return pd.concat(frames, ignore_index=True)


def kaplan_meier(time, event, *, conf_type: str = "log", conf_level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier table at every distinct time: ``time, n_risk, n_event, n_censor, survival,
    std_err, ci_low, ci_high`` (``std_err`` of S(t), Greenwood; intervals as ``survfit``)."""
    k = core.kaplan_meier(np.asarray(time, float), np.asarray(event, float))
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    low, high = core.km_confidence(k.surv, k.se_log, conf_type, z)
    return pd.DataFrame({"time": k.time, "n_risk": k.n_risk.astype(int),
                         "n_event": k.n_event.astype(int), "n_censor": k.n_censor.astype(int),
                         "survival": k.surv, "std_err": std_err(k),
                         "ci_low": low, "ci_high": high})


def nice_times(last: float, ticks: int = 5) -> np.ndarray:
    """0 and round steps (1, 2, 2.5 or 5 × 10^k) up to ``last``: the x ticks of a KM plot."""
    if not np.isfinite(last) or last <= 0:
        return np.array([0.0])
    raw = last / ticks
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    return np.arange(0.0, last + 1e-9 * last, step)


def std_err(k: core.KMTable) -> np.ndarray:
    """Greenwood standard error of S(t); 0 once the curve has reached 0."""
    with np.errstate(invalid="ignore"):
        return np.where(k.surv > 0, k.surv * k.se_log, 0.0)

