"""import exomir as ex: the namespaces and workflows of the public face, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import exomir as ex


def test_import_exomir_loads_nothing_heavy():
    code = ("import sys, exomir; heavy = [m for m in ('anndata', 'scipy', 'plotly', 'pandas', 'exomir.io') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_names_of_the_face():
    from exomir.analysis import analyze
    from exomir.analysis.meta import meta_analyze
    from exomir.io import read
    from exomir.preprocess.normalize import normalize
    from exomir.preprocess.qc import quality_control

    assert ex.read is read and ex.analyze is analyze and ex.meta is meta_analyze
    assert ex.pp.qc is quality_control and ex.pp.normalize is normalize
    assert ex.pl.roc.__module__ == "exomir.plotting.cohort_figures"
    assert {"pp", "tl", "pl", "stats", "read", "analyze", "meta", "__version__"} <= set(dir(ex))
    with pytest.raises(AttributeError, match="no attribute 'plot'"):
        ex.plot  # noqa: B018


def test_stats_names_the_array_functions():
    from exomir.stats.roc import delong_paired

    assert ex.stats.delong_paired is delong_paired
    y = np.r_[np.ones(6, bool), np.zeros(6, bool)]
    a = np.array([9, 8, 7, 6, 5, 1, 4, 3, 2, 0, -1, -2], float)  # the case at 1 is below three controls
    b = np.array([9, 8, 7, 6, 5, 3.5, 4, 3, 2, 0, -1, -2], float)  # the case at 3.5 is below one control
    wins = (a[y][:, None] > a[~y][None, :]).mean()
    assert wins == pytest.approx(33 / 36)
    test = ex.stats.delong_paired(a, b, y)
    assert test["auc_a"] == pytest.approx(wins) and test["auc_b"] == pytest.approx(35 / 36)
    assert test["difference"] == pytest.approx(-2 / 36) and 0 < test["pvalue"] < 1
    assert ex.stats.roc_auc(a, y).auc == pytest.approx(wins)
    with pytest.raises(AttributeError):
        ex.stats.not_a_function  # noqa: B018
