"""The forest-plot page of a cross-study meta-analysis: one self-contained HTML file (plotly's
JavaScript embedded inline, nothing fetched from the network) with one forest plot per miRNA,
ordered by the pooled p-value. Same analysis, same bytes: fixed figure ids, no time stamps."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from exomir.results import MetaAnalysis

STUDY_COLOUR = "#1d2430"
POOLED_COLOUR = "#b3202a"
PI_COLOUR = "#e08a8f"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "svg", "scale": 1}}
MEASURE_LABELS = {
    "auc": "AUC",
    "log_hr": "hazard ratio",
    "log_dor": "diagnostic odds ratio",
    "log2fc": "log2 fold change",
    "generic": "effect",
}


def _json(value) -> str:
    """JSON for a ``<script>`` block: no NaN, and ``</`` cannot close the script early."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


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
    est = [_show(v, measure) for v in studies["estimate"]]
    low = [_show(v, measure) for v in studies["ci_low"]]
    high = [_show(v, measure) for v in studies["ci_high"]]
    weight = studies["weight"].to_numpy(dtype=float)
    size = 6 + 14 * np.sqrt(weight / max(weight.max(), 1e-12))
    labels = [f"{s}{' (flipped)' if f else ''}" for s, f in zip(studies["study"], studies["flipped"], strict=True)]
    mu, lo, hi = (_show(row[key], measure) for key in ("estimate", "ci_low", "ci_high"))
    pi_lo, pi_hi = _show(row["pi_low"], measure), _show(row["pi_high"], measure)
    null = 1.0 if _log_scale(measure) else (0.5 if measure == "auc" else 0.0)
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
        "hovertemplate": f"95% prediction interval {_fmt(pi_lo)} to {_fmt(pi_hi)}<extra></extra>",
    }
    pooled_trace = {
        "type": "scatter", "mode": "lines", "name": "pooled (random effects)", "fill": "toself",
        "x": [_num(v) for v in (lo, mu, hi, mu, lo)], "y": [0, 0.35, 0, -0.35, 0],
        "line": {"color": POOLED_COLOUR, "width": 1}, "fillcolor": POOLED_COLOUR,
        "hovertemplate": f"pooled {_fmt(mu)} [{_fmt(lo)}, {_fmt(hi)}]<extra></extra>",
    }
    right = [f"{_fmt(e)} [{_fmt(a)}, {_fmt(b)}]   {w:.1f}%" for e, a, b, w in zip(est, low, high, weight, strict=True)]
    right.append(f"<b>{_fmt(mu)} [{_fmt(lo)}, {_fmt(hi)}]</b>")
    text_font = {"size": 11, "family": "monospace"}
    annotations = [{"x": 1.01, "xref": "paper", "xanchor": "left", "y": y, "yref": "y", "text": text,
                    "showarrow": False, "font": text_font} for y, text in zip([*ys, 0], right, strict=True)]
    annotations.append({"x": 1.01, "xref": "paper", "xanchor": "left", "y": k + 2.1, "yref": "y", "showarrow": False,
                        "text": "estimate [95% CI]   weight", "font": {"size": 11, "color": "#6b7480"}})
    log = _log_scale(measure)
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


def _log_ticks(values: list[float]) -> dict:
    """Ticks of a log axis written as the values they mark (plotly alone prints 0.3 as "3")."""
    from exomir.report.figures import log_ticks, tick_label

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


def render_forest_page(analysis: MetaAnalysis) -> str:
    """HTML text of the forest-plot page of a cross-study meta-analysis."""
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    from exomir._version import __version__

    summary, forest, measure = analysis.summary, analysis.forest, analysis.measure
    plots = []
    for i, row in summary.iterrows():
        studies = forest[forest["mirna"] == row["mirna"]]
        spec = forest_spec(row, studies, measure)
        div = (f'<div id="fig-forest-{i + 1}" class="plotly-graph-div" style="height:{spec["layout"]["height"]}px; '
               f'width:100%;"></div>\n<script type="text/javascript">Plotly.newPlot("fig-forest-{i + 1}", '
               f'{_json(spec["data"])}, {_json(spec["layout"])}, {_json(PLOT_CONFIG)});</script>')
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
            "narrow": bool(row.get("knha_narrower_than_z", False) is True),
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
        context=analysis.comparison or analysis.endpoint or "", any_narrow=any(p["narrow"] for p in plots),
        excluded=excluded.head(200).to_dict("records"), n_excluded=len(excluded),
    )
