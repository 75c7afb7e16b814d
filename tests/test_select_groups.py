"""exomir.cohort.select_groups: the one case/control selector, and pooled controls that never touch obs."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from exomir import tools
from exomir.cohort import select_groups
from exomir.errors import InputError


def _cohort() -> ad.AnnData:
    rng = np.random.default_rng(5)
    groups = ["HCC"] * 12 + ["LC"] * 8 + ["CHB"] * 6 + ["Healthy"] * 4 + [None] * 2
    n = len(groups)
    values = rng.normal(size=(n, 4))
    values[:12, 0] += 2.0
    obs = pd.DataFrame({"group": groups, "afp": np.exp(rng.normal(2.0, 1.0, n))}, index=[f"s{i}" for i in range(n)])
    adata = ad.AnnData(X=values, obs=obs, var=pd.DataFrame(index=["miR-1", "miR-2", "miR-3", "miR-4"]))
    adata.uns["exomir"] = {"measure": "log", "source": {}, "excluded": [], "steps": []}
    return adata


def test_masks_labels_and_names_of_single_and_pooled_arms():
    adata = _cohort()
    one = select_groups(adata, "group", "HCC", "LC")
    assert one.name == "HCC_vs_LC" and not one.pooled
    assert one.is_case.sum() == 12 and one.is_control.sum() == 8 and one.rows.sum() == 20
    assert one.y.tolist() == [True] * 12 + [False] * 8
    pooled = select_groups(adata.obs, "group", "HCC", "LC+CHB")
    assert pooled.controls == ("LC", "CHB") and pooled.name == "HCC_vs_LC+CHB" and pooled.pooled
    assert pooled.is_control.sum() == 14
    assert select_groups(adata, "group", "HCC", ["LC", "CHB"]).controls == ("LC", "CHB")
    labels = pooled.labels()
    assert labels["s0"] == "case" and labels["s12"] == "control" and pd.isna(labels["s26"]) and pd.isna(labels["s30"])
    everyone = select_groups(adata, "group", "HCC")  # every other group, pooled, in sorted order
    assert everyone.controls == ("CHB", "Healthy", "LC") and everyone.is_control.sum() == 18


def test_a_group_whose_name_holds_a_plus_is_one_arm():
    adata = _cohort()
    adata.obs["group"] = adata.obs["group"].replace({"LC": "LC+HBV"})
    assert select_groups(adata, "group", "HCC", "LC+HBV").controls == ("LC+HBV",)


def test_one_wording_for_every_refusal():
    adata = _cohort()
    with pytest.raises(InputError, match="no group column 'dx': the clinical table has no column 'dx'"):
        select_groups(adata, "dx", "HCC", "LC")
    with pytest.raises(InputError, match=r"case group 'hcc' not found in column 'group' \(no sample has group = 'hcc'\)"):
        select_groups(adata, "group", "hcc", "LC")
    with pytest.raises(InputError, match=r"control group 'NASH' not found in column 'group'"):
        select_groups(adata, "group", "HCC", "LC+NASH")
    with pytest.raises(InputError, match="'HCC' is the case group and cannot also be a control"):
        select_groups(adata, "group", "HCC", ["LC", "HCC"])
    only = adata[adata.obs["group"] == "HCC"].copy()
    with pytest.raises(InputError, match="holds no group besides 'HCC'"):
        select_groups(only, "group", "HCC")


def test_pooled_controls_leave_obs_as_it_was():
    adata = _cohort()
    before = adata.obs.copy()
    roc = tools.roc(adata, "group", "HCC", [["LC", "CHB"], "Healthy"])
    de = tools.differential(adata, "group", "HCC", "LC+CHB", method="wilcoxon")
    pd.testing.assert_frame_equal(adata.obs, before)
    assert list(dict.fromkeys(roc["comparison"])) == ["HCC_vs_LC+CHB", "HCC_vs_Healthy"]
    assert (roc["n_case"] == 12).all() and roc.loc[roc["comparison"] == "HCC_vs_LC+CHB", "n_control"].eq(14).all()
    assert (de["comparison"] == "HCC_vs_LC+CHB").all() and (de["n_control"] == 14).all()
    step = [s for s in adata.uns["exomir"]["steps"] if s["step"] == "roc_screen"][-1]
    assert step["group"] == "group" and step["control"] == ["LC+CHB", "Healthy"]
