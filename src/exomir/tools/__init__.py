"""exomir.tools (``ex.tl``): the verbs of a Cohort. Each takes an ``AnnData`` (samples × miRNAs,
clinical columns in ``obs``), records what it did in ``adata.uns["exomir"]`` and returns the
tidy frames of the output contract (GUIDE.md). The numerics on arrays are :mod:`exomir.stats`.

* :func:`differential` — which miRNAs differ between ``case`` and each control (DESeq2,
  moderated t, Wilcoxon): differential.csv.
* :func:`roc` — ROC of every miRNA (and AFP) for ``case`` against each control: roc.csv.
* :func:`panel` — nested-CV miRNA panels with and against AFP (:class:`PanelAnalysis`).
* :func:`survival` — every miRNA against survival (Cox, log-rank, maxstat): survival.csv;
  :func:`km` — Kaplan-Meier curves of a miRNA split or of groups (:class:`KMCurves`);
  :func:`cox` — one Cox model of several terms; :func:`prognostic_panel` — elastic-net Cox panels.
* :func:`trend` — Spearman trend of every miRNA across tumour stages: trend.csv.
* :func:`enrich` — pathway over-representation of the targets of a set of miRNAs.

Which samples are case and which control is decided once, by :func:`exomir.cohort.select_groups`:
``control`` is a group, several pooled into one arm (``"LC+CHB"`` or a list inside the list),
and for :func:`differential` and :func:`roc` a list of such arms, one comparison each.

Submodules load on first use, so ``import exomir.tools`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name → (module, name in the module)
_EXPORTS = {
    "differential": ("_differential", "differential_expression"),
    "roc": ("_roc", "roc_screen"),
    "panel": ("_panel", "panel_analysis"),
    "survival": ("_survival", "survival_screen"),
    "km": ("_survival", "km_curves"),
    "cox": ("_survival", "cox_regression"),
    "prognostic_panel": ("_prognostic_panel", "prognostic_panels"),
    "trend": ("_trend", "stage_trend"),
    "enrich": ("_enrich", "enrich_mirnas"),
    # results and options of the verbs
    "PanelAnalysis": ("_panel", "PanelAnalysis"),
    "PanelOptions": ("_panel", "PanelOptions"),
    "KMCurves": ("_survival", "KMCurves"),
    "CoxResult": ("_survival", "CoxResult"),
    # what the workflows need beside the verbs
    "read_afp": ("_panel", "read_afp"),
    "with_afp": ("_panel", "with_afp"),
    "direction_prior": ("_roc", "direction_prior"),
    "detected_fraction": ("_survival", "detected_fraction"),
    "endpoint_name": ("_survival", "endpoint_name"),
    "time_unit": ("_survival", "time_unit"),
    "where": ("_survival", "where"),
    "stage_order": ("_trend", "stage_order"),
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for readers and type checkers; at run time the names load on first use
    from exomir.tools._differential import differential_expression as differential
    from exomir.tools._enrich import enrich_mirnas as enrich
    from exomir.tools._panel import PanelAnalysis, PanelOptions, read_afp, with_afp
    from exomir.tools._panel import panel_analysis as panel
    from exomir.tools._prognostic_panel import prognostic_panels as prognostic_panel
    from exomir.tools._roc import direction_prior
    from exomir.tools._roc import roc_screen as roc
    from exomir.tools._survival import CoxResult, KMCurves, detected_fraction, endpoint_name, time_unit, where
    from exomir.tools._survival import cox_regression as cox
    from exomir.tools._survival import km_curves as km
    from exomir.tools._survival import survival_screen as survival
    from exomir.tools._trend import stage_order
    from exomir.tools._trend import stage_trend as trend


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
