"""Prognosis studies end to end: ``exomir analyze`` on TCGA-LIHC tumours (OS and recurrence, with and
without adjustment for stage) against R survival; the time-dependent AUC against scikit-survival;
the planted prognostic miRNA of the demo cohort, its stage trend, and the nested-CV panel under
permutation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir.stats import _survival_core as core
from tests.conftest import shared_path

REF = Path(__file__).parent / "reference" / "survival"
COMPARED = ["hr", "hr_ci_low", "hr_ci_high", "pvalue", "c_index", "logrank_chisq", "logrank_p",
            "hr_adj", "hr_adj_ci_low", "hr_adj_ci_high", "pvalue_adj", "c_index_adj"]


@pytest.fixture(scope="module")
def tcga_run(tmp_path_factory):
    from exomir.analysis import analyze

    out = tmp_path_factory.mktemp("tcga") / "out"
    result = analyze(shared_path("tcga_lihc", "mirna_precursor_rpm.csv.gz"),
                     shared_path("tcga_lihc", "clinical_survival.csv"), out,
                     survival=["OS:OS_days:OS_event", "recurrence:recurrence_days:recurrence_event"],
                     adjust=["stage_group"], stage="pathologic_stage", prognostic_panel=False)
    return result, out


def test_tcga_prognosis_only_agrees_with_r(tcga_run):
    result, out = tcga_run
    assert result.comparisons == [] and "differential" not in result.tables
    assert any(n.startswith("prognosis only") for n in result.notes)
    table = result.tables["survival"]
    ref = pd.read_csv(REF / "tcga_prognosis.csv", skipinitialspace=True)
    merged = ref.merge(table, on=["endpoint", "mirna"], suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(ref) == len(table) == 906  # the same 453 precursors per endpoint
    assert (merged["n"] == merged["n_r"]).all() and (merged["n_adj"] == merged["n_adj_r"]).all()
    assert set(table["adjusted_for"]) == {"stage_group (reference early)"}
    for col in COMPARED:
        got, want = merged[col].to_numpy(float), merged[f"{col}_r"].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=col)
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-8, err_msg=col)
    se = (merged["c_index_ci_high"] - merged["c_index"]) / core.Z975
    np.testing.assert_allclose(se, merged["c_index_se"], atol=1e-10)
    # the written table holds the same values (6 significant digits)
    written = pd.read_csv(out / "tables" / "survival.csv")
    np.testing.assert_allclose(written["hr_adj"], table["hr_adj"], rtol=1e-5)
    for name in ("trend", "time_roc", "exclusions"):
        assert (out / "tables" / f"{name}.csv").exists()
    # normals and second aliquots are not counted: one primary tumour per patient
    ex = pd.read_csv(out / "tables" / "exclusions.csv")
    assert ex["reason"].str.startswith("TCGA sample type 11").sum() == 50
    html = (out / "report.html").read_text()
    assert "prognosis (OS, recurrence)" in html and 'id="fig-time-roc-os"' in html and "Differential" not in html


def test_time_dependent_auc_agrees_with_scikit_survival():
    clin = pd.read_csv(shared_path("tcga_lihc", "clinical_survival.csv")).set_index("patient")
    rpm = pd.read_csv(shared_path("tcga_lihc", "mirna_precursor_rpm.csv.gz"), index_col=0)
    tumour, seen = [], set()
    for barcode in sorted(rpm.columns):
        if barcode[13:15] == "01" and barcode[:12] not in seen:
            seen.add(barcode[:12])
            tumour.append(barcode)
    clin = clin.reindex([b[:12] for b in tumour])
    clin["recurrence_days"] = clin["new_tumor_event_days"].fillna(clin["OS_days"])
    clin["recurrence_event"] = clin["new_tumor_event_days"].notna().astype(float)
    ref = pd.read_csv(REF / "time_auc_sksurv.csv")
    worst = 0.0
    for (endpoint, mirna), part in ref.groupby(["endpoint", "mirna"]):
        tcol, ecol = ("OS_days", "OS_event") if endpoint == "OS" else ("recurrence_days", "recurrence_event")
        t, e = clin[tcol].to_numpy(float), clin[ecol].to_numpy(float)
        ok = np.isfinite(t) & np.isfinite(e)
        x = np.log2(rpm.loc[mirna, tumour].to_numpy(float) + 1.0)
        auc, _, _ = core.cumulative_dynamic_auc(t[ok], e[ok], x[ok], part["time"].to_numpy(float))
        worst = max(worst, float(np.max(np.abs(auc - part["auc"].to_numpy()))))
    assert worst < 1e-6


@pytest.fixture(scope="module")
def demo_hcc():
    from exomir.preprocess.normalize import normalize
    from exomir.simulate import simulate_cohort

    cohort = normalize(simulate_cohort(400, seed=0), "auto")
    return cohort[cohort.obs["group"] == "HCC"].copy()


def test_demo_planted_mirna_is_prognostic_beyond_stage_and_rises_with_stage(demo_hcc):
    from exomir.tools import _survival as survival
    from exomir.tools._trend import stage_trend

    table = survival.survival_screen(demo_hcc, "dfs_months", "dfs_event", endpoint="DFS",
                                     covariates=["stage"]).set_index("mirna")
    row = table.loc["hsa-miR-215-5p"]
    assert table["pvalue"].idxmin() == "hsa-miR-215-5p" and row["padj"] < 1e-5
    assert 1.8 < row["hr"] < 3.5  # planted 2.5 per log2 with stage held fixed
    assert row["padj_adj"] < 1e-3 and 1.6 < row["hr_adj"] < 3.5
    assert row["adjusted_for"] == "stage (reference I)" and row["c_index"] > 0.65
    trend = stage_trend(demo_hcc, "stage").set_index("mirna")
    assert trend["pvalue"].idxmin() == "hsa-miR-215-5p"
    assert trend.loc["hsa-miR-215-5p", "padj"] < 1e-4 and trend.loc["hsa-miR-215-5p", "spearman_rho"] > 0.3


def test_demo_prognostic_panel_has_an_interval_and_permuted_times_give_half(demo_hcc):
    from exomir.stats.prognostic_panel import out_of_fold_risk
    from exomir.tools._prognostic_panel import prognostic_panels

    panels = prognostic_panels(demo_hcc, "dfs_months", "dfs_event", clinical=["stage"], times=[12.0, 36.0],
                               max_features=10, penalizers=(0.1, 0.3)).set_index("model")
    assert list(panels.index) == ["miRNAs", "clinical", "miRNAs + clinical"]
    mir = panels.loc["miRNAs"]
    assert mir["c_index_ci_low"] < mir["c_index"] < mir["c_index_ci_high"] and mir["c_index_ci_low"] > 0.5
    assert "hsa-miR-215-5p" in mir["features"].split(";")
    # times permuted jointly with their events: the panel has nothing left to find
    from exomir.cohort import matrix_of
    from exomir.tools._survival import detected_fraction

    x = matrix_of(demo_hcc, None)[:, detected_fraction(demo_hcc) >= 0.5]
    t = demo_hcc.obs["dfs_months"].to_numpy(float)
    e = demo_hcc.obs["dfs_event"].to_numpy(float)
    null = []
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(len(t))
        risk, _ = out_of_fold_risk(x, t[perm], e[perm], n_mirna=x.shape[1], seed=seed, max_features=10,
                                   penalizers=(0.1, 0.3))
        null.append(core.concordance(t[perm], e[perm], risk).c)
    assert abs(np.mean(null) - 0.5) < 0.05, null


def test_cli_survival_option_is_checked(tmp_path):
    from exomir.cli import app

    result = CliRunner().invoke(app, ["analyze", "--expression", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o"),
                                      "--survival", "OS:OS_days"])
    assert result.exit_code != 0


def test_hr_forest_and_km_axes_read_as_values():
    from exomir.plotting import figures
    from exomir.stats import survival

    rows = pd.DataFrame({"mirna": ["a", "b", "c"], "hr": [0.3, 0.6, 0.9], "low": [0.2, 0.4, 0.7], "high": [0.45, 0.9, 1.2]})
    fig = figures.forest(rows, label="mirna", estimate="hr", low="low", high="high", null=1.0, title="t",
                         x_title="hazard ratio", log_x=True)
    ticks = list(fig.layout.xaxis.ticktext)
    # the labels are the hazard ratios themselves (0.5 is written 0.5, not 5)
    assert "0.5" in ticks and "1" in ticks and fig.layout.xaxis.type == "log"
    assert [float(v) for v in ticks] == list(fig.layout.xaxis.tickvals)
    # KM: censor marks on the curve and the numbers at risk at round times under the ticks
    t = np.array([1.0, 2.0, 2.0, 5.0, 8.0, 13.0, 21.0])
    e = np.array([1, 0, 1, 0, 1, 0, 1], float)
    assert survival.nice_times(21.0).tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
    km = survival.kaplan_meier(t, e).assign(stratum="all")
    at_risk = pd.DataFrame({"stratum": "all", "time": [0.0, 10.0, 20.0], "at_risk": [7, 2, 1]})
    fig = figures.km_figure("hsa-miR-1", km, at_risk, None, endpoint="OS", time_label="time (OS, days)")
    censor = [tr for tr in fig.data if tr.mode == "markers"]
    assert len(censor) == 1 and sorted(censor[0].x) == [2.0, 5.0, 13.0]
    assert fig.layout.xaxis2.title.text == "time (OS, days)" and list(fig.layout.xaxis2.tickvals) == [0.0, 10.0, 20.0]
