"""Cross-study meta-analysis (`exomir meta`): three simulated cohorts run through `analyze`, and
published-style study tables, pooled per miRNA and checked against exomir.stats.meta."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.errors import InputError
from exomir.analysis.meta import meta_analyze, run_meta
from exomir.stats import meta as stats_meta

from conftest import shared_path

# cohort C writes three miRNAs the way older papers and assay sheets do
OLD_NAMES = {"hsa-miR-21-5p": "miR-21", "hsa-miR-10b-5p": "miR-10b", "hsa-miR-215-5p": "miR-215"}
COHORTS = {"cohort_A": 1, "cohort_B": 2, "cohort_C": 3}


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory) -> list[Path]:
    """Three small RT-qPCR cohorts (90 samples × 60 miRNAs) analyzed by `exomir analyze`."""
    shared_path("mirbase_v22")
    from exomir.analysis import analyze
    from exomir.simulate import simulate_cohort, write_cohort

    root = tmp_path_factory.mktemp("meta-cohorts")
    folders = []
    for name, seed in COHORTS.items():
        # each cohort its own population: panels overlap only in part, as in real studies
        adata = simulate_cohort(90, measure="cq", n_mirnas=60, seed=seed, population_seed=seed)
        paths = write_cohort(adata, f"{root}/input_{name}/")
        if name == "cohort_C":
            expression = pd.read_csv(paths["expression"])
            expression["mirna"] = expression["mirna"].replace(OLD_NAMES)
            expression.to_csv(paths["expression"], index=False)
        analyze(paths["expression"], paths["clinical"], root / name, controls="LC", time="dfs_months",
                event="dfs_event", panels=False, seed=seed)
        folders.append(root / name)
    return folders


def _roc_row(folder: Path, mirna: str) -> pd.Series:
    roc = pd.read_csv(folder / "tables" / "roc.csv")
    return roc[roc["mirna"] == mirna].iloc[0]


def test_cohort_c_writes_old_names(cohorts):
    roc = pd.read_csv(cohorts[2] / "tables" / "roc.csv")
    assert {"miR-21", "miR-10b", "miR-215"} <= set(roc["mirna"])
    assert "hsa-miR-10b-5p" not in set(roc["mirna"])


def test_pooled_auc_equals_random_effects_on_the_cohort_tables(cohorts, tmp_path):
    analysis = run_meta(cohorts, tmp_path / "meta", measure="auc", method="REML")
    written = pd.read_csv(tmp_path / "meta" / "meta.csv")
    row = written[written["mirna"] == "hsa-miR-10b-5p"].iloc[0]
    # recompute from what each cohort wrote (cohort C calls it miR-10b)
    names = ["hsa-miR-10b-5p", "hsa-miR-10b-5p", "miR-10b"]
    rows = [_roc_row(folder, name) for folder, name in zip(cohorts, names, strict=True)]
    assert all(r["direction"] == "higher_in_case" for r in rows)
    yi = [r["auc"] for r in rows]
    vi = [r["auc_se"] ** 2 for r in rows]
    expected = stats_meta.random_effects(yi, vi, method="REML", studies=list(COHORTS), measure="auc")
    assert row["mimat"] == "MIMAT0000254" and row["k"] == 3
    for key in ("estimate", "ci_low", "ci_high", "tau2", "i2", "q", "q_p", "pi_low", "pi_high"):
        assert row[key] == pytest.approx(getattr(expected, key), rel=1e-8, abs=1e-10), key
    # the p-value tests AUC = 0.5: logit(AUC) = 0 on the logit scale
    a = np.asarray(yi)
    logit = stats_meta.random_effects(np.log(a / (1 - a)), np.asarray(vi) / (a * (1 - a)) ** 2, method="REML")
    assert row["pvalue"] == pytest.approx(logit.pvalue, rel=1e-8)
    assert row["direction_agreement"] == 1.0 and row["auc_direction"] == "higher_in_case"
    assert row["input_names"] == "hsa-miR-10b-5p;miR-10b"
    # planted AUC 0.93: the pooled interval holds it
    assert row["ci_low"] < 0.93 < row["ci_high"]
    # forest rows: the three cohorts with their weights, summing to 100 %
    forest = pd.read_csv(tmp_path / "meta" / "forest.csv")
    part = forest[forest["mirna"] == "hsa-miR-10b-5p"]
    assert list(part["study"]) == list(COHORTS)
    assert part["weight"].sum() == pytest.approx(100.0)
    np.testing.assert_allclose(part["weight"], expected.forest["weight"], rtol=1e-8)
    assert list(part["input_name"]) == names
    # ordered by pooled p
    assert list(written["pvalue"]) == sorted(written["pvalue"])
    assert analysis.summary["mirna"].tolist() == written["mirna"].tolist()


def test_old_and_new_names_are_one_mirna(cohorts, tmp_path):
    analysis = meta_analyze(cohorts, measure="auc")
    for canonical, old in OLD_NAMES.items():
        row = analysis.summary[analysis.summary["mirna"] == canonical]
        assert len(row) == 1 and row["k"].iloc[0] == 3, canonical
        assert old in row["input_names"].iloc[0]
    # no miRNA appears twice under two of its names
    assert not analysis.summary["mimat"].replace("", np.nan).dropna().duplicated().any()


def test_pooled_log_hr_of_mir_215(cohorts):
    analysis = meta_analyze(cohorts, measure="log_hr", method="REML")
    row = analysis.summary[analysis.summary["mirna"] == "hsa-miR-215-5p"].iloc[0]
    surv = [pd.read_csv(f / "tables" / "survival.csv") for f in cohorts]
    names = ["hsa-miR-215-5p", "hsa-miR-215-5p", "miR-215"]
    coef = [s.loc[s["mirna"] == n, "coef"].iloc[0] for s, n in zip(surv, names, strict=True)]
    se = [s.loc[s["mirna"] == n, "se"].iloc[0] for s, n in zip(surv, names, strict=True)]
    expected = stats_meta.random_effects(coef, np.square(se), method="REML")
    assert row["estimate"] > 0 and row["ci_low"] > 0  # planted: HR 2.5 per log2 unit
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-9)
    assert row["exp_estimate"] == pytest.approx(math.exp(expected.estimate), rel=1e-9)
    assert row["pvalue"] == pytest.approx(expected.pvalue, rel=1e-8)
    assert analysis.endpoint == "DFS"


def test_log_dor_from_the_youden_two_by_two_tables(cohorts):
    analysis = meta_analyze(cohorts, measure="log_dor", method="DL")
    rows = [_roc_row(f, n) for f, n in zip(cohorts, ["hsa-miR-10b-5p", "hsa-miR-10b-5p", "miR-10b"], strict=True)]
    tp = [round(r["sensitivity"] * r["n_case"]) for r in rows]
    tn = [round(r["specificity"] * r["n_control"]) for r in rows]
    fn = [r["n_case"] - t for r, t in zip(rows, tp, strict=True)]
    fp = [r["n_control"] - t for r, t in zip(rows, tn, strict=True)]
    d = stats_meta.log_diagnostic_odds_ratio(tp, fp, fn, tn)
    expected = stats_meta.random_effects(d["yi"], d["vi"], method="DL")
    row = analysis.summary[analysis.summary["mirna"] == "hsa-miR-10b-5p"].iloc[0]
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-9)
    assert row["tau2"] == pytest.approx(expected.tau2, abs=1e-12)
    assert row["exp_estimate"] > 1


def test_pooled_log2_fold_change(cohorts):
    analysis = meta_analyze(cohorts, measure="log2fc")
    row = analysis.summary[analysis.summary["mirna"] == "hsa-miR-10b-5p"].iloc[0]
    de = [pd.read_csv(f / "tables" / "differential.csv") for f in cohorts]
    names = ["hsa-miR-10b-5p", "hsa-miR-10b-5p", "miR-10b"]
    picked = [d[d["mirna"] == n].iloc[0] for d, n in zip(de, names, strict=True)]
    assert all(p["method"] == "moderated_t" for p in picked)
    lfc = np.array([p["log2fc"] for p in picked])
    se = np.abs(lfc / np.array([p["stat"] for p in picked]))
    expected = stats_meta.random_effects(lfc, se**2)
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-9) and row["estimate"] > 0
    assert row["measure"] == "log2fc" and row["k"] == 3


def test_fold_changes_without_standard_error_are_reported(tmp_path, need_mirbase):
    header = "mirna,comparison,log2fc,pvalue,padj,method,stat,lfc_se\n"
    for name, rows in (("one", "hsa-miR-21-5p,HCC_vs_LC,1.2,0.001,0.01,deseq2,4.0,0.3\n"),
                       ("two", "miR-21,HCC_vs_LC,0.9,0.002,0.02,moderated_t,3.0,\n"),
                       ("three", "miR-21-5p,HCC_vs_LC,0.8,0.01,0.05,wilcoxon,512,\n")):
        folder = tmp_path / name / "tables"
        folder.mkdir(parents=True)
        _write(folder / "differential.csv", header + rows)
    analysis = meta_analyze([tmp_path / n for n in ("one", "two", "three")], measure="log2fc")
    fit = analysis.results["hsa-miR-21-5p"]
    assert fit.forest["se"].tolist() == pytest.approx([0.3, 0.3])
    assert analysis.excluded["study"].tolist() == ["three"]
    assert "wilcoxon gives no standard error" in analysis.excluded["reason"].iloc[0]


def test_hartung_knapp_option(cohorts):
    analysis = meta_analyze(cohorts, measure="log_hr", test="knha")
    row = analysis.summary[analysis.summary["mirna"] == "hsa-miR-215-5p"].iloc[0]
    fit = analysis.results["hsa-miR-215-5p"]
    assert row["test"] == "knha" and fit.df == 2
    assert row["ci_high"] - row["ci_low"] == pytest.approx(fit.ci_high - fit.ci_low)
    plain = meta_analyze(cohorts, measure="log_hr").summary.set_index("mirna")
    width_z = (plain["ci_high"] - plain["ci_low"]).reindex(analysis.summary["mirna"]).to_numpy()
    width_knha = (analysis.summary["ci_high"] - analysis.summary["ci_low"]).to_numpy()
    np.testing.assert_array_equal(analysis.summary["knha_narrower_than_z"].to_numpy(), width_knha < width_z)


def test_mirnas_in_one_cohort_are_reported_not_dropped(cohorts, tmp_path):
    run_meta(cohorts, tmp_path / "m", measure="auc", min_studies=3)
    meta_csv = pd.read_csv(tmp_path / "m" / "meta.csv")
    excluded = pd.read_csv(tmp_path / "m" / "excluded.csv", keep_default_na=False)
    assert (meta_csv["k"] == 3).all()
    rocs = [pd.read_csv(f / "tables" / "roc.csv") for f in cohorts]
    from exomir.identity import resolve

    keys = [set(resolve(r["mirna"].tolist())["mimat"]) for r in rocs]
    in_all = keys[0] & keys[1] & keys[2]
    in_some = (keys[0] | keys[1] | keys[2]) - in_all
    assert len(in_all) >= 20 and len(in_some) >= 20
    assert set(meta_csv["mimat"]) == in_all
    assert set(excluded["mimat"]) == in_some
    assert excluded["reason"].str.contains("--min-studies 3").all()


def test_same_inputs_same_bytes(cohorts, tmp_path):
    for out in ("one", "two"):
        run_meta(cohorts, tmp_path / out, measure="auc")
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["excluded.csv", "forest.csv", "forest.html", "meta.csv", "run.log"]
    for name in names[:-1]:  # run.log's lines carry the time they were said
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_forest_page_is_self_contained_and_ordered(cohorts, tmp_path):
    analysis = run_meta(cohorts, tmp_path / "m", measure="auc")
    html = (tmp_path / "m" / "forest.html").read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs()
    assert plotly_js in html  # the library is inline ...
    page = html.replace(plotly_js, "")
    assert "<script src" not in page and "<link" not in page and "cdn." not in page  # ... and nothing is fetched
    assert "Plotly.newPlot" in page
    assert "Plotly.downloadImage" in page and '"toImageButtonOptions":{"format":"svg"' in page  # SVG/PNG downloads
    n = len(analysis.summary)
    assert html.count('class="plot"') == n
    first = analysis.summary["mirna"].tolist()[:3]
    positions = [html.index(f"{i + 1}. {name}") for i, name in enumerate(first)]
    assert positions == sorted(positions)
    assert 'id="fig-forest-1"' in html and f'id="fig-forest-{n}"' in html
    # the first plot draws the first miRNA's cohorts and its pooled diamond and prediction interval
    import json
    import re

    call = re.search(r'Plotly\.newPlot\("fig-forest-1", (\[.*?\]), (\{.*?\}), \{', page).groups()
    data = json.loads(call[0])
    top = analysis.summary.iloc[0]
    studies, pi, diamond = data
    assert len(studies["x"]) == top["k"]
    assert diamond["x"][:3] == pytest.approx([top["ci_low"], top["estimate"], top["ci_high"]], rel=1e-9)
    assert pi["x"] == pytest.approx([top["pi_low"], top["pi_high"]], rel=1e-9)


# --------------------------------------------------------------------------- study tables

def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def need_mirbase():
    shared_path("mirbase_v22")


def test_pool_by_mirna_combines_cohort_screens(tmp_path, need_mirbase):
    """Four cohorts' survival screens (coef, se) in one study table, pooled miRNA by miRNA."""
    rng = np.random.default_rng(4)
    lines = ["study,mirna,coef,se"]
    coefs = {}
    for c in range(4):
        coef = np.array([0.5, 0.0, -0.3]) + rng.normal(0, 0.05, 3)
        names = ["miR-21-5p", "miR-1-3p", "miR-122-5p"][: 2 if c == 0 else 3]  # miR-122 in three cohorts only
        lines += [f"cohort{c},{name},{float(value)!r},0.1" for name, value in zip(names, coef)]
        coefs[f"cohort{c}"] = coef
    table = _write(tmp_path / "screens.csv", "\n".join(lines) + "\n")
    out = meta_analyze([table], measure="log_hr").summary.set_index("input_names")
    assert out.loc["miR-122-5p", "k"] == 3 and out.loc["miR-21-5p", "k"] == 4
    assert out.loc["miR-21-5p", "pvalue"] < 1e-10 and out.loc["miR-1-3p", "pvalue"] > 0.01
    assert out.loc["miR-122-5p", "exp_estimate"] < 1
    expected = stats_meta.random_effects([coef[0] for coef in coefs.values()], [0.01] * 4)
    assert out.loc["miR-21-5p", "estimate"] == pytest.approx(expected.estimate)


