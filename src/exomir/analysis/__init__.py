"""``exomir analyze``: from an expression table and a clinical table to a report and result tables.

``analyze`` reads the files, runs :func:`run_analysis` and writes, all or nothing, into ``out``:
``report.html`` (self-contained), ``cohort.h5ad`` and ``tables/`` (``differential.csv``,
``roc.csv``, ``qc.csv``, ``survival.csv`` when survival columns are given, ``evidence.csv``,
``enrichment.csv``, ``afp_cutoff.csv``, ``exclusions.csv``). Same input and seed, same table bytes.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exomir.analysis.comparisons import Comparison, plan_comparisons, split_values
from exomir.analysis.output import TABLE_NAMES, write_results
from exomir.analysis.pipeline import run_analysis
from exomir.errors import InputError
from exomir.results import ANALYZE_OPTIONS, AnalysisResult, AnalysisSettings
from exomir.analysis.params import analysis_params, params_text
from exomir.atomic import staged_directory
from exomir.io import read
from exomir.logs import run_log
from exomir.report.export import export_figures, find_chromium
from exomir.tools import direction_prior

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


def analyze(expression: str | Path | Sequence[str | Path], clinical: str | Path | None, out: str | Path,
            **options: Any) -> AnalysisResult:
    """Read, analyze and write the results folder ``out`` (nothing is left behind on failure).

    The keyword options are those of ``exomir analyze`` (:data:`exomir.results.ANALYZE_OPTIONS`
    declares them, with their defaults): ``controls``, ``afp``, ``time``/``event``, ``panels``...
    ``expression`` is one file, or several qPCR exports (the plates of one study; ``calibrator``
    names the inter-plate calibrator sample(s)). ``normalization="reference"`` normalizes Cq values
    to the ``reference`` miRNAs, ``"spike"`` to the ``spike_in`` assay. ``folds`` sets the outer
    and inner folds of the panels' nested cross-validation (small cohorts). ``figures`` also
    writes every report figure as SVG into ``out/figures`` (needs Chromium). ``direction`` gives
    the ROC direction in advance (``higher_in_case``, ``lower_in_case`` or a CSV of mirna,direction;
    default ``auto``: from the data). ``permutations`` sets the label permutations of each panel's
    permutation test, ``bootstraps`` the bootstrap draws behind each panel's AUC interval. Every results folder
    holds ``params.json`` (these options, versions and input checksums: ``exomir analyze
    --params`` re-runs it) and ``run.log``.
    """
    import time as _time

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"analyze() got unexpected keyword argument(s) {', '.join(unknown)}")
    given = {"expression": expression, "clinical": clinical, **options}
    options = {name: given.get(name, option.value) for name, option in OPTIONS.items()}
    started = _time.perf_counter()
    if options["figures"]:
        find_chromium()  # before the work: say now, not after minutes, that the export cannot run
    settings = analysis_settings(options)
    endpoints = settings.survival
    numeric = [c for c in (settings.afp, settings.time, settings.event) if c] + [c for e in endpoints for c in e[1:]]
    # without --group, a prognosis run needs no group column; the default one is used when present
    group = options["group"]
    load_group = group if group is not None else (None if (endpoints or settings.time) else "group")
    patient = settings.patient
    with run_log(started) as record, staged_directory(out) as staging:
        params = analysis_params(options)
        (staging / "params.json").write_text(params_text(params), encoding="utf-8", newline="")
        adata = read(expression, clinical, measure=settings.measure, sample_column=settings.sample_column,
                     group=load_group, numeric=numeric, calibrator=options["calibrator"],
                     lod=options["lod"],
                     # the default group column, when present, is read as labels all the same:
                     # "HCC" and "hcc" must not become two groups of a prognosis run's comparisons
                     labels=[*([patient] if patient else []), *([] if load_group else [settings.group])])
        result = run_analysis(adata, settings)
        written = write_results(result, staging)
        if options["figures"]:
            export_figures(written["report"], staging / "figures")
        record.write(staging / "run.log")
    return result


#: the options of analyze by keyword (declared once, in exomir.results)
OPTIONS = {option.name: option for option in ANALYZE_OPTIONS}


def analysis_settings(options: dict[str, Any]) -> AnalysisSettings:
    """The AnalysisSettings of ``analyze``'s options: each option sets the field ANALYZE_OPTIONS
    names (repeatable and comma-separated values become tuples); ``folds``, ``permutations`` and
    ``bootstraps`` go into the panels' options."""
    panel_options = dict(options.get("panel_options") or {})
    folds = options.get("folds")
    if folds is not None:
        if folds < 2:
            raise InputError(f"--folds {folds}: cross-validation needs at least 2 folds", expected="an integer ≥ 2")
        panel_options = {**panel_options, "outer_folds": folds, "inner_folds": folds}
    for name in ("permutations", "bootstraps"):
        count = options.get(name)
        if count is not None:
            if count < 0:
                raise InputError(f"--{name} {count}: cannot be negative", expected="an integer ≥ 0")
            panel_options = {**panel_options, name: count}

    direction_prior(options.get("direction", "auto"))  # a bad --direction is reported before the work
    values: dict[str, Any] = {}
    for option in ANALYZE_OPTIONS:
        if option.setting is None or option.name not in options:
            continue
        value = options[option.name]
        if option.name == "survival":
            value = tuple(parse_endpoint(text) for text in (value or ()))
        elif option.many and option.kind is float:
            value = tuple(float(v) for v in (value or ()))
        elif option.many:
            value = tuple(split_values(value))
        elif option.kind is float:
            value = float(value)
        values[option.setting] = value
    values["panel_options"] = panel_options
    values["group"] = values.get("group") or "group"
    values["direction"] = str(values.get("direction", "auto"))
    return AnalysisSettings(**values)


def _signature() -> inspect.Signature:
    """analyze(expression, clinical, out, *, <every other option with its default>)."""
    positional = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                  for name in ("expression", "clinical", "out")]
    keywords = [inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=option.value)
                for option in ANALYZE_OPTIONS if option.name not in ("expression", "clinical")]
    return inspect.Signature([*positional, *keywords], return_annotation="AnalysisResult")


analyze.__signature__ = _signature()  # help(analyze) and params.json's option check read it
