"""The forest-plot page of a cross-study meta-analysis: one self-contained HTML file (plotly's
JavaScript embedded inline, nothing fetched from the network) with one forest plot per miRNA,
ordered by the pooled p-value. Same analysis, same bytes: fixed figure ids, no time stamps."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

STUDY_COLOUR = "#1d2430"
POOLED_COLOUR = "#b3202a"
PI_COLOUR = "#e08a8f"
MEASURE_LABELS = {
    "auc": "AUC",
    "log_hr": "hazard ratio",
    "log_dor": "diagnostic odds ratio",
    "generic": "effect",
}


def _log_scale(measure: str) -> bool:
    return measure in ("log_hr", "log_dor")


def _show(value: float, measure: str) -> float:
    """A value on the scale readers know (ratios back-transformed)."""
    return math.exp(value) if _log_scale(measure) else value


def _fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _pfmt(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def anchor(name: str) -> str:
    """An HTML id of a miRNA name."""
    return "forest-" + re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")


def forest_figure(row: pd.Series, studies: pd.DataFrame, measure: str) -> go.Figure:
    """Studies with their 95 % intervals (marker area ∝ weight), the pooled diamond and the
    prediction interval; log-scale measures are drawn as ratios on a log axis."""
    k = len(studies)
    ys = list(range(k + 1, 1, -1))  # first study on top; the pooled row at y = 0
    est = [_show(v, measure) for v in studies["estimate"]]
    low = [_show(v, measure) for v in studies["ci_low"]]
    high = [_show(v, measure) for v in studies["ci_high"]]
    weight = studies["weight"].to_numpy(dtype=float)
    size = 6 + 14 * np.sqrt(weight / max(weight.max(), 1e-12))
    labels = [f"{s}{' (flipped)' if f else ''}" for s, f in zip(studies["study"], studies["flipped"], strict=True)]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=est, y=ys, mode="markers", name="cohorts",
        marker=dict(symbol="square", size=size.round(2).tolist(), color=STUDY_COLOUR),
        error_x=dict(type="data", symmetric=False, array=[h - e for h, e in zip(high, est, strict=True)],
                     arrayminus=[e - lo for e, lo in zip(est, low, strict=True)], color=STUDY_COLOUR, thickness=1.5,
                     width=4),
        text=labels, customdata=np.column_stack([low, high, weight]).round(10).tolist(),
        hovertemplate="%{text}<br>%{x:.3g} [%{customdata[0]:.3g}, %{customdata[1]:.3g}]"
                      "<br>weight %{customdata[2]:.1f}%<extra></extra>",
    ))
    mu, lo, hi = (_show(row[key], measure) for key in ("estimate", "ci_low", "ci_high"))
    pi_lo, pi_hi = _show(row["pi_low"], measure), _show(row["pi_high"], measure)
    figure.add_trace(go.Scatter(
        x=[pi_lo, pi_hi], y=[0, 0], mode="lines", name="prediction interval",
        line=dict(color=PI_COLOUR, width=3, dash="dot"),
        hovertemplate=f"95% prediction interval {_fmt(pi_lo)} to {_fmt(pi_hi)}<extra></extra>",
    ))
    figure.add_trace(go.Scatter(
        x=[lo, mu, hi, mu, lo], y=[0, 0.35, 0, -0.35, 0], mode="lines", fill="toself", name="pooled (random effects)",
        line=dict(color=POOLED_COLOUR, width=1), fillcolor=POOLED_COLOUR,
        hovertemplate=f"pooled {_fmt(mu)} [{_fmt(lo)}, {_fmt(hi)}]<extra></extra>",
    ))
    null = 1.0 if _log_scale(measure) else (0.5 if measure == "auc" else 0.0)
    figure.add_vline(x=null, line=dict(color="#8a929c", width=1, dash="dash"))
    right = [f"{_fmt(e)} [{_fmt(a)}, {_fmt(b)}]   {w:.1f}%" for e, a, b, w in zip(est, low, high, weight, strict=True)]
    right.append(f"<b>{_fmt(mu)} [{_fmt(lo)}, {_fmt(hi)}]</b>")
    for y, text in zip([*ys, 0], right, strict=True):
        figure.add_annotation(x=1.01, xref="paper", xanchor="left", y=y, yref="y", text=text, showarrow=False,
                              font=dict(size=11, family="monospace"))
    figure.add_annotation(x=1.01, xref="paper", xanchor="left", y=k + 2.1, yref="y", showarrow=False,
                          text="estimate [95% CI]   weight", font=dict(size=11, color="#6b7480"))
    label = MEASURE_LABELS.get(measure, measure)
    xaxis = dict(title=label, type="log" if _log_scale(measure) else "linear", zeroline=False)
    xaxis["range"] = _x_range([*low, *high, pi_lo, pi_hi, lo, hi, null], _log_scale(measure))
    figure.update_layout(
        template="plotly_white", height=130 + 30 * (k + 2), margin=dict(l=170, r=250, t=30, b=45),
        showlegend=False, font=dict(size=12),
        xaxis=xaxis,
        yaxis=dict(tickvals=[*ys, 0], ticktext=[*labels, "<b>Pooled</b>"], range=[-0.9, k + 2.6], zeroline=False,
                   showgrid=False),
    )
    return figure


def _x_range(values: list[float], log: bool) -> list[float]:
    """Axis range holding every interval and the no-effect line, with a margin (log10 units on a log axis)."""
    finite = np.asarray([v for v in values if np.isfinite(v) and (v > 0 or not log)], dtype=float)
    if log:
        finite = np.log10(finite)
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.06 * (hi - lo) if hi > lo else 0.1
    return [round(lo - pad, 10), round(hi + pad, 10)]


def render_forest_page(analysis) -> str:
    """HTML text of the forest-plot page of a :class:`exomir.metaanalysis.MetaAnalysis`."""
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    from exomir import __version__

    summary, forest, measure = analysis.summary, analysis.forest, analysis.measure
    plots = []
    for i, row in summary.iterrows():
        studies = forest[forest["mirna"] == row["mirna"]]
        figure = forest_figure(row, studies, measure)
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-forest-{i + 1}",
                             config={"displaylogo": False, "responsive": True})
        plots.append({
            "mirna": row["mirna"], "mimat": row["mimat"], "anchor": anchor(row["mirna"]), "k": int(row["k"]),
            "estimate": _fmt(_show(row["estimate"], measure)), "ci": f"{_fmt(_show(row['ci_low'], measure))} to "
                                                                   f"{_fmt(_show(row['ci_high'], measure))}",
            "pi": f"{_fmt(_show(row['pi_low'], measure))} to {_fmt(_show(row['pi_high'], measure))}",
            "pvalue": _pfmt(row["pvalue"]), "padj": _pfmt(row.get("padj", np.nan)), "tau2": _fmt(row["tau2"]),
            "i2": f"{row['i2']:.1f}", "q_p": _pfmt(row["q_p"]),
            "agreement": f"{int(row['n_same_direction'])}/{int(row['k'])}",
            "direction": row.get("auc_direction", "") or "", "identity": row.get("identity", ""),
            "names": str(row.get("input_names", "")).replace(";", ", "), "div": Markup(div),
        })
    env = jinja2.Environment(loader=jinja2.PackageLoader("exomir.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), keep_trailing_newline=True)
    template = env.get_template("forest.html.j2")
    excluded = analysis.excluded
    return template.render(
        plotly_js=Markup(get_plotlyjs()), version=__version__, plots=plots,
        measure=measure, measure_label=MEASURE_LABELS.get(measure, measure), method=analysis.method,
        test="Hartung-Knapp (t)" if analysis.test == "knha" else "z", log_scale=_log_scale(measure),
        studies=analysis.studies, sources=analysis.sources, min_studies=analysis.min_studies,
        context=analysis.comparison or analysis.endpoint or "",
        excluded=excluded.head(200).to_dict("records"), n_excluded=len(excluded),
    )
