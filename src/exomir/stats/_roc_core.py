"""Array-level ROC numerics: midranks, fast DeLong, curve points, thresholds, Wilson intervals.

Everything here works on plain NumPy arrays; markers are rows of a 2-D array (markers × samples)
so that thousands of miRNAs are handled in a few vectorized passes. Missing values (NaN) are
allowed: they sort last, so the midranks of the observed values are exactly those that the
observed values alone would get, and each marker is summarised over its own observed samples.

The DeLong variance follows the O(n log n) formulation of Sun & Xu (2014): the placement values
come from three midrankings (all samples, cases only, controls only) instead of an m × n
comparison matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

HIGHER = "higher_in_case"
LOWER = "lower_in_case"
DIRECTIONS = (HIGHER, LOWER)


def midranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) along the last axis (``scipy.stats.rankdata``); NaN entries get NaN
    and never shift the ranks of observed values."""
    return stats.rankdata(np.asarray(values, dtype=np.float64), axis=-1, nan_policy="omit")


@dataclass(frozen=True)
class Placements:
    """DeLong placement values of each marker (rows), NaN where a sample is missing.

    ``cases[i, k]`` is the fraction of marker i's controls below case k (ties count ½);
    ``controls[i, j]`` the fraction of its cases above control j. The AUC is the mean of either.
    Columns follow the samples' order (cases, then controls) when ``ordered`` is true, else the
    order of sorted scores (enough for variances; not for pairing two markers).
    """

    auc: np.ndarray
    cases: np.ndarray
    controls: np.ndarray
    n_case: np.ndarray
    n_control: np.ndarray


