"""Plotly figures of the report. Each returns a ``plotly.graph_objects.Figure``; the report embeds
them as ``<div>``s with fixed ids so that the HTML is the same for the same results."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
GROUP_COLOURS = {"HCC": "#d62728", "LC": "#ff7f0e", "CHB": "#9467bd", "Healthy": "#2ca02c"}
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), font=dict(size=12))


def to_div(figure: go.Figure, div_id: str) -> str:
    """The figure as an HTML ``<div>`` (the plotly library itself is embedded once by the report)."""
    # a prefix of its own, so that no heading anchor can share (and steal) the figure's id
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{div_id}",
                          config=plot_config(div_id))


def plot_config(name: str) -> dict:
    """plotly's options: the modebar camera saves an SVG named after the figure (the report adds
    SVG and PNG buttons of its own under each figure)."""
    return {"displaylogo": False, "responsive": True,
            "toImageButtonOptions": {"format": "svg", "filename": name, "scale": 1}}


def volcano(de: pd.DataFrame, comparison: str, *, alpha: float = 0.05, label_top: int = 10,
            flagged: frozenset[str] = frozenset()) -> go.Figure:
    """log2 fold change against −log10 p; significant miRNAs (padj < ``alpha``) coloured by sign."""
    table = de[de["comparison"] == comparison].dropna(subset=["log2fc", "pvalue"])
    y = -np.log10(np.clip(table["pvalue"].to_numpy(dtype=float), 1e-300, 1.0))
    significant = (table["padj"] < alpha).to_numpy()
    up = significant & (table["log2fc"].to_numpy() > 0)
    down = significant & (table["log2fc"].to_numpy() < 0)
    figure = go.Figure()
    for mask, name, colour in ((~significant, "not significant", "#b0b0b0"), (up, "higher in case", "#d62728"),
                               (down, "lower in case", "#1f77b4")):
        part = table[mask]
        figure.add_trace(go.Scatter(
            x=part["log2fc"], y=y[mask], mode="markers", name=f"{name} ({int(mask.sum())})",
            marker=dict(color=colour, size=6, opacity=0.8),
            text=part["mirna"], customdata=np.stack([part["padj"].to_numpy(dtype=float)], axis=-1),
            hovertemplate="%{text}<br>log2FC %{x:.2f}<br>padj %{customdata[0]:.2e}<extra></extra>",
        ))
    top = table.assign(neglog10p=y).sort_values(["padj", "pvalue", "mirna"], kind="mergesort").head(label_top)
    y_max = float(max(y.max(), 1.0)) * 1.08 if len(y) else 1.0
    x_abs = float(np.abs(table["log2fc"]).max()) * 1.03 if len(table) else 1.0
    for row, (x_text, y_text) in zip(top.itertuples(), volcano_label_positions(
            top["log2fc"].to_numpy(dtype=float), top["neglog10p"].to_numpy(dtype=float), x_abs, y_max)):
        label = _short(row.mirna) + (" ⚠" if row.mirna in flagged else "")
        # each label sits in a column beside the points (up: right, down: left), stacked with room
        # for one line each, and a leader line points at its miRNA: labels cannot collide
        figure.add_annotation(x=row.log2fc, y=row.neglog10p, ax=x_text, ay=y_text, axref="x", ayref="y", text=label,
                              showarrow=True, arrowhead=0, arrowwidth=0.8, arrowcolor="#777",
                              xanchor="left" if x_text > 0 else "right", font=dict(size=10))
    figure.update_layout(title=f"Volcano: {comparison.replace('_', ' ')}", xaxis_title="log2 fold change (case / control)",
                         yaxis_title="−log10 p", height=VOLCANO_HEIGHT, legend=dict(orientation="h", y=-0.2), **LAYOUT)
    figure.update_xaxes(range=[-VOLCANO_ROOM * x_abs, VOLCANO_ROOM * x_abs])  # room for the label columns
    figure.update_yaxes(range=[0, y_max])
    return figure


VOLCANO_HEIGHT = 460
VOLCANO_ROOM = 1.7  # the x axis reaches this many times the largest |log2 FC|: the rest holds the labels
#: vertical room of one volcano label, as a share of the plot area's height (10 px text in a
#: plot area of at most ~330 px: the legend and margins take the rest of the 460 px)
LABEL_STEP = 16 / 330


def volcano_label_positions(x: np.ndarray, y: np.ndarray, x_abs: float, y_max: float) -> list[tuple[float, float]]:
    """Where the text of each volcano label goes (data coordinates): miRNAs higher in the case
    group are labelled at the right edge of the plot, lower ones at the left edge; within a side
    the labels keep the order of their points from top to bottom, at least one line apart."""
    step = LABEL_STEP * y_max
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(x)
    for side in (1.0, -1.0):
        members = [i for i in range(len(x)) if (x[i] >= 0) == (side > 0)]
        members.sort(key=lambda i: -y[i])
        placed: list[float] = []
        top = y_max - step / 2
        for i in members:
            target = min(y[i], top) if not placed else min(y[i], placed[-1] - step)
            placed.append(target)
        if placed and placed[-1] < step / 2:  # too low: push the stack up, keeping the spacing
            shift = step / 2 - placed[-1]
            placed = [p + shift for p in placed]
        for i, position in zip(members, placed):
            out[i] = (side * x_abs, position)
    return out


def roc_figure(curves: Mapping[str, pd.DataFrame], roc: pd.DataFrame, comparison: str) -> go.Figure:
    """ROC curves of the top miRNAs beside AFP; the legend gives AUC and its confidence interval."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#999"),
                                showlegend=False, hoverinfo="skip"))
    rows = roc[roc["comparison"] == comparison].set_index("mirna")
    for i, (marker, curve) in enumerate(curves.items()):
        row = rows.loc[marker] if marker in rows.index else None
        label = _short(marker)
        if row is not None:
            label += f": AUC {row['auc']:.3f} ({row['auc_ci_low']:.3f}–{row['auc_ci_high']:.3f})"
            if row["direction"] == "lower_in_case":
                label += " ↓"
        colour = "#000000" if marker == "AFP" else PALETTE[i % len(PALETTE)]
        figure.add_trace(go.Scatter(
            x=curve["fpr"], y=curve["tpr"], mode="lines", name=label,
            line=dict(color=colour, width=2.5 if marker == "AFP" else 2, dash="dash" if marker == "AFP" else "solid",
                      shape="hv"),
            hovertemplate=f"{marker}<br>1−specificity %{{x:.2f}}<br>sensitivity %{{y:.2f}}<extra></extra>",
        ))
    figure.update_layout(title=f"ROC: {comparison.replace('_', ' ')}", xaxis_title="1 − specificity",
                         yaxis_title="sensitivity", height=520, xaxis=dict(range=[-0.01, 1.01]),
                         yaxis=dict(range=[-0.01, 1.02]),
                         legend=dict(x=0.3, y=0.04, bgcolor="rgba(255,255,255,0.85)"), **LAYOUT)
    return figure


