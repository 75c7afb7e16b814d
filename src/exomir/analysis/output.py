"""Write an analysis into a results folder: tables (fixed formatting), the Cohort and the report."""

from __future__ import annotations

from pathlib import Path

from exomir.analysis.pipeline import AnalysisResult
from exomir.analysis.tables import to_csv_text
from exomir.cohort import exclusions

#: Tables in the order they are written; those not computed in a run are simply absent.
TABLE_NAMES = ("differential", "roc", "survival", "qc", "evidence", "enrichment", "afp_cutoff", "panels",
               "panel_subgroups", "nondetects", "trend", "time_roc", "prognostic_panel", "exclusions")


def write_results(result: AnalysisResult, folder: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``cohort.h5ad`` and ``tables/*.csv`` into ``folder``; returns the paths."""
    from exomir.io.h5ad import write_h5ad
    from exomir.report import render_report

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
    written["cohort"] = write_h5ad(result.adata, folder / "cohort.h5ad")
    report = folder / "report.html"
    report.write_text(render_report(result), encoding="utf-8", newline="")
    written["report"] = report
    return written