@dataclass(frozen=True)
class _Sorted:
    """One ascending sort of every marker row, with the tie-group counts derived from it."""

    order: np.ndarray
    values: np.ndarray
    case: np.ndarray  # observed case at this sorted position
    control: np.ndarray
    cum_case: np.ndarray  # cases at or before this position
    cum_control: np.ndarray
    starts: np.ndarray  # position opens a tie group of observed values
    ends: np.ndarray  # position closes one
    m: np.ndarray
    n: np.ndarray

    def before(self, cum: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Count strictly below each position's tie group (cum is non-decreasing, so the
        running maximum carries the value at the group's first position forward)."""
        return np.maximum.accumulate(np.where(self.starts, cum - own, 0), axis=1)

    def through(self, cum: np.ndarray) -> np.ndarray:
        """Count at or below each position's tie group (value at the group's last position)."""
        big = np.iinfo(cum.dtype).max
        return np.minimum.accumulate(np.where(self.ends, cum, big)[:, ::-1], axis=1)[:, ::-1]


def _sort_groups(values: np.ndarray, is_case: np.ndarray) -> _Sorted:
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    is_case = np.asarray(is_case, dtype=bool)
    width = values.shape[1]
    # Order inside a tie group is irrelevant (only group counts are used): quicksort will do.
    order = np.argsort(values, axis=1)  # NaN last
    s = np.take_along_axis(values, order, axis=1)
    position = np.arange(1, width + 1, dtype=np.int32)
    case = is_case[order]
    cum_case = np.cumsum(case, axis=1, dtype=np.int32)
    starts = np.ones(s.shape, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]  # NaN != NaN: each NaN opens its own group
    ends = np.ones(s.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    if np.isnan(s[:, -1]).any():
        observed = ~np.isnan(s)
        case &= observed
        control = ~is_case[order] & observed
        cum_case = np.cumsum(case, axis=1, dtype=np.int32)
        cum_control = np.cumsum(control, axis=1, dtype=np.int32)
        starts &= observed
        ends &= observed
    else:  # complete data: controls so far = position − cases so far
        control = ~case
        cum_control = position - cum_case
    return _Sorted(
        order=order,
        values=s,
        case=case,
        control=control,
        cum_case=cum_case,
        cum_control=cum_control,
        starts=starts,
        ends=ends,
        m=cum_case[:, -1].astype(np.float64),
        n=cum_control[:, -1].astype(np.float64),
    )


def _sorted_placements(g: _Sorted, lower: np.ndarray | None = None):
    """Placements in sorted order (NaN off their own class) and the AUCs, for higher_in_case.

    With ``lower`` (bool per row) those rows are turned to lower_in_case: every placement p
    becomes 1 − p, the AUC 1 − AUC, the variance unchanged.
    """
    control_twice = g.before(g.cum_control, g.control) + g.through(g.cum_control)
    case_twice = g.before(g.cum_case, g.case) + g.through(g.cum_case)
    with np.errstate(invalid="ignore", divide="ignore"):
        v_case = np.where(g.case, control_twice / (2.0 * g.n[:, None]), np.nan)
        v_control = np.where(g.control, 1.0 - case_twice / (2.0 * g.m[:, None]), np.nan)
        auc = np.nansum(v_case, axis=1) / g.m
    if lower is not None and np.any(lower):
        lower = np.asarray(lower, dtype=bool)
        v_case[lower] = 1.0 - v_case[lower]
        v_control[lower] = 1.0 - v_control[lower]
        auc = np.where(lower, 1.0 - auc, auc)
    return auc, v_case, v_control


def placements(oriented: np.ndarray, is_case: np.ndarray) -> Placements:
    """Placements for scores oriented so that higher means case (markers × samples).

    Returned columns follow the samples: ``cases`` in the order of the case samples,
    ``controls`` in the order of the control samples, so two markers can be paired.
    """
    oriented = np.atleast_2d(np.asarray(oriented, dtype=np.float64))
    is_case = np.asarray(is_case, dtype=bool)
    g = _sort_groups(oriented, is_case)
    auc, v_case, v_control = _sorted_placements(g)
    merged = np.where(g.case, v_case, v_control)
    back = np.empty_like(merged)
    np.put_along_axis(back, g.order, merged, axis=1)
    missing = np.isnan(oriented)
    back[missing] = np.nan
    return Placements(
        auc=auc, cases=back[:, is_case], controls=back[:, ~is_case], n_case=g.m, n_control=g.n
    )


def auc_rows(oriented: np.ndarray, is_case: np.ndarray) -> np.ndarray:
    """AUC of every row (higher = case) from one sort: Σ over cases of controls below + ½ tied."""
    g = _sort_groups(oriented, is_case)
    w = np.where(g.case, g.before(g.cum_control, g.control) + g.through(g.cum_control), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return w.sum(axis=1, dtype=np.int64) / (2.0 * g.m * g.n)


def _kth(g: _Sorted, cum: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Value of the k-th (1-based) member of a class in each sorted row (NaN when k < 1)."""
    rows = np.arange(cum.shape[0])
    col = np.argmax(cum >= k[:, None], axis=1)
    return np.where(k >= 1, g.values[rows, col], np.nan)


def _medians(g: _Sorted, cum: np.ndarray, count: np.ndarray) -> np.ndarray:
    count = count.astype(np.int64)
    lo = _kth(g, cum, (count + 1) // 2)
    hi = _kth(g, cum, count // 2 + 1)
    return np.where(count % 2 == 1, lo, (lo + hi) / 2.0)


def screen_arrays(
    values: np.ndarray,
    is_case: np.ndarray,
    lower: np.ndarray | None = None,
    *,
    sensitivity: float = 0.90,
    specificity: float = 0.90,
):
    """AUC, DeLong variance and thresholds of every marker row from a single sort.
    Hand-written: the vectorised DeLong of Sun & Xu over thousands of rows (justified in issue 12).

    ``lower`` marks rows whose direction is lower_in_case; ``None`` decides per row by pROC's
    median rule (computed from the same sort). Thresholds are observed values: case when
    value ≥ threshold (higher_in_case) or value ≤ threshold (lower_in_case). Returns a dict of
    arrays: auc, var, lower, threshold, sensitivity, specificity, tp, fp, n_case, n_control and
    the cut-offs at the fixed ``sensitivity`` / ``specificity``.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    g = _sort_groups(values, is_case)
    m, n = g.m, g.n
    if lower is None:
        with np.errstate(invalid="ignore"):
            lower = _medians(g, g.cum_control, n) > _medians(g, g.cum_case, m)
    lower = np.asarray(lower, dtype=bool)
    rows = np.arange(values.shape[0])
    # Placement sums in integers: a case's placement is (controls below + controls through its
    # tie group) / 2n, a control's is 1 − (cases below + cases through) / 2m. Exact sums of
    # the numerators and their squares give the AUC and DeLong variance without float drift.
    w_case = np.where(g.case, g.before(g.cum_control, g.control) + g.through(g.cum_control), 0).astype(np.int64)
    w_control = np.where(g.control, g.before(g.cum_case, g.case) + g.through(g.cum_case), 0).astype(np.int64)
    s1c, s2c = w_case.sum(axis=1), (w_case * w_case).sum(axis=1)
    s1n, s2n = w_control.sum(axis=1), (w_control * w_control).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = s1c / (2.0 * n * m)
        mean_u = s1n / (2.0 * m * n)
        var_case = (s2c / (4.0 * n * n) - m * auc * auc) / (m - 1)
        var_control = (s2n / (4.0 * m * m) - n * mean_u * mean_u) / (n - 1)
        var = np.maximum(var_case, 0.0) / m + np.maximum(var_control, 0.0) / n
    var[(m < 2) | (n < 2)] = np.nan
    auc = np.where(lower, 1.0 - auc, auc)
    # Cut-offs: higher_in_case calls a tie group and everything above it (evaluated at the
    # group's first position), lower_in_case the group and everything below (its last).
    lo = lower[:, None]
    at = np.where(lo, g.ends, g.starts)
    tp = np.where(lo, g.cum_case, m[:, None] - (g.cum_case - g.case))
    fp = np.where(lo, g.cum_control, n[:, None] - (g.cum_control - g.control))
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = tp / m[:, None]
        spec = 1.0 - fp / n[:, None]
        j = np.where(at, sens + spec - 1.0, -np.inf)
    width = values.shape[1]
    jmax = j.max(axis=1)
    # Ties in J keep the higher sensitivity (the most inclusive cut).
    col = np.argmax(np.where(at & (j >= jmax[:, None] - 1e-12), tp, -1), axis=1)
    out = {
        "auc": auc,
        "var": var,
        "lower": lower,
        "threshold": g.values[rows, col],
        "sensitivity": sens[rows, col],
        "specificity": spec[rows, col],
        "tp": tp[rows, col].astype(np.float64),
        "fp": fp[rows, col].astype(np.float64),
        "n_case": m,
        "n_control": n,
    }
    # Fixed sensitivity: among cuts reaching it, the fewest false positives (then most cases);
    # fixed specificity: among cuts reaching it, the most cases (then fewest false positives).
    for label, ok, key in (
        ("fixed_sens", at & (sens >= sensitivity - 1e-12), -fp * (width + 1) + tp),
        ("fixed_spec", at & (spec >= specificity - 1e-12), tp * (width + 1) - fp),
    ):
        col_k = np.argmax(np.where(ok, key, -np.inf), axis=1)
        found = ok[rows, col_k]
        # No observed cut reaches the specificity: only calling nobody does (sensitivity 0).
        out[f"{label}_threshold"] = np.where(found, g.values[rows, col_k], np.where(lower, -np.inf, np.inf))
        out[f"{label}_sensitivity"] = np.where(found, sens[rows, col_k], 0.0)
        out[f"{label}_specificity"] = np.where(found, spec[rows, col_k], 1.0)
    none_better = ~(jmax > 1e-12)  # no cut beats calling nobody (J = 0)
    out["threshold"] = np.where(none_better, np.where(lower, -np.inf, np.inf), out["threshold"])
    for key, value in (("sensitivity", 0.0), ("specificity", 1.0), ("tp", 0.0), ("fp", 0.0)):
        out[key] = np.where(none_better, value, out[key])
    bad = (m == 0) | (n == 0)
    for key in list(out):
        if key not in ("n_case", "n_control", "var", "lower"):
            out[key] = np.where(bad, np.nan, out[key])
    return out


def delong_variance(p: Placements) -> np.ndarray:
    """DeLong variance of each AUC (NaN with fewer than two cases or two controls)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        s_case = np.nansum((p.cases - p.auc[:, None]) ** 2, axis=1) / (p.n_case - 1)
        s_control = np.nansum((p.controls - p.auc[:, None]) ** 2, axis=1) / (p.n_control - 1)
        var = s_case / p.n_case + s_control / p.n_control
    var[(p.n_case < 2) | (p.n_control < 2)] = np.nan
    return var


def delong_covariance(a: Placements, b: Placements) -> np.ndarray:
    """DeLong covariance of the AUCs of paired markers (row i of ``a`` with row i of ``b``).

    Both must come from the same samples with the same missing pattern (complete cases).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        c_case = np.nansum((a.cases - a.auc[:, None]) * (b.cases - b.auc[:, None]), axis=1) / (a.n_case - 1)
        c_control = np.nansum(
            (a.controls - a.auc[:, None]) * (b.controls - b.auc[:, None]), axis=1
        ) / (a.n_control - 1)
        return c_case / a.n_case + c_control / a.n_control


def normal_ci(estimate: np.ndarray, variance: np.ndarray, conf_level: float, clip: bool = True):
    """Wald interval estimate ± z·SE (clipped to [0, 1] for AUCs, as pROC does)."""
    z = stats.norm.ppf(0.5 + conf_level / 2.0)
    se = np.sqrt(variance)
    low, high = estimate - z * se, estimate + z * se
    if clip:
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return low, high


def auto_directions(values: np.ndarray, is_case: np.ndarray) -> np.ndarray:
    """pROC's rule per marker: lower_in_case when the control median exceeds the case median."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    is_case = np.asarray(is_case, dtype=bool)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN medians
            med_case = np.nanmedian(values[:, is_case], axis=1)
            med_control = np.nanmedian(values[:, ~is_case], axis=1)
    return np.where(med_control > med_case, LOWER, HIGHER)


def orient(values: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Scores where higher means case: negate the rows whose marker is lower in cases."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    sign = np.where(np.asarray(directions) == LOWER, -1.0, 1.0)
    return values * sign[:, None]


# ---- curve points and thresholds ------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """ROC points of one marker at each distinct oriented score ``t`` (call case when score ≥ t).

    Arrays run from the highest cut (sensitivity 0, specificity 1, threshold +inf) down to the
    lowest observed value (sensitivity 1). ``tp``/``fp`` are counts of cases/controls called case.
    """

    threshold: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_case: int
    n_control: int

    @property
    def sensitivity(self) -> np.ndarray:
        return self.tp / self.n_case

    @property
    def specificity(self) -> np.ndarray:
        return 1.0 - self.fp / self.n_control


def curve(oriented: np.ndarray, is_case: np.ndarray) -> Curve:
    """ROC points of one oriented marker (NaNs already removed). Kept: scikit-learn's
    ``roc_curve`` gives rates, not the tp/fp counts every threshold table reports."""
    oriented = np.asarray(oriented, dtype=np.float64)
    is_case = np.asarray(is_case, dtype=bool)
    order = np.argsort(-oriented, kind="stable")
    s = oriented[order]
    y = is_case[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    # Keep the last index of each tie group: all samples with score >= t are called case.
    last = np.r_[s[1:] != s[:-1], True]
    return Curve(
        threshold=np.r_[np.inf, s[last]],
        tp=np.r_[0, tp[last]].astype(np.float64),
        fp=np.r_[0, fp[last]].astype(np.float64),
        n_case=int(y.sum()),
        n_control=int((~y).sum()),
    )


def youden_index(c: Curve) -> int:
    """Index of the point maximising sensitivity + specificity − 1 (ties: the higher sensitivity;
    the "call nobody" point 0 when no cut has J > 0)."""
    j = c.sensitivity + c.specificity - 1.0
    if not j.max() > 1e-12:
        return 0  # no cut does better than calling nobody
    best = np.flatnonzero(j >= j.max() - 1e-12)
    return int(best[-1])


def fixed_sensitivity_index(c: Curve, target: float) -> int | None:
    """Point with sensitivity ≥ target and, among those, the highest specificity."""
    ok = np.flatnonzero(c.sensitivity >= target - 1e-12)
    return int(ok[0]) if ok.size else None  # first one reached has the fewest false positives


def fixed_specificity_index(c: Curve, target: float) -> int | None:
    """Point with specificity ≥ target and, among those, the highest sensitivity."""
    ok = np.flatnonzero(c.specificity >= target - 1e-12)
    return int(ok[-1]) if ok.size else None


def partial_auc(c: Curve, limits: tuple[float, float], focus: str = "specificity", correct: bool = False) -> float:
    """Partial AUC as pROC defines it, over a specificity (or sensitivity) range.
    Hand-written: scikit-learn's ``max_fpr`` covers only specificity ranges that end at 1.

    The area under the curve of sensitivity against specificity (or the reverse) between the
    limits, interpolating linearly at the ends; with ``correct`` the McClish standardisation
    (1 + (pAUC − min)/(max − min))/2, NaN when the curve is below the diagonal there.
    """
    hi, lo = max(limits), min(limits)
    se = c.sensitivity[::-1]  # specificity increasing, sensitivity decreasing
    sp = c.specificity[::-1]
    if focus == "sensitivity":
        x, y = se[::-1], sp[::-1]
    elif focus == "specificity":
        x, y = sp, se
    else:
        raise ValueError("focus must be 'specificity' or 'sensitivity'")
    inside = (x <= hi) & (x >= lo)
    xi, yi = x[inside], y[inside]
    area = float(np.sum((xi[1:] - xi[:-1]) * (yi[1:] + yi[:-1]) / 2.0))
    if xi.size == 0:
        idx_hi = int(np.flatnonzero(~(x < hi))[0])
        idx_lo = idx_hi - 1
        y_hi = y[idx_hi] + (x[idx_hi] - hi) / (x[idx_hi] - x[idx_lo]) * (y[idx_lo] - y[idx_hi])
        y_lo = y[idx_lo] - (lo - x[idx_lo]) / (x[idx_hi] - x[idx_lo]) * (y[idx_lo] - y[idx_hi])
        area = (y_hi + y_lo) / 2.0 * (hi - lo)
    else:
        if not np.any(x[inside] == hi):
            idx_out = int(np.flatnonzero(~(x < hi))[0])
            idx_in = idx_out - 1
            frac = (hi - x[idx_out]) / (x[idx_in] - x[idx_out])
            y_int = y[idx_out] + frac * (y[idx_in] - y[idx_out])
            area += (hi - x[idx_in]) * (y[idx_in] + y_int) / 2.0
        if not np.any(x[inside] == lo):
            idx_out = int(np.flatnonzero(x > lo)[0]) - 1
            idx_in = idx_out + 1
            frac = (x[idx_in] - lo) / (x[idx_in] - x[idx_out])
            y_int = y[idx_in] + frac * (y[idx_out] - y[idx_in])
            area += (x[idx_in] - lo) * (y[idx_in] + y_int) / 2.0
    if correct:
        width = hi - lo
        lowest = (2.0 - hi - lo) * width / 2.0  # the diagonal's area over the range
        if area < lowest:
            return float("nan")
        area = (1.0 + (area - lowest) / (width - lowest)) / 2.0
    return float(area)


def wilson_interval(successes, trials, conf_level: float = 0.95):
    """Wilson score interval of a proportion (vectorized; NaN where trials is 0).

    Kept: statsmodels' ``proportion_confint(method="wilson")`` is this formula clipped to [0, 1],
    which moves the bounds at 0 and n successes by 2e-16 (73 of the upper bounds for n = 1..399).
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = stats.norm.ppf(0.5 + conf_level / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z**2 / (4.0 * n**2)) / denom
    return centre - half, centre + half


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels ``multipletests``; NaNs left as NaN, not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def newcombe_interval(auc, n_case, n_control, conf_level: float = 0.95):
    """Score-type (Wilson-like) interval of an AUC: Newcombe's (2006) method 5.

    Solves (θ − AUC)² = z² V(θ) for θ, with V the Hanley-McNeil variance at θ and the group sizes
    replaced by their mean N* = (m + n)/2. Unlike a Wald interval it stays inside [0, 1] and does
    not collapse to a point at AUC 0 or 1 (a perfect separator of 10 against 10 gets about
    [0.83, 1]); its coverage is close to nominal in small samples, where DeLong's is not.
    Vectorized; NaN where the AUC or a group size is missing. Hand-written: no Python library
    has Newcombe's AUC interval.
    """
    a = np.asarray(auc, dtype=np.float64)
    m = np.asarray(n_case, dtype=np.float64)
    n = np.asarray(n_control, dtype=np.float64)
    a, m, n = np.broadcast_arrays(a, m, n)
    z2 = stats.norm.ppf(0.5 + conf_level / 2.0) ** 2
    extra = (m + n) / 2.0 - 1.0

    def excess(theta):
        var = theta * (1.0 - theta) / (m * n) * (1.0 + extra * (1.0 - theta) / (2.0 - theta) + extra * theta / (1.0 + theta))
        return (theta - a) ** 2 - z2 * var

    # f(a) ≤ 0 ≤ f(0) and f(1): one root on each side, found by bisection (60 halvings: 1e-18)
    lo_a, lo_b = np.zeros_like(a), a.copy()
    hi_a, hi_b = a.copy(), np.ones_like(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(60):
            mid = (lo_a + lo_b) / 2.0
            above = excess(mid) > 0
            lo_a, lo_b = np.where(above, mid, lo_a), np.where(above, lo_b, mid)
            mid = (hi_a + hi_b) / 2.0
            above = excess(mid) > 0
            hi_a, hi_b = np.where(above, hi_a, mid), np.where(above, mid, hi_b)
    bad = ~np.isfinite(a) | ~(m >= 1) | ~(n >= 1)
    low = np.where(bad, np.nan, (lo_a + lo_b) / 2.0)
    high = np.where(bad, np.nan, (hi_a + hi_b) / 2.0)
    return low, high