def km_figure(mirna: str, curves: pd.DataFrame, at_risk: pd.DataFrame | None, summary: Mapping | None,
              *, endpoint: str = "DFS", time_label: str = "time") -> go.Figure:
    """Kaplan-Meier curves (high vs low at the cut-point) with confidence bands and numbers at risk.

    ``curves``: columns ``stratum``, ``time``, ``survival`` and optionally ``ci_low``/``ci_high``;
    ``at_risk``: columns ``stratum``, ``time``, ``at_risk``.
    """
    has_table = at_risk is not None and len(at_risk) > 0
    figure = make_subplots(rows=2 if has_table else 1, cols=1, shared_xaxes=True,
                           row_heights=[0.78, 0.22] if has_table else [1.0], vertical_spacing=0.06)
    strata = list(dict.fromkeys(curves["stratum"].astype(str)))
    colours = {s: ("#d62728" if "high" in s.lower() else "#1f77b4" if "low" in s.lower() else PALETTE[i % 7])
               for i, s in enumerate(strata)}
    for stratum in strata:
        part = curves[curves["stratum"].astype(str) == stratum].sort_values("time", kind="mergesort")
        colour = colours[stratum]
        if {"ci_low", "ci_high"} <= set(part.columns):
            figure.add_trace(go.Scatter(x=part["time"], y=part["ci_high"], mode="lines", line=dict(width=0, shape="hv"),
                                        showlegend=False, hoverinfo="skip"), row=1, col=1)
            figure.add_trace(go.Scatter(x=part["time"], y=part["ci_low"], mode="lines", line=dict(width=0, shape="hv"),
                                        fill="tonexty", fillcolor=_alpha(colour, 0.15), showlegend=False,
                                        hoverinfo="skip"), row=1, col=1)
        figure.add_trace(go.Scatter(x=part["time"], y=part["survival"], mode="lines", name=stratum,
                                    line=dict(color=colour, width=2, shape="hv"),
                                    hovertemplate=f"{stratum}<br>t %{{x:.1f}}<br>S %{{y:.2f}}<extra></extra>"),
                         row=1, col=1)
        if "n_censor" in part.columns:  # censored patients as "+" marks on the curve
            marks = part[part["n_censor"] > 0]
            figure.add_trace(go.Scatter(x=marks["time"], y=marks["survival"], mode="markers", showlegend=False,
                                        marker=dict(symbol="line-ns-open", size=8, color=colour, line=dict(width=1.5)),
                                        hovertemplate=f"{stratum}: censored at %{{x:.1f}}<extra></extra>"),
                             row=1, col=1)
    if has_table:
        for k, stratum in enumerate(strata):
            part = at_risk[at_risk["stratum"].astype(str) == stratum]
            figure.add_trace(go.Scatter(x=part["time"], y=[k] * len(part), mode="text", text=part["at_risk"].astype(int).astype(str),
                                        textfont=dict(color=colours[stratum], size=11), showlegend=False, hoverinfo="skip"),
                             row=2, col=1)
        figure.update_yaxes(tickvals=list(range(len(strata))), ticktext=strata, range=[-0.6, len(strata) - 0.4],
                            showgrid=False, zeroline=False, title_text="at risk", row=2, col=1)
    title = f"{endpoint}: {_short(mirna)}"
    if summary:
        parts = []
        if summary.get("hr") is not None and np.isfinite(summary.get("hr", np.nan)):
            parts.append(f"HR {summary['hr']:.2f} ({summary['hr_ci_low']:.2f}–{summary['hr_ci_high']:.2f}), "
                         f"Cox p {summary['pvalue']:.2g}")
        if summary.get("logrank_p") is not None and np.isfinite(summary.get("logrank_p", np.nan)):
            parts.append(f"log-rank p {summary['logrank_p']:.2g}")
        if parts:
            title += "<br><sup>" + "; ".join(parts) + "</sup>"
    figure.update_yaxes(title_text=f"{endpoint} probability", range=[0, 1.03], row=1, col=1)
    figure.update_xaxes(title_text=time_label, row=2 if has_table else 1, col=1)
    if has_table:  # the numbers at risk sit under the axis ticks
        ticks = sorted(set(at_risk["time"].astype(float)))
        figure.update_xaxes(tickvals=ticks, ticktext=[f"{v:g}" for v in ticks], showticklabels=True, row=1, col=1)
        figure.update_xaxes(tickvals=ticks, ticktext=[f"{v:g}" for v in ticks], row=2, col=1)
    figure.update_layout(title=title, height=500 if has_table else 420, legend=dict(x=0.7, y=0.98), **LAYOUT)
    return figure


