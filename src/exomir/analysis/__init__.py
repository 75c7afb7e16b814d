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
from exomir.analysis.output import TABLE_NAMES, write_results
from exomir.analysis.pipeline import run_analysis
from exomir.errors import InputError
from exomir.results import AnalysisResult, AnalysisSettings

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


def parse_endpoint(text: str) -> tuple[str, str, str]:
    """``OS:OS_days:OS_event`` → (name, time column, event column)."""
    parts = [part.strip() for part in str(text).split(":")]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"--survival {text!r} is not NAME:TIME_COLUMN:EVENT_COLUMN",
                         expected="e.g. OS:OS_days:OS_event")
    return parts[0], parts[1], parts[2]


def analyze(
    expression: str | Path | Sequence[str | Path],
    clinical: str | Path | None,
    out: str | Path,
    *,
    measure: str = "auto",
    normalization: str = "auto",
    group: str | None = None,
    case: str = "HCC",
    controls: Iterable[str] | str | None = None,
    afp: str | None = None,
    time: str | None = None,
    event: str | None = None,
    endpoint: str | None = None,
    survival: Iterable[str] | None = None,
    adjust: Iterable[str] | str | None = None,
    horizons: Iterable[float] | None = None,
    time_unit: str | None = None,
    prognostic_panel: bool = True,
    covariates: Iterable[str] | str | None = None,
    sample_column: str | None = None,
    stage: str | None = None,
    panels: bool = True,
    panel_options: dict | None = None,
    seed: int = 0,
    calibrator: str | Sequence[str] | None = None,
    reference: Iterable[str] | str | None = None,
    spike_in: str | None = None,
    folds: int | None = None,
    figures: bool = False,
    control_rnas: Iterable[str] | str | None = None,
    lod: float = 35.0,
    patient: str | None = None,
    direction: str = "auto",
    permutations: int | None = None,
) -> AnalysisResult:
    """Read, analyze and write the results folder ``out`` (nothing is left behind on failure).

    ``expression`` is one file, or several qPCR exports (the plates of one study; ``calibrator``
    names the inter-plate calibrator sample(s)). ``normalization="reference"`` normalizes Cq values
    to the ``reference`` miRNAs, ``"spike"`` to the ``spike_in`` assay. ``folds`` sets the outer
    and inner folds of the panels' nested cross-validation (small cohorts). ``figures`` also
    writes every report figure as SVG into ``out/figures`` (needs Chromium). ``direction`` gives
    the ROC direction in advance (``higher_in_case``, ``lower_in_case`` or a CSV of mirna,direction;
    default ``auto``: from the data). ``permutations`` sets the label permutations of each panel's
    permutation test. Every results folder
    holds ``params.json`` (these options, versions and input checksums: ``exomir analyze
    --params`` re-runs it) and ``run.log``.
    """
    import time as _time

    from exomir.analysis.params import analysis_params, log_text, params_text
    from exomir.atomic import staged_directory
    from exomir.io import load_cohort
    from exomir.progress import recording

    options = {k: v for k, v in locals().items() if k in _OPTION_NAMES}
    started = _time.perf_counter()
    if figures:
        from exomir.report.export import find_chromium

        find_chromium()  # before the work: say now, not after minutes, that the export cannot run
    if folds is not None:
        if folds < 2:
            raise InputError(f"--folds {folds}: cross-validation needs at least 2 folds", expected="an integer ≥ 2")
        panel_options = {**dict(panel_options or {}), "outer_folds": folds, "inner_folds": folds}
    if permutations is not None:
        if permutations < 0:
            raise InputError(f"--permutations {permutations}: cannot be negative", expected="an integer ≥ 0")
        panel_options = {**dict(panel_options or {}), "permutations": permutations}
    from exomir.stats.roc import direction_prior

    direction_prior(direction)  # a bad --direction is reported before the work, not after it
    endpoints = tuple(parse_endpoint(text) for text in (survival or ()))
    settings = AnalysisSettings(
        survival=endpoints, adjust=tuple(split_values(adjust)), horizons=tuple(float(h) for h in (horizons or ())),
        time_unit=time_unit, prognostic_panel=prognostic_panel,
        group=group or "group", case=case, controls=tuple(split_values(controls)), measure=measure,
        normalization=normalization, reference=tuple(split_values(reference)), spike_in=spike_in, afp=afp,
        time=time, event=event, endpoint=endpoint,
        covariates=tuple(split_values(covariates)), sample_column=sample_column, stage=stage, panels=panels,
        panel_options=dict(panel_options or {}), seed=seed, control_rnas=tuple(split_values(control_rnas)),
        nondetect_lod=float(lod), patient=patient, direction=str(direction),
    )  # fmt: skip
    numeric = [c for c in (afp, time, event) if c] + [c for e in endpoints for c in e[1:]]
    # without --group, a prognosis run needs no group column; the default one is used when present
    load_group = group if group is not None else (None if (endpoints or time) else "group")
    with staged_directory(out) as staging, recording() as log:
        params = analysis_params(options)
        (staging / "params.json").write_text(params_text(params), encoding="utf-8", newline="")
        adata = load_cohort(expression, clinical, measure=measure, sample_column=sample_column, group=load_group,
                            numeric=numeric, calibrator=calibrator, lod=lod,
                            # the default group column, when present, is read as labels all the same:
                            # "HCC" and "hcc" must not become two groups of a prognosis run's comparisons
                            labels=[*([patient] if patient else []), *([] if load_group else [settings.group])])
        result = run_analysis(adata, settings)
        written = write_results(result, staging)
        if figures:
            from exomir.report.export import export_figures

            export_figures(written["report"], staging / "figures")
        (staging / "run.log").write_text(log_text(log, elapsed=_time.perf_counter() - started), encoding="utf-8",
                                         newline="")
    return result


_OPTION_NAMES = ("expression", "clinical", "measure", "normalization", "group", "case", "controls", "afp", "time",
                 "event", "endpoint", "survival", "adjust", "horizons", "time_unit", "prognostic_panel", "covariates",
                 "sample_column", "stage", "panels", "panel_options", "seed",
                 "calibrator", "reference", "spike_in", "folds", "figures", "control_rnas", "lod",
                 "patient", "direction", "permutations")
