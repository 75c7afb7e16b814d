"""``quantify_report.html``: one self-contained page for all samples of a run (MultiQC-style).

One bar per sample: the read fates (adapter, length, assignment), the RNA-type composition, the
insert length distribution and miRNA complexity, then the QC table with the flagged samples
marked. plotly is embedded, so the page opens offline; the same qc.csv gives the same bytes.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from exomir._version import __version__
from exomir.atomic import atomic_open
from exomir.plotting.figures import LAYOUT, to_div

_TYPE_COLOURS = {"mirna": "#1f77b4", "trna": "#ff7f0e", "rrna": "#8c564b", "other_ncrna": "#9467bd",
                 "artifact": "#7f7f7f", "unknown": "#d9d9d9"}
_TYPE_LABELS = {"mirna": "miRNA", "trna": "tRNA", "rrna": "rRNA", "other_ncrna": "Y RNA / other ncRNA",
                "artifact": "artifact", "unknown": "unknown"}
_FATES = (("assigned_mirna", "miRNA", "#1f77b4"), ("assigned_hairpin", "hairpin, off the arms", "#aec7e8"),
          ("unassigned", "kept, not miRNA", "#d9d9d9"), ("umi_duplicates", "UMI duplicates", "#c5b0d5"),
          ("adapter_dimer", "adapter dimer", "#7f7f7f"), ("too_short", "too short", "#ffbb78"),
          ("too_long", "too long", "#ff9896"), ("no_adapter", "no adapter", "#f7b6d2"),
          ("ambiguous_n", "N in insert", "#c49c94"))


def _bar(rows: pd.DataFrame, columns, title: str, div_id: str, *, percent: bool) -> str:
    figure = go.Figure()
    samples = rows["sample"].astype(str).tolist()
    total = rows[[c for c, _, _ in columns]].astype(float).fillna(0).sum(axis=1).replace(0, 1)
    for column, label, colour in columns:
        values = rows[column].astype(float).fillna(0)
        shown = 100 * values / total if percent else values
        figure.add_trace(go.Bar(y=samples, x=shown, name=label, orientation="h", marker_color=colour,
                                customdata=values, hovertemplate="%{y}: %{customdata:,.0f} reads (%{x:.1f}"
                                + ("%" if percent else "") + ")<extra>" + label + "</extra>"))
    layout = {**LAYOUT, "margin": dict(l=60, r=20, t=50, b=90)}
    figure.update_layout(**layout, barmode="stack", title=title, height=170 + 28 * len(samples),
                         xaxis_title="% of reads" if percent else "reads", yaxis=dict(autorange="reversed"),
                         legend=dict(orientation="h", y=-0.45))
    return to_div(figure, div_id)


def _lengths(rows: pd.DataFrame) -> str:
    figure = go.Figure()
    for sample, text in zip(rows["sample"].astype(str), rows["insert_lengths"].fillna("")):
        pairs = [p.split(":") for p in str(text).split(";") if ":" in p]
        if not pairs:
            continue
        lengths = [int(a) for a, _ in pairs]
        reads = [float(b) for _, b in pairs]
        total = sum(reads) or 1
        figure.add_trace(go.Scatter(x=lengths, y=[100 * r / total for r in reads], mode="lines+markers", name=sample))
    figure.update_layout(**LAYOUT, title="Insert length of the kept reads", xaxis_title="insert length (nt)",
                         yaxis_title="% of kept reads", height=380)
    return to_div(figure, "lengths")


def _table(rows: pd.DataFrame) -> str:
    shown = ["sample", "status", "reads_in", "reads_kept", "assigned_mirna", "fraction_assigned", "share_mirna",
             "share_trna", "share_rrna", "share_other_ncrna", "share_artifact", "share_unknown", "mirnas_detected",
             "mirna_complexity_95", "isomir_fraction", "adapter_source", "error"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
    body = []
    for _, row in rows.iterrows():
        flagged = row.get("status") != "ok" or bool(row.get("low_mirna_share") is True)
        cells = []
        for c in shown:
            value = row.get(c)
            if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
                text = "n/m" if c.startswith("share_") and row.get("status") == "ok" else ""
            elif c.startswith("share_") or c in ("fraction_assigned", "isomir_fraction"):
                text = f"{float(value):.1%}"
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                text = f"{int(value):,}" if float(value).is_integer() else f"{value}"
            else:
                text = str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append(f"<tr class=\"{'flag' if flagged else ''}\">{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(qc: pd.DataFrame) -> str:
    from plotly.offline import get_plotlyjs

    rows = qc[qc["status"] != "failed"].reset_index(drop=True)
    parts = [f"<h1>exomir quantify: {len(qc)} sample(s)</h1>",
             "<p>Flagged rows (red) gave no miRNA read, failed, or have a miRNA share below 5 % of typed reads. "
             "n/m: not measured (no reference sequences of that class were given).</p>",
             _table(qc)]
    if len(rows):
        parts.append(_bar(rows, _FATES, "What happened to the reads", "fates", percent=True))
        types = [(f"rna_{t}", _TYPE_LABELS[t], _TYPE_COLOURS[t]) for t in _TYPE_COLOURS if f"rna_{t}" in rows]
        if types and rows[[c for c, _, _ in types]].notna().any().any():
            parts.append(_bar(rows, types, "RNA-type composition (reads with an insert)", "rnatypes", percent=True))
        parts.append(_lengths(rows))
        complexity = go.Figure(go.Bar(x=rows["mirna_complexity_95"].astype(float).fillna(0),
                                      y=rows["sample"].astype(str), orientation="h", marker_color="#1f77b4"))
        complexity.update_layout(**LAYOUT, title="miRNA complexity: miRNAs making 95 % of miRNA reads",
                                 height=140 + 28 * len(rows), yaxis=dict(autorange="reversed"))
        parts.append(to_div(complexity, "complexity"))
    style = ("body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
             "tr.flag td{background:#fde0dc}td:last-child{text-align:left;min-width:260px}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>exomir quantify</title>"
            f"<style>{style}</style><script>{get_plotlyjs()}</script></head><body>\n" + "\n".join(parts)
            + f"\n<p><small>exomir {html.escape(__version__)}</small></p></body></html>\n")


def write_report(path: Path, qc: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        fh.write(render(qc))
