"""``exomir analyze`` end to end on a simulated cohort: it recovers what was planted, writes the
GUIDE tables byte-identically for the same input and seed, and leaves nothing behind on failure."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir.analysis import analyze
from exomir.errors import InputError
from exomir.simulate import planted, simulate_cohort, write_cohort

CONTROLS = ["LC", "CHB", "Healthy", "LC+CHB+Healthy"]
POOLED = "HCC_vs_LC+CHB+Healthy"


@pytest.fixture(scope="module")
def cohort_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    adata = simulate_cohort(160, seed=21, n_mirnas=150)
    paths = write_cohort(adata, f"{folder}/")
    return adata, paths


@pytest.fixture(scope="module")
def run(cohort_files, tmp_path_factory):
    _, paths = cohort_files
    out = tmp_path_factory.mktemp("runs") / "first"
    result = analyze(paths["expression"], paths["clinical"], out, controls=CONTROLS, afp="afp_ng_ml",
                     time="dfs_months", event="dfs_event", stage="stage", panels=False, seed=3)
    return result, out


def _table(out, name) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / f"{name}.csv")


def test_outputs_and_guide_columns(run):
    _, out = run
    assert (out / "report.html").is_file() and (out / "cohort.h5ad").is_file()
    assert {p.name for p in (out / "tables").iterdir()} >= {"differential.csv", "roc.csv", "survival.csv", "qc.csv",
                                                          "evidence.csv", "enrichment.csv", "afp_cutoff.csv"}
    de = _table(out, "differential")
    assert list(de.columns[:7]) == ["mirna", "mimat", "comparison", "log2fc", "pvalue", "padj", "method"]
    assert list(dict.fromkeys(de["comparison"])) == ["HCC_vs_LC", "HCC_vs_CHB", "HCC_vs_Healthy", POOLED]
    roc = _table(out, "roc")
    assert list(roc.columns[:12]) == ["mirna", "comparison", "n_case", "n_control", "auc", "auc_ci_low", "auc_ci_high",
                                      "ci_method", "direction", "threshold", "sensitivity", "specificity"]
    survival = _table(out, "survival")
    assert list(survival.columns[:3]) == ["mirna", "mimat", "endpoint"]
    for column in ("hr", "hr_ci_low", "hr_ci_high", "pvalue", "cutpoint", "logrank_p", "n", "events"):
        assert column in survival.columns
    assert len(_table(out, "qc")) == 160


def test_planted_differential_effects_are_top_hits_with_the_right_sign(run, cohort_files):
    adata, _ = cohort_files
    truth = planted(adata)
    de = _table(run[1], "differential")
    for comparison in ("HCC_vs_LC", "HCC_vs_CHB", "HCC_vs_Healthy"):
        part = de[de["comparison"] == comparison].reset_index(drop=True)
        top = part.head(10).set_index("mirna")
        for name in ("hsa-miR-21-5p", "hsa-miR-10b-5p", "hsa-miR-215-5p"):
            assert name in top.index, (comparison, name)
            assert top.loc[name, "log2fc"] > 0 and top.loc[name, "padj"] < 0.05
            expected = truth["expected_log2fc"][comparison][name]
            assert top.loc[name, "log2fc"] == pytest.approx(expected, abs=0.4)
    chb = de[de["comparison"] == "HCC_vs_CHB"].head(5).set_index("mirna")
    assert "hsa-miR-122-5p" in chb.index and chb.loc["hsa-miR-122-5p", "log2fc"] < -0.7
    # nothing planted, nothing found: few false discoveries among the unplanted miRNAs
    planted_names = set(truth["group_log2"]) | set(truth["hemolysis"]["shift_log2"])
    false = de[(de["padj"] < 0.05) & ~de["mirna"].isin(planted_names)]
    assert len(false) <= 0.05 * len(de)


def test_mir10b_auc_and_afp_at_cutoff(run, cohort_files):
    adata, _ = cohort_files
    truth = planted(adata)
    out = run[1]
    roc = _table(out, "roc").set_index(["comparison", "mirna"])
    row = roc.loc[(POOLED, "hsa-miR-10b-5p")]
    assert row["auc"] == pytest.approx(truth["auc"]["auc"], abs=0.05)
    assert row["direction"] == "higher_in_case" and row["auc_ci_low"] < row["auc"] < row["auc_ci_high"]
    assert roc.loc[(POOLED, "AFP"), "auc"] < row["auc"]
    cut = _table(out, "afp_cutoff").set_index("comparison").loc[POOLED]
    hcc = adata.obs["group"] == "HCC"
    afp = adata.obs["afp_ng_ml"]
    assert cut["sensitivity"] == pytest.approx((afp[hcc] >= 20).mean())  # computed, not copied
    assert cut["specificity"] == pytest.approx((afp[~hcc] < 20).mean())
    assert cut["sensitivity"] == pytest.approx(0.60, abs=0.12)
    assert cut["specificity"] == pytest.approx(0.80, abs=0.08)


def test_mir215_predicts_shorter_dfs(run):
    survival = _table(run[1], "survival").set_index("mirna")
    row = survival.loc["hsa-miR-215-5p"]
    assert row["hr"] > 1.5 and row["pvalue"] < 0.05 and row["hr_ci_low"] > 1
    # significant after FDR control over the whole screen, and among its strongest hits (with 150
    # miRNAs and 64 patients one null miRNA may by chance rank above it)
    assert row["padj"] < 0.05 and "hsa-miR-215-5p" in list(survival.index[:2])
    assert row["n"] == 64
    # miRNAs detected in under half of the HCC samples are left out of the screen, and listed
    exclusions = _table(run[1], "exclusions")
    rare = exclusions[exclusions["reason"].str.contains("not in the survival screen")]
    assert len(rare) + len(survival) == 150 and not set(rare["item"]) & set(survival.index)


def test_hemolysed_samples_are_flagged(run, cohort_files):
    adata, _ = cohort_files
    qc = _table(run[1], "qc").set_index("sample")
    hemolysed = planted(adata)["hemolysis"]["samples"]
    called = qc["hemolysis"].isin(["hemolysed", "possible"])
    assert called.loc[hemolysed].mean() >= 0.8
    assert called.drop(index=hemolysed).sum() <= 2


def test_report_is_self_contained(run):
    html = (run[1] / "report.html").read_text(encoding="utf-8")
    assert html.count("<script type=\"text/javascript\">/**") == 1  # plotly.js inline, once
    # nothing is fetched from the network: no external scripts, stylesheets or images
    assert not re.search(r"<(script|img)[^>]+src=", html) and not re.search(r"<link[^>]+href=", html)
    for anchor in ("summary", "cohort", "qc", "differential", "roc", "survival", "evidence", "enrichment", "methods"):
        assert f'id="{anchor}"' in html
    for comparison in ("hcc-vs-lc", "hcc-vs-chb", "hcc-vs-healthy"):
        assert f'id="fig-volcano-{comparison}"' in html and f'id="fig-roc-{comparison}"' in html
    assert 'id="fig-km-hsa-mir-215-5p"' in html and "at risk" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # a figure drawn into the wrong element is a figure lost
    assert "AUC 0." in html and "AFP" in html
    assert "median-of-ratios" in html and "PyDESeq2" in html
    survival_section = html[html.index('id="survival"'):html.index('id="evidence"')]
    assert "maxstat_cutpoint" in survival_section and 'id="fig-hr-forest"' in survival_section
    assert ">C-index (apparent)</th>" in survival_section  # judged on the data the Cox model was fitted to
    # the evidence beside the hits speaks in labels (miR-21 is sent by HCC cells), not vocabulary codes
    evidence = html[html.index('id="evidence"'):html.index('id="enrichment"')]
    assert "HCC cells" in evidence and "hcc_cell" not in evidence


def test_same_input_and_seed_give_identical_tables_via_the_cli(run, cohort_files, tmp_path):
    from exomir.cli import app

    _, paths = cohort_files
    out = tmp_path / "second"
    args = ["analyze", "--expression", str(paths["expression"]), "--clinical", str(paths["clinical"]),
            "--out", str(out), "--control", "LC,CHB", "--control", "Healthy", "--control", "LC+CHB+Healthy",
            "--afp", "afp_ng_ml", "--time", "dfs_months", "--event", "dfs_event", "--stage", "stage",
            "--no-panels", "--seed", "3", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    first = sorted(p.name for p in (run[1] / "tables").iterdir())
    assert first == sorted(p.name for p in (out / "tables").iterdir())
    for name in first:
        assert (run[1] / "tables" / name).read_bytes() == (out / "tables" / name).read_bytes(), name
    assert (run[1] / "report.html").read_bytes() == (out / "report.html").read_bytes()


def test_mismatched_clinical_ids_leave_no_output(cohort_files, tmp_path):
    _, paths = cohort_files
    clinical = tmp_path / "clinical.csv"
    text = paths["clinical"].read_text()
    clinical.write_text(text.replace("EXO", "PT-"))
    out = tmp_path / "results"
    with pytest.raises(InputError, match="no expression sample matches"):
        analyze(paths["expression"], clinical, out, afp="afp_ng_ml")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".results")]  # no staging left behind


def test_failure_midway_leaves_no_output(cohort_files, tmp_path):
    _, paths = cohort_files
    out = tmp_path / "results"
    with pytest.raises(InputError, match="AFP"):
        analyze(paths["expression"], paths["clinical"], out, afp="AFP")
    with pytest.raises(InputError, match="control group 'cirrhosis' not found"):
        analyze(paths["expression"], paths["clinical"], out, controls="cirrhosis")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_reports_input_errors_without_traceback(cohort_files, tmp_path):
    import subprocess
    import sys

    _, paths = cohort_files
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "exomir", "analyze", "--expression", str(paths["expression"]),
                           "--clinical", str(paths["clinical"]), "--out", str(out), "--case", "HCCX", "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "case group 'HCCX' not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_cq_cohort_is_analyzed_on_an_abundance_scale(tmp_path):
    adata = simulate_cohort(120, seed=4, measure="cq", n_mirnas=120)
    paths = write_cohort(adata, f"{tmp_path}/cq/")
    out = tmp_path / "out"
    result = analyze(paths["expression"], paths["clinical"], out, controls="LC+CHB+Healthy", afp="afp_ng_ml",
                     time="dfs_months", event="dfs_event", panels=False)
    de = _table(out, "differential").set_index("mirna")
    assert de.loc["hsa-miR-10b-5p", "method"] == "moderated_t"
    assert de.loc["hsa-miR-10b-5p", "log2fc"] == pytest.approx(planted(adata)["group_log2"]["hsa-miR-10b-5p"]["HCC"],
                                                             abs=0.35)
    assert "cel-miR-39-3p" not in de.index  # the spike-in is for QC and normalization only
    survival = _table(out, "survival").set_index("mirna")
    assert survival.loc["hsa-miR-215-5p", "hr"] > 1 and survival.loc["hsa-miR-215-5p", "pvalue"] < 0.05
    steps = [s["step"] for s in result.adata.uns["exomir"]["steps"]]
    assert steps.index("censor_nondetects") < steps.index("normalize")
    assert json.loads((paths["planted"]).read_text())["measure"] == "cq"
    assert np.isfinite(result.adata.X).all()


def test_demo_command(tmp_path):
    from exomir.cli import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--n", "120", "--n-mirnas", "110", "--seed", "5",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"input", "tables", "report.html", "cohort.h5ad", "params.json", "run.log"}
    assert json.loads((out / "input" / "planted.json").read_text())["seed"] == 5
    # params.json names the inputs where they are (not the staging folder) and re-runs the analysis
    params = json.loads((out / "params.json").read_text())
    assert params["options"]["expression"] == [str((out / "input" / "expression.csv").resolve())]
    assert params["options"]["panel_options"] == {"inner_folds": 3, "permutations": 19, "permutation_max_n": 400,
                                                  "bootstraps": 19, "Cs": [0.1, 1.0], "max_features": [5, 10]}
    assert "analyze: survival (DFS)" in (out / "run.log").read_text()
    roc = _table(out, "roc")
    assert set(roc["comparison"]) == {"HCC_vs_LC", "HCC_vs_CHB", "HCC_vs_Healthy", POOLED}
    assert {"mirna_panel", "mirna_afp_panel"} <= set(roc["mirna"])  # panels beside single miRNAs and AFP
    assert (_table(out, "survival")["endpoint"] == "DFS").all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="planted"' in html and "hazard ratio per log2" in html
    assert "input/expression.csv" in html and not re.search(r"\.demo\.\w{8}\.partial", html)  # never the staging
    assert str(tmp_path) not in html  # no absolute path of the author's disk in a shared report
    # panels in the subgroups where a marker matters most: early-stage and AFP-negative patients
    subgroups = _table(out, "panel_subgroups")
    assert set(subgroups["model"]) == {"mirna_panel", "mirna_afp_panel", "AFP"}
    assert subgroups["subgroup"].str.startswith("early_stage").any()
    assert subgroups["subgroup"].str.startswith("AFP-negative").any()
    afp_negative = subgroups[subgroups["subgroup"].str.startswith("AFP-negative") & (subgroups["comparison"] == POOLED)]
    by_model = afp_negative.set_index("model")["auc"]
    assert by_model["mirna_panel"] > 0.85 > by_model["AFP"]  # below 20 ng/mL AFP cannot separate; miRNAs can
    assert 'id="fig-subgroup-forest"' in html and 'id="fig-hr-forest"' in html
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
