"""Commands of exomir: quantify (registered on the root app)."""

from __future__ import annotations

from pathlib import Path

import typer

from exomir.cli._app import app


@app.command("quantify")
def quantify_command(
    fastq: list[Path] = typer.Argument(..., help="FASTQ files (plain or gzip), one per sample."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (counts.csv, qc.csv, isomirs.gff3)."),
    adapter: str = typer.Option("auto", "--adapter", help="3' adapter sequence, 'auto' (detect) or 'none' (already trimmed)."),
    umi: bool = typer.Option(None, "--umi/--no-umi", help="Deduplicate by (insert, UMI after the adapter). Default: on for QIAseq."),
    umi_length: int = typer.Option(12, "--umi-length", help="UMI length (nt after the adapter)."),
    trim_4n: bool = typer.Option(False, "--trim-4n", help="Remove 4 random bases from both insert ends (NEXTflex)."),
    min_length: int = typer.Option(16, "--min-length", help="Shortest insert kept."),
    max_length: int = typer.Option(30, "--max-length", help="Longest insert kept."),
    error_rate: float = typer.Option(0.1, "--error-rate", help="Adapter errors allowed per aligned base (cutadapt -e)."),
    min_overlap: int = typer.Option(3, "--min-overlap", help="Shortest partial adapter removed at the read end (cutadapt -O)."),
    mirbase: Path = typer.Option(None, "--mirbase", help="miRBase folder (default: EXOMIR_MIRBASE or download)."),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Worker processes (default: one per core)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786) to run samples on."),
) -> None:
    """Count miRNAs and isomiRs in small RNA-seq FASTQ files.

    Exit status: 0 when every sample was counted; 1 when some samples failed (their error is in
    qc.csv and printed; the other samples' results are written); 2 when nothing could run
    (bad options, missing reference data).
    """
    from exomir.progress import console, info
    from exomir.quant import QuantOptions, quantify

    options = QuantOptions(
        adapter=adapter, umi=umi, umi_length=umi_length, trim_4n=trim_4n, min_length=min_length,
        max_length=max_length, max_error_rate=error_rate, min_overlap=min_overlap,
    )
    run = quantify(fastq, out, options=options, mirbase=mirbase, jobs=jobs, scheduler=scheduler)
    for name, result in run.results.items():
        qc = result.qc
        info(f"{name}: {qc['reads_in']:,} reads, adapter {qc['adapter'] or '-'} ({qc['adapter_source']}), "
             f"{qc['assigned_mirna']:,} to miRNAs ({qc['fraction_assigned']:.1%} of kept)")
    info(f"wrote {out}/counts.csv, qc.csv, isomirs.gff3 ({len(run.results)} sample(s), {len(run.reused)} reused)")
    if run.failed:
        for name, message in run.failed.items():
            console.print(f"[red]failed:[/red] {name}: {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
