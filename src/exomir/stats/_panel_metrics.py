"""Performance measures of predicted probabilities: calibration, Brier score, decision curves,
net reclassification improvement (NRI) and integrated discrimination improvement (IDI).

All functions take plain arrays: ``y`` (1 = case) and predicted probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import brier_score_loss

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


def calibration(y, prob) -> dict:
    """Calibration slope (logistic regression of y on logit(p)), calibration-in-the-large
    (intercept with logit(p) as offset, slope fixed at 1), Brier score and scaled Brier score.

    A slope below 1 means predictions too extreme (overfitting); an intercept away from 0
    means predictions systematically too high or too low.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    lp = _logit(prob)
    out = {"calibration_slope": np.nan, "calibration_slope_se": np.nan,
           "calibration_intercept": np.nan, "calibration_intercept_se": np.nan}  # fmt: skip
    family = sm.families.Binomial()
    cases, controls = lp[y == 1], lp[y == 0]
    separated = cases.size and controls.size and (cases.min() >= controls.max() or cases.max() <= controls.min())
    out["calibration_note"] = ""
    if separated:  # detected here: statsmodels ≥ 0.14 only warns and returns a huge slope
        out["calibration_note"] = "perfect separation: the calibration slope is infinite (not estimable)"
    else:
        try:
            fit = sm.GLM(y, sm.add_constant(lp), family=family).fit(tol=1e-12, maxiter=200)
            out["calibration_slope"] = float(fit.params[1])
            out["calibration_slope_se"] = float(fit.bse[1])
            large = sm.GLM(y, np.ones((y.size, 1)), family=family, offset=lp).fit(tol=1e-12, maxiter=200)
            out["calibration_intercept"] = float(large.params[0])
            out["calibration_intercept_se"] = float(large.bse[0])
        except (ValueError, np.linalg.LinAlgError):
            out["calibration_note"] = "the calibration fit failed"
    brier = float(brier_score_loss(y, prob))
    prevalence = y.mean()
    reference = prevalence * (1.0 - prevalence)
    out["brier"] = brier
    out["brier_scaled"] = float(1.0 - brier / reference) if reference > 0 else np.nan
    return out


def net_benefit(y, prob, thresholds: Sequence[float]) -> np.ndarray:
    """Decision-curve net benefit TP/n − FP/n · pt/(1 − pt) at each threshold probability pt."""
    y = np.asarray(y, dtype=bool)
    prob = np.asarray(prob, dtype=np.float64)
    pt = np.asarray(thresholds, dtype=np.float64)
    called = prob[None, :] >= pt[:, None]
    tp = (called & y[None, :]).sum(axis=1)
    fp = (called & ~y[None, :]).sum(axis=1)
    n = y.size
    return tp / n - fp / n * pt / (1.0 - pt)


def decision_curve(y, models: dict[str, np.ndarray], thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """Net benefit of each model, of treating everyone and of treating no one, per threshold.

    Long format: ``threshold, model, net_benefit``. The prevalence is the one of the data set;
    in a case-control design it is set by the sampling, which the reader should keep in mind.
    """
    y = np.asarray(y, dtype=bool)
    pt = np.round(np.arange(0.01, 1.0, 0.01), 2) if thresholds is None else np.asarray(thresholds, float)
    prevalence = y.mean()
    frames = [pd.DataFrame({"threshold": pt, "model": name, "net_benefit": net_benefit(y, p, pt)})
              for name, p in models.items()]  # fmt: skip
    frames.append(pd.DataFrame({"threshold": pt, "model": "treat_all",
                                "net_benefit": prevalence - (1 - prevalence) * pt / (1 - pt)}))  # fmt: skip
    frames.append(pd.DataFrame({"threshold": pt, "model": "treat_none", "net_benefit": 0.0}))
    return pd.concat(frames, ignore_index=True)


def _category(prob: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    return np.searchsorted(np.sort(np.asarray(cutoffs, float)), prob, side="right")


def nri(y, prob_new, prob_old, cutoffs: Sequence[float] | None = None) -> dict:
    """Net reclassification improvement of a new model over an old one.

    With ``cutoffs`` the categorical NRI over the risk categories they define; without, the
    continuous (category-free) NRI, where any rise or fall of the probability counts.
    Standard errors and the z-test follow Pencina et al. (2008).
    """
    y = np.asarray(y, dtype=bool)
    new = np.asarray(prob_new, dtype=np.float64)
    old = np.asarray(prob_old, dtype=np.float64)
    if cutoffs is None:
        up, down = new > old, new < old
    else:
        c_new, c_old = _category(new, cutoffs), _category(old, cutoffs)
        up, down = c_new > c_old, c_new < c_old
    n_e, n_ne = y.sum(), (~y).sum()
    pu_e, pd_e = up[y].mean(), down[y].mean()
    pu_ne, pd_ne = up[~y].mean(), down[~y].mean()
    nri_e = pu_e - pd_e
    nri_ne = pd_ne - pu_ne
    total = nri_e + nri_ne
    var = (pu_e + pd_e - nri_e**2) / n_e + (pu_ne + pd_ne - (pu_ne - pd_ne) ** 2) / n_ne
    se = float(np.sqrt(var))
    measure = "NRI (categorical)" if cutoffs is not None else "NRI (continuous)"
    cuts = "" if cutoffs is None else ";".join(f"{c:g}" for c in cutoffs)
    return _improvement(measure, cuts, total, se, nri_e, nri_ne, n_e, n_ne)


def idi(y, prob_new, prob_old) -> dict:
    """Integrated discrimination improvement: the gain in mean probability among cases minus the
    gain among controls (difference of discrimination slopes), with Pencina's standard error."""
    y = np.asarray(y, dtype=bool)
    d = np.asarray(prob_new, dtype=np.float64) - np.asarray(prob_old, dtype=np.float64)
    gain_e, gain_ne = d[y].mean(), d[~y].mean()
    estimate = gain_e - gain_ne
    se = float(np.sqrt(d[y].var(ddof=1) / y.sum() + d[~y].var(ddof=1) / (~y).sum()))
    return _improvement("IDI", "", estimate, se, gain_e, -gain_ne, y.sum(), (~y).sum())


def _improvement(measure: str, cutoffs: str, estimate: float, se: float, events: float, nonevents: float,
                 n_case: int, n_control: int) -> dict:
    """One row of the reclassification table: estimate, normal-theory interval and test."""
    z = estimate / se if se > 0 else np.nan
    return {
        "measure": measure,
        "cutoffs": cutoffs,
        "estimate": float(estimate),
        "se": se,
        "ci_low": float(estimate - 1.959963984540054 * se),
        "ci_high": float(estimate + 1.959963984540054 * se),
        "z": float(z),
        "pvalue": float(2.0 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
        "events_component": float(events),
        "nonevents_component": float(nonevents),
        "n_case": int(n_case),
        "n_control": int(n_control),
    }
