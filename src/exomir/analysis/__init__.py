"""``exomir analyze``: from an expression table and a clinical table to a report and result tables.

``analyze`` reads the files, runs :func:`run_analysis` and writes, all or nothing, into ``out``:
``report.html`` (self-contained), ``cohort.h5ad`` and ``tables/`` (``differential.csv``,
``roc.csv``, ``qc.csv``, ``survival.csv`` when survival columns are given, ``evidence.csv``,
``enrichment.csv``, ``afp_cutoff.csv``, ``exclusions.csv``). Same input and seed, same table bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from exomir.analysis.comparisons import Comparison, plan_comparisons, split_values
from exomir.analysis.pipeline import AnalysisResult, AnalysisSettings, run_analysis
from exomir.analysis.output import TABLE_NAMES, write_results

__all__ = [
    "AnalysisResult",
    "AnalysisSettings",
    "Comparison",
    "TABLE_NAMES",
    "analyze",
    "plan_comparisons",
    "run_analysis",
    "split_values",
    "write_results",
]


def analyze(
    expression: str | Path | Sequence[str | Path],
    clinical: str | Path | None,
    out: str | Path,
    *,
    measure: str = "auto",
    normalization: str = "auto",
    group: str = "group",
    case: str = "HCC",
    controls: Iterable[str] | str | None = None,
    afp: str | None = None,
    time: str | None = None,
    event: str | None = None,
    endpoint: str = "DFS",
    covariates: Iterable[str] | str | None = None,
    sample_column: str | None = None,
    stage: str | None = None,
    panels: bool = True,
    panel_options: dict | None = None,
    seed: int = 0,
    calibrator: str | Sequence[str] | None = None,
) -> AnalysisResult:
    """Read, analyze and write the results folder ``out`` (nothing is left behind on failure).

    ``expression`` is one file, or several qPCR exports (the plates of one study; ``calibrator``
    names the inter-plate calibrator sample(s)).
    """
    from exomir.atomic import staged_directory
    from exomir.io import load_cohort

    settings = AnalysisSettings(
        group=group, case=case, controls=tuple(split_values(controls)), measure=measure,
        normalization=normalization, afp=afp, time=time, event=event, endpoint=endpoint,
        covariates=tuple(split_values(covariates)), sample_column=sample_column, stage=stage, panels=panels,
        panel_options=dict(panel_options or {}), seed=seed,
    )  # fmt: skip
    numeric = [c for c in (afp, time, event) if c]
    with staged_directory(out) as staging:
        adata = load_cohort(expression, clinical, measure=measure, sample_column=sample_column, group=group,
                            numeric=numeric, calibrator=calibrator)
        result = run_analysis(adata, settings)
        write_results(result, staging)
    return result
