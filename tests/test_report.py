"""Report figures and the HTML page: what a reader sees must say what the tables say."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from exomir.analysis import run_analysis
from exomir.plotting import figures
from exomir.report import render_report
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


# --- issue 13: axes, labels, tables and the headline figures ---------------------------------------


def test_log_axis_ticks_are_the_real_values():
    ticks = figures.log_ticks([0.3, 0.9, 4.0])
    assert ticks == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
    assert [figures.tick_label(t) for t in ticks] == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    narrow = figures.log_ticks([0.3, 0.9])  # hazard ratios below 1: 0.3 … 0.9 written out, never "3 … 9"
    assert [figures.tick_label(t) for t in narrow][2:9] == ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]
    assert figures.tick_label(10000.0) == "10\u2009000"
    wide = figures.log_ticks([0.5, 120000.0])  # many decades: one tick per power of ten
    assert wide == [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0, 1000000.0]


def test_afp_box_plot_labels_its_log_axis_with_values():
    obs = pd.DataFrame({"group": ["HCC", "HCC", "LC", "Healthy"], "afp": [300.0, 12.0, 0.4, 3.0]})
    axis = figures.afp_by_group(obs, "group", "afp", 20.0).layout.yaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert list(axis.ticktext)[:3] == ["0.1", "0.2", "0.5"] and "3" not in list(axis.ticktext)


def _boxes(fig, width=600.0):
    """Text boxes of the volcano labels in pixels (10 px text, ~6 px a character), from the layout."""
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    plot_w, plot_h = width - 80, 330.0
    boxes = []
    for a in fig.layout.annotations:
        px = (a.ax - x0) / (x1 - x0) * plot_w
        py = (a.ay - y0) / (y1 - y0) * plot_h
        w = 6.0 * len(a.text)
        left = px if a.xanchor == "left" else px - w
        boxes.append((left, py - 7, left + w, py + 7))
    return boxes


def test_volcano_labels_do_not_collide():
    # ten hits crowded in one corner: the labels must still stand apart, each pointing at its point
    rng = np.random.default_rng(3)
    n = 60
    de = pd.DataFrame({"mirna": [f"hsa-miR-{100 + i}-5p" for i in range(n)], "comparison": "HCC_vs_LC",
                       "log2fc": np.r_[rng.uniform(1.0, 1.1, 8), rng.uniform(-1.1, -1.0, 4), rng.normal(0, 0.2, n - 12)],
                       "pvalue": np.r_[10.0 ** -rng.uniform(9.0, 9.3, 12), rng.uniform(0.01, 1, n - 12)]})
    de["padj"] = np.minimum(de["pvalue"] * n, 1.0)
    fig = figures.volcano(de, "HCC_vs_LC")
    notes = list(fig.layout.annotations)
    assert len(notes) == 10
    boxes = _boxes(fig)
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (notes[i].text, notes[j].text)
    for note in notes:  # the leader line starts at the miRNA's own point
        row = de[de["mirna"].str.removeprefix("hsa-") == note.text.split(" ")[0]].iloc[0]
        assert note.x == pytest.approx(row["log2fc"]) and note.y == pytest.approx(-np.log10(row["pvalue"]))
        assert (note.ax > 0) == (row["log2fc"] > 0)  # up on the right, down on the left


def test_volcano_label_positions_keep_order_and_spacing():
    x = np.array([1.0, 1.2, 0.8, -0.5])
    y = np.array([10.0, 10.1, 9.9, 3.0])
    placed = figures.volcano_label_positions(x, y, 1.3, 11.0)
    right = sorted((p for p, xx in zip(placed, x) if xx > 0), key=lambda p: -p[1])
    gaps = np.diff([p[1] for p in right])
    assert np.all(-gaps >= figures.LABEL_STEP * 11.0 - 1e-12)
    assert placed[1][1] > placed[0][1] > placed[2][1]  # top-to-bottom order of the points kept
    assert placed[3] == (-1.3, 3.0)  # alone on its side: level with its point


def test_headers_are_readable_and_the_csv_keeps_column_names():
    from exomir.report.render import header_label

    assert header_label("auc_ci_low") == "AUC 95% CI low"
    assert header_label("vs_afp_pvalue") == "p vs AFP (paired DeLong)"
    assert header_label("n_missing_values_imputed") == "n missing values imputed"
    frame = pd.DataFrame({"mirna": ["a", "b", "c"], "padj": [0.5, 1e-9, np.nan], "auc_ci_low": [0.1, 0.2, 0.3]})
    html = str(_html_table(frame, None, max_rows=2, name="differential-HCC_vs_LC"))
    assert '<th data-col="auc_ci_low" title="auc_ci_low">AUC 95% CI low</th>' in html
    assert 'data-name="differential-HCC_vs_LC"' in html and 'data-show="2"' in html
    assert 'data-v="1e-09"' in html  # full value for sorting and the CSV, shown as 1.00e-09
    assert html.count('<tr class="more" hidden>') == 1  # the third row is in the page, not shown
    assert 'type="search"' in html and 'class="csv"' in html


def test_evidence_table_folds_its_fields_into_a_few_wrapping_columns():
    from exomir.report.render import _evidence_table

    evidence = pd.DataFrame({"mirna": ["hsa-miR-21-5p"], "comparison": ["HCC_vs_LC"], "literature_direction": ["up"],
                             "agreement": ["agree"], "conflict": [False], "n_records": [7],
                             "parental_cells": ["hcc_cell"], "recipient_cells": [np.nan], "targets": ["PTEN;PDCD4"],
                             "pathways": [np.nan], "hallmarks": ["proliferation;metastasis"],
                             "clinical_roles": ["diagnostic"], "references": ["[94] | [40] Wang et al. 2014"]})
    de = pd.DataFrame({"mirna": ["hsa-miR-21-5p"], "comparison": ["HCC_vs_LC"], "log2fc": [1.2], "padj": [1e-20]})
    roc = pd.DataFrame({"mirna": ["hsa-miR-21-5p"], "comparison": ["HCC_vs_LC"], "auc": [0.9]})
    html = str(_evidence_table(evidence, de, roc))
    headers = re.findall(r'<th data-col="([^"]+)"', html)
    assert headers == ["mirna", "comparison", "log2fc", "padj", "auc", "literature", "cells", "mechanism",
                       "clinical_roles", "references"]
    assert "up · agree (7 records)" in html and "HCC cells → –" in html
    assert "PTEN; PDCD4 · proliferation; metastasis" in html


@pytest.fixture(scope="module")
def with_panels():
    """A small cohort with AFP and panels (light tuning): the headline figures come from it."""
    adata = simulate_cohort(120, seed=4, n_mirnas=40)
    return run_analysis(adata, controls=("LC",), afp="afp_ng_ml",
                        panel_options={"inner_folds": 3, "outer_folds": 3, "permutations": 0, "bootstraps": 5, "Cs": (0.1, 1.0),
                                       "max_features": (4,)})


def test_headline_roc_panel_afp_and_both_with_delong(with_panels):
    from exomir.plotting import diagnostic

    analysis = with_panels.panel_analyses["HCC_vs_LC"]
    fig = diagnostic.panel_roc_figure(analysis, "HCC vs LC")
    names = [t.name for t in fig.data if t.showlegend is not False]
    summary = analysis.summary.set_index("mirna")
    assert names[0] == f"miRNA panel: AUC {summary.loc['mirna_panel', 'auc']:.3f} " \
                       f"({summary.loc['mirna_panel', 'auc_ci_low']:.3f}–{summary.loc['mirna_panel', 'auc_ci_high']:.3f})"
    assert names[1].startswith("miRNA panel + AFP: AUC") and names[2].startswith("AFP: AUC")
    p = float(analysis.comparisons.set_index("model").loc["mirna_panel", "pvalue"])
    text = fig.layout.annotations[0].text
    assert "paired DeLong p" in text and (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}") in text
    # the curve is the ROC of the out-of-fold probabilities (averaged over repeats, as the subtitle
    # says); the legend's AUC is the validated mean of the held-out folds
    from sklearn.metrics import roc_auc_score

    oof = analysis.out_of_fold
    curve = fig.data[1]
    assert np.trapezoid(curve.y, curve.x) == pytest.approx(roc_auc_score(oof["is_case"], oof["mirna_panel"]), abs=1e-9)
    assert "repeats averaged" in fig.layout.title.text and "mean of held-out folds" in fig.layout.title.text


def test_calibration_and_decision_curves(with_panels):
    from exomir.plotting import diagnostic

    analysis = with_panels.panel_analyses["HCC_vs_LC"]
    cal = diagnostic.calibration_figure(analysis, "HCC vs LC")
    numbers = analysis.calibration.set_index("model")
    legend = [t.name for t in cal.data]
    slope = numbers.loc["AFP", "calibration_slope"]
    assert any(n.startswith("AFP: slope") and f"{slope:.2f}" in n for n in legend)
    oof = analysis.out_of_fold
    bins = diagnostic.calibration_bins(oof["AFP"].to_numpy(), oof["is_case"].to_numpy(dtype=float))
    assert bins["n"].sum() == len(oof) and len(bins) == 10
    assert np.average(bins["observed"], weights=bins["n"]) == pytest.approx(oof["is_case"].mean())
    dca = diagnostic.decision_curve_figure(analysis, "HCC vs LC")
    by_name = {t.name: t for t in dca.data}
    assert set(by_name) == {"miRNA panel", "miRNA panel + AFP", "AFP", "all positive", "none positive"}
    prevalence = oof["is_case"].mean()
    assert by_name["all positive"].y[0] == pytest.approx(prevalence - (1 - prevalence) * 0.01 / 0.99)
    assert set(by_name["none positive"].y) == {0.0}


def test_report_holds_the_headline_figures_tables_script_and_downloads(with_panels):
    html = render_report(with_panels)
    for div in ("fig-panel-roc-hcc-vs-lc", "fig-calibration-hcc-vs-lc", "fig-decision-hcc-vs-lc"):
        assert f'id="{div}"' in html
    assert "paired DeLong p" in html
    assert '"toImageButtonOptions": {"format": "svg"' in html
    assert "Plotly.downloadImage" in html and "Download CSV" in html  # our script, inline
    assert not re.search(r'<script[^>]+src=', html) and not re.search(r'<link[^>]+href="http', html)  # offline
    # what is apparent is named so: a single miRNA's Youden cut-off and its figures (chosen on the
    # samples they are judged on); the panels' interval method is stated
    roc_head = re.search(r'data-name="roc-HCC_vs_LC".*?</thead>', html, re.S)
    assert roc_head, "no ROC table for HCC_vs_LC"
    roc_head = roc_head.group(0)
    for label in ("Youden cut-off (apparent)", "sensitivity (apparent)", "specificity (apparent)"):
        assert f">{label}</th>" in roc_head
    assert "intervals: bootstrap of the whole nested CV (5 draws, logit scale, variance / 1.8)" in html


def test_meta_analysis_forest_log_axis_shows_real_values():
    from exomir.plotting.study_forest import forest_spec

    studies = pd.DataFrame({"study": ["A", "B"], "flipped": [False, False], "estimate": np.log([0.5, 0.7]),
                            "ci_low": np.log([0.3, 0.45]), "ci_high": np.log([0.85, 1.1]), "weight": [40.0, 60.0]})
    row = pd.Series({"estimate": np.log(0.6), "ci_low": np.log(0.42), "ci_high": np.log(0.86),
                     "pi_low": np.log(0.35), "pi_high": np.log(1.0)})
    axis = forest_spec(row, studies, "log_hr")["layout"]["xaxis"]
    assert axis["type"] == "log"
    shown = [t for v, t in zip(axis["tickvals"], axis["ticktext"]) if 0.3 <= v <= 1.1]  # inside the range
    assert shown == ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"]
