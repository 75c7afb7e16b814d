"""Prognosis: does a miRNA predict overall, disease-free or recurrence-free survival?

The Cohort verbs (``AnnData``; times and events in ``obs``), returning tidy frames; the numerics
on arrays are :mod:`exomir.stats.survival`:

* :func:`survival_screen` — one row per miRNA (GUIDE survival.csv): Cox hazard ratio per unit
  of the working matrix (per doubling on a log2 scale), optionally adjusted for clinical
  covariates, with its Wald p-value, the Schoenfeld test of proportional hazards, the log-rank
  test at the median split, and the optimal cutpoint by maximally selected log-rank statistics.
* :func:`km_curves` — Kaplan-Meier curves with pointwise intervals and a numbers-at-risk table.
* :func:`cox_regression` — one Cox model with several terms (miRNAs and clinical covariates).

Agreement with R (tests/reference/survival): ``coxph`` (Efron ties) coefficients and SEs,
``cox.zph(transform = "km")``, ``survdiff`` chi-square, ``survfit`` (log, log-log and plain
intervals) and ``maxstat.test(smethod = "LogRank", pmethod = "Lau94")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import logging

import numpy as np
import pandas as pd
from scipy import special, stats

from exomir.cohort import design_columns, matrix_of, mimat_of
from exomir.errors import InputError
from exomir.preprocess.qc import drop_controls
from exomir.stats import survival as sv
from exomir.stats.common import bh_adjust
from exomir.cohort import exclusions, meta, record_exclusion
from exomir.progress import track

log = logging.getLogger(__name__)

SCREEN_COLUMNS = [
    "mirna", "mimat", "endpoint", "hr", "hr_ci_low", "hr_ci_high", "pvalue", "padj",
    "cutpoint", "logrank_chisq", "logrank_p", "n", "events", "coef", "se", "ph_chisq", "ph_p",
    "c_index", "c_index_ci_low", "c_index_ci_high",
    "hr_adj", "hr_adj_ci_low", "hr_adj_ci_high", "pvalue_adj", "padj_adj", "adjusted_for",
    "coef_adj", "se_adj", "n_adj", "events_adj", "c_index_adj",
    "firth_hr", "firth_ci_low", "firth_ci_high", "firth_p",
    "maxstat_cutpoint", "maxstat_statistic", "maxstat_p", "maxstat_p_capped",
    "detected_fraction", "time_unit", "covariates", "note",
]
TIME_UNITS = ("days", "weeks", "months", "years")


# --------------------------------------------------------------------------- input handling
def endpoint_name(time: str, event: str) -> str:
    """An endpoint named after its columns: ``OS_days`` + ``OS_event`` → ``OS``, ``dfs_months`` +
    ``dfs_event`` → ``DFS`` (short names are the usual abbreviations, written in capitals);
    without a shared prefix, the time column's name."""
    prefix = ""
    for a, b in zip(str(time), str(event)):
        if a != b:
            break
        prefix += a
    prefix = prefix.rstrip("_.- ")
    if prefix and len(prefix) <= 4 and prefix.isalpha():
        return prefix.upper()
    return prefix or str(time)


def time_unit(column: str, unit: str | None = None) -> str:
    """The unit of a time column: ``unit`` when given, else read from the name (``OS_days``)."""
    if unit:
        return unit
    name = str(column).lower()
    for known in TIME_UNITS:
        if known in name or known.rstrip("s") in name.split("_"):
            return known
    return ""


def where(adata, sample) -> dict:
    """File and line of a sample's clinical row (for messages), as far as the Cohort knows them."""
    info = meta(adata)
    lines = info.get("clinical_lines") or {}
    out = {"path": info.get("source", {}).get("clinical") or None, "record": str(sample)}
    line = lines.get(str(sample))
    if line is not None:
        out["line"] = int(line)
    return out