def test_published_auc_table(tmp_path, need_mirbase):
    # miR-10b-5p: AUC 0.932 as reported in the review (ref. 117); the intervals and the other two
    # studies are illustrative numbers in the published style
    table = _write(tmp_path / "studies.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high\n"
                   "Study 117,exo-miR-10b-5p,0.932,0.881,0.983\n"
                   "Second cohort,miR-10b,0.871,0.802,0.940\n"
                   "Validation,MIMAT0000254,0.905,0.846,0.964\n")
    analysis = meta_analyze([table], method="DL")
    assert analysis.measure == "auc"
    row = analysis.summary.iloc[0]
    assert row["mirna"] == "hsa-miR-10b-5p" and row["k"] == 3
    auc = np.array([0.932, 0.871, 0.905])
    se = (np.array([0.983, 0.940, 0.964]) - np.array([0.881, 0.802, 0.846])) / (2 * 1.959963984540054)
    # pooled on the logit scale (delta-method variances), DerSimonian-Laird, back-transformed
    y, v = np.log(auc / (1 - auc)), se**2 / (auc * (1 - auc)) ** 2
    w = 1 / v
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    tau2 = max(0.0, (q - 2) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (v + tau2)
    assert row["estimate"] == pytest.approx(1 / (1 + np.exp(-(wr * y).sum() / wr.sum())), rel=1e-12)
    assert row["q"] == pytest.approx(q, rel=1e-10) and row["scale"] == "logit"
    assert 0 <= row["pi_low"] <= row["ci_low"] <= row["ci_high"] <= row["pi_high"] <= 1
    via_pool = stats_meta.pool(pd.read_csv(table), measure="auc", method="DL")
    assert row["estimate"] == pytest.approx(via_pool.estimate, rel=1e-12)
    assert row["ci_low"] == pytest.approx(via_pool.ci_low, rel=1e-12)
    with pytest.raises(InputError, match="no columns for the log_hr meta-analysis") as err:
        meta_analyze([table], measure="log_hr")
    assert err.value.line == 1


def test_published_two_by_two_and_direction(tmp_path, need_mirbase):
    # review: 91.1 % sensitivity, 75 % specificity → 51/56 cases and 21/28 controls
    table = _write(tmp_path / "dor.csv",
                   "study,mirna,tp,fp,fn,tn\n"
                   "Study 117,hsa-miR-10b-5p,51,7,5,21\n"
                   "Second cohort,miR-10b,40,10,12,30\n")
    analysis = meta_analyze([table], measure="log_dor", method="REML")
    fit = analysis.results["hsa-miR-10b-5p"]
    first = fit.forest.iloc[0]
    assert first["estimate"] == pytest.approx(math.log(51 * 21 / (7 * 5)))
    assert first["se"] ** 2 == pytest.approx(1 / 51 + 1 / 7 + 1 / 5 + 1 / 21)


def test_directions_are_harmonized(tmp_path, need_mirbase):
    table = _write(tmp_path / "dir.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high,direction\n"
                   "A,miR-122,0.80,0.70,0.90,lower_in_case\n"
                   "B,hsa-miR-122-5p,0.75,0.65,0.85,lower_in_case\n"
                   "C,miR-122-5p,0.60,0.50,0.70,higher_in_case\n")
    analysis = meta_analyze([table])
    row = analysis.summary.iloc[0]
    assert row["auc_direction"] == "lower_in_case"
    forest = analysis.forest.set_index("study")
    assert forest.loc["C", "estimate"] == pytest.approx(0.40) and forest.loc["C", "flipped"]
    assert not forest.loc["A", "flipped"]
    assert row["n_same_direction"] == 2 and row["direction_agreement"] == pytest.approx(2 / 3)
    expected = stats_meta.random_effects([0.80, 0.75, 0.40], [(0.2 / 3.919927969080108) ** 2] * 3, measure="auc")
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-10)
    assert row["direction_source"] == "first cohort (A)"


