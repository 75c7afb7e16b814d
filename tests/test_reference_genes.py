"""geNorm M and NormFinder stability against the published algorithms.

The worked example and its values come from ``tests/reference/qpcr/reference_genes.R`` (base R,
written from the formulas of Vandesompele et al. 2002 and Andersen et al. 2004); a small geNorm
case is also worked out by hand below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort
from exomir.errors import InputError
from exomir.preprocess.reference_genes import genorm, genorm_m, normfinder, normfinder_stability

REF = Path(__file__).parent / "reference" / "qpcr"


@pytest.fixture(scope="module")
def example() -> tuple[pd.DataFrame, np.ndarray]:
    table = pd.read_csv(REF / "reference_genes_example.csv").set_index("sample")
    groups = table.pop("group").to_numpy()
    return table, groups


def test_genorm_m_matches_r(example):
    cq, _ = example
    result = genorm(cq)
    expected = pd.read_csv(REF / "genorm_m.csv").set_index("mirna")["M"]
    np.testing.assert_allclose(result.m.loc[expected.index], expected, rtol=0, atol=1e-9)


def test_genorm_stepwise_and_pairwise_variation_match_r(example):
    cq, _ = example
    result = genorm(cq)
    steps = pd.read_csv(REF / "genorm_steps.csv")
    for n_candidates, block in steps.groupby("n_candidates"):
        row = result.steps.loc[f"{n_candidates} candidates"]
        np.testing.assert_allclose(row[block["mirna"]].to_numpy(), block["M"].to_numpy(), atol=1e-9)
        assert row.notna().sum() == n_candidates
    v = pd.read_csv(REF / "genorm_v.csv")
    np.testing.assert_allclose(result.pairwise_variation[v["pair"]].to_numpy(), v["V"].to_numpy(), atol=1e-9)
    assert list(result.ranking["mirna"].iloc[: len(v)]) == list(v["ranking_top"])
    # the noisiest, group-dependent candidates (miR-451a, let-7a) are ranked last
    assert list(result.ranking["mirna"].iloc[-2:]) == ["let-7a-5p", "miR-451a"]
    assert result.optimal_number == 2 and result.best == ["miR-191-5p", "miR-103a-3p"]


def test_normfinder_matches_r(example):
    cq, groups = example
    with_groups = normfinder(cq, groups).set_index("mirna")["stability"]
    expected = pd.read_csv(REF / "normfinder_groups.csv").set_index("mirna")["stability"]
    np.testing.assert_allclose(with_groups.loc[expected.index], expected, atol=1e-9)
    without = normfinder(cq).set_index("mirna")["stability"]
    expected = pd.read_csv(REF / "normfinder_nogroups.csv").set_index("mirna")["stability"]
    np.testing.assert_allclose(without.loc[expected.index], expected, atol=1e-9)
    ranked = normfinder(cq, groups)
    assert list(ranked["rank"]) == list(range(1, 11))
    assert ranked["mirna"].iloc[-1] == "miR-451a"


def test_genorm_by_hand():
    """Three candidates, four samples: M worked out from the definition."""
    cq = np.array([[20.0, 25.0, 30.0], [21.0, 26.0, 30.0], [22.0, 27.5, 31.0], [23.0, 28.0, 34.0]])
    a_ab = cq[:, 1] - cq[:, 0]  # 5, 5, 5.5, 5
    a_ac = cq[:, 2] - cq[:, 0]  # 10, 9, 9, 11
    a_bc = cq[:, 2] - cq[:, 1]  # 5, 4, 3.5, 6
    sd = lambda x: float(np.std(x, ddof=1))  # noqa: E731
    expected = [(sd(a_ab) + sd(a_ac)) / 2, (sd(a_ab) + sd(a_bc)) / 2, (sd(a_ac) + sd(a_bc)) / 2]
    np.testing.assert_allclose(genorm_m(cq), expected)
    assert sd(a_ab) == pytest.approx(0.25)
    result = genorm(pd.DataFrame(cq, columns=["a", "b", "c"]))
    assert list(result.ranking["mirna"]) == ["a", "b", "c"]
    # after removing c, both remaining share M = SD(A_ab)
    np.testing.assert_allclose(result.steps.loc["2 candidates", ["a", "b"]], [0.25, 0.25])


def test_normfinder_properties():
    rng = np.random.default_rng(11)
    n = 40
    groups = np.repeat(["A", "B"], 20)
    base = rng.normal(0, 1, n)
    sds = np.array([0.1, 0.2, 0.4, 0.8, 0.3])
    cq = 25 + base[:, None] + rng.normal(0, 1, (n, 5)) * sds
    # stability follows the planted noise without groups
    stab = normfinder_stability(cq)["stability"]
    assert list(np.argsort(stab)) == [0, 1, 4, 2, 3]
    # a candidate that shifts between groups loses stability once groups are given
    shifted = cq.copy()
    shifted[groups == "B", 0] += 1.5
    plain = normfinder_stability(shifted)["stability"]
    grouped = normfinder_stability(shifted, groups)["stability"]
    assert np.argmin(grouped) != 0 and grouped[0] == grouped.max()
    assert plain[0] > stab[0]  # without groups the shift shows up as intragroup noise
    with pytest.raises(ValueError, match="three candidates"):
        normfinder_stability(cq[:, :2])


def test_cohort_inputs_and_complete_candidates(example):
    cq, groups = example
    frame = cq.copy()
    frame["miR-122-5p"] = np.where(np.arange(len(frame)) % 3 == 0, np.nan, 30.0)
    obs = pd.DataFrame({"group": groups}, index=frame.index)
    adata = build_cohort(frame, "cq", obs=obs, annotate=False)
    # miR-122 is not detected everywhere: left out of the automatic candidate set
    result = genorm(adata)
    assert "miR-122-5p" not in result.m.index and len(result.m) == 10
    table = normfinder(adata, "group")
    expected = pd.read_csv(REF / "normfinder_groups.csv").set_index("mirna")["stability"]
    np.testing.assert_allclose(table.set_index("mirna")["stability"].loc[expected.index], expected, atol=1e-9)
    with pytest.raises(InputError, match="detected in every sample"):
        genorm(adata, ["miR-16-5p", "miR-122-5p", "miR-93-5p"])
