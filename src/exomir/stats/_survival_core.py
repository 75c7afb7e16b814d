"""Survival numerics on plain arrays: Kaplan-Meier, log-rank, Cox (Efron ties), Schoenfeld
score test, maximally selected log-rank statistics and cumulative/dynamic time-dependent AUC.

Everything here takes 1-D float arrays ``time`` and 0/1 ``event`` with no missing values; the
public layer (:mod:`exomir.stats.survival`) validates input and handles the Cohort.
Each estimator is written to reproduce the R function named in its docstring.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, special, stats

Z975 = float(stats.norm.ppf(0.975))


# --------------------------------------------------------------------------- Kaplan-Meier
@dataclass
class KMTable:
    """Kaplan-Meier estimate at every distinct observed time (as ``survfit``)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    se_log: np.ndarray  # standard error of log S (Greenwood)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KMTable:
    """Product-limit estimate with Greenwood variance (R ``survfit``)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    uniq, inverse = np.unique(time, return_inverse=True)
    n_event = np.bincount(inverse, weights=event, minlength=len(uniq))
    n_all = np.bincount(inverse, minlength=len(uniq)).astype(float)
    n_risk = n_all[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        green = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    se_log = np.sqrt(np.cumsum(green))
    return KMTable(uniq, n_risk, n_event, n_all - n_event, surv, se_log)


def km_confidence(surv: np.ndarray, se_log: np.ndarray, conf_type: str = "log",
                  z: float = Z975) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval of S(t) as ``survfit(conf.type=...)``: log, log-log or plain."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            low = surv * np.exp(-z * se_log)
            high = np.minimum(surv * np.exp(z * se_log), 1.0)
        elif conf_type == "log-log":
            loglog = np.log(-np.log(surv))
            half = z * se_log / np.log(surv)
            low = np.exp(-np.exp(loglog - half))  # half < 0: log S is negative
            high = np.exp(-np.exp(loglog + half))
            low = np.where(surv >= 1.0, 1.0, low)
            high = np.where(surv >= 1.0, 1.0, high)
        elif conf_type == "plain":
            low = np.clip(surv - z * surv * se_log, 0.0, 1.0)
            high = np.clip(surv + z * surv * se_log, 0.0, 1.0)
        else:
            raise ValueError(f"conf_type must be log, log-log or plain, not {conf_type!r}")
    zero = surv <= 0.0
    low = np.where(zero, 0.0, low)
    high = np.where(zero, 0.0, high)
    return low, high


def step_at(table: KMTable, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Survival and number at risk at arbitrary times (``summary(fit, times=)``)."""
    times = np.asarray(times, dtype=float)
    idx = np.searchsorted(table.time, times, side="right") - 1
    surv = np.where(idx >= 0, table.surv[np.maximum(idx, 0)], 1.0)
    first_at_or_after = np.searchsorted(table.time, times, side="left")
    n_total = table.n_risk[0] if len(table.n_risk) else 0.0
    n_risk = np.where(first_at_or_after < len(table.time),
                      table.n_risk[np.minimum(first_at_or_after, len(table.time) - 1)], 0.0)
    n_risk = np.where(times <= (table.time[0] if len(table.time) else 0.0), n_total, n_risk)
    return surv, n_risk