def test_direction_is_fixed_in_advance_not_taken_from_the_majority(tmp_path, need_mirbase):
    # the first cohort states higher_in_case; two later cohorts state lower_in_case
    table = _write(tmp_path / "dir.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high,direction\n"
                   "A,miR-122,0.60,0.50,0.70,higher_in_case\n"
                   "B,hsa-miR-122-5p,0.75,0.65,0.85,lower_in_case\n"
                   "C,miR-122-5p,0.80,0.70,0.90,lower_in_case\n")
    row = meta_analyze([table]).summary.iloc[0]
    assert row["auc_direction"] == "higher_in_case" and row["direction_source"] == "first cohort (A)"
    expected = stats_meta.random_effects([0.60, 0.25, 0.20], [(0.2 / 3.919927969080108) ** 2] * 3, measure="auc")
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-10) and row["estimate"] < 0.5
    given = meta_analyze([table], direction="lower_in_case").summary.iloc[0]
    assert given["auc_direction"] == "lower_in_case" and given["direction_source"] == "given (--direction)"
    assert given["estimate"] == pytest.approx(1 - row["estimate"], rel=1e-10)  # logit symmetry
    with pytest.raises(InputError, match="unknown direction"):
        meta_analyze([table], direction="up")


def test_truncated_published_interval_and_perfect_auc(tmp_path, need_mirbase):
    table = _write(tmp_path / "cut.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high\n"
                   "A,miR-21,0.97,0.9112010804,1.0\n"
                   "B,miR-21,0.90,0.85,0.95\n"
                   "C,miR-21,1.0,1.0,1.0\n")
    analysis = meta_analyze([table], min_studies=2)
    forest = analysis.forest.set_index("study")
    assert forest.loc["A", "se"] == pytest.approx(0.03, rel=1e-6)  # from the uncut half, not 0.0227
    assert forest.loc["A", "note"].startswith("interval truncated") and forest.loc["B", "note"] == ""
    excluded = analysis.excluded.set_index("study")
    assert "perfect separation" in excluded.loc["C", "reason"]
    row = analysis.summary.iloc[0]
    assert row["k"] == 2 and 0 <= row["pi_low"] and row["pi_high"] <= 1


