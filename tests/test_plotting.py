"""ex.pl: the report's figures drawn from a Cohort and its tables in a notebook are the report's
figures (same curves, same numbers in the legends), and every function returns a plotly Figure."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import exomir.plotting as pl
from exomir.analysis import run_analysis
from exomir.errors import InputError
from exomir.preprocess.normalize import normalize
from exomir.simulate import simulate_cohort
import exomir.tools as tl


@pytest.fixture(scope="module")
def analysed():
    """A small cohort run through the analysis the report draws (with AFP and survival)."""
    adata = simulate_cohort(120, seed=5, n_mirnas=40)
    return run_analysis(adata, controls=("LC",), afp="afp_ng_ml", time="dfs_months", event="dfs_event", panels=False,
                        prognostic_panel=False)


def _lines(figure: go.Figure) -> list[tuple[str, list, list]]:
    return [(t.name, list(t.x), list(t.y)) for t in figure.data]


def test_roc_from_the_cohort_is_the_reports_roc(analysed):
    roc = analysed.tables["roc"]
    drawn_by_report = pl.roc(roc, analysed.roc_curves["HCC_vs_LC"], "HCC_vs_LC")
    from_cohort = pl.roc(roc, analysed.adata, "HCC_vs_LC", group="group", afp="afp_ng_ml")
    assert _lines(from_cohort) == _lines(drawn_by_report)
    legend = [t.name for t in from_cohort.data if t.showlegend is not False]
    assert len(legend) == 4 and legend[-1].startswith("AFP: AUC ")  # three miRNAs and AFP
    afp_auc = roc[(roc["comparison"] == "HCC_vs_LC") & (roc["mirna"] == "AFP")]["auc"].iloc[0]
    assert f"AUC {afp_auc:.3f}" in legend[-1]


def test_roc_reads_group_and_afp_from_the_cohorts_record():
    adata = simulate_cohort(80, seed=2, n_mirnas=40)
    normalize(adata)
    roc = tl.roc(adata, "group", "HCC", ["LC", "CHB"], afp="afp_ng_ml")
    figure = pl.roc(roc, adata, "HCC_vs_CHB", top=2)
    names = [t.name for t in figure.data if t.showlegend is not False]
    part = roc[roc["comparison"] == "HCC_vs_CHB"]
    first = part[part["mirna"] != "AFP"].iloc[0]
    assert len(names) == 3 and names[0].startswith(first["mirna"].removeprefix("hsa-") + f": AUC {first['auc']:.3f}")
    # the curve ends where every sample is called positive
    assert figure.data[1].x[-1] == 1.0 and figure.data[1].y[-1] == 1.0
    with pytest.raises(InputError, match="no comparison 'HCC_vs_Healthy'"):
        pl.roc(roc, adata, "HCC_vs_Healthy")


def test_km_of_a_cohort_gives_the_log_rank_p_and_the_time_unit():
    adata = simulate_cohort(120, seed=3, n_mirnas=40)
    normalize(adata)
    hcc = adata[adata.obs["group"] == "HCC"].copy()
    figure = pl.km(hcc, "hsa-miR-215-5p", time="dfs_months", event="dfs_event")
    curves = tl.km(hcc, "dfs_months", "dfs_event", mirna="hsa-miR-215-5p")
    assert f"log-rank p {curves.logrank_p:.2g}" in figure.layout.title.text
    assert figure.layout.title.text.startswith("DFS: miR-215-5p")
    assert figure.layout.xaxis2.title.text == "time (DFS, months)"
    drawn = {t.name: list(t.y) for t in figure.data if t.name in ("low", "high")}
    low = curves.curves[curves.curves["group"] == "low"].sort_values("time", kind="mergesort")
    np.testing.assert_allclose(drawn["low"], low["survival"])
    with pytest.raises(InputError, match="time and event"):
        pl.km(hcc, "hsa-miR-215-5p")


def test_survival_figures_of_the_analysis(analysed):
    table = analysed.tables["survival"]
    forest = pl.hr_forest(table, top=5)
    finite = table[np.isfinite(table[["hr", "hr_ci_low", "hr_ci_high"]].to_numpy(float)).all(axis=1)].head(5)
    np.testing.assert_allclose(forest.data[0].x, finite["hr"])
    assert pl.hr_forest(table.assign(hr=np.nan)) is None
    key, km = next(iter(analysed.km_curves.items()))
    figure = pl.km(km)
    assert figure.layout.title.text.startswith(f"{km.endpoint}: {km.mirna.removeprefix('hsa-')}")


def test_volcano_defaults_to_the_first_comparison_and_names_a_missing_one(analysed):
    de = analysed.tables["differential"]
    assert _lines(pl.volcano(de)) == _lines(pl.volcano(de, "HCC_vs_LC"))
    with pytest.raises(InputError, match="no comparison 'HCC_vs_CHB'"):
        pl.volcano(de, "HCC_vs_CHB")


def test_afp_hemolysis_and_stage_boxes(analysed):
    adata = analysed.adata
    figure = pl.afp(adata, "group", "afp_ng_ml", 20.0)
    hcc = pd.to_numeric(adata.obs.loc[adata.obs["group"] == "HCC", "afp_ng_ml"], errors="coerce").dropna()
    box = next(t for t in figure.data if t.name.startswith("HCC"))
    assert box.name == f"HCC (n={len(hcc)})"
    qc = analysed.tables["qc"]
    hemolysis = pl.hemolysis(qc, adata, "group")
    assert sum(int(t.name.split("(")[1].rstrip(")")) for t in hemolysis.data) == len(qc)
    boxes = pl.stage_box(adata[adata.obs["group"] == "HCC"].copy(), "hsa-miR-215-5p", "stage")
    assert sum(len(t.y) for t in boxes.data) == int(adata.obs.loc[adata.obs["group"] == "HCC", "stage"].notna().sum())


def test_meta_forest_draws_the_pooled_row_asked_for():
    summary = pd.DataFrame({"mirna": ["hsa-miR-21-5p", "hsa-miR-122-5p"], "estimate": [0.8, 0.7], "ci_low": [0.7, 0.6],
                            "ci_high": [0.9, 0.8], "pi_low": [0.6, 0.5], "pi_high": [0.95, 0.9]})
    forest = pd.DataFrame({"mirna": ["hsa-miR-21-5p"] * 2 + ["hsa-miR-122-5p"] * 2, "study": ["A", "B", "A", "B"],
                           "flipped": [False, True, False, False], "estimate": [0.75, 0.85, 0.65, 0.72],
                           "ci_low": [0.6, 0.7, 0.5, 0.6], "ci_high": [0.9, 0.95, 0.8, 0.84],
                           "weight": [40.0, 60.0, 50.0, 50.0]})
    meta = SimpleNamespace(summary=summary, forest=forest, measure="auc")
    first = pl.meta_forest(meta)
    assert list(first.data[0].text) == ["A", "B (flipped)"] and list(first.data[0].x) == [0.75, 0.85]
    second = pl.meta_forest(meta, "hsa-miR-122-5p")
    assert list(second.data[0].x) == [0.65, 0.72]
    with pytest.raises(InputError, match="no pooled miRNA"):
        pl.meta_forest(meta, "hsa-miR-1")


def test_every_public_figure_function_is_exported():
    assert set(pl.__all__) >= {"volcano", "roc", "km", "hr_forest", "time_roc", "panel_roc", "calibration",
                               "decision_curve", "stage_box", "afp", "hemolysis", "meta_forest", "forest",
                               "subgroup_forest"}
    assert all(callable(getattr(pl, name)) for name in pl.__all__)
