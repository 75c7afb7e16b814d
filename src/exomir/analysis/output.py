"""Write an analysis into a results folder: tables (fixed formatting), the Cohort and the report."""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from pathlib import Path

from exomir.analysis.tables import to_csv_text
from exomir.cohort import exclusions
from exomir.results import AnalysisResult
from exomir.io.h5ad import write_h5ad
from exomir.report import render_report

#: Tables in the order they are written; those not computed in a run are simply absent.
TABLE_NAMES = ("differential", "roc", "survival", "qc", "evidence", "enrichment", "afp_cutoff", "panels",
               "panel_subgroups", "nondetects", "trend", "time_roc", "prognostic_panel", "exclusions")


def write_results(result: AnalysisResult, folder: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``cohort.h5ad`` and ``tables/*.csv`` into ``folder``; returns the paths."""
    folder = Path(folder)
    tables_dir = folder / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    tables = dict(result.tables)
    tables["exclusions"] = exclusions(result.adata)
    written: dict[str, Path] = {}
    for name in TABLE_NAMES:
        if name not in tables:
            continue
        path = tables_dir / f"{name}.csv"
        path.write_text(to_csv_text(tables[name]), encoding="utf-8", newline="")
        written[name] = path
    with _paths_relative_to(result.adata, folder):
        written["cohort"] = write_h5ad(result.adata, folder / "cohort.h5ad")
        report = folder / "report.html"
        report.write_text(render_report(result), encoding="utf-8", newline="")
    written["report"] = report
    return written


@contextlib.contextmanager
def _paths_relative_to(adata, folder: Path) -> Iterator[None]:
    """While the report and the Cohort are written, the input paths they record are relative to
    the results folder: a shared report does not show where the files were on the author's disk.

    The staging folder and the results folder are siblings, so a path relative to one is the
    same relative to the other (inputs written inside the folder, as by the demo, stay inside).
    """
    uns = adata.uns.get("exomir")
    if not isinstance(uns, dict):
        yield
        return
    original = uns
    adata.uns["exomir"] = _relative(copy.deepcopy(dict(uns)), Path(folder).absolute())
    try:
        yield
    finally:
        adata.uns["exomir"] = original


def _relative(value, folder: Path):
    if isinstance(value, dict):
        return {key: _relative(item, folder) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative(item, folder) for item in value]
    if isinstance(value, str) and os.path.isabs(value) and "\n" not in value:
        return Path(os.path.relpath(value, folder)).as_posix()
    return value