def _column(adata, value, what: str) -> tuple[np.ndarray, str]:
    """An obs column (by name) or an array, as float."""
    if isinstance(value, str):
        if value not in adata.obs:
            raise InputError(f"no {what} column {value!r} in the clinical table",
                             column=value, expected=f"one of {list(adata.obs.columns)[:20]}",
                             path=where(adata, "")["path"])
        raw = adata.obs[value]
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & num.isna()
        if bad.any():
            sample = raw.index[np.flatnonzero(bad.to_numpy())[0]]
            raise InputError(f"{what} value {raw[bad].iloc[0]!r} is not a number",
                             column=value, expected="a number", **where(adata, sample))
        return num.to_numpy(dtype=float), value
    arr = np.asarray(value, dtype=float)
    if arr.shape != (adata.n_obs,):
        raise InputError(f"{what} has {arr.size} values for {adata.n_obs} samples")
    return arr, what


def _time_event(adata, time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """Validated times and 0/1 events; samples missing either are reported and left out."""
    t, tname = _column(adata, time, "time")
    e, ename = _column(adata, event, "event")
    ok = np.isfinite(t) & np.isfinite(e)
    if ok.any() and np.any(t[ok] < 0):
        i = np.flatnonzero(ok & (t < 0))[0]
        raise InputError(f"negative survival time {t[i]:g}", column=tname,
                         expected="times >= 0", **where(adata, adata.obs_names[i]))
    bad = ok & ~np.isin(e, (0.0, 1.0))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise InputError(f"event value {e[i]:g} is neither 0 nor 1", column=ename,
                         expected="1 = event, 0 = censored", **where(adata, adata.obs_names[i]))
    if not ok.all():
        reason = f"no {tname}/{ename} value (survival)"
        known = exclusions(adata)
        already = set(known.loc[known["reason"] == reason, "item"])
        missing = [str(s) for s in adata.obs_names[~ok]]
        fresh = [s for s in missing if s not in already]
        for sample in fresh:  # recorded once, however many survival functions run
            record_exclusion(adata, "sample", sample, reason)
        if fresh:
            log.warning(f"survival: {len(missing)} sample(s) without {tname}/{ename} left out")
    if ok.sum() == 0:
        raise InputError(f"no sample has both {tname} and {ename}", column=tname)
    return t, e, ok, tname, ename


def _covariate_matrix(adata, covariates: Sequence[str]) -> pd.DataFrame:
    for name in covariates:
        if name not in adata.obs:
            raise InputError(f"no covariate column {name!r} in the clinical table", column=name)
    return design_columns(adata.obs, list(covariates))


# --------------------------------------------------------------------------- Cox model
@dataclass
class CoxResult:
    """A fitted Cox model: ``summary`` has one row per term."""

    summary: pd.DataFrame
    n: int
    events: int
    loglik: float
    loglik_null: float
    ph_global_chisq: float
    ph_global_p: float
    converged: bool

    @property
    def lr_chisq(self) -> float:
        return 2.0 * (self.loglik - self.loglik_null)


def cox_regression(adata, time, event, terms: Sequence[str], *, layer: str | None = None,
                   conf_level: float = 0.95) -> CoxResult:
    """Cox proportional hazards (Efron ties) on ``terms``: miRNA names (columns of ``X`` or of
    ``layer``) and clinical ``obs`` columns (categorical ones as indicators of each level but the
    first). Complete cases only; returns HRs with Wald intervals and the Schoenfeld test."""
    if not terms:
        raise InputError("a Cox model needs at least one term", expected="miRNA or clinical column names")
    t, e, ok, _, _ = _time_event(adata, time, event)
    parts = []
    clinical = [name for name in terms if name not in adata.var_names]
    mirnas = [name for name in terms if name in adata.var_names]
    if mirnas:
        mat = matrix_of(adata, layer)
        idx = [adata.var_names.get_loc(name) for name in mirnas]
        parts.append(pd.DataFrame(mat[:, idx], index=adata.obs_names, columns=mirnas))
    if clinical:
        parts.append(_covariate_matrix(adata, clinical))
    design = pd.concat(parts, axis=1)[[c for c in _ordered(terms, parts)]]
    xs = design.to_numpy(dtype=float)
    keep = ok & np.isfinite(xs).all(axis=1)
    fit = sv.cox_fit(t[keep], e[keep], xs[keep])
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    summary = pd.DataFrame({
        "term": list(design.columns), "coef": fit.coef, "se": fit.se,
        "hr": np.exp(fit.coef), "hr_ci_low": np.exp(fit.coef - z * fit.se),
        "hr_ci_high": np.exp(fit.coef + z * fit.se), "z": fit.z, "pvalue": fit.pvalue,
        "ph_chisq": fit.zph_chisq, "ph_p": stats.chi2.sf(fit.zph_chisq, 1),
    })
    p = len(fit.coef)
    return CoxResult(summary, fit.n, fit.events, fit.loglik, fit.loglik0, fit.zph_global,
                     float(stats.chi2.sf(fit.zph_global, p)), fit.converged)


def _ordered(terms: Sequence[str], parts: list[pd.DataFrame]) -> list[str]:
    """Design columns in the order the terms were given (indicators follow their variable)."""
    columns = [c for part in parts for c in part.columns]
    out = []
    for term in terms:
        out += [c for c in columns if c == term or c.startswith(f"{term}[")]
    return out


# --------------------------------------------------------------------------- screen
def detected_fraction(adata) -> np.ndarray:
    """Share of samples in which each miRNA was detected, from the values as measured: a read
    (counts, or reads per million), a Cq (qPCR: non-detects are missing), or, for log values,
    a value above the miRNA's floor when several samples share that floor (log2(x + 1) of 0)."""
    measure = meta(adata).get("measure")
    if measure == "counts" and "counts" in adata.layers:
        return (np.nan_to_num(matrix_of(adata, "counts")) > 0).mean(axis=0)
    if "rpm" in adata.layers:
        return (np.nan_to_num(matrix_of(adata, "rpm")) > 0).mean(axis=0)
    if measure == "cq" and "cq" in adata.layers:
        return np.isfinite(matrix_of(adata, "cq")).mean(axis=0)
    values = matrix_of(adata, "log" if "log" in adata.layers else None)
    with np.errstate(invalid="ignore"):
        floor = np.nanmin(values, axis=0)
        at_floor = np.isclose(values, floor[None, :])
    shared = at_floor.sum(axis=0) > 1
    detected = np.isfinite(values) & ~(at_floor & shared[None, :])
    return detected.mean(axis=0)


def survival_screen(adata, time, event, *, endpoint: str | None = None,
                    covariates: Sequence[str] = (), layer: str | None = None,
                    minprop: float = 0.1, maxprop: float = 0.9, auc_times: Sequence[float] = (),
                    min_detected: float = 0.5, unit: str | None = None,
                    firth: bool = True) -> pd.DataFrame:
    """Every miRNA against survival; one row per miRNA with the GUIDE survival.csv columns.

    * ``hr`` (``hr_ci_low``/``hr_ci_high``, ``pvalue``, ``padj`` BH): univariable Cox hazard
      ratio per unit of the working matrix (``X``, or ``layer``), i.e. per doubling for log2
      values, with the Wald 95 % interval; ``c_index`` (with its 95 % interval): Harrell's C of
      the model (R ``concordance(coxph fit)``).
    * ``hr_adj`` (``hr_adj_ci_*``, ``pvalue_adj``, ``padj_adj``, ``c_index_adj``): the same
      with ``covariates`` in the model (``adjusted_for`` names them, with the reference level of
      categorical ones); samples lacking a covariate are left out of it and recorded.
    * A fit whose likelihood has no maximum (the miRNA orders the events perfectly: monotone
      likelihood) gets an empty HR and a ``note``; ``firth_*`` then gives Firth's penalized
      estimate with its profile-likelihood interval and p-value.
    * ``ph_chisq``/``ph_p``: Schoenfeld-residual test of proportional hazards of the miRNA term.
    * ``cutpoint``: the median; ``logrank_p``: log-rank test of ``x > median`` against
      ``x <= median``, only when each side holds at least ``minprop`` of the samples (a note
      says when the median does not split).
    * ``maxstat_*``: optimal cutpoint by maximally selected log-rank statistics with its Lau94
      p-value, capped at 1 (``maxstat_p_capped`` marks where the bound exceeded 1).
    * miRNAs detected in fewer than ``min_detected`` of the samples (see :func:`detected_fraction`)
      are not tested: they are left out of the table and recorded in the Cohort's exclusions.
    * ``auc_t<time>`` for each of ``auc_times``: cumulative/dynamic time-dependent AUC of the
      miRNA (higher value = higher risk; below 0.5 when high expression is protective).
    """
    t, e, ok, tname, ename = _time_event(adata, time, event)
    endpoint = endpoint or endpoint_name(tname, ename)
    unit = time_unit(tname, unit)
    covariates = list(covariates)
    cov_frame = _covariate_matrix(adata, covariates)
    cov = cov_frame.to_numpy(dtype=float)
    cov_ok = np.isfinite(cov).all(axis=1) if cov.size else np.ones(adata.n_obs, bool)
    adjusted_for = _adjusted_label(adata, covariates)
    if covariates:
        lacking = ok & ~cov_ok
        for sample in adata.obs_names[lacking]:
            record_exclusion(adata, "sample", str(sample),
                             f"no value of {', '.join(covariates)}: left out of the adjusted Cox models ({endpoint})")
    adata = drop_controls(adata)  # spike-ins and U6/RNU/SNORD controls are never tested
    mat = matrix_of(adata, layer)
    mimat = mimat_of(adata)
    share = detected_fraction(adata)
    rare = share < min_detected
    for name, frac in zip(adata.var_names[rare], share[rare]):
        record_exclusion(adata, "mirna", str(name),
                         f"detected in {frac:.0%} of the samples (< {min_detected:.0%}): not in the survival screen ({endpoint})")
    if rare.any():
        log.info(f"survival ({endpoint}): {int(rare.sum())} rarely detected miRNA(s) not tested (see exclusions)")
    rows = []
    score_cache: dict[bytes, np.ndarray] = {}  # log-rank scores per set of samples used
    for j in track(np.flatnonzero(~rare), "survival screen", total=int((~rare).sum())):
        x = mat[:, j]
        uni = ok & np.isfinite(x)
        notes: list[str] = []
        row = {"mirna": str(adata.var_names[j]), "mimat": mimat[j], "endpoint": endpoint,
               "n": int(uni.sum()), "events": int(e[uni].sum()), "detected_fraction": float(share[j]),
               "time_unit": unit, "covariates": ";".join(covariates), "adjusted_for": adjusted_for}
        rows.append(row)
        xu, tu, eu = x[uni], t[uni], e[uni]
        if row["events"] == 0 or len(xu) < 3 or np.ptp(xu) == 0:
            row["note"] = "no events" if row["events"] == 0 else \
                "fewer than 3 samples" if len(xu) < 3 else "constant values"
            continue
        row.update(_cox_columns(tu, eu, xu[:, None], "", notes, firth=firth))
        if covariates:
            adj = uni & cov_ok
            row.update(n_adj=int(adj.sum()), events_adj=int(e[adj].sum()))
            if row["events_adj"] > 0 and adj.sum() > cov.shape[1] + 2 and np.ptp(x[adj]) > 0:
                row.update(_cox_columns(t[adj], e[adj], np.column_stack([x[adj], cov[adj]]), "_adj",
                                        notes, firth=firth and "firth_hr" not in row))
        median = float(np.median(xu))
        high = xu > median
        row["cutpoint"] = median
        least = max(1, int(np.ceil(minprop * len(xu))))
        if least <= high.sum() <= len(high) - least:
            lr = sv.logrank(tu, eu, high.astype(int))
            row.update(logrank_chisq=lr.chisq, logrank_p=lr.pvalue)
        else:
            notes.append(f"the median does not split ({int(high.sum())} of {len(high)} above it): no log-rank test")
        key = np.packbits(uni).tobytes()
        if key not in score_cache:
            score_cache[key] = sv.logrank_scores(tu, eu)
        ms = sv.maxstat_logrank(xu, tu, eu, minprop=minprop, maxprop=maxprop, scores=score_cache[key])
        row.update(maxstat_cutpoint=ms.cutpoint, maxstat_statistic=ms.statistic,
                   maxstat_p=ms.pvalue, maxstat_p_capped=bool(ms.capped))
        if len(auc_times):
            auc, _, _ = sv.cumulative_dynamic_auc(tu, eu, xu, np.asarray(auc_times, float))
            row.update({_auc_column(tt): value for tt, value in zip(auc_times, auc)})
        if notes:
            row["note"] = "; ".join(notes)
    table = pd.DataFrame(rows).reindex(columns=SCREEN_COLUMNS + [_auc_column(tt) for tt in auc_times])
    table["padj"] = bh_adjust(table["pvalue"].to_numpy(dtype=float))
    table["padj_adj"] = bh_adjust(table["pvalue_adj"].to_numpy(dtype=float))
    for col in ("n", "events"):
        table[col] = table[col].astype(int)
    for col in ("n_adj", "events_adj"):
        table[col] = table[col].astype("Int64")
    table["maxstat_p_capped"] = table["maxstat_p_capped"].astype("boolean")
    return table


def _adjusted_label(adata, covariates: Sequence[str]) -> str:
    """``stage_group (reference early); age``: what the adjusted models hold."""
    parts = []
    for name in covariates:
        design = design_columns(adata.obs, [name])
        if list(design.columns) == [name]:
            parts.append(name)
        else:
            levels = sorted(adata.obs[name].astype("string").dropna().unique())
            parts.append(f"{name} (reference {levels[0]})" if levels else name)
    return "; ".join(parts)


def _cox_columns(t: np.ndarray, e: np.ndarray, design: np.ndarray, suffix: str, notes: list[str],
                 *, firth: bool) -> dict:
    """HR of the first design column (with interval, p, C-index), or an empty HR and a note."""
    fit = sv.cox_fit(t, e, design, zph=not suffix)
    what = "adjusted Cox" if suffix else "Cox"
    out: dict = {}
    if fit.usable:
        b, se = float(fit.coef[0]), float(fit.se[0])
        with np.errstate(over="ignore"):
            out = {f"coef{suffix}": b, f"se{suffix}": se, f"hr{suffix}": np.exp(b),
                   f"hr{suffix}_ci_low": np.exp(b - sv.Z975 * se),
                   f"hr{suffix}_ci_high": np.exp(b + sv.Z975 * se)}
        out["pvalue" + suffix] = float(fit.pvalue[0])
        risk = design @ fit.coef
        conc = sv.concordance(t, e, risk)
        out["c_index" + suffix] = conc.c
        if not suffix:
            low, high = conc.ci
            out.update(c_index_ci_low=low, c_index_ci_high=high, ph_chisq=fit.zph_chisq[0],
                       ph_p=float(special.chdtrc(1, fit.zph_chisq[0])))
        return out
    if fit.infinite.any():
        which = "the miRNA" if fit.infinite[0] else "a covariate"
        notes.append(f"{what}: monotone likelihood ({which} orders the events perfectly): "
                     "the hazard ratio is infinite" + ("; Firth estimate given" if firth else ""))
        if firth:
            ff = sv.cox_firth(t, e, design)
            out.update(firth_hr=float(np.exp(ff.coef[0])), firth_ci_low=float(np.exp(ff.ci_low[0])),
                       firth_ci_high=float(np.exp(ff.ci_high[0])), firth_p=float(ff.pvalue[0]))
    else:
        notes.append(f"{what}: the model did not converge")
    return out


def _auc_column(time: float) -> str:
    return f"auc_t{float(time):g}"


# --------------------------------------------------------------------------- KM curves
@dataclass
class KMCurves:
    """Kaplan-Meier curves for plotting.

    ``curves``: ``group, time, n_risk, n_event, n_censor, survival, std_err, ci_low, ci_high``
    (a first row at time 0 with survival 1 per group, so step plots start at the origin);
    ``at_risk``: ``group, time, n_risk, survival`` at ``at_risk_times``; ``logrank_*``
    compares the groups; ``cutpoint`` is the split used (NaN when groups came from ``obs``).
    """

    curves: pd.DataFrame
    at_risk: pd.DataFrame
    logrank_chisq: float
    logrank_p: float
    cutpoint: float
    endpoint: str = ""
    mirna: str = ""
    time_unit: str = ""


def km_curves(adata, time, event, *, mirna: str | None = None, group: str | None = None,
              cutpoint: str | float = "median", conf_type: str = "log",
              conf_level: float = 0.95, at_risk_times: Sequence[float] | None = None,
              layer: str | None = None) -> KMCurves:
    """Kaplan-Meier curves of the whole cohort, of the ``group`` column's levels, or of a
    miRNA split at ``cutpoint`` (``"median"``, ``"maxstat"`` or a number; groups ``low``:
    ``x <= cutpoint``, ``high``: ``x > cutpoint``)."""
    t, e, ok, _, _ = _time_event(adata, time, event)
    cut = np.nan
    if mirna is not None:
        if mirna not in adata.var_names:
            raise InputError(f"no miRNA {mirna!r} in the cohort")
        x = matrix_of(adata, layer)[:, adata.var_names.get_loc(mirna)]
        ok = ok & np.isfinite(x)
        if cutpoint == "median":
            cut = float(np.median(x[ok]))
        elif cutpoint == "maxstat":
            cut = sv.maxstat_logrank(x[ok], t[ok], e[ok]).cutpoint
        else:
            cut = float(cutpoint)
        labels = np.where(x > cut, "high", "low")
        above = int((x[ok] > cut).sum())
        if above in (0, int(ok.sum())):
            raise InputError(f"the cut-point {cut:g} of {mirna} does not split the samples ({above} of "
                             f"{int(ok.sum())} above it)", expected="a cut-point with samples on both sides")
    elif group is not None:
        if group not in adata.obs:
            raise InputError(f"no group column {group!r} in the clinical table", column=group)
        raw = adata.obs[group]
        ok = ok & raw.notna().to_numpy()
        labels = raw.astype(str).to_numpy()
    else:
        labels = np.full(adata.n_obs, "all", dtype=object)
    t, e, labels = t[ok], e[ok], labels[ok]
    if at_risk_times is None:
        at_risk_times = sv.nice_times(float(t.max()))
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    curve_parts, risk_parts = [], []
    levels = [lv for lv in ("low", "high") if lv in set(labels)] if mirna is not None \
        else sorted(set(labels))
    for level in levels:
        sel = labels == level
        k = sv.km_table(t[sel], e[sel])
        low, high = sv.km_confidence(k.surv, k.se_log, conf_type, z)
        frame = pd.DataFrame({"group": level, "time": np.r_[0.0, k.time],
                              "n_risk": np.r_[sel.sum(), k.n_risk].astype(int),
                              "n_event": np.r_[0, k.n_event].astype(int),
                              "n_censor": np.r_[0, k.n_censor].astype(int),
                              "survival": np.r_[1.0, k.surv], "std_err": np.r_[0.0, sv.std_err(k)],
                              "ci_low": np.r_[1.0, low], "ci_high": np.r_[1.0, high]})
        if k.time[0] == 0.0:  # an observation at time 0 already gives the first row
            frame = frame.iloc[1:]
        curve_parts.append(frame)
        surv, n_risk = sv.step_at(k, np.asarray(at_risk_times, float))
        risk_parts.append(pd.DataFrame({"group": level, "time": np.asarray(at_risk_times, float),
                                        "n_risk": n_risk.astype(int), "survival": surv}))
    lr = sv.logrank(t, e, labels) if len(levels) > 1 else None
    return KMCurves(pd.concat(curve_parts, ignore_index=True),
                    pd.concat(risk_parts, ignore_index=True),
                    lr.chisq if lr else np.nan, lr.pvalue if lr else np.nan, cut)
