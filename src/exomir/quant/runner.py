"""Many samples: a process pool or a Dask cluster, resumable, with all-or-nothing outputs.

Outputs in ``OUT``
------------------
``counts.csv``          mature miRNAs (canonical miRBase names, rows) × samples (columns); a read
                        shared by several miRNAs is split evenly, and the split counts are
                        rounded to whole reads half to even (numpy.rint), so the table holds
                        integers as DESeq2 needs; ``analyze`` reads it as a counts cohort.
``counts_exact.csv``    the same before rounding.
``hairpin_counts.csv``  reads placed on a hairpin but on no mature arm, by hairpin.
``qc.csv``              one row per sample given, failed ones included (columns in
                        :data:`QC_COLUMNS`; read bookkeeping in :mod:`exomir.quant.sample`).
``isomirs.gff3``        mirtop mirGFF3 1.1: every distinct insert placed on a mature arm, with
                        its variant, CIGAR and per-sample expression (reads or UMI molecules).

Each sample is one task (FASTQ path in, :class:`SampleResult` out). Finished samples are saved
at once, atomically, as ``OUT/.samples/<sample>.json.gz`` together with a fingerprint of the
input file (size, modification time), the options and the miRBase reference; a rerun reuses
every saved sample whose fingerprint still matches and computes only the rest, so an interrupted
run resumes where it stopped. The final tables are built in a staging folder and moved into
``OUT`` only when all of them are written.

A sample whose file is bad (truncated gzip, malformed record, empty, not FASTQ) fails alone:
it produces no counts, the other samples go on, and the failure is listed in ``qc.csv``
(``status`` = ``failed``, ``error`` naming the file and record) and in :attr:`QuantRun.failed`.

Running on a cluster
--------------------
``scheduler`` takes the address of a running Dask distributed scheduler
(``tcp://host:8786``) or a ``distributed.Client``. The workers need the exomir package and must
see the FASTQ paths (shared file system); the reference is loaded once per worker process. On
SLURM, start workers with dask-jobqueue and hand its scheduler address over::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=4, memory="16GB", walltime="02:00:00",
                           job_extra_directives=["--partition=short"])
    cluster.scale(jobs=10)                      # ten SLURM jobs of four workers each
    print(cluster.scheduler_address)            # tcp://10.0.0.5:8786

    $ exomir quantify data/*.fastq.gz --out counts/ --scheduler tcp://10.0.0.5:8786

(``pip install dask-jobqueue`` on the submitting host; the same tasks run, so the counts are
identical to a local run.)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exomir import __version__
from exomir.atomic import atomic_open, staged_directory
from exomir.errors import ExomirError, InputError
from exomir.progress import info, track, warn
from exomir.quant.fastq import CHUNK_READS, sample_name
from exomir.quant.isomir import assign
from exomir.quant.mirgff import gff_header, gff_lines
from exomir.quant.reference import load_reference
from exomir.quant.sample import QuantOptions, SampleResult, quantify_file

QC_COLUMNS = [
    "sample", "status", "error", "file", "reads_in", "adapter", "adapter_source", "adapter_in_sample", "no_adapter",
    "adapter_dimer", "too_short", "too_long", "ambiguous_n", "reads_kept", "umi", "umi_duplicates", "umi_missing",
    "molecules", "assigned_mirna", "assigned_hairpin", "unassigned", "fraction_assigned",
    "isomir_fraction", "distinct_inserts", "mirnas_detected", "top_mirnas",
]


@dataclass
class QuantRun:
    """What a run produced: per-sample results, which were reused, which failed and why."""

    out: Path
    results: dict[str, SampleResult] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # sample -> error message
    counts: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def _fingerprint(path: Path, sample: str, options: QuantOptions, reference_id: str) -> dict:
    stat = path.stat()
    return {"sample": sample, "file": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "options": options.key(), "reference": reference_id}


def _run_one(path: str, sample: str, options: QuantOptions, mirbase: str | None, chunk_reads: int,
             workers: int = 1):
    """One task (runs in a worker): ``("ok", SampleResult)`` or ``("failed", message)``."""
    try:
        reference = load_reference(mirbase)
        return "ok", quantify_file(path, reference, options, sample=sample, chunk_reads=chunk_reads, workers=workers)
    except ExomirError as exc:
        return "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - one sample's crash must not stop the others
        return "failed", f"{path}: {type(exc).__name__}: {exc}"


def quantify(
    fastqs: list[str | Path],
    out: str | Path,
    *,
    options: QuantOptions = QuantOptions(),
    mirbase: str | Path | None = None,
    jobs: int | None = None,
    scheduler=None,
    chunk_reads: int = CHUNK_READS,
) -> QuantRun:
    """Quantify FASTQ files into ``out``: counts.csv, counts_exact.csv, hairpin_counts.csv, qc.csv,
    isomirs.gff3 (GUIDE §3). ``jobs``: worker processes (default: one per core, 1 = in-process);
    ``scheduler``: Dask scheduler address or Client (overrides ``jobs``)."""
    paths = [Path(p) for p in fastqs]
    if not paths:
        raise InputError("no FASTQ files given")
    names = [sample_name(p) for p in paths]
    seen: dict[str, Path] = {}
    for name, path in zip(names, paths):
        if name in seen:
            raise InputError(f"two files give the same sample name {name!r} (also {seen[name]})", path=path)
        seen[name] = path
    out = Path(out)
    state = out / ".samples"
    state.mkdir(parents=True, exist_ok=True)
    source = str(mirbase) if mirbase is not None else None
    reference = load_reference(source)
    run = QuantRun(out)

    pending = []
    fingerprints = {}
    for name, path in zip(names, paths):
        if not path.exists():
            run.failed[name] = f"{path}: file not found"
            continue
        fp = _fingerprint(path, name, options, reference.fingerprint)
        fingerprints[name] = fp
        saved = SampleResult.load(state / f"{name}.json.gz", fp)
        if saved is not None:
            run.results[name] = saved
            run.reused.append(name)
        else:
            pending.append((str(path), name))
    if run.reused:
        info(f"reusing {len(run.reused)} finished sample(s) from {state}")

    def record(name: str, status: str, payload) -> None:
        if status == "ok":
            payload.save(state / f"{name}.json.gz", fingerprints[name])
            run.results[name] = payload
        else:
            run.failed[name] = payload
            warn(f"sample {name} failed: {payload}")

    for name, status, payload in _execute(pending, options, source, jobs, scheduler, chunk_reads):
        record(name, status, payload)

    _write_outputs(run, names, paths, reference, options)
    return run


def _execute(pending, options, source, jobs, scheduler, chunk_reads):
    """Run the pending samples where asked; yield ``(sample, status, payload)`` as they finish."""
    if not pending:
        return
    if scheduler is not None:
        from distributed import Client
        from distributed import as_completed as dask_completed

        if isinstance(scheduler, Client):
            client = scheduler
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ExomirError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        try:
            futures = {
                client.submit(_run_one, path, name, options, source, chunk_reads, key=f"exomir-quant-{name}", pure=False): name
                for path, name in pending
            }
            for fut in track(dask_completed(futures), "quantify (dask)", total=len(futures)):
                yield (futures[fut], *fut.result())
        finally:
            if client is not scheduler:
                client.close()
        return
    cores = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = min(len(pending), cores)
    if workers <= 1:
        # one sample at a time; with a second core free, each sample is pipelined over two
        per_sample = 2 if cores >= 2 else 1
        for path, name in track(pending, "quantify"):
            yield (name, *_run_one(path, name, options, source, chunk_reads, per_sample))
        return
    # fork: workers inherit the reference already loaded (and cached) by this process
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_run_one, path, name, options, source, chunk_reads): name for path, name in pending}
        for fut in track(as_completed(futures), "quantify", total=len(futures)):
            yield (futures[fut], *fut.result())


def counts_table(results: dict[str, SampleResult], samples: list[str], *, exact: bool = False) -> pd.DataFrame:
    """miRNAs × samples. Split counts are rounded half to even unless ``exact``."""
    ok = [s for s in samples if s in results]
    mirnas = sorted({m for s in ok for m, v in results[s].mirna_counts.items() if v > 0})
    table = pd.DataFrame(0.0, index=pd.Index(mirnas, name="mirna"), columns=ok)
    for s in ok:
        values = results[s].mirna_counts
        table[s] = [values.get(m, 0.0) for m in mirnas]
    if not exact:
        table = np.rint(table).astype(np.int64)  # numpy rounds halves to even
    return table


def _write_outputs(run: QuantRun, names: list[str], paths: list[Path], reference, options: QuantOptions) -> None:
    ok = [s for s in names if s in run.results]
    qc_rows = []
    for name, path in zip(names, paths):
        if name in run.results:
            qc_rows.append(run.results[name].qc)
        else:
            qc_rows.append({"sample": name, "status": "failed", "error": run.failed.get(name, ""), "file": str(path)})
    qc = pd.DataFrame(qc_rows).reindex(columns=QC_COLUMNS)
    counts = counts_table(run.results, names)
    exact = counts_table(run.results, names, exact=True)
    hp_names = sorted({h for s in ok for h, v in run.results[s].hairpin_counts.items() if v > 0})
    hairpin = pd.DataFrame(
        {s: [run.results[s].hairpin_counts.get(h, 0.0) for h in hp_names] for s in ok},
        index=pd.Index(hp_names, name="hairpin"), columns=ok,
    )
    run.counts = counts
    with staged_directory(run.out) as stage:
        with atomic_open(stage / "qc.csv") as fh:
            qc.to_csv(fh, index=False, lineterminator="\n")
        if ok:
            with atomic_open(stage / "counts.csv") as fh:
                counts.to_csv(fh, lineterminator="\n")
            with atomic_open(stage / "counts_exact.csv") as fh:
                exact.to_csv(fh, float_format="%.6g", lineterminator="\n")
            with atomic_open(stage / "hairpin_counts.csv") as fh:
                hairpin.to_csv(fh, float_format="%.6g", lineterminator="\n")
            _write_gff(stage / "isomirs.gff3", run, ok, reference, options)
    if not ok:
        # nothing to count: drop tables of an earlier run so they cannot be mistaken for this one
        for stale in ("counts.csv", "counts_exact.csv", "hairpin_counts.csv", "isomirs.gff3"):
            (run.out / stale).unlink(missing_ok=True)


def _write_gff(path: Path, run: QuantRun, samples: list[str], reference, options: QuantOptions) -> None:
    inserts = sorted({i for s in samples for i in run.results[s].inserts})
    expression = {i: [run.results[s].inserts.get(i, 0) for s in samples] for i in inserts}
    assignments = {i: assign(i, reference) for i in inserts}
    command = "exomir quantify " + json.dumps(json.loads(options.key()), sort_keys=True)
    with atomic_open(path) as fh:
        for line in gff_header(samples, release=reference.release, tool=f"exomir {__version__}", commands=[command]):
            fh.write(line + "\n")
        for line in gff_lines(assignments, expression, source=f"miRBase{_release_number(reference.release)}"):
            fh.write(line + "\n")


def _release_number(release: str) -> str:
    digits = "".join(ch for ch in release if ch.isdigit() or ch == ".")
    return digits.strip(".") or "22"


def clear_state(out: str | Path) -> None:
    """Forget saved per-sample results (the next run recomputes everything)."""
    shutil.rmtree(Path(out) / ".samples", ignore_errors=True)
