"""The headline figures of a diagnostic study: the miRNA panel against AFP and together with AFP
(``ex.pl.panel_roc``, ``ex.pl.calibration``, ``ex.pl.decision_curve``).

All three are drawn from what :func:`exomir.tools.panel` returns for one
comparison (a :class:`~exomir.tools.PanelAnalysis`): the out-of-fold probabilities of the
nested cross-validation, the paired DeLong tests against AFP, the calibration numbers and the
decision curve. Out-of-fold predictions are the honest ones: no sample is scored by a model that
saw it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from exomir.plotting.figures import LAYOUT
from exomir.stats.roc import roc_curve

#: model name in the panel tables → what the reader sees, colour, line style
MODELS = {
    "mirna_panel": ("miRNA panel", "#1f77b4", "solid"),
    "mirna_afp_panel": ("miRNA panel + AFP", "#2ca02c", "solid"),
    "AFP": ("AFP", "#000000", "dash"),
}
CALIBRATION_BINS = 10


def label(model: str) -> str:
    return MODELS.get(model, (model, "", ""))[0]


def _style(model: str, i: int) -> dict:
    _, colour, dash = MODELS.get(model, (model, ("#9467bd", "#ff7f0e", "#8c564b")[i % 3], "solid"))
    return dict(color=colour, dash=dash, width=2.5 if model == "AFP" else 2)


def _models(oof: pd.DataFrame) -> list[str]:
    """Panel models first, AFP last (drawn on top of the grid, read last in the legend)."""
    names = [c for c in oof.columns if c != "is_case"]
    return sorted(names, key=lambda n: (n == "AFP", list(MODELS).index(n) if n in MODELS else len(MODELS)))


def _pformat(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def delong_lines(analysis) -> list[str]:
    """One line per panel: its AUC difference to AFP and the paired DeLong p (same samples)."""
    tests = getattr(analysis, "comparisons", None)
    if tests is None or len(tests) == 0 or "model" not in tests:
        return []
    lines = []
    for _, row in tests.iterrows():
        lines.append(f"{label(row['model'])} vs AFP: ΔAUC {row['difference']:+.3f}, "
                     f"paired DeLong p = {_pformat(float(row['pvalue']))}")
    return lines


def panel_roc_figure(analysis, title: str = "miRNA panel vs AFP") -> go.Figure:
    """ROC curves of the miRNA panel, of AFP and of the panel with AFP, on the same samples,
    with AUC (DeLong 95 % CI) in the legend and the paired DeLong p of each panel against AFP."""
    oof = analysis.out_of_fold
    y = oof["is_case"].to_numpy(dtype=bool)
    summary = analysis.summary.set_index("mirna")
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#999"),
                                showlegend=False, hoverinfo="skip"))
    for i, model in enumerate(_models(oof)):
        curve = roc_curve(oof[model].to_numpy(dtype=float), y, "higher_in_case")
        name = label(model)
        if model in summary.index:
            row = summary.loc[model]
            name += f": AUC {row['auc']:.3f} ({row['auc_ci_low']:.3f}–{row['auc_ci_high']:.3f})"
        figure.add_trace(go.Scatter(
            x=curve["fpr"], y=curve["tpr"], mode="lines", name=name, line=dict(shape="hv", **_style(model, i)),
            hovertemplate=f"{label(model)}<br>1−specificity %{{x:.2f}}<br>sensitivity %{{y:.2f}}<extra></extra>",
        ))
    lines = delong_lines(analysis)
    if lines:
        figure.add_annotation(x=0.99, y=0.30, xref="paper", yref="paper", xanchor="right", yanchor="bottom",
                              align="right", showarrow=False, text="<br>".join(lines), font=dict(size=11),
                              bgcolor="rgba(255,255,255,0.85)")
    n_case, n_control = int(y.sum()), int((~y).sum())
    figure.update_layout(
        title=f"{title}<br><sup>nested-CV out-of-fold curves (repeats averaged); legend AUC: mean of held-out folds; "
              f"{n_case} vs {n_control}</sup>",
        xaxis_title="1 − specificity", yaxis_title="sensitivity", height=520,
        xaxis=dict(range=[-0.01, 1.01], constrain="domain"), yaxis=dict(range=[-0.01, 1.02]),
        legend=dict(x=0.99, y=0.03, xanchor="right", bgcolor="rgba(255,255,255,0.85)"), **LAYOUT)
    return figure


def calibration_bins(prob: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Mean predicted probability against the observed fraction of cases, in groups of equal size
    (ordered by the prediction; ties stay together)."""
    order = np.argsort(prob, kind="mergesort")
    groups = np.array_split(order, min(bins, len(prob)))
    rows = [{"predicted": float(prob[g].mean()), "observed": float(y[g].mean()), "n": len(g)} for g in groups if len(g)]
    return pd.DataFrame(rows)