def test_yi_vi_table_with_name_forms(tmp_path, need_mirbase):
    table = _write(tmp_path / "yi.csv",
                   "study,mirna,yi,vi\n"
                   "S1,miR-21,0.40,0.04\n"
                   "S2,hsa-miR-21-5p,0.25,0.02\n"
                   "S3,hsa-mir-21,0.30,0.05\n"
                   "S1,AFP,0.5,0.01\n"
                   "S2,AFP,0.6,0.02\n")
    analysis = meta_analyze([table], method="REML")
    assert analysis.measure == "generic"
    mir21 = analysis.summary[analysis.summary["mimat"] == "MIMAT0000076"].iloc[0]
    # hsa-mir-21 is the hairpin (two mature products): not silently taken for miR-21-5p
    assert mir21["k"] == 2 and mir21["input_names"] == "hsa-miR-21-5p;miR-21"
    afp = analysis.summary[analysis.summary["mirna"] == "AFP"].iloc[0]
    assert afp["k"] == 2 and afp["mimat"] == "" and "as written" in afp["identity"]
    excluded = analysis.excluded
    assert list(excluded["input_name"]) == ["hsa-mir-21"]
    assert "1 of 3" in excluded["reason"].iloc[0]


def test_missing_estimate_is_reported(tmp_path, need_mirbase):
    table = _write(tmp_path / "hr.csv",
                   "study,mirna,hr,hr_ci_low,hr_ci_high\n"
                   "S1,miR-215-5p,2.1,1.2,3.7\n"
                   "S2,miR-215-5p,1.8,1.1,2.9\n"
                   "S3,miR-215-5p,,,\n")
    analysis = meta_analyze([table])
    assert analysis.measure == "log_hr"
    row = analysis.summary.iloc[0]
    assert row["k"] == 2
    assert row["exp_estimate"] > 1
    assert analysis.excluded["study"].tolist() == ["S3"]
    assert analysis.excluded["line"].tolist() == [4]


