"""Differential expression against DESeq2 and limma on TCGA-LIHC tumour vs normal
(tests/reference/differential), and on simulated data with planted effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions, meta
from exomir.errors import InputError
from exomir.tools import _differential as differential
from tests.conftest import shared_path

REF = Path(__file__).parent / "reference" / "differential"


def _tcga_subset(kind: str):
    """The 80 samples and 321 precursors of make_reference.R: counts, or log2(RPM + 1)."""
    samples = (REF / "samples.txt").read_text().split()
    clin = pd.read_csv(shared_path("tcga_lihc", "clinical_survival.csv")).set_index("patient")
    counts = pd.read_csv(shared_path("tcga_lihc", "mirna_precursor_counts.csv.gz"), index_col=0)
    sub = counts[samples]
    keep = sub.index[(sub >= 10).sum(axis=1) >= 20]
    obs = pd.DataFrame({"tissue": ["tumour" if s[13:15] == "01" else "normal" for s in samples],
                        "sex": [clin.loc[s[:12], "gender"] for s in samples]}, index=samples)
    if kind == "counts":
        return build_cohort(sub.loc[keep].T, "counts", obs=obs, annotate=False)
    rpm = pd.read_csv(shared_path("tcga_lihc", "mirna_precursor_rpm.csv.gz"), index_col=0,
                      float_precision="round_trip")
    return build_cohort(np.log2(rpm.loc[keep, samples].T + 1.0), "log", obs=obs, annotate=False)


@pytest.fixture(scope="module")
def counts_cohort():
    return _tcga_subset("counts")


@pytest.fixture(scope="module")
def log_cohort():
    return _tcga_subset("log")


@pytest.mark.parametrize("design,covariates", [("condition", ()), ("male+condition", ("sex",))])
def test_deseq2_matches_r(counts_cohort, design, covariates):
    ref = pd.read_csv(REF / "deseq2.csv")
    ref = ref[ref["design"] == design].set_index("mirna")
    res = differential.differential_expression(counts_cohort, "tissue", "tumour", "normal",
                                               covariates=covariates).set_index("mirna")
    assert len(res) == len(ref) == 321
    assert (res["method"] == "deseq2").all() and (res["comparison"] == "tumour_vs_normal").all()
    assert (res["n_case"] == 40).all() and (res["n_control"] == 40).all()
    res = res.loc[ref.index]
    np.testing.assert_allclose(res["base_mean"], ref["base_mean"], rtol=1e-6)
    # log2 fold changes: 1e-3 relative (0.001 absolute floor for fold changes near zero)
    tol = 1e-3 * np.maximum(ref["log2fc"].abs(), 1.0)
    assert (np.abs(res["log2fc"] - ref["log2fc"]) <= tol).all()
    assert np.array_equal(res["pvalue"].isna(), ref["pvalue"].isna())
    rel_p = (res["pvalue"] / ref["pvalue"] - 1).abs()
    assert rel_p.max() < 1e-3, rel_p.sort_values().tail()
    rel_d = (res["dispersion"] / ref["dispersion"] - 1).abs()
    assert rel_d.max() < 1e-4
    # padj after DESeq2's independent filtering
    assert np.array_equal(res["padj"].isna(), ref["padj"].isna())
    assert (res["padj"] / ref["padj"] - 1).abs().max() < 1e-3
    assert np.array_equal(res["outlier_replaced"].to_numpy(), ref["replaced"].to_numpy())


@pytest.mark.parametrize("design,covariates", [("condition", ()), ("male+condition", ("sex",))])
def test_moderated_t_matches_limma(log_cohort, design, covariates):
    ref = pd.read_csv(REF / "limma.csv")
    ref = ref[ref["design"] == design].set_index("mirna")
    res = differential.differential_expression(log_cohort, "tissue", "tumour", "normal",
                                               covariates=covariates).set_index("mirna")
    assert (res["method"] == "moderated_t").all()
    res = res.loc[ref.index]
    np.testing.assert_allclose(res["log2fc"], ref["log2fc"], atol=1e-10)
    np.testing.assert_allclose(res["stat"], ref["t"], atol=1e-9)
    np.testing.assert_allclose(res["pvalue"], ref["pvalue"], rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(res["padj"], ref["padj"], rtol=1e-9)
    np.testing.assert_allclose(res["df_total"], ref["df_total"], rtol=1e-10)
    np.testing.assert_allclose(res["s2_post"], ref["s2_post"], rtol=1e-10)


def test_wilcoxon_matches_scipy_and_bh(log_cohort):
    from scipy.stats import mannwhitneyu

    res = differential.differential_expression(log_cohort, "tissue", "tumour", "normal",
                                               method="wilcoxon")
    x = np.asarray(log_cohort.X)
    tum = (log_cohort.obs["tissue"] == "tumour").to_numpy()
    j = list(log_cohort.var_names).index("hsa-mir-21")
    expected = mannwhitneyu(x[tum, j], x[~tum, j], alternative="two-sided")
    row = res.set_index("mirna").loc["hsa-mir-21"]
    assert row["pvalue"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert row["stat"] == expected.statistic
    assert row["log2fc"] == pytest.approx(x[tum, j].mean() - x[~tum, j].mean())
    p = res["pvalue"].to_numpy()
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    bh = np.minimum.accumulate(ranked[::-1])[::-1]
    np.testing.assert_allclose(res["padj"].to_numpy()[order], np.minimum(bh, 1), rtol=1e-12)


def _simulated_cq(seed=7):
    """Cq values: miR-21 planted 2 cycles earlier (4× more) in HCC, miR-122 1.5 cycles later."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(["HCC", "LC", "healthy"], [30, 25, 25])
    names = ["hsa-miR-21-5p", "hsa-miR-122-5p"] + [f"hsa-miR-{300 + i}-5p" for i in range(60)]
    cq = rng.normal(28, 1.0, (len(groups), len(names)))
    hcc = groups == "HCC"
    cq[hcc, 0] -= 2.0
    cq[hcc, 1] += 1.5
    values = pd.DataFrame(cq, index=[f"S{i}" for i in range(len(groups))], columns=names)
    obs = pd.DataFrame({"group": groups, "age": rng.normal(55, 8, len(groups))}, index=values.index)
    return build_cohort(values, "cq", obs=obs, annotate=False)


