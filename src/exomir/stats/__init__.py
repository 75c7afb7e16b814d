"""exomir.stats: the statistics of a Cohort, each returning tidy ``pandas`` frames.

Submodules (imported on first use, so ``import exomir.stats`` stays cheap):
``differential`` (PyDESeq2, moderated t, Wilcoxon), ``roc``, ``panel``, ``survival``
(Kaplan-Meier, log-rank, Cox, maxstat cutpoints, time-dependent AUC), ``meta``
(random-effects meta-analysis) and ``enrich``.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("differential", "roc", "panel", "survival", "meta", "enrich")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
