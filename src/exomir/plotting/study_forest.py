"""The forest plot of one miRNA of a cross-study meta-analysis: studies with their intervals, the
pooled diamond and the prediction interval. Built as plain plotly JSON so that the same numbers
always give the same text (the forest page of ``exomir meta`` embeds it as is)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from exomir.errors import InputError
from exomir.plotting.figures import log_ticks, tick_label

STUDY_COLOUR = "#1d2430"
POOLED_COLOUR = "#b3202a"
PI_COLOUR = "#e08a8f"
MEASURE_LABELS = {
    "auc": "AUC",
    "log_hr": "hazard ratio",
    "log_dor": "diagnostic odds ratio",
    "log2fc": "log2 fold change",
    "generic": "effect",
}


def log_scale(measure: str) -> bool:
    return measure in ("log_hr", "log_dor")


def on_reader_scale(value: float, measure: str) -> float:
    """A value on the scale readers know (ratios back-transformed)."""
    return math.exp(value) if log_scale(measure) else value


def format_number(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _num(value: float) -> float | None:
    """A JSON number: 10 significant digits (stable, compact), None for a missing value."""
    value = float(value)
    return float(f"{value:.10g}") if math.isfinite(value) else None


def forest_spec(row: pd.Series, studies: pd.DataFrame, measure: str) -> dict:
    """The forest plot of one miRNA as plotly JSON (``data`` and ``layout``): studies with their
    95 % intervals (marker area ∝ weight), the pooled diamond and the prediction interval;
    log-scale measures are drawn as ratios on a log axis.

    Built as plain dictionaries: a page with hundreds of plots is written in a second, and the
    same numbers always give the same JSON text."""
    k = len(studies)
    ys = list(range(k + 1, 1, -1))  # first study on top; the pooled row at y = 0
    est = [on_reader_scale(v, measure) for v in studies["estimate"]]
    low = [on_reader_scale(v, measure) for v in studies["ci_low"]]
    high = [on_reader_scale(v, measure) for v in studies["ci_high"]]
    weight = studies["weight"].to_numpy(dtype=float)
    size = 6 + 14 * np.sqrt(weight / max(weight.max(), 1e-12))
    labels = [f"{s}{' (flipped)' if f else ''}" for s, f in zip(studies["study"], studies["flipped"], strict=True)]
    mu, lo, hi = (on_reader_scale(row[key], measure) for key in ("estimate", "ci_low", "ci_high"))
    pi_lo, pi_hi = on_reader_scale(row["pi_low"], measure), on_reader_scale(row["pi_high"], measure)
    null = 1.0 if log_scale(measure) else (0.5 if measure == "auc" else 0.0)
    studies_trace = {
        "type": "scatter", "mode": "markers", "name": "cohorts", "x": [_num(v) for v in est], "y": ys,
        "marker": {"symbol": "square", "size": [_num(round(v, 2)) for v in size], "color": STUDY_COLOUR},
        "error_x": {"type": "data", "symmetric": False, "array": [_num(h - e) for h, e in zip(high, est, strict=True)],
                    "arrayminus": [_num(e - a) for e, a in zip(est, low, strict=True)], "color": STUDY_COLOUR,
                    "thickness": 1.5, "width": 4},
        "text": labels, "customdata": [[_num(a), _num(b), _num(w)] for a, b, w in zip(low, high, weight, strict=True)],
        "hovertemplate": "%{text}<br>%{x:.3g} [%{customdata[0]:.3g}, %{customdata[1]:.3g}]"
                         "<br>weight %{customdata[2]:.1f}%<extra></extra>",
    }
    pi_trace = {
        "type": "scatter", "mode": "lines", "name": "prediction interval", "x": [_num(pi_lo), _num(pi_hi)], "y": [0, 0],
        "line": {"color": PI_COLOUR, "width": 3, "dash": "dot"},
        "hovertemplate": f"95% prediction interval {format_number(pi_lo)} to {format_number(pi_hi)}<extra></extra>",
    }
    pooled_trace = {
        "type": "scatter", "mode": "lines", "name": "pooled (random effects)", "fill": "toself",
        "x": [_num(v) for v in (lo, mu, hi, mu, lo)], "y": [0, 0.35, 0, -0.35, 0],
        "line": {"color": POOLED_COLOUR, "width": 1}, "fillcolor": POOLED_COLOUR,
        "hovertemplate": f"pooled {format_number(mu)} [{format_number(lo)}, {format_number(hi)}]<extra></extra>",
    }
    right = [f"{format_number(e)} [{format_number(a)}, {format_number(b)}]   {w:.1f}%" for e, a, b, w in zip(est, low, high, weight, strict=True)]
    right.append(f"<b>{format_number(mu)} [{format_number(lo)}, {format_number(hi)}]</b>")
    text_font = {"size": 11, "family": "monospace"}
    annotations = [{"x": 1.01, "xref": "paper", "xanchor": "left", "y": y, "yref": "y", "text": text,
                    "showarrow": False, "font": text_font} for y, text in zip([*ys, 0], right, strict=True)]
    annotations.append({"x": 1.01, "xref": "paper", "xanchor": "left", "y": k + 2.1, "yref": "y", "showarrow": False,
                        "text": "estimate [95% CI]   weight", "font": {"size": 11, "color": "#6b7480"}})
    log = log_scale(measure)
    layout = {
        "height": 130 + 30 * (k + 2), "margin": {"l": 170, "r": 250, "t": 30, "b": 45}, "showlegend": False,
        "font": {"size": 12, "color": "#2a3f5f"}, "plot_bgcolor": "white", "paper_bgcolor": "white",
        "xaxis": {"title": {"text": MEASURE_LABELS.get(measure, measure)}, "type": "log" if log else "linear",
                  "zeroline": False, "gridcolor": "#ebf0f8", "linecolor": "#ebf0f8",
                  "range": _x_range([*low, *high, pi_lo, pi_hi, lo, hi, null], log),
                  **(_log_ticks([*low, *high, pi_lo, pi_hi, lo, hi, null]) if log else {})},
        "yaxis": {"tickvals": [*ys, 0], "ticktext": [*labels, "<b>Pooled</b>"], "range": [-0.9, k + 2.6],
                  "zeroline": False, "showgrid": False},
        "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": null, "x1": null, "y0": 0, "y1": 1,
                    "line": {"color": "#8a929c", "width": 1, "dash": "dash"}}],
        "annotations": annotations,
        "hoverlabel": {"font": {"size": 12}},
    }
    return {"data": [studies_trace, pi_trace, pooled_trace], "layout": layout}


def forest_figure(row: pd.Series, studies: pd.DataFrame, measure: str) -> go.Figure:
    """The forest plot of :func:`forest_spec` as a plotly ``Figure`` (to show or save from Python)."""
    return go.Figure(forest_spec(row, studies, measure))


def meta_forest(analysis, mirna: str | None = None) -> go.Figure:
    """The forest plot of one miRNA of a meta-analysis (``ex.meta``'s result; the miRNA with the
    smallest pooled p when none is named), as the forest page draws it."""
    summary = analysis.summary
    chosen = summary if mirna is None else summary[summary["mirna"] == mirna]
    if chosen.empty:
        raise InputError(f"no pooled miRNA {mirna!r} in the meta-analysis" if mirna else "the meta-analysis pooled no miRNA",
                         expected=f"one of {list(summary['mirna'])[:10]}")
    row = chosen.iloc[0]
    return forest_figure(row, analysis.forest[analysis.forest["mirna"] == row["mirna"]], analysis.measure)


def _log_ticks(values: list[float]) -> dict:
    """Ticks of a log axis written as the values they mark (plotly alone prints 0.3 as "3")."""
    ticks = log_ticks(values)
    return {"tickvals": [_num(t) for t in ticks], "ticktext": [tick_label(t) for t in ticks]}


def _x_range(values: list[float], log: bool) -> list[float]:
    """Axis range holding every interval and the no-effect line, with a margin (log10 units on a log axis)."""
    finite = np.asarray([v for v in values if np.isfinite(v) and (v > 0 or not log)], dtype=float)
    if log:
        finite = np.log10(finite)
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.06 * (hi - lo) if hi > lo else 0.1
    return [round(lo - pad, 10), round(hi + pad, 10)]