def test_several_comparisons_need_a_choice(tmp_path, need_mirbase):
    header = "mirna,comparison,n_case,n_control,auc,auc_ci_low,auc_ci_high,direction,auc_se,sensitivity,specificity\n"
    for name, shift in (("one", 0.0), ("two", 0.02)):
        folder = tmp_path / name / "tables"
        folder.mkdir(parents=True)
        _write(folder / "roc.csv", header
               + f"hsa-miR-21-5p,HCC_vs_LC,30,20,{0.8 + shift},0.7,0.9,higher_in_case,0.05,0.8,0.7\n"
               + f"hsa-miR-21-5p,HCC_vs_CHB,30,20,{0.7 + shift},0.6,0.8,higher_in_case,0.05,0.8,0.7\n")
    with pytest.raises(InputError, match="several comparisons.*--comparison"):
        meta_analyze([tmp_path / "one", tmp_path / "two"])
    analysis = meta_analyze([tmp_path / "one", tmp_path / "two"], comparison="HCC_vs_CHB")
    expected = stats_meta.random_effects([0.70, 0.72], [0.05**2] * 2, measure="auc")  # logit-scale pooling
    assert analysis.summary.iloc[0]["estimate"] == pytest.approx(expected.estimate, abs=1e-12)
    assert 0.70 < expected.estimate < 0.72
    assert analysis.comparison == "HCC_vs_CHB"
    with pytest.raises(InputError, match="no comparison 'HCC_vs_Healthy'"):
        meta_analyze([tmp_path / "one", tmp_path / "two"], comparison="HCC_vs_Healthy")


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("text", "line", "column", "problem"), [
    ("study,mirna,auc,auc_ci_low,auc_ci_high\nA,miR-21,0.8,0.7,0.9\nB,miR-21,0.8x,0.7,0.9\n", 3, "auc",
     "not a number"),
    ("study,mirna,auc,auc_ci_low,auc_ci_high\nA,miR-21,1.3,0.7,0.9\n", 2, "auc", "outside 0–1"),
    ("study,mirna,auc,auc_ci_low,auc_ci_high\nA,miR-21,0.6,0.7,0.9\n", 2, "auc", "outside its interval"),
    ("study,mirna,hr,hr_ci_low,hr_ci_high\nA,miR-21,-1,0.7,0.9\n", 2, "hr", "not positive"),
    ("study,mirna,tp,fp,fn,tn\nA,miR-21,3.5,1,2,4\n", 2, "tp", "whole number"),
    ("study,mirna,auc,auc_ci_low,auc_ci_high\nA,miR-21,0.8,0.7,0.9\nB,miR-21,0.8,0.7\n", 3, None, "fields"),
    ("study,mirna,auc\nA,miR-21,0.8\n", 1, None, "cannot tell which effect"),
    ("study,auc,auc_ci_low,auc_ci_high\nA,0.8,0.7,0.9\n", 1, "mirna", "needs column"),
    ("study,mirna,auc,auc_ci_low,auc_ci_high\n,miR-21,0.8,0.7,0.9\n", 2, "study", "empty study"),
    ("study,mirna,yi,vi\nA,miR-21,0.3,0.01\nA,hsa-miR-21-5p,0.2,0.02\n", 3, "mirna", "2 rows for hsa-miR-21-5p"),
])
def test_malformed_study_tables(tmp_path, need_mirbase, text, line, column, problem):
    table = _write(tmp_path / "bad.csv", text)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=problem) as err:
        run_meta([table], out, measure=None)
    assert err.value.path == str(table)
    assert err.value.line == line
    if column:
        assert err.value.column == column
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


