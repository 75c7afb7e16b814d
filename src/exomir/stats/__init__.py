"""exomir.stats: array numerics (numpy/pandas in, numbers out), each checked against R.

Submodules (imported on first use, so ``import exomir.stats`` stays cheap): ``roc`` (AUC,
DeLong intervals and paired tests, thresholds, PR curves), ``differential`` (moderated t,
Wilcoxon, the PyDESeq2 Wald test), ``panel`` (nested-CV penalized logistic panels, calibration,
NRI/IDI), ``survival`` (Kaplan-Meier, log-rank, maxstat cutpoints, time-dependent AUC and the Cox
core), ``prognostic_panel`` (nested-CV elastic-net Cox) and ``meta`` (random-effects pooling).
The verbs that apply them to a Cohort are :mod:`exomir.tools`. Nothing here imports a module
of exomir above it (no Cohort, knowledge base or preprocessing).
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("differential", "roc", "panel", "survival", "prognostic_panel", "meta")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
