"""Report figures and the HTML page: what a reader sees must say what the tables say."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from exomir.analysis import run_analysis
from exomir.report import figures, render_report
from exomir.report.render import _html_table
from exomir.simulate import simulate_cohort


def test_volcano_counts_and_labels():
    de = pd.DataFrame({
        "mirna": ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-16-5p", "hsa-miR-451a"],
        "comparison": "HCC_vs_LC",
        "log2fc": [1.2, -0.9, 0.05, 0.8],
        "pvalue": [1e-10, 1e-6, 0.7, 1e-4],
        "padj": [4e-10, 2e-6, 0.7, 1.3e-4],
    })
    fig = figures.volcano(de, "HCC_vs_LC", flagged=frozenset({"hsa-miR-451a"}))
    names = [trace.name for trace in fig.data]
    assert names == ["not significant (1)", "higher in case (2)", "lower in case (1)"]
    up = fig.data[1]
    assert list(up.text) == ["hsa-miR-21-5p", "hsa-miR-451a"]
    np.testing.assert_allclose(up.y, [10.0, 4.0])
    labels = [a.text for a in fig.layout.annotations]
    assert "miR-451a ⚠" in labels and "miR-21-5p" in labels


def test_roc_figure_legend_gives_auc_and_ci():
    curve = pd.DataFrame({"fpr": [0.0, 0.0, 0.5, 1.0], "tpr": [0.0, 0.5, 1.0, 1.0]})
    roc = pd.DataFrame({"mirna": ["hsa-miR-10b-5p", "AFP"], "comparison": "HCC_vs_LC", "auc": [0.93, 0.64],
                        "auc_ci_low": [0.9, 0.55], "auc_ci_high": [0.96, 0.73],
                        "direction": ["higher_in_case", "higher_in_case"]})
    fig = figures.roc_figure({"hsa-miR-10b-5p": curve, "AFP": curve}, roc, "HCC_vs_LC")
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["miR-10b-5p: AUC 0.930 (0.900–0.960)", "AFP: AUC 0.640 (0.550–0.730)"]
    assert fig.data[2].line.dash == "dash"  # AFP stands apart from the miRNAs


def test_km_figure_numbers_at_risk_and_title():
    curves = pd.DataFrame({"stratum": ["low", "low", "high", "high"], "time": [0, 10, 0, 5],
                           "survival": [1, 0.8, 1, 0.4], "ci_low": [1, 0.6, 1, 0.2], "ci_high": [1, 0.95, 1, 0.7]})
    at_risk = pd.DataFrame({"stratum": ["low", "low", "high", "high"], "time": [0, 10, 0, 10], "at_risk": [30, 12, 30, 4]})
    summary = {"hr": 2.5, "hr_ci_low": 1.5, "hr_ci_high": 4.1, "pvalue": 0.001, "logrank_p": 0.002}
    fig = figures.km_figure("hsa-miR-215-5p", curves, at_risk, summary, endpoint="DFS", time_label="months")
    texts = [list(t.text) for t in fig.data if t.mode == "text"]
    assert texts == [["30", "12"], ["30", "4"]]
    assert "HR 2.50 (1.50–4.10)" in fig.layout.title.text and "log-rank p 0.002" in fig.layout.title.text
    lines = [t for t in fig.data if t.name in ("low", "high")]
    assert [t.line.color for t in lines] == ["#1f77b4", "#d62728"]


def test_afp_cutoff_line_sits_at_the_cutoff_on_the_log_axis():
    obs = pd.DataFrame({"group": ["HCC", "HCC", "LC", "Healthy"], "afp": [300.0, 12.0, 8.0, 3.0]})
    fig = figures.afp_by_group(obs, "group", "afp", 20.0)
    line = fig.data[-1]
    assert list(line.y) == [20.0, 20.0, 20.0] and fig.layout.yaxis.type == "log"
    assert not fig.layout.shapes  # a shape on a log axis would sit at 10^20


def test_html_table_formats_and_escapes():
    frame = pd.DataFrame({"mirna": ["hsa-miR-451a", "<b>x</b>"], "padj": [1.23e-8, 0.04], "sensitivity": [0.6, 0.8],
                          "features": ["hsa-miR-21-5p;hsa-miR-10b-5p", ""]})
    html = str(_html_table(frame, None, flagged=frozenset({"hsa-miR-451a"})))
    assert "1.23e-08" in html and "0.040" in html and "60.0%" in html
    assert "⚠ hemolysis" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "miR-21-5p; miR-10b-5p" in html


@pytest.fixture(scope="module")
def hemolysis_confounded():
    """HCC samples drawn with hemolysis: miR-451a becomes a top 'hit' that the report must question."""
    adata = simulate_cohort(80, seed=8, n_mirnas=100)
    hcc = (adata.obs["group"] == "HCC").to_numpy()
    j = list(adata.var_names).index("hsa-miR-451a")
    counts = adata.layers["counts"].copy()
    counts[hcc, j] *= 16
    adata.layers["counts"] = counts
    adata.X = counts.copy()
    return run_analysis(adata, controls=("Healthy",), afp="afp_ng_ml", panels=False)


def test_report_warns_when_a_top_hit_is_hemolysis_sensitive(hemolysis_confounded):
    result = hemolysis_confounded
    de = result.tables["differential"]
    assert de.iloc[0]["mirna"] == "hsa-miR-451a"
    html = render_report(result)
    warning = re.search(r'<div class="warning">⚠ (.*?)</div>', html, re.S)
    assert warning and "hsa-miR-451a" in warning.group(1) and "hemolysis" in warning.group(1)
    assert "⚠ hemolysis" in html  # flagged in the tables too
    # no survival columns given: no survival section
    assert 'id="survival"' not in html and "survival" not in result.tables


def test_report_methods_and_versions(hemolysis_confounded):
    html = render_report(hemolysis_confounded)
    assert "DESeq2 median-of-ratios size factors" in html
    assert re.search(r"<dt>pydeseq2</dt><dd>\d", html) and re.search(r"<dt>seed</dt><dd>0</dd>", html)
    # AFP box plot, hemolysis index, one volcano and one ROC plot
    assert html.count('class="plotly-graph-div"') == 4
    assert 'id="fig-roc-hcc-vs-healthy"' in html


def test_forest_plot_rows_intervals_and_null_line():
    rows = pd.DataFrame({"mirna": ["hsa-miR-215-5p", "hsa-miR-139-5p"], "hr": [2.7, 0.6],
                         "hr_ci_low": [2.0, 0.4], "hr_ci_high": [3.7, 0.9]})
    figure = figures.forest(rows, label="mirna", estimate="hr", low="hr_ci_low", high="hr_ci_high", null=1.0,
                            log_x=True, title="HR", x_title="hazard ratio")
    trace = figure.data[0]
    assert list(trace.x) == [2.7, 0.6] and list(trace.y) == [1, 0]  # first row drawn at the top
    assert list(trace.error_x.array) == pytest.approx([1.0, 0.3])
    assert list(trace.error_x.arrayminus) == pytest.approx([0.7, 0.2])
    assert list(trace.marker.color) == ["#d62728", "#1f77b4"]  # above / below no effect
    assert figure.layout.xaxis.type == "log"
    assert figure.layout.shapes[0].x0 == 1.0  # the no-effect line
    assert list(figure.layout.yaxis.ticktext) == ["miR-215-5p", "miR-139-5p"]