def forest(frame: pd.DataFrame, *, label: str, estimate: str, low: str, high: str, null: float, title: str,
           x_title: str, log_x: bool = False) -> go.Figure:
    """A forest plot: one row per item (first row at the top), the estimate with its interval and a
    dotted line at the no-effect value (HR 1, AUC 0.5)."""
    rows = frame.reset_index(drop=True)
    y = list(range(len(rows)))[::-1]
    point = rows[estimate].to_numpy(dtype=float)
    lower, upper = rows[low].to_numpy(dtype=float), rows[high].to_numpy(dtype=float)
    figure = go.Figure(go.Scatter(
        x=point, y=y, mode="markers", showlegend=False,
        marker=dict(symbol="square", size=9, color=np.where(point >= null, "#d62728", "#1f77b4")),
        error_x=dict(type="data", symmetric=False, array=upper - point, arrayminus=point - lower, thickness=1.4, width=0),
        customdata=np.column_stack([lower, upper]),
        text=[_short(v) for v in rows[label]],
        hovertemplate="%{text}<br>%{x:.3g} (%{customdata[0]:.3g}–%{customdata[1]:.3g})<extra></extra>",
    ))
    figure.add_vline(x=null, line_dash="dot", line_color="#888")
    figure.update_yaxes(tickvals=y, ticktext=[_short(v) for v in rows[label]], showgrid=False, automargin=True)
    figure.update_xaxes(type="log" if log_x else "linear", title_text=x_title)
    if log_x:
        ticks = log_ticks(np.r_[lower, upper, null])
        figure.update_xaxes(tickvals=ticks, ticktext=[tick_label(v) for v in ticks])
    figure.update_layout(title=title, height=140 + 24 * len(rows), **LAYOUT)
    return figure


