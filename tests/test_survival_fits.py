"""Cox fits that fail say so: monotone likelihood, Firth estimates, capped maxstat bounds, median
splits that do not split, rarely detected miRNAs, and Harrell's C against R ``concordance``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions
from exomir.errors import InputError
from exomir.stats import _survival_core as core
from exomir.stats import survival
from exomir.tools import _survival as survival_tools

REF = Path(__file__).parent / "reference" / "survival"


def _separated(n=80, seed=1):
    """A marker that orders every event before everyone still at risk (high = earlier)."""
    rng = np.random.default_rng(seed)
    time = np.sort(rng.exponential(10, n))
    event = (rng.random(n) < 0.6).astype(float)
    marker = np.linspace(3.0, -3.0, n)  # strictly decreasing with time
    return time, event, marker


def test_perfect_separation_is_detected_from_the_data():
    time, event, marker = _separated()
    fit = core.cox_fit(time, event, marker)
    assert fit.infinite.tolist() == [True] and not fit.converged and not fit.usable
    # the same with a noise covariate beside it (the linear-programme check)
    noise = np.random.default_rng(2).normal(size=len(time))
    fit2 = core.cox_fit(time, event, np.column_stack([marker, noise]))
    assert fit2.infinite[0] and not fit2.usable
    # an ordinary marker is left alone
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    t = rng.exponential(np.exp(-0.5 * x))
    ok = core.cox_fit(t, np.ones(300), x)
    assert ok.usable and not ok.infinite.any()
    assert core.monotone_directions(t, np.ones(300), np.column_stack([x, rng.normal(size=300)])).tolist() == [False, False]


def test_a_zero_newton_step_is_not_convergence():
    """With a strong separating marker the score underflows to exactly 0 at a huge coefficient;
    that must not pass for a maximum."""
    time, event, marker = _separated(n=200, seed=4)
    fit = core.cox_fit(time, event, 40.0 * marker)
    assert not fit.usable and fit.infinite[0]


@pytest.mark.parametrize("scale", [1.0, 10.0, 1e3])
def test_screen_gives_an_empty_hr_and_a_note_for_a_perfect_separator(scale):
    time, event, marker = _separated()
    rng = np.random.default_rng(5)
    values = pd.DataFrame({"miR-sep": scale * marker, "miR-noise": rng.normal(size=len(time))},
                          index=[f"p{i}" for i in range(len(time))])
    obs = pd.DataFrame({"t": time, "e": event, "stage": rng.choice(["I", "II"], len(time))}, index=values.index)
    cohort = build_cohort(values, "log", obs=obs, annotate=False)
    table = survival_tools.survival_screen(cohort, "t", "e", covariates=["stage"]).set_index("mirna")
    row = table.loc["miR-sep"]
    for col in ("hr", "hr_ci_low", "hr_ci_high", "pvalue", "hr_adj", "pvalue_adj"):
        assert pd.isna(row[col]), col
    assert "monotone likelihood" in row["note"] and "adjusted Cox: monotone likelihood" in row["note"]
    # Firth's penalized likelihood gives a finite, large hazard ratio with a profile interval
    assert 1.0 < row["firth_ci_low"] < row["firth_hr"] < row["firth_ci_high"] < np.inf
    assert row["firth_p"] < 1e-6
    assert np.isfinite(table.loc["miR-noise", "hr"]) and pd.isna(table.loc["miR-noise", "firth_hr"])
    # BH adjustment runs over the miRNAs that have a p-value
    assert table["padj"].notna().sum() == 1


def test_firth_matches_the_ordinary_fit_direction_and_shrinks_it():
    rng = np.random.default_rng(6)
    x = rng.normal(size=60)
    t = rng.exponential(np.exp(-0.7 * x))
    e = (rng.random(60) < 0.7).astype(float)
    mle = core.cox_fit(t, e, x)
    firth = core.cox_firth(t, e, x)
    # bias reduction pulls towards 0, by a little with 60 patients
    assert 0 < firth.coef[0] < mle.coef[0] and mle.coef[0] - firth.coef[0] < 0.1
    assert firth.ci_low[0] < firth.coef[0] < firth.ci_high[0]


def test_maxstat_bound_is_capped_at_one_and_marked():
    rng = np.random.default_rng(7)
    n = 300
    time, event = rng.exponential(1, n), (rng.random(n) < 0.5).astype(float)
    raw = [core.lausen94_pvalue(b, n, np.arange(30, 271)) for b in (0.5, 1.0)]
    assert raw[0] > 1.0  # the bound itself exceeds 1 for small statistics
    capped = 0
    for seed in range(30):
        x = np.random.default_rng(seed).normal(size=n)
        ms = survival.maxstat_cutpoint(x, time, event)
        assert 0.0 <= ms.pvalue <= 1.0
        capped += ms.capped
        if ms.capped:
            assert ms.pvalue == 1.0
    assert capped > 0


def test_median_split_must_split_and_rare_mirnas_are_not_tested():
    rng = np.random.default_rng(9)
    n = 373
    counts = pd.DataFrame({
        "miR-common": rng.poisson(200, n),
        "miR-mostly-zero": np.where(rng.random(n) < 0.55, rng.poisson(30, n) + 1, 0),  # detected in ~55 %
        "miR-one": np.r_[500, np.zeros(n - 1, int)],  # detected in 1 of 373
    }, index=[f"s{i}" for i in range(n)])
    obs = pd.DataFrame({"t": rng.exponential(10, n), "e": (rng.random(n) < 0.5).astype(float)}, index=counts.index)
    cohort = build_cohort(counts, "counts", obs=obs, annotate=False)
    from exomir.preprocess.normalize import normalize

    cohort = normalize(cohort, "cpm")
    table = survival_tools.survival_screen(cohort, "t", "e").set_index("mirna")
    assert "miR-one" not in table.index  # no HR of 121 from one patient
    reason = exclusions(cohort).set_index("item").loc["miR-one", "reason"]
    assert reason.startswith("detected in 0% of the samples") or "1 of" in reason or "(< 50%)" in reason
    assert table.loc["miR-common", "detected_fraction"] == 1.0
    assert np.isfinite(table.loc["miR-common", "logrank_p"])
    # with the detection threshold lowered, a split that leaves almost nobody above the median
    # gets no log-rank test and says why
    low = survival_tools.survival_screen(cohort, "t", "e", min_detected=0.0).set_index("mirna")
    assert pd.isna(low.loc["miR-one", "logrank_p"])
    assert "the median does not split (1 of 373 above it)" in low.loc["miR-one", "note"]
    with pytest.raises(InputError, match="does not split the samples"):
        survival_tools.km_curves(cohort, "t", "e", mirna="miR-one", cutpoint=1e9)


def test_time_and_event_errors_name_file_and_line(tmp_path):
    from exomir.io import read

    expr = tmp_path / "expr.csv"
    clin = tmp_path / "clinical.csv"
    expr.write_text("mirna,a,b,c,d\nhsa-miR-21-5p,1.5,2.5,3.5,4.5\nhsa-miR-122-5p,2,3,1,4\n")
    clin.write_text("sample,time,event\na,5,1\nb,3,0\nc,4,2\nd,-1,1\n")
    cohort = read(expr, clin, measure="log", annotate=False)
    with pytest.raises(InputError) as err:
        survival_tools.survival_screen(cohort, "time", "event")
    message = str(err.value)
    assert "clinical.csv" in message and "line 5" in message and "record d" in message and "negative" in message
    clin.write_text("sample,time,event\na,5,1\nb,3,0\nc,4,2\nd,1,1\n")
    cohort = read(expr, clin, measure="log", annotate=False)
    with pytest.raises(InputError) as err:
        survival_tools.survival_screen(cohort, "time", "event")
    assert "clinical.csv, line 4, record c" in str(err.value) and "neither 0 nor 1" in str(err.value)


def test_endpoint_name_and_unit_come_from_the_columns():
    assert survival_tools.endpoint_name("OS_days", "OS_event") == "OS"
    assert survival_tools.endpoint_name("recurrence_days", "recurrence_event") == "recurrence"
    assert survival_tools.endpoint_name("dfs_months", "dfs_event") == "DFS"
    assert survival_tools.endpoint_name("time", "status") == "time"
    assert survival_tools.time_unit("OS_days") == "days" and survival_tools.time_unit("dfs_months") == "months"
    assert survival_tools.time_unit("t") == "" and survival_tools.time_unit("t", "weeks") == "weeks"


def test_concordance_matches_r_on_ties():
    """Harrell's C and its infinitesimal-jackknife SE against R on the tied simulated data."""
    data = pd.read_csv(REF / "simulated_ties.csv")
    for _, ref in pd.read_csv(REF / "simulated_concordance.csv", skipinitialspace=True).iterrows():
        conc = core.concordance(data["time"].to_numpy(float), data["event"].to_numpy(float),
                                data[ref["marker"]].to_numpy(float))
        assert conc.c == pytest.approx(ref["concordance"], abs=1e-12)
        assert conc.se == pytest.approx(np.sqrt(ref["var"]), abs=1e-12)
        assert conc.concordant == ref["concordant"] and conc.discordant == ref["discordant"]
        assert conc.tied_x == ref["tied_x"]