def test_bad_folder_and_options(tmp_path, cohorts):
    with pytest.raises(InputError, match="no such results folder"):
        meta_analyze([tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="file not found") as err:
        meta_analyze([tmp_path / "empty", cohorts[0]])
    assert err.value.path.endswith("roc.csv")
    with pytest.raises(InputError, match="unknown method"):
        meta_analyze(cohorts, method="ML")
    with pytest.raises(InputError, match="used by two inputs"):
        meta_analyze([cohorts[0], cohorts[0].parent / ".." / cohorts[0].parent.name / cohorts[0].name])
    roc = (cohorts[0] / "tables" / "roc.csv").read_text()
    broken = tmp_path / "broken" / "tables"
    broken.mkdir(parents=True)
    table = pd.read_csv(io.StringIO(roc), dtype=str, keep_default_na=False)  # text cells may hold commas
    table.loc[3, "auc_se"] = "n/a?"  # line 5 of the file
    table.to_csv(broken / "roc.csv", index=False)
    with pytest.raises(InputError, match="not a number") as err:
        run_meta([cohorts[0], broken.parent], tmp_path / "out")
    assert err.value.line == 5 and err.value.column == "auc_se"
    assert not (tmp_path / "out").exists()


def test_cli(tmp_path, need_mirbase):
    from typer.testing import CliRunner

    from exomir.cli import app

    table = _write(tmp_path / "studies.csv",
                   "study,mirna,hr,hr_ci_low,hr_ci_high\n"
                   "S1,miR-215-5p,2.1,1.2,3.7\nS2,miR-215,1.8,1.1,2.9\nS3,hsa-miR-215-5p,2.6,1.3,5.2\n")
    runner = CliRunner()
    result = runner.invoke(app, ["-q", "meta", str(table), "--out", str(tmp_path / "m"), "--method", "DL"])
    assert result.exit_code == 0, result.output
    row = pd.read_csv(tmp_path / "m" / "meta.csv").iloc[0]
    assert row["mirna"] == "hsa-miR-215-5p" and row["k"] == 3 and row["method"] == "DL"
    expected = stats_meta.pool(pd.read_csv(table), measure="log_hr", method="DL")
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-9)
    bad = runner.invoke(app, ["meta", str(table), "--out", str(tmp_path / "m2"), "--test", "t"])
    assert isinstance(bad.exception, InputError) and not (tmp_path / "m2").exists()


def test_analyzed_cohorts_and_a_published_study_together(cohorts, tmp_path):
    table = _write(tmp_path / "published.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high\nStudy 117,exo-miR-10b-5p,0.932,0.881,0.983\n")
    analysis = meta_analyze([*cohorts[:2], table])
    row = analysis.summary[analysis.summary["mirna"] == "hsa-miR-10b-5p"].iloc[0]
    assert row["k"] == 3 and row["studies"] == "cohort_A;cohort_B;Study 117"
    rows = [_roc_row(f, "hsa-miR-10b-5p") for f in cohorts[:2]]
    se117 = (0.983 - 0.881) / (2 * 1.959963984540054)
    expected = stats_meta.random_effects([rows[0]["auc"], rows[1]["auc"], 0.932],
                                         [rows[0]["auc_se"] ** 2, rows[1]["auc_se"] ** 2, se117**2], measure="auc")
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-9)
    clash = _write(tmp_path / "clash.csv",
                   "study,mirna,auc,auc_ci_low,auc_ci_high\ncohort_A,miR-10b,0.9,0.8,0.95\n")
    with pytest.raises(InputError, match="used by two inputs"):
        meta_analyze([cohorts[0], clash])