def time_roc_figure(curves: pd.DataFrame, endpoint: str, unit: str) -> go.Figure:
    """Cumulative/dynamic ROC curves at each horizon (IPCW), one colour per marker."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#999"),
                                showlegend=False, hoverinfo="skip"))
    markers = list(dict.fromkeys(curves["marker"]))
    times = sorted(set(curves["time"].astype(float)))
    dashes = ("solid", "dash", "dot", "dashdot")
    for i, marker in enumerate(markers):
        for k, t in enumerate(times):
            part = curves[(curves["marker"] == marker) & (curves["time"] == t)]
            if part.empty or not np.isfinite(part["auc"].iloc[0]):
                continue
            figure.add_trace(go.Scatter(
                # straight segments between thresholds: tied marker values move the curve diagonally
                x=part["fpr"], y=part["tpr"], mode="lines", line=dict(color=PALETTE[i % len(PALETTE)], width=2,
                                                                         dash=dashes[k % len(dashes)]),
                name=f"{_short(marker)} at {t:g} {unit}: AUC {part['auc'].iloc[0]:.3f}",
                hovertemplate=f"{marker}, t = {t:g}<br>1−specificity %{{x:.2f}}<br>sensitivity %{{y:.2f}}<extra></extra>"))
    figure.update_layout(title=f"{endpoint}: time-dependent ROC (cumulative/dynamic, IPCW)",
                         xaxis_title=f"1 − specificity (event-free beyond t)", yaxis_title="sensitivity (event by t)",
                         height=480, xaxis=dict(range=[-0.01, 1.01]), yaxis=dict(range=[-0.01, 1.02]),
                         legend=dict(x=0.35, y=0.04, bgcolor="rgba(255,255,255,0.85)"), **LAYOUT)
    return figure


def stage_boxes(values: pd.DataFrame, mirna: str, stage: str, order: list[str]) -> go.Figure:
    """A miRNA's level by stage (``values``: columns ``stage``, ``level``)."""
    figure = go.Figure()
    for label in order:
        part = values.loc[values["stage"] == label, "level"]
        if len(part):
            figure.add_trace(go.Box(y=part, name=f"{label} (n={len(part)})", boxpoints="outliers",
                                    marker_color="#5b84b1"))
    figure.update_layout(title=f"{_short(mirna)} by {stage}", yaxis_title="normalized level (log2)", showlegend=False,
                         height=360, **LAYOUT)
    return figure


