"""The settings and result objects of exomir's workflows, below both the workflows that fill them
(:mod:`exomir.analysis`) and the report that reads them (:mod:`exomir.report`).

* :class:`AnalysisSettings` — what ``analyze`` was asked (the methods section, ``uns``);
* :class:`AnalysisResult` — what it found: the Cohort, the tables and the curves the report draws;
* :class:`MetaAnalysis` — a finished cross-study meta-analysis (``exomir meta``).

Nothing here computes: the objects are filled by the workflows and read by the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import pandas as pd

from exomir.stats.meta import MetaResult


@dataclass
class AnalysisSettings:
    """What was asked for (recorded in the report's methods section and in ``uns``)."""

    group: str = "group"
    case: str = "HCC"
    controls: tuple[str, ...] = ()
    measure: str = "auto"
    normalization: str = "auto"
    reference: tuple[str, ...] = ()  # reference miRNAs of --normalization reference
    spike_in: str | None = None  # spike-in assay of --normalization spike
    afp: str | None = None
    afp_cutoff: float = 20.0
    stage: str | None = None
    panels: bool = True
    panel_options: dict[str, Any] = field(default_factory=dict)  # passed to stats.panel.panel_analysis
    direction: str = "auto"  # ROC direction: auto, higher_in_case, lower_in_case or a CSV of mirna,direction
    time: str | None = None
    event: str | None = None
    endpoint: str | None = None  # default: named after the columns (OS_days + OS_event → OS)
    survival: tuple[tuple[str, str, str], ...] = ()  # more endpoints: (name, time column, event column)
    adjust: tuple[str, ...] = ()  # clinical covariates of the adjusted Cox models
    horizons: tuple[float, ...] = ()  # times of the time-dependent AUC
    time_unit: str | None = None  # default: read from the time column's name
    prognostic_panel: bool = True
    covariates: tuple[str, ...] = ()
    sample_column: str | None = None
    seed: int = 0
    nondetect_lod: float = 35.0
    nondetect_max_fraction: float = 0.5
    survival_min_detected: float = 0.5
    control_rnas: tuple[str, ...] = ()  # extra spike-in/control column names (QC and normalization only)
    patient: str | None = None  # clinical column: the patient of each sample (grouped CV folds, a label)

    def endpoints(self) -> list[tuple[str, str, str]]:
        """(name, time column, event column) of every survival endpoint asked for."""
        from exomir.stats.survival import endpoint_name

        out = []
        if self.time and self.event:
            out.append((self.endpoint or endpoint_name(self.time, self.event), self.time, self.event))
        out += [tuple(e) for e in self.survival if tuple(e) not in out]
        return out

    def as_dict(self) -> dict[str, Any]:
        out = {}
        for key, value in self.__dict__.items():
            if key == "survival":
                value = [":".join(map(str, e)) for e in value]
            if isinstance(value, tuple):
                value = [str(v) for v in value]
            elif isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
            out[key] = "" if value is None else value
        return out


@dataclass
class AnalysisResult:
    """Everything ``analyze`` found: the Cohort, the tables and what the report draws."""

    adata: ad.AnnData
    settings: AnalysisSettings
    comparisons: list[Any]  # exomir.analysis.comparisons.Comparison, until it moves below the report
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    roc_curves: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    panel_analyses: dict[str, Any] = field(default_factory=dict)  # comparison → stats.panel.PanelAnalysis
    km_curves: dict[str, Any] = field(default_factory=dict)  # "endpoint: miRNA" → survival.KMCurves
    time_roc_curves: pd.DataFrame | None = None  # cumulative/dynamic ROC curves at the horizons
    notes: list[str] = field(default_factory=list)


@dataclass
class MetaAnalysis:
    """A finished cross-study meta-analysis: the tables that are written and the fits behind them."""

    measure: str
    method: str
    test: str
    min_studies: int
    studies: list[str]
    sources: list[str]
    summary: pd.DataFrame
    forest: pd.DataFrame
    excluded: pd.DataFrame
    comparison: str | None = None
    endpoint: str | None = None
    results: dict[str, MetaResult] = field(default_factory=dict)  # by mirna (display name)
