"""The screens leave small-RNA controls and spike-ins out themselves: called from Python on an
unprocessed Cohort (not through ``exomir analyze``), ``differential_expression``, ``roc_screen``,
``panel_analysis``, ``survival_screen``, ``stage_trend`` and ``prognostic_panels`` never test,
rank or use ``MammU6``, ``U6 snRNA``, ``RNU48``, ``SNORD44``, ``cel-miR-39-3p`` or a column the
user declared a control, and record each exclusion (once, with its role) in the Cohort's provenance.

The controls differ between the groups and with survival more than any miRNA, so a screen that
still tested them would put them first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exomir.cohort import build_cohort, exclusions, meta
from exomir.errors import InputError
from exomir.preprocess.qc import CONTROL_EXCLUSION, REFERENCE_ROLE, SPIKE_IN_ROLE, USER_ROLE, drop_controls
from exomir.tools._differential import differential_expression
from exomir.tools._panel import panel_analysis
from exomir.tools._prognostic_panel import prognostic_panels
from exomir.tools._roc import roc_screen
from exomir.tools._survival import survival_screen
from exomir.tools._trend import stage_trend

CONTROLS = {"MammU6": REFERENCE_ROLE, "U6 snRNA": REFERENCE_ROLE, "RNU48": REFERENCE_ROLE,
            "SNORD44": REFERENCE_ROLE, "cel-miR-39-3p": SPIKE_IN_ROLE, "LabRef-7": USER_ROLE}
MIRNAS = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-miR-16-5p", "hsa-miR-26a-5p", "hsa-miR-92a-3p",
          "hsa-miR-150-5p", "hsa-miR-142-3p", "hsa-miR-146a-5p", "hsa-miR-155-5p", "hsa-miR-199a-3p",
          "hsa-miR-221-3p", "hsa-miR-222-3p"]


def _cohort(measure: str = "log", n: int = 60, seed: int = 3):
    """Samples × (miRNAs + controls); the controls carry the strongest group and survival signal."""
    rng = np.random.default_rng(seed)
    is_case = np.arange(n) < n // 2
    risk = rng.normal(0, 1, n)
    values = {}
    for j, name in enumerate(MIRNAS):
        values[name] = 8 + j % 4 + rng.normal(0, 1, n) + (0.5 if j == 0 else 0.0) * is_case
    for name in CONTROLS:
        values[name] = 10 + rng.normal(0, 0.3, n) + 2.5 * is_case + 1.5 * risk
    frame = pd.DataFrame(values, index=[f"S{i:02d}" for i in range(n)])
    if measure == "counts":
        frame = np.round(np.exp2(frame)).astype(float)
    time = np.round(rng.exponential(1000 * np.exp(-risk)), 0) + 1
    obs = pd.DataFrame({"group": np.where(is_case, "HCC", "LC"), "time": time,
                        "event": (rng.uniform(size=n) < 0.7).astype(float),
                        "stage": rng.choice(["I", "II", "III"], n)}, index=frame.index)
    adata = build_cohort(frame, measure, obs=obs, annotate=False)
    meta(adata)["control_rnas"] = ["LabRef-7"]  # as exomir analyze/train --control-rna store it
    return adata


def _control_exclusions(adata) -> pd.DataFrame:
    table = exclusions(adata)
    return table[table["reason"] == CONTROL_EXCLUSION]


def _assert_recorded_once(adata):
    table = _control_exclusions(adata)
    assert sorted(table["item"]) == sorted(CONTROLS)
    assert dict(zip(table["item"], table["role"])) == CONTROLS


def test_drop_controls_keeps_the_mirnas_and_shares_provenance():
    adata = _cohort()
    out = drop_controls(adata)
    assert list(out.var_names) == MIRNAS
    assert adata.n_vars == len(MIRNAS) + len(CONTROLS)  # the caller's Cohort is not cut
    drop_controls(adata)
    _assert_recorded_once(adata)  # a second screen does not list them again
    out.uns["exomir"]["steps"].append({"step": "probe"})
    assert meta(adata)["steps"][-1] == {"step": "probe"}
    clean = adata[:, MIRNAS].copy()
    assert drop_controls(clean) is clean  # nothing to leave out: the same object, no copy


@pytest.mark.parametrize("method", ["moderated_t", "wilcoxon"])
def test_differential_expression_never_tests_a_control(method):
    adata = _cohort()
    table = differential_expression(adata, "group", "HCC", "LC", method=method)
    assert list(table["mirna"]) == MIRNAS
    assert table["pvalue"].notna().all()
    _assert_recorded_once(adata)
    # the miRNAs' numbers are those of the Cohort without its controls (BH over 12 tests, not 18)
    alone = differential_expression(adata[:, MIRNAS].copy(), "group", "HCC", "LC", method=method)
    np.testing.assert_allclose(table["padj"], alone["padj"], rtol=1e-12)
    assert table.set_index("mirna").loc["hsa-miR-21-5p", "log2fc"] > 0


def test_differential_expression_deseq2_never_tests_a_control():
    adata = _cohort("counts")
    table = differential_expression(adata, "group", "HCC", "LC")
    assert set(table["mirna"]) == set(MIRNAS)
    assert (table["method"] == "deseq2").all()
    _assert_recorded_once(adata)


def test_roc_screen_never_ranks_a_control():
    adata = _cohort()
    table = roc_screen(adata, "group", "HCC", "LC", seed=1)
    assert list(table["mirna"]) == MIRNAS
    assert table["auc"].max() < 0.9  # the controls' AUC would be about 1
    _assert_recorded_once(adata)
    alone = roc_screen(adata[:, MIRNAS].copy(), "group", "HCC", "LC", seed=1)
    np.testing.assert_allclose(table["padj"], alone["padj"], rtol=1e-12)


def test_panel_analysis_never_uses_a_control():
    adata = _cohort()
    result = panel_analysis(adata, "group", "HCC", "LC", outer_folds=3, inner_folds=3, permutations=0,
                            bootstraps=0, max_features=(3,), seed=2)
    used = set()
    for panel in result.panels.values():
        used |= set(panel.candidates)
    assert used and used <= set(MIRNAS)
    _assert_recorded_once(adata)
    control = next(str(v) for v in adata.var_names if str(v) not in MIRNAS)
    with pytest.raises(InputError, match=r"are control RNAs .*never enter a panel"):
        panel_analysis(adata, "group", "HCC", "LC", features=[MIRNAS[0], control], outer_folds=3, inner_folds=3,
                       permutations=0, bootstraps=0, max_features=(3,), seed=2)  # fmt: skip


def test_survival_screen_never_tests_a_control():
    adata = _cohort()
    table = survival_screen(adata, "time", "event", min_detected=0.0)
    assert list(table["mirna"]) == MIRNAS
    _assert_recorded_once(adata)


def test_stage_trend_never_tests_a_control():
    adata = _cohort()
    table = stage_trend(adata, "stage", min_detected=0.0)
    assert set(table["mirna"]) == set(MIRNAS)
    _assert_recorded_once(adata)


def test_prognostic_panel_never_uses_a_control():
    adata = _cohort(n=80)
    table = prognostic_panels(adata, "time", "event", min_detected=0.0, outer_folds=3, inner_folds=3,
                              max_features=5, seed=1)
    kept = ";".join(table.astype(str).to_numpy().ravel())
    for name in CONTROLS:
        assert name not in kept
    _assert_recorded_once(adata)
