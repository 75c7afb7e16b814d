"""exomir.stats: array numerics (numpy/pandas in, numbers out), each checked against R.

Submodules (imported on first use, so ``import exomir.stats`` stays cheap): ``roc`` (AUC,
DeLong intervals and paired tests, thresholds, PR curves), ``differential`` (moderated t,
Wilcoxon, the PyDESeq2 Wald test), ``panel`` (nested-CV penalized logistic panels, calibration,
NRI/IDI), ``survival`` (Kaplan-Meier, log-rank, maxstat cutpoints, time-dependent AUC and the Cox
core), ``prognostic_panel`` (nested-CV elastic-net Cox) and ``meta`` (random-effects pooling).
The verbs that apply them to a Cohort are :mod:`exomir.tools`. Nothing here imports a module
of exomir above it (no Cohort, knowledge base or preprocessing).

The numerics on arrays are also named here (``ex.stats.delong_paired(a, b, y)``): ROC
(``roc_auc``, ``roc_curve``, ``thresholds``, ``delong_paired``, ``delong_omnibus``), survival
(``kaplan_meier``, ``logrank_test``, ``maxstat_cutpoint``, ``time_dependent_auc``) and pooling
(``random_effects``).
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("differential", "roc", "panel", "survival", "prognostic_panel", "meta")

#: array-level functions → the submodule that holds them
_FUNCTIONS = {
    **dict.fromkeys(("roc_auc", "roc_curve", "thresholds", "delong_paired", "delong_omnibus"), "roc"),
    **dict.fromkeys(("kaplan_meier", "logrank_test", "maxstat_cutpoint", "time_dependent_auc"), "survival"),
    "random_effects": "meta",
}

__all__ = [*_SUBMODULES, *_FUNCTIONS]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