def test_cq_sign_convention_and_planted_effects():
    cohort = _simulated_cq()
    res = differential.differential_expression(cohort, "group", "HCC", ["LC", "healthy"])
    assert res["comparison"].unique().tolist() == ["HCC_vs_LC", "HCC_vs_healthy"]
    hits = res.set_index(["comparison", "mirna"])
    for comp in ("HCC_vs_LC", "HCC_vs_healthy"):
        up = hits.loc[(comp, "hsa-miR-21-5p")]
        down = hits.loc[(comp, "hsa-miR-122-5p")]
        # lower Cq in HCC = more miR-21 in HCC: positive log2fc near +2
        assert up["log2fc"] == pytest.approx(2.0, abs=0.5) and up["stat"] > 0
        assert down["log2fc"] == pytest.approx(-1.5, abs=0.5) and down["stat"] < 0
        assert up["padj"] < 1e-6 and down["padj"] < 1e-4
    noise = res[~res["mirna"].isin(["hsa-miR-21-5p", "hsa-miR-122-5p"])]
    assert (noise["padj"] > 0.05).mean() > 0.9
    # the same with X declared as log2 abundance is not flipped
    meta(cohort)["x_scale"] = "log2_abundance"
    again = differential.differential_expression(cohort, "group", "HCC", "LC")
    assert again.set_index("mirna").loc["hsa-miR-21-5p", "log2fc"] < 0
    wil = differential.differential_expression(_simulated_cq(), "group", "HCC", "LC", method="wilcoxon")
    assert wil.set_index("mirna").loc["hsa-miR-21-5p", "log2fc"] > 1.0


def test_covariates_with_missing_values_are_recorded():
    cohort = _simulated_cq()
    cohort.obs.loc["S0", "age"] = np.nan
    res = differential.differential_expression(cohort, "group", "HCC", "LC", covariates=["age"])
    assert (res["n_case"] == 29).all()
    assert "S0" in exclusions(cohort)["item"].tolist()


def test_bad_requests_are_rejected():
    cohort = _simulated_cq()
    with pytest.raises(InputError, match="no sample has group = 'CHB'"):
        differential.differential_expression(cohort, "group", "HCC", "CHB")
    with pytest.raises(InputError, match="no group column"):
        differential.differential_expression(cohort, "diagnosis", "HCC", "LC")
    with pytest.raises(InputError, match="Wilcoxon"):
        differential.differential_expression(cohort, "group", "HCC", "LC", method="wilcoxon",
                                             covariates=["age"])
    with pytest.raises(InputError, match="layers\\['counts'\\]"):
        differential.differential_expression(cohort, "group", "HCC", "LC", method="deseq2")


def test_deseq2_on_simulated_counts_recovers_planted_fold_change():
    rng = np.random.default_rng(1)
    n, g = 16, 40
    base = rng.uniform(50, 2000, g)
    is_case = np.arange(n) < 8
    mu = np.tile(base, (n, 1)) * rng.uniform(0.7, 1.4, (n, 1))
    mu[is_case, 0] *= 8.0  # planted: 3 log2 units up
    r = 10.0  # dispersion 0.1
    counts = rng.negative_binomial(r, r / (r + mu))
    values = pd.DataFrame(counts, index=[f"s{i}" for i in range(n)],
                          columns=[f"hsa-miR-{i}" for i in range(g)])
    obs = pd.DataFrame({"group": np.where(is_case, "HCC", "healthy")}, index=values.index)
    cohort = build_cohort(values, "counts", obs=obs, annotate=False)
    res = differential.differential_expression(cohort, "group", "HCC", "healthy").set_index("mirna")
    assert res.loc["hsa-miR-0", "log2fc"] == pytest.approx(3.0, abs=0.5)
    assert res.loc["hsa-miR-0", "padj"] < 1e-6
    assert (res.drop("hsa-miR-0")["pvalue"] > 0.001).mean() > 0.9
    again = differential.differential_expression(cohort, "group", "HCC", "healthy")
    pd.testing.assert_frame_equal(res.reset_index(), again)
    # raw counts are not log-scale values for a t-test
    with pytest.raises(InputError, match="raw read counts"):
        differential.differential_expression(cohort, "group", "HCC", "healthy", method="moderated_t")
    from exomir.cohort import record_step

    cohort.X = np.log2(np.asarray(cohort.X) + 1)
    record_step(cohort, "normalize", method="cpm")
    wil = differential.differential_expression(cohort, "group", "HCC", "healthy", method="wilcoxon")
    assert wil.set_index("mirna").loc["hsa-miR-0", "log2fc"] > 2
