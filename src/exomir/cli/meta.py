"""Commands of exomir: cross-study meta-analysis (registered on the root app)."""

from __future__ import annotations

import typer

from exomir.cli._app import app


@app.command("meta")
def meta_command(
    inputs: list[str] = typer.Argument(
        ..., metavar="RESULTS_DIR_OR_TABLE...",
        help="exomir analyze folders and/or study CSVs (study, mirna, and yi/vi, auc + CI, hr + CI, "
             "tp/fp/fn/tn or log2fc/lfc_se)."),
    out: str = typer.Option(..., "--out", "-o", help="Folder for meta.csv, forest.csv, excluded.csv, forest.html."),
    measure: str | None = typer.Option(None, "--measure",
                                       help="auc | log_hr | log_dor | log2fc | generic (default: auc for analyze "
                                            "folders, else what the study table holds)."),
    method: str = typer.Option("REML", "--method", help="Between-study variance: REML or DL (DerSimonian-Laird)."),
    comparison: str | None = typer.Option(
        None, "--comparison", help="Comparison to pool, e.g. HCC_vs_LC (needed when the tables hold several)."),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Endpoint of survival.csv to pool (when there are several)."),
    test: str = typer.Option("z", "--test", help="z, or knha (Hartung-Knapp: t with k-1 df, advised for few cohorts)."),
    min_studies: int = typer.Option(2, "--min-studies", help="Pool a miRNA only when this many cohorts have it."),
    direction: str | None = typer.Option(
        None, "--direction",
        help="higher_in_case or lower_in_case: the direction every cohort's AUC is put in before pooling "
             "(default: the first cohort's, reported in meta.csv)."),
) -> None:
    """Pool miRNAs across cohorts or published studies (random effects); forest plots in forest.html."""
    from exomir.analysis.meta import run_meta

    run_meta(inputs, out, measure=measure, method=method, comparison=comparison, endpoint=endpoint,
             test=test, min_studies=min_studies, direction=direction)