# --------------------------------------------------------------------------- log-rank
@dataclass
class LogRank:
    chisq: float
    df: int
    pvalue: float
    groups: np.ndarray
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> LogRank:
    """k-sample log-rank test (R ``survdiff`` with rho = 0)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    levels, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(levels)
    uniq, t_idx = np.unique(time, return_inverse=True)
    nt = len(uniq)
    # deaths and totals per (time, group)
    d_tg = np.zeros((nt, k))
    n_tg = np.zeros((nt, k))
    np.add.at(d_tg, (t_idx, g), event)
    np.add.at(n_tg, (t_idx, g), 1.0)
    risk_tg = n_tg[::-1].cumsum(axis=0)[::-1]
    d_t = d_tg.sum(axis=1)
    r_t = risk_tg.sum(axis=1)
    has = d_t > 0
    d_t, r_t, risk_tg, d_tg = d_t[has], r_t[has], risk_tg[has], d_tg[has]
    frac = risk_tg / r_t[:, None]
    observed = d_tg.sum(axis=0)
    expected = (frac * d_t[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vfac = np.where(r_t > 1, d_t * (r_t - d_t) / (r_t - 1), 0.0)
    var = np.einsum("t,tg,th->gh", vfac, frac, -frac)
    var[np.diag_indices(k)] += (vfac[:, None] * frac).sum(axis=0)
    diff = observed - expected
    if k < 2:
        return LogRank(np.nan, 0, np.nan, levels, n_tg.sum(0), observed, expected)
    sub = var[:-1, :-1]
    chisq = float(diff[:-1] @ np.linalg.pinv(sub) @ diff[:-1])
    df = int(np.linalg.matrix_rank(sub))
    return LogRank(chisq, df, float(special.chdtrc(df, chisq)) if df > 0 else np.nan,
                   levels, n_tg.sum(axis=0), observed, expected)


# --------------------------------------------------------------------------- Cox (Efron)
@dataclass
class _Sorted:
    """Data sorted by time with the tie structure of the death times."""

    x: np.ndarray  # n × p, centred
    event: np.ndarray
    first: np.ndarray  # first sorted index of each distinct time
    has_death: np.ndarray  # distinct times with at least one death
    d: np.ndarray  # deaths per distinct time (only those with deaths)
    rep: np.ndarray  # distinct-time index of each Efron term
    frac: np.ndarray  # k / d of each Efron term
    order: np.ndarray
    time: np.ndarray


def _prepare(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> _Sorted:
    order = np.argsort(time, kind="stable")
    t = time[order]
    ev = event[order].astype(float)
    xs = x[order] - x.mean(axis=0)
    uniq, first = np.unique(t, return_index=True)
    d_all = np.add.reduceat(ev, first)
    has = d_all > 0
    d = d_all[has].astype(int)
    rep = np.repeat(np.flatnonzero(has), d)
    start = np.repeat(np.cumsum(d) - d, d)
    k = np.arange(d.sum()) - start
    frac = k / np.repeat(d, d)
    return _Sorted(xs, ev, first, has, d, rep, frac, order, uniq)


def _efron_terms(s: _Sorted, beta: np.ndarray):
    """Per Efron term: S0, mean vector and covariance of the covariates; plus the loglik."""
    eta = s.x @ beta
    w = np.exp(eta)
    wx = w[:, None] * s.x
    wxx = wx[:, :, None] * s.x[:, None, :]
    s0r = w[::-1].cumsum()[::-1][s.first]
    s1r = wx[::-1].cumsum(axis=0)[::-1][s.first]
    s2r = wxx[::-1].cumsum(axis=0)[::-1][s.first]
    ew = s.event * w
    s0d = np.add.reduceat(ew, s.first)
    s1d = np.add.reduceat(ew[:, None] * s.x, s.first, axis=0)
    s2d = np.add.reduceat(ew[:, None, None] * s.x[:, :, None] * s.x[:, None, :], s.first, axis=0)
    f = s.frac
    r = s.rep
    s0k = s0r[r] - f * s0d[r]
    s1k = s1r[r] - f[:, None] * s1d[r]
    s2k = s2r[r] - f[:, None, None] * s2d[r]
    mean = s1k / s0k[:, None]
    cov = s2k / s0k[:, None, None] - mean[:, :, None] * mean[:, None, :]
    loglik = float((s.event * eta).sum() - np.log(s0k).sum())
    return loglik, mean, cov


@dataclass
class CoxFit:
    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    loglik: float
    loglik0: float
    n: int
    events: int
    iterations: int
    converged: bool
    zph_chisq: np.ndarray = field(default_factory=lambda: np.array([]))
    zph_global: float = np.nan

    @property
    def z(self) -> np.ndarray:
        return self.coef / self.se

    @property
    def pvalue(self) -> np.ndarray:
        return 2.0 * special.ndtr(-np.abs(self.z))


def cox_fit(time: np.ndarray, event: np.ndarray, x: np.ndarray, *, tol: float = 1e-10,
            max_iter: int = 50, zph: bool = True) -> CoxFit:
    """Cox proportional hazards, Efron ties, Newton-Raphson with step halving (R ``coxph``).

    With ``zph`` the Schoenfeld-residual score test of proportional hazards is added, with the
    Kaplan-Meier time transform (R ``cox.zph(fit, transform = "km")``).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    p = x.shape[1]
    s = _prepare(time, event, x)
    score_x = (s.event[:, None] * s.x).sum(axis=0)
    beta = np.zeros(p)
    loglik, mean, cov = _efron_terms(s, beta)
    loglik0 = loglik
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        score = score_x - mean.sum(axis=0)
        info = cov.sum(axis=0)
        try:
            step = linalg.solve(info, score, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            break
        new = beta + step
        new_ll, new_mean, new_cov = _efron_terms(s, new)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12) and halvings < 30:
            step /= 2.0
            new = beta + step
            new_ll, new_mean, new_cov = _efron_terms(s, new)
            halvings += 1
        done = abs(new_ll - loglik) <= tol * max(abs(new_ll), 1.0) and np.max(np.abs(step)) < 1e-7
        beta, loglik, mean, cov = new, new_ll, new_mean, new_cov
        if done:
            converged = True
            break
    info = cov.sum(axis=0)
    try:
        var = linalg.inv(info)
    except (linalg.LinAlgError, ValueError):
        var = np.full((p, p), np.nan)
    with np.errstate(invalid="ignore"):  # a singular information gives NaN standard errors
        se = np.sqrt(np.diag(var))
    fit = CoxFit(beta, se, var, loglik, loglik0, len(time),
                 int(event.sum()), it, converged)
    if zph:
        fit.zph_chisq, fit.zph_global = _zph(s, beta, mean, cov, time, event)
    return fit


