"""Commands of exomir: quantify (registered on the root app)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from exomir.cli._app import app

log = logging.getLogger(__name__)


@app.command("quantify")
def quantify_command(
    fastq: list[Path] = typer.Argument(None, help="FASTQ files (plain or gzip), one per sample."),
    samples: Path = typer.Option(None, "--samples", help="Sample sheet CSV: sample,fastq[,adapter,umi] (see the README)."),
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
    threads: int = typer.Option(None, "--threads", "-t", help="Threads of the read kernel per sample (default: one per core)."),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Samples run at once in worker processes (default 1)."),
    ncrna: Path = typer.Option(None, "--ncrna", help="Folder of tRNA/rRNA/ncRNA/artifact FASTA for the RNA-type composition (default: EXOMIR_NCRNA or download)."),
    no_rna_types: bool = typer.Option(False, "--no-rna-types", help="Skip the RNA-type composition (no ncRNA reference needed)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786) to run samples on."),
) -> None:
    """Count miRNAs and isomiRs in small RNA-seq FASTQ files.

    Exit status: 0 when every sample was counted; 1 when some samples failed or were flagged (no
    read assigned to a miRNA; the reason is in qc.csv and printed; the other samples' results are
    written); 2 when nothing could run (bad options, an --out that is a file, missing reference data).
    """
    from exomir.errors import InputError
    from exomir.logs import error
    from exomir.quant import QuantOptions, quantify
    from exomir.quant.samples import read_sample_sheet

    for name, value in (("--threads", threads), ("--jobs", jobs)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1 (got {value})")
    sheet = read_sample_sheet(samples) if samples is not None else []
    if not fastq and not sheet:
        raise InputError("give FASTQ files or --samples sheet.csv")

    options = QuantOptions(
        adapter=adapter, umi=umi, umi_length=umi_length, trim_4n=trim_4n, min_length=min_length,
        max_length=max_length, max_error_rate=error_rate, min_overlap=min_overlap,
    )
    run = quantify(fastq or [], out, options=options, mirbase=mirbase, jobs=jobs, threads=threads,
                   scheduler=scheduler, samples=sheet, ncrna=False if no_rna_types else ncrna)
    log.info(f"wrote {out}/counts.csv, qc.csv, isomirs.gff3, quantify_report.html, run.log ({len(run.results)} sample(s), "
             f"{len(run.reused)} reused)")
    if run.failed or run.flagged:
        for name, message in run.failed.items():
            error(f"{name}: {message}", label="failed")
        for name, message in run.flagged.items():
            error(f"{name}: {message}", label="flagged")
        raise typer.Exit(1)