def calibration_figure(analysis, title: str = "Calibration") -> go.Figure:
    """Observed against predicted risk per model (deciles of the out-of-fold probability), the
    ideal diagonal, and each model's calibration slope and intercept in the legend."""
    oof = analysis.out_of_fold
    y = oof["is_case"].to_numpy(dtype=float)
    numbers = analysis.calibration.set_index("model") if len(analysis.calibration) else pd.DataFrame()
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="ideal", line=dict(dash="dot", color="#999"),
                                hoverinfo="skip"))
    for i, model in enumerate(_models(oof)):
        table = calibration_bins(oof[model].to_numpy(dtype=float), y)
        name = label(model)
        if model in numbers.index:
            row = numbers.loc[model]
            slope, intercept = float(row.get("calibration_slope", np.nan)), float(row.get("calibration_intercept", np.nan))
            name += f": slope {slope:.2f}, intercept {intercept:+.2f}" if np.isfinite(slope) else ": slope not estimable"
        style = _style(model, i)
        figure.add_trace(go.Scatter(
            x=table["predicted"], y=table["observed"], mode="lines+markers", name=name,
            line=dict(color=style["color"], dash=style["dash"], width=1.5), marker=dict(size=7, color=style["color"]),
            customdata=table[["n"]].to_numpy(),
            hovertemplate=f"{label(model)}<br>predicted %{{x:.2f}}<br>observed %{{y:.2f}}<br>n %{{customdata[0]}}<extra></extra>",
        ))
    figure.update_layout(
        title=f"{title}<br><sup>deciles of the out-of-fold probability; slope 1 and intercept 0 are ideal</sup>",
        xaxis_title="predicted probability of HCC", yaxis_title="observed fraction with HCC", height=520,
        xaxis=dict(range=[-0.02, 1.02]), yaxis=dict(range=[-0.02, 1.02]),
        legend=dict(x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.85)"), **LAYOUT)
    return figure


def decision_curve_figure(analysis, title: str = "Decision curve") -> go.Figure:
    """Net benefit per threshold probability of each model, of testing everyone and of no one."""
    curve = analysis.decision_curve
    oof = analysis.out_of_fold
    prevalence = float(oof["is_case"].mean())
    figure = go.Figure()
    for i, model in enumerate(_models(oof)):
        part = curve[curve["model"] == model]
        figure.add_trace(go.Scatter(x=part["threshold"], y=part["net_benefit"], mode="lines", name=label(model),
                                    line=_style(model, i),
                                    hovertemplate=f"{label(model)}<br>threshold %{{x:.2f}}<br>net benefit %{{y:.3f}}"
                                                  "<extra></extra>"))
    for model, name, colour in (("treat_all", "all positive", "#aaaaaa"), ("treat_none", "none positive", "#555555")):
        part = curve[curve["model"] == model]
        figure.add_trace(go.Scatter(x=part["threshold"], y=part["net_benefit"], mode="lines", name=name,
                                    line=dict(color=colour, width=1.2, dash="dot" if model == "treat_all" else "solid"),
                                    hoverinfo="skip"))
    figure.update_layout(
        title=f"{title}<br><sup>net benefit = TP/n − FP/n · p/(1 − p); prevalence {prevalence:.0%} as sampled</sup>",
        xaxis_title="threshold probability", yaxis_title="net benefit", height=520,
        xaxis=dict(range=[0, 1]), yaxis=dict(range=[-0.05, max(prevalence, 0.05) * 1.1]),
        legend=dict(orientation="h", y=-0.18), **LAYOUT)
    return figure