def _zph(s: _Sorted, beta: np.ndarray, mean: np.ndarray, cov: np.ndarray,
         time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, float]:
    """Score test of beta(t) = beta + gamma * g(t), g = centred 1 - KM(t-) (R ``cox.zph``)."""
    p = len(beta)
    km = kaplan_meier(time, event)
    idx = np.searchsorted(km.time, time, side="left") - 1
    ttimes = 1.0 - np.where(idx >= 0, km.surv[np.maximum(idx, 0)], 1.0)
    gtime = ttimes - ttimes[event == 1].mean()
    g_sorted = gtime[s.order]
    g_t = g_sorted[s.first][s.rep]  # g at the death time of each Efron term
    death_x = np.add.reduceat(s.event[:, None] * s.x, s.first, axis=0)[s.has_death]
    g_death = g_sorted[s.first][s.has_death]
    u = (g_death[:, None] * death_x).sum(axis=0) - (g_t[:, None] * mean).sum(axis=0)
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = cov.sum(axis=0)
    cross = (g_t[:, None, None] * cov).sum(axis=0)
    imat[:p, p:] = cross
    imat[p:, :p] = cross.T
    imat[p:, p:] = (g_t[:, None, None] ** 2 * cov).sum(axis=0)
    full_u = np.concatenate([np.zeros(p), u])
    per_term = np.full(p, np.nan)
    global_chisq = np.nan
    # a singular information (tiny or degenerate data) leaves the test undefined (NaN)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            for j in range(p):
                kk = np.r_[np.arange(p), p + j]
                uu = full_u[kk]
                per_term[j] = float(uu @ linalg.solve(imat[np.ix_(kk, kk)], uu))
            global_chisq = float(full_u @ linalg.solve(imat, full_u))
        except (linalg.LinAlgError, linalg.LinAlgWarning, ValueError):
            per_term[:] = np.nan
    return per_term, global_chisq


