"""The demo simulator: reproducible, realistic, and it plants what it says it plants."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from exomir.simulate import WELL_KNOWN_MIRNAS, planted, simulate_cohort, write_cohort
from exomir.simulate import _effects as fx

from conftest import shared_path


@pytest.fixture(scope="module")
def big():
    return simulate_cohort(2000, seed=7, n_mirnas=150, annotate=False)


def test_same_seed_same_cohort_other_seed_other_cohort():
    a = simulate_cohort(64, seed=3, n_mirnas=120, annotate=False)
    b = simulate_cohort(64, seed=3, n_mirnas=120, annotate=False)
    c = simulate_cohort(64, seed=4, n_mirnas=120, annotate=False)
    np.testing.assert_array_equal(a.layers["counts"], b.layers["counts"])
    assert a.obs.equals(b.obs)
    assert json.dumps(planted(a), sort_keys=True) == json.dumps(planted(b), sort_keys=True)
    assert not np.array_equal(a.layers["counts"], c.layers["counts"])


def test_groups_names_and_planted_record(big):
    p = planted(big)
    assert p["groups"] == {"HCC": 800, "LC": 400, "CHB": 400, "Healthy": 400}
    assert big.obs["group"].value_counts().to_dict() == p["groups"]
    assert big.n_vars == 150 and len(set(big.var_names)) == 150
    json.dumps(p)  # JSON-able
    assert {"hsa-miR-21-5p", "hsa-miR-10b-5p", "hsa-miR-215-5p"} <= set(p["up_in_hcc"])
    assert "hsa-miR-122-5p" in p["down_in_hcc_vs_chb"]
    assert p["expected_log2fc"]["HCC_vs_CHB"]["hsa-miR-122-5p"] == pytest.approx(-1.2)
    # stage and survival only for HCC
    hcc = (big.obs["group"] == "HCC").to_numpy()
    assert big.obs.loc[hcc, "stage"].notna().all() and big.obs.loc[~hcc, "stage"].isna().all()
    assert big.obs.loc[hcc, "dfs_months"].notna().all() and big.obs.loc[~hcc, "dfs_event"].isna().all()


def test_builtin_names_are_mirbase22_names():
    fasta = shared_path("mirbase_v22", "hsa_mature.fa").read_text()
    names = {line[1:].split()[0] for line in fasta.splitlines() if line.startswith(">")}
    missing = [n for n in WELL_KNOWN_MIRNAS if n not in names]
    assert not missing
    assert len(WELL_KNOWN_MIRNAS) == len(set(WELL_KNOWN_MIRNAS)) >= 200


def test_counts_are_realistic(big):
    counts = big.layers["counts"]
    library = counts.sum(axis=1)
    assert 2.5e6 < np.median(library) < 3.6e6
    assert np.std(np.log(library)) == pytest.approx(fx.LIBRARY_LOG_SD, abs=0.05)
    mean = counts.mean(axis=0)
    # heavy-tailed abundances: the top miRNAs hold most reads, many are rare
    top = np.sort(mean)[::-1]
    assert top[:5].sum() / top.sum() > 0.4 and np.median(mean) < 0.01 * top[0]
    # overdispersion with a DESeq2-like trend: moment estimates in healthy donors, size-corrected
    healthy = (big.obs["group"] == "Healthy").to_numpy() & ~np.isin(big.obs_names, planted(big)["hemolysis"]["samples"])
    scaled = counts[healthy] / (library[healthy] / np.median(library))[:, None]
    m, v = scaled.mean(axis=0), scaled.var(axis=0, ddof=1)
    alpha = (v - m) / m**2
    abundant, rare = m > 1000, (m > 5) & (m < 50)
    assert 0.05 < np.median(alpha[abundant]) < 0.35
    assert np.median(alpha[rare]) > np.median(alpha[abundant])


def test_planted_auc_of_mir10b_is_recovered_by_an_auc_on_counts(big):
    p = planted(big)
    auc = p["auc"]
    assert auc["auc"] == 0.93
    assert fx.auc_of_shift(fx.shift_for_auc(0.93, 5.0), 5.0) == pytest.approx(0.93, abs=1e-9)
    from exomir.preprocess.normalize import median_of_ratios

    counts = big.layers["counts"]
    factors, _ = median_of_ratios(counts)  # robust to hemolysis taking over a library
    j = list(big.var_names).index("hsa-miR-10b-5p")
    x = counts[:, j] / factors
    hcc = (big.obs["group"] == "HCC").to_numpy()
    u = stats.mannwhitneyu(x[hcc], x[~hcc]).statistic / (hcc.sum() * (~hcc).sum())
    assert u == pytest.approx(0.93, abs=0.02)


def test_afp_sensitivity_and_specificity_at_20(big):
    afp = big.obs["afp_ng_ml"].to_numpy()
    hcc = (big.obs["group"] == "HCC").to_numpy()
    assert np.mean(afp[hcc] >= 20) == pytest.approx(0.60, abs=0.04)
    assert np.mean(afp[~hcc] < 20) == pytest.approx(0.80, abs=0.03)
    assert planted(big)["afp"]["specificity"] == pytest.approx(0.80)


def test_hemolysed_samples_raise_mir451a_not_mir23a(big):
    counts = big.layers["counts"] + 1.0
    names = list(big.var_names)
    ratio = np.log2(counts[:, names.index("hsa-miR-451a")] / counts[:, names.index("hsa-miR-23a-3p")])
    hemolysed = np.isin(big.obs_names, planted(big)["hemolysis"]["samples"])
    assert hemolysed.sum() == 160
    assert np.median(ratio[hemolysed]) - np.median(ratio[~hemolysed]) > 5
    assert np.max(ratio[~hemolysed]) < 7 and np.mean(ratio[hemolysed] > 7) > 0.9


def test_mir215_shortens_dfs(big):
    from lifelines import CoxPHFitter

    hcc = (big.obs["group"] == "HCC").to_numpy()
    from exomir.preprocess.normalize import median_of_ratios

    factors, _ = median_of_ratios(big.layers["counts"])
    j = list(big.var_names).index("hsa-miR-215-5p")
    x = np.log2(big.layers["counts"][hcc, j] / factors[hcc] + 1)
    frame = big.obs.loc[hcc, ["dfs_months", "dfs_event"]].assign(x=x)
    fit = CoxPHFitter().fit(frame, "dfs_months", "dfs_event")
    assert fit.hazard_ratios_["x"] > 2.0 and fit.summary.loc["x", "p"] < 1e-10


def test_cq_measure_has_nondetects_and_spike_in():
    adata = simulate_cohort(80, seed=2, measure="cq", n_mirnas=150, annotate=False)
    cq = adata.layers["cq"]
    assert adata.var_names[-1] == "cel-miR-39-3p"
    assert np.nanmin(cq) > 10 and np.nanmax(cq) < 40
    assert 0 < np.isnan(cq).mean() < 0.2
    spike = cq[:, -1]
    assert np.std(spike) < 0.6 and abs(np.median(spike) - 24) < 0.5
    hcc = (adata.obs["group"] == "HCC").to_numpy()
    j = list(adata.var_names).index("hsa-miR-21-5p")
    assert np.nanmean(cq[hcc, j]) < np.nanmean(cq[~hcc, j])  # more miR-21 → fewer cycles


def test_write_cohort_files_read_back_and_are_stable(tmp_path):
    from exomir.io import read

    adata = simulate_cohort(48, seed=5, n_mirnas=120, annotate=False)
    first = write_cohort(adata, f"{tmp_path}/a/", h5ad=True)
    second = write_cohort(adata, tmp_path / "b")
    assert first["expression"] == tmp_path / "a" / "expression.csv"
    assert second["clinical"] == tmp_path / "b_clinical.csv"
    assert first["expression"].read_bytes() == second["expression"].read_bytes()
    assert first["clinical"].read_bytes() == second["clinical"].read_bytes()
    assert first["h5ad"].exists()
    assert json.loads(first["planted"].read_text())["seed"] == 5
    back = read(first["expression"], first["clinical"], group="group", annotate=False)
    np.testing.assert_array_equal(back.layers["counts"], adata.layers["counts"])
    assert list(back.obs_names) == list(adata.obs_names)
    np.testing.assert_allclose(back.obs["afp_ng_ml"].astype(float), adata.obs["afp_ng_ml"])


def test_simulate_command(tmp_path):
    from exomir.cli import app

    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "demo"), "--n", "40", "--n-mirnas", "100",
                                      "--measure", "cq", "--seed", "9", "--quiet"])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "demo_expression.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "mirna" and len(header) == 41
    assert "Undetermined" in (tmp_path / "demo_expression.csv").read_text()


@pytest.mark.parametrize("command", ["simulate", "demo"])
@pytest.mark.parametrize("option, value, minimum", [("--n", "20", 32), ("--n-mirnas", "30", 32)])
def test_too_small_a_simulation_is_a_usage_error(tmp_path, command, option, value, minimum):
    from exomir.cli import app

    result = CliRunner().invoke(app, [command, "--out", str(tmp_path / "out"), option, value, "--quiet"])
    assert result.exit_code == 2 and not isinstance(result.exception, ValueError)
    assert f"must be at least {minimum}" in result.output and option in result.output
    assert not (tmp_path / "out").exists()


def test_seeds_draw_independent_samples_of_one_population():
    first = simulate_cohort(120, n_mirnas=80, seed=1, annotate=False)
    second = simulate_cohort(120, n_mirnas=80, seed=2, annotate=False)
    other_population = simulate_cohort(120, n_mirnas=80, seed=1, population_seed=9, annotate=False)
    # same miRNAs and baseline levels: the healthy medians agree closely across sample seeds
    assert list(first.var_names) == list(second.var_names)
    assert list(first.var_names) != list(other_population.var_names)

    def healthy_log_median(adata):
        counts = np.asarray(adata.layers["counts"], dtype=float)
        cpm = counts / counts.sum(axis=1, keepdims=True) * 1e6
        keep = (adata.obs["group"] == "Healthy").to_numpy()
        return np.median(np.log2(cpm[keep] + 1.0), axis=0)

    same = np.corrcoef(healthy_log_median(first), healthy_log_median(second))[0, 1]
    assert same > 0.95
    assert not np.array_equal(first.layers["counts"], second.layers["counts"])
    assert planted(first)["population_seed"] == 0 and planted(other_population)["population_seed"] == 9