def afp_by_group(obs: pd.DataFrame, group: str, afp: str, cutoff: float) -> go.Figure:
    """AFP per group on a log scale with the clinical cut-off."""
    figure = go.Figure()
    values = pd.to_numeric(obs[afp], errors="coerce")
    for name in group_order(obs[group]):
        part = values[(obs[group].astype(str) == name).to_numpy()].dropna()
        figure.add_trace(go.Box(y=part, name=f"{name} (n={len(part)})", boxpoints="outliers",
                                marker_color=GROUP_COLOURS.get(name, "#7f7f7f")))
    # a trace, not a shape: shapes on a log axis take log10 coordinates
    names = [trace.name for trace in figure.data]
    figure.add_trace(go.Scatter(x=names, y=[cutoff] * len(names), mode="lines+text", name=f"cut-off {cutoff:g}",
                                line=dict(dash="dash", color="#444"), text=[""] * (len(names) - 1) + [f"{cutoff:g} ng/mL"],
                                textposition="top right", hoverinfo="skip"))
    positive = values[values > 0].to_numpy(dtype=float)
    ticks = log_ticks(np.append(positive, cutoff))
    figure.update_layout(title="AFP by group", yaxis_title=f"{afp} (log scale)", showlegend=False, height=380, **LAYOUT)
    figure.update_yaxes(type="log", tickvals=ticks, ticktext=[tick_label(t) for t in ticks])
    return figure


def log_ticks(values) -> list[float]:
    """Ticks of a log axis: every 1–9 times a power of ten when the values span less than a
    decade, 1, 2 and 5 times the powers of ten over up to four decades, the powers alone beyond;
    plotly's own minor labels on log axes print 0.3 as "3", so the report sets ticks and their
    text itself."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return [1.0, 10.0]
    span = np.log10(values.max() / values.min())
    low, high = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    high = max(high, low + 1)
    mantissas = tuple(range(1, 10)) if span < 1.0 else (1, 2, 5) if high - low <= 4 else (1,)
    ticks = [float(f"{m * 10.0 ** e:.12g}") for e in range(int(low), int(high) + 1) for m in mantissas]
    return [t for t in ticks if t <= 10.0 ** high]


def tick_label(value: float) -> str:
    """The value as written: 0.3, 2, 500, 10000 (never the mantissa alone)."""
    return f"{value:,.10g}".replace(",", " ") if value >= 1 else f"{value:.10g}"


def hemolysis_figure(qc: pd.DataFrame, obs: pd.DataFrame, group: str) -> go.Figure | None:
    """Hemolysis index per sample (miR-451a against miR-23a-3p), coloured by category."""
    index_col = next((c for c in ("hemolysis_dcq", "hemolysis_log2_ratio") if c in qc.columns), None)
    if index_col is None or qc[index_col].isna().all():
        return None
    colours = {"clean": "#2ca02c", "possible": "#ff7f0e", "hemolysed": "#d62728", "unknown": "#999999"}
    groups = obs[group].astype(str).reindex(qc["sample"].astype(str)).to_numpy() if group in obs else None
    figure = go.Figure()
    for category, colour in colours.items():
        mask = (qc["hemolysis"].astype(str) == category).to_numpy()
        if not mask.any():
            continue
        figure.add_trace(go.Scatter(
            x=np.flatnonzero(mask), y=qc.loc[mask, index_col], mode="markers", name=f"{category} ({int(mask.sum())})",
            marker=dict(color=colour, size=6),
            text=[f"{s} ({g})" for s, g in zip(qc.loc[mask, "sample"], groups[mask])] if groups is not None else qc.loc[mask, "sample"],
            hovertemplate="%{text}<br>index %{y:.2f}<extra></extra>",
        ))
    figure.update_layout(title="Hemolysis index (miR-23a-3p vs miR-451a)", xaxis_title="sample",
                         yaxis_title="ΔCq / log2 ratio", height=340, **LAYOUT)
    return figure


def group_order(values: pd.Series) -> list[str]:
    seen = list(dict.fromkeys(values.dropna().astype(str)))
    known = [g for g in GROUP_COLOURS if g in seen]
    return known + [g for g in seen if g not in known]


def _short(name: str) -> str:
    return str(name).removeprefix("hsa-")


def _alpha(hex_colour: str, alpha: float) -> str:
    hex_colour = hex_colour.lstrip("#")
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