# --------------------------------------------------------------------------- maxstat
def logrank_scores(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Log-rank scores of censored times (``exactRankTests::cscores(type = "LogRank")``)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    n = len(time)
    order = np.argsort(time, kind="stable")
    rank_max = stats.rankdata(time, method="max").astype(int)
    fact = event / (n - rank_max + 1)
    cum = np.cumsum(fact[order])
    return event - cum[rank_max - 1]


@dataclass
class MaxStat:
    cutpoint: float
    statistic: float
    pvalue: float
    cuts: np.ndarray
    stats: np.ndarray


def lausen94_pvalue(b: float, n: int, m: np.ndarray) -> float:
    """Lausen, Sauerbrei & Schumacher (1994) improved Bonferroni bound (maxstat ``pLausen94``)."""
    m = np.asarray(m, dtype=float)
    d = 0.0
    if len(m) > 1:
        m1, m2 = m[:-1], m[1:]
        t = np.sqrt(1.0 - m1 * (n - m2) / ((n - m1) * m2))
        d = float(np.sum(1.0 / np.pi * np.exp(-b * b / 2.0) * (t - (b * b / 4.0 - 1.0) * t**3 / 6.0)))
    return float(1.0 - (special.ndtr(b) - special.ndtr(-b)) + d)


def maxstat_logrank(x: np.ndarray, time: np.ndarray, event: np.ndarray, *,
                    minprop: float = 0.1, maxprop: float = 0.9,
                    scores: np.ndarray | None = None) -> MaxStat:
    """Maximally selected log-rank statistic over cutpoints of ``x`` with the Lau94 p-value
    (R ``maxstat.test(Surv(time, event) ~ x, smethod = "LogRank", pmethod = "Lau94")``).

    The cutpoint c splits samples into ``x <= c`` and ``x > c``. ``scores`` may pass the
    log-rank scores of (time, event) when many markers share them.
    """
    x = np.asarray(x, dtype=float)
    y = logrank_scores(time, event) if scores is None else scores
    n = len(y)
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    m = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])  # = number of samples below each value
    lo, hi = max(1, int(np.floor(n * minprop))), int(np.floor(n * maxprop))
    m = m[(m >= lo) & (m <= hi)]
    if len(m) == 0:
        return MaxStat(np.nan, np.nan, np.nan, np.array([]), np.array([]))
    ss = ys.sum()
    expect = m / n * ss
    var = m * (n - m) / (n * n * (n - 1.0)) * (n * np.sum(ys**2) - ss * ss)
    with np.errstate(divide="ignore", invalid="ignore"):
        test = np.abs((np.cumsum(ys)[m - 1] - expect) / np.sqrt(var))
    if not np.any(np.isfinite(test)):
        return MaxStat(np.nan, np.nan, np.nan, xs[m - 1], test)
    best = int(np.nanargmax(test))
    stat = float(test[best])
    return MaxStat(float(xs[m[best] - 1]), stat, lausen94_pvalue(stat, n, m), xs[m - 1], test)


# --------------------------------------------------------------------------- time-dependent AUC
def cumulative_dynamic_auc(time: np.ndarray, event: np.ndarray, marker: np.ndarray,
                           times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative/dynamic AUC(t) with inverse-probability-of-censoring weights (Uno et al. 2007;
    the marginal-KM weighting of Blanche's ``timeROC``).

    Cases at t: an event at or before t, each weighted by 1 / G(T_i-), G the Kaplan-Meier
    estimate of the censoring distribution; controls: still event-free after t (their common
    weight 1 / G(t) cancels). Higher marker = higher risk; ties count one half.
    Returns (auc, n_cases, n_controls) per time.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    marker = np.asarray(marker, dtype=float)
    cens = kaplan_meier(time, 1.0 - event)
    idx = np.searchsorted(cens.time, time, side="left") - 1
    g_minus = np.where(idx >= 0, cens.surv[np.maximum(idx, 0)], 1.0)
    out, n_case, n_ctrl = [], [], []
    for t in np.asarray(times, dtype=float):
        case = (time <= t) & (event == 1)
        ctrl = time > t
        n_case.append(int(case.sum()))
        n_ctrl.append(int(ctrl.sum()))
        if not case.any() or not ctrl.any():
            out.append(np.nan)
            continue
        w = 1.0 / g_minus[case]
        mc = marker[case][:, None]
        mk = marker[ctrl][None, :]
        conc = (mc > mk).sum(axis=1) + 0.5 * (mc == mk).sum(axis=1)
        out.append(float((w * conc).sum() / (w.sum() * ctrl.sum())))
    return np.array(out), np.array(n_case), np.array(n_ctrl)
