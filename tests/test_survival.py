"""Survival statistics against R survival/maxstat on TCGA-LIHC overall survival, and on
simulated data with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions
from exomir.errors import InputError
from exomir.stats import survival
from exomir.tools import _survival as survival_tools
from tests.conftest import shared_path

REF = Path(__file__).parent / "reference" / "survival"
PRECURSORS = ["hsa-mir-21", "hsa-mir-10b", "hsa-mir-122", "hsa-mir-221", "hsa-mir-224"]


def _tcga_os_cohort():
    """Tumour samples (barcode 14-15 == '01'), one per patient, log2(RPM + 1) of a few
    precursors, joined with OS; the same selection as make_reference.R."""
    clin = pd.read_csv(shared_path("tcga_lihc", "clinical_survival.csv"), float_precision="round_trip")
    rpm = pd.read_csv(shared_path("tcga_lihc", "mirna_precursor_rpm.csv.gz"), index_col=0,
                      float_precision="round_trip")
    tumour, seen = [], set()
    for barcode in sorted(rpm.columns):
        if barcode[13:15] == "01" and barcode[:12] not in seen:
            seen.add(barcode[:12])
            tumour.append(barcode)
    expr = np.log2(rpm.loc[PRECURSORS, tumour].T + 1.0)
    expr.index = [b[:12] for b in tumour]
    clin = clin.set_index("patient")
    common = sorted(set(expr.index) & set(clin.index))
    obs = clin.loc[common].copy()
    stage = obs["pathologic_stage"]
    obs["stage_advanced"] = np.where(stage.isna(), np.nan,
                                     stage.fillna("").str.match(r"^stage (iii|iv)").astype(float))
    obs["male"] = (obs["gender"] == "male").astype(float)
    return build_cohort(expr.loc[common], "log", obs=obs, annotate=False)


@pytest.fixture(scope="module")
def tcga():
    return _tcga_os_cohort()


@pytest.fixture(scope="module")
def screen(tcga):
    return survival_tools.survival_screen(tcga, "OS_days", "OS_event", endpoint="OS").set_index("mirna")


def test_screen_matches_r_coxph_survdiff_maxstat(tcga, screen):
    ref = pd.read_csv(REF / "univariable.csv").set_index("mirna")
    assert list(screen.index) == PRECURSORS
    # one patient has no OS_days: reported, not silently dropped
    assert (exclusions(tcga)["reason"].str.contains("OS_days")).sum() == 1
    for mirna, r in ref.iterrows():
        got = screen.loc[mirna]
        assert got["n"] == r["n"] == 371 and got["events"] == r["events"] == 128
        assert got["coef"] == pytest.approx(r["coef"], abs=1e-6)
        assert got["se"] == pytest.approx(r["se"], abs=1e-6)
        assert got["hr"] == pytest.approx(r["hr"], rel=1e-6)
        assert got["hr_ci_low"] == pytest.approx(r["hr_ci_low"], rel=1e-6)
        assert got["hr_ci_high"] == pytest.approx(r["hr_ci_high"], rel=1e-6)
        assert got["pvalue"] == pytest.approx(r["wald_p"], rel=1e-6)
        assert got["ph_chisq"] == pytest.approx(r["zph_chisq"], abs=1e-6)
        assert got["ph_p"] == pytest.approx(r["zph_p"], abs=1e-6)
        assert got["cutpoint"] == pytest.approx(r["median"], abs=1e-12)
        assert got["logrank_chisq"] == pytest.approx(r["logrank_chisq"], abs=1e-6)
        assert got["logrank_p"] == pytest.approx(r["logrank_p"], abs=1e-8)
        assert got["maxstat_cutpoint"] == pytest.approx(r["maxstat_cutpoint"], abs=1e-9)
        assert got["maxstat_statistic"] == pytest.approx(r["maxstat_statistic"], abs=1e-6)
        assert got["maxstat_p"] == pytest.approx(r["maxstat_p"], abs=1e-6)
    # the screen's columns are the GUIDE contract
    for col in ["endpoint", "hr", "hr_ci_low", "hr_ci_high", "pvalue", "cutpoint", "logrank_p",
                "n", "events"]:
        assert col in screen.columns
    assert (screen["endpoint"] == "OS").all()
    assert screen["padj"].to_numpy() == pytest.approx(_bh(screen["pvalue"].to_numpy()))


def _bh(p):
    n = len(p)
    order = np.argsort(p)
    adj = np.empty(n)
    running = 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * n / rank)
        adj[i] = running
    return adj


def test_cox_with_covariates_matches_r(tcga):
    ref = pd.read_csv(REF / "multivariable.csv")
    for mirna in ["hsa-mir-21", "hsa-mir-122"]:
        fit = survival_tools.cox_regression(tcga, "OS_days", "OS_event", [mirna, "stage_advanced", "male"])
        r = ref[ref["mirna"] == mirna]
        assert fit.n == 347 and fit.events == 114
        assert fit.summary["term"].tolist() == [mirna, "stage_advanced", "male"]
        np.testing.assert_allclose(fit.summary["coef"], r["coef"], atol=1e-6)
        np.testing.assert_allclose(fit.summary["se"], r["se"], atol=1e-6)
        np.testing.assert_allclose(fit.summary["pvalue"], r["wald_p"], rtol=1e-5)
        np.testing.assert_allclose(fit.summary["ph_chisq"], r["zph_chisq"], atol=1e-6)
        assert fit.ph_global_chisq == pytest.approx(r["zph_global_chisq"].iloc[0], abs=1e-6)
        assert fit.ph_global_p == pytest.approx(r["zph_global_p"].iloc[0], abs=1e-6)


def test_screen_with_covariates_uses_complete_cases(tcga):
    table = survival_tools.survival_screen(tcga, "OS_days", "OS_event", covariates=["stage_advanced", "male"])
    ref = pd.read_csv(REF / "multivariable.csv")
    r = ref[(ref["mirna"] == "hsa-mir-21") & (ref["term"] == "x")].iloc[0]
    got = table.set_index("mirna").loc["hsa-mir-21"]
    # hr stays univariable (all 371 patients); hr_adj holds the covariates (complete cases)
    assert got["n"] == 371 and got["n_adj"] == 347 and got["covariates"] == "stage_advanced;male"
    assert got["adjusted_for"] == "stage_advanced; male"
    assert got["coef_adj"] == pytest.approx(r["coef"], abs=1e-6)
    assert got["hr_adj"] == pytest.approx(np.exp(r["coef"]), rel=1e-6)
    assert got["se_adj"] == pytest.approx(r["se"], abs=1e-6)
    # 24 patients without stage are left out of the adjusted fits, and said so
    lacking = exclusions(tcga)["reason"].str.contains("adjusted Cox")
    assert lacking.sum() == 24


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_kaplan_meier_matches_survfit(tcga, conf_type):
    ref = pd.read_csv(REF / "km_mir21_median.csv")
    ref = ref[ref["conf_type"] == conf_type]
    km = survival_tools.km_curves(tcga, "OS_days", "OS_event", mirna="hsa-mir-21", conf_type=conf_type,
                            at_risk_times=[0, 365, 730, 1095, 1825])
    for group, label in [(0, "low"), (1, "high")]:
        r = ref[ref["group"] == group]
        got = km.curves[(km.curves["group"] == label) & (km.curves["n_event"] > 0)]
        np.testing.assert_array_equal(got["time"], r["time"])
        np.testing.assert_array_equal(got["n_risk"], r["n_risk"])
        np.testing.assert_allclose(got["survival"], r["surv"], atol=1e-12)
        np.testing.assert_allclose(got["std_err"], r["std_err"], atol=1e-12)
        np.testing.assert_allclose(got["ci_low"], r["lower"], atol=1e-12)
        np.testing.assert_allclose(got["ci_high"], r["upper"], atol=1e-12)
    risk = pd.read_csv(REF / "km_at_risk.csv")
    for group, label in [(0, "low"), (1, "high")]:
        got = km.at_risk[km.at_risk["group"] == label]
        r = risk[risk["group"] == group]
        np.testing.assert_array_equal(got["n_risk"], r["n_risk"])
        np.testing.assert_allclose(got["survival"], r["surv"], atol=1e-12)
    uni = pd.read_csv(REF / "univariable.csv").set_index("mirna").loc["hsa-mir-21"]
    assert km.logrank_chisq == pytest.approx(uni["logrank_chisq"], abs=1e-6)
    assert km.cutpoint == pytest.approx(uni["median"])
    # curves start at (0, 1) for step plots
    first = km.curves.groupby("group").first()
    assert (first["time"] == 0).all() and (first["survival"] == 1).all()


def test_kaplan_meier_agrees_with_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(10, 300), 1)
    e = rng.random(300) < 0.7
    km = survival.kaplan_meier(t, e)
    fitter = KaplanMeierFitter().fit(t, e)
    expected = fitter.survival_function_at_times(km["time"].to_numpy()).to_numpy()
    np.testing.assert_allclose(km["survival"], expected, atol=1e-12)
    assert km["survival"].iloc[-1] == 0.0 and km["std_err"].iloc[-1] == 0.0


def test_maxstat_recovers_planted_cutpoint():
    rng = np.random.default_rng(11)
    n = 400
    x = rng.normal(size=n)
    hazard = np.where(x > 0.5, 3.0, 1.0)
    t = rng.exponential(1.0 / hazard)
    c = rng.exponential(2.0, n)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    ms = survival.maxstat_cutpoint(x, time, event)
    assert abs(ms.cutpoint - 0.5) < 0.2
    assert ms.pvalue < 1e-6
    # pure noise: no cutpoint is significant after the Lau94 adjustment
    noise = survival.maxstat_cutpoint(rng.normal(size=n), time, event)
    assert noise.pvalue > 0.05


def test_time_dependent_auc():
    rng = np.random.default_rng(5)
    n = 3000
    marker = rng.normal(size=n)
    t = rng.exponential(np.exp(-0.8 * marker))
    # without censoring the cumulative/dynamic AUC is the Mann-Whitney AUC of events by t
    full = survival.time_dependent_auc(marker, t, np.ones(n), [0.5, 1.0])
    for _, row in full.iterrows():
        case, ctrl = marker[t <= row["time"]], marker[t > row["time"]]
        mw = (case[:, None] > ctrl[None, :]).mean()
        assert row["auc"] == pytest.approx(mw, abs=1e-12)
        assert row["n_cases"] == len(case)
    # independent censoring: the IPCW estimate stays close to the uncensored truth
    c = rng.uniform(0, 3, n)
    cens = survival.time_dependent_auc(marker, np.minimum(t, c), (t <= c).astype(float), [0.5, 1.0])
    np.testing.assert_allclose(cens["auc"], full["auc"], atol=0.03)
    naive_cases = (np.minimum(t, c) <= 1.0) & (t <= c)
    assert cens["n_cases"].iloc[1] == naive_cases.sum()


def test_screen_time_dependent_auc_columns(tcga):
    table = survival_tools.survival_screen(tcga, "OS_days", "OS_event", auc_times=[365, 1095])
    assert {"auc_t365", "auc_t1095"} <= set(table.columns)
    cohort_x = np.asarray(tcga.X)[:, 0]
    t = tcga.obs["OS_days"].to_numpy(float)
    e = tcga.obs["OS_event"].to_numpy(float)
    direct = survival.time_dependent_auc(cohort_x, t, e, [365])
    assert table.loc[0, "auc_t365"] == pytest.approx(direct["auc"].iloc[0])
    assert 0.4 < table.loc[0, "auc_t365"] < 0.8


def test_logrank_three_groups_equals_cox_score_free_statistic():
    rng = np.random.default_rng(2)
    g = rng.integers(0, 3, 300)
    t = rng.exponential(1.0 / np.array([1.0, 1.5, 2.5])[g])
    lr = survival.logrank_test(t, np.ones(300), g)
    assert lr.df == 2
    assert lr.observed.sum() == pytest.approx(lr.expected.sum())
    assert lr.pvalue < 1e-6
    from lifelines.statistics import multivariate_logrank_test

    other = multivariate_logrank_test(t, g, np.ones(300))
    assert lr.chisq == pytest.approx(other.test_statistic, rel=1e-9)


def _small_cohort(events):
    values = pd.DataFrame({"miR-21-5p": [1.0, 2.0, 3.0, 4.0]}, index=list("abcd"))
    obs = pd.DataFrame({"time": [5.0, 3.0, np.nan, 2.0], "event": events}, index=list("abcd"))
    return build_cohort(values, "log", obs=obs, annotate=False)


def test_bad_event_values_are_rejected_with_the_sample():
    cohort = _small_cohort([1, 0, 1, 2])
    with pytest.raises(InputError) as err:
        survival_tools.survival_screen(cohort, "time", "event")
    assert "'event'" in str(err.value) and "record d" in str(err.value)
    with pytest.raises(InputError, match="no time column 'OS'"):
        survival_tools.survival_screen(cohort, "OS", "event")


def test_missing_times_are_recorded():
    cohort = _small_cohort([1, 0, 1, 1])
    table = survival_tools.survival_screen(cohort, "time", "event")
    assert table["n"].iloc[0] == 3
    # three samples ordered perfectly by the marker: the Cox likelihood has no maximum
    assert table["note"].iloc[0].startswith("Cox: monotone likelihood (the miRNA orders the events perfectly)")
    assert np.isnan(table["hr"].iloc[0]) and np.isfinite(table["firth_hr"].iloc[0])
    survival_tools.km_curves(cohort, "time", "event")
    ex = exclusions(cohort)
    assert ex["item"].tolist() == ["c"]  # once, though two functions left it out


def test_heavily_tied_simulated_data_matches_r():
    """200 patients on 48 distinct integer times: Efron ties, k-group log-rank, maxstat."""
    data = pd.read_csv(REF / "simulated_ties.csv")
    ref = pd.read_csv(REF / "simulated_cox.csv")
    stats = pd.read_csv(REF / "simulated_stats.csv").set_index("statistic")["value"]
    data.index = [f"p{i}" for i in range(len(data))]
    cohort = build_cohort(data[["x"]].rename(columns={"x": "miR-x"}), "log",
                          obs=data[["age", "stage", "time", "event"]], annotate=False)
    fit = survival_tools.cox_regression(cohort, "time", "event", ["miR-x", "age", "stage"])
    assert fit.summary["term"].tolist() == ["miR-x", "age", "stage[II]", "stage[III]"]
    np.testing.assert_allclose(fit.summary["coef"], ref["coef"], atol=1e-6)
    np.testing.assert_allclose(fit.summary["se"], ref["se"], atol=1e-6)
    np.testing.assert_allclose(fit.summary["ph_chisq"], ref["zph_chisq"], atol=1e-6)
    assert fit.loglik == pytest.approx(stats["loglik"], abs=1e-6)
    assert fit.ph_global_chisq == pytest.approx(stats["zph_global_chisq"], abs=1e-6)
    assert fit.events == stats["events"]
    lr = survival.logrank_test(data["time"], data["event"], data["stage"])
    assert lr.df == 2 and lr.chisq == pytest.approx(stats["logrank3_chisq"], abs=1e-6)
    ms = survival.maxstat_cutpoint(data["x"], data["time"], data["event"])
    assert ms.cutpoint == stats["maxstat_cutpoint"]
    assert ms.statistic == pytest.approx(stats["maxstat_statistic"], abs=1e-6)
    assert ms.pvalue == pytest.approx(stats["maxstat_p"], rel=1e-6)
    km = survival_tools.km_curves(cohort, "time", "event", group="stage")
    assert km.logrank_chisq == pytest.approx(stats["logrank3_chisq"], abs=1e-6)
    assert sorted(km.curves["group"].unique()) == ["I", "II", "III"]


def test_screen_notes_why_a_mirna_has_no_hazard_ratio():
    rng = np.random.default_rng(8)
    n = 60
    t = rng.exponential(5, n)
    e = (rng.random(n) < 0.5).astype(float)
    values = pd.DataFrame({"miR-a": rng.normal(size=n), "miR-flat": np.ones(n)},
                          index=[f"s{i}" for i in range(n)])
    obs = pd.DataFrame({"t": t, "e": e, "none": 0.0}, index=values.index)
    cohort = build_cohort(values, "log", obs=obs, annotate=False)
    table = survival_tools.survival_screen(cohort, "t", "e").set_index("mirna")
    assert np.isfinite(table.loc["miR-a", "hr"]) and pd.isna(table.loc["miR-a", "note"])
    # a constant miRNA is never detected above its floor: not tested, and recorded as such
    assert "miR-flat" not in table.index
    reason = exclusions(cohort).set_index("item").loc["miR-flat", "reason"]
    assert reason.startswith("detected in 0% of the samples")
    no_events = survival_tools.survival_screen(cohort, "t", "none")
    assert (no_events["note"] == "no events").all() and (no_events["events"] == 0).all()
