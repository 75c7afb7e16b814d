"""The forest-plot page of a cross-study meta-analysis: one self-contained HTML file (plotly's
JavaScript embedded inline, nothing fetched from the network) with one forest plot per miRNA,
ordered by the pooled p-value. Same analysis, same bytes: fixed figure ids, no time stamps.
The plots themselves are drawn by :func:`exomir.plotting.study_forest.forest_spec`."""

from __future__ import annotations

import json
import re

import jinja2
import numpy as np
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from exomir._version import __version__
from exomir.plotting.study_forest import MEASURE_LABELS, forest_spec, format_number, log_scale, on_reader_scale
from exomir.results import MetaAnalysis

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "svg", "scale": 1}}


def _json(value) -> str:
    """JSON for a ``<script>`` block: no NaN, and ``</`` cannot close the script early."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _pfmt(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def anchor(name: str) -> str:
    """An HTML id of a miRNA name."""
    return "forest-" + re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")


def render_forest_page(analysis: MetaAnalysis) -> str:
    """HTML text of the forest-plot page of a cross-study meta-analysis."""
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
            "estimate": format_number(on_reader_scale(row["estimate"], measure)), "ci": f"{format_number(on_reader_scale(row['ci_low'], measure))} to "
                                                                   f"{format_number(on_reader_scale(row['ci_high'], measure))}",
            "pi": f"{format_number(on_reader_scale(row['pi_low'], measure))} to {format_number(on_reader_scale(row['pi_high'], measure))}",
            "pvalue": _pfmt(row["pvalue"]), "padj": _pfmt(row.get("padj", np.nan)), "tau2": format_number(row["tau2"]),
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
        test="Hartung-Knapp (t)" if analysis.test == "knha" else "z", log_scale=log_scale(measure),
        studies=analysis.studies, sources=analysis.sources, min_studies=analysis.min_studies,
        context=analysis.comparison or analysis.endpoint or "", any_narrow=any(p["narrow"] for p in plots),
        excluded=excluded.head(200).to_dict("records"), n_excluded=len(excluded),
    )
