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
import logging
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exomir._version import __version__
from exomir.atomic import atomic_open, staged_directory
from exomir.errors import ExomirError, InputError, ReferenceDataError
from exomir.logs import RunLog, run_log
from exomir.progress import track
from exomir.quant.fastq import CHUNK_READS
from exomir.quant.kernel import code_lengths, decode_many
from exomir.quant.mirgff import gff_header, gff_rows
from exomir.quant.progress import reads_bar
from exomir.quant.reference import load_reference
from exomir.quant.sample import LOW_MIRNA_SHARE, QuantOptions, SampleResult, quantify_file
from exomir.quant.samples import SampleSpec, check_out, specs_from_paths
from exomir.quant.store import UNASSIGNED_ID, store_for
from exomir.quant.report import write_report
from exomir.quant.rnatypes import load_rna_types

log = logging.getLogger(__name__)

QC_COLUMNS = [
    "sample", "status", "error", "file", "reads_in", "adapter", "adapter_source", "adapter_in_sample", "no_adapter",
    "adapter_dimer", "too_short", "too_long", "ambiguous_n", "reads_kept", "umi", "umi_duplicates", "umi_missing",
    "molecules", "assigned_mirna", "assigned_hairpin", "unassigned", "fraction_assigned",
    "isomir_fraction", "distinct_inserts", "mirnas_detected", "top_mirnas", "mirna_complexity_95",
    "rna_mirna", "rna_trna", "rna_rrna", "rna_other_ncrna", "rna_artifact", "rna_unknown",
    "share_mirna", "share_trna", "share_rrna", "share_other_ncrna", "share_artifact", "share_unknown",
    "low_mirna_share", "insert_lengths",
]
_INTEGER_COLUMNS = [
    "reads_in", "no_adapter", "adapter_dimer", "too_short", "too_long", "ambiguous_n", "reads_kept", "umi_duplicates",
    "umi_missing", "molecules", "assigned_mirna", "assigned_hairpin", "unassigned", "distinct_inserts",
    "mirnas_detected", "mirna_complexity_95", "rna_mirna", "rna_trna", "rna_rrna", "rna_other_ncrna",
    "rna_artifact", "rna_unknown",
]


@dataclass
class QuantRun:
    """What a run produced: per-sample results, which were reused, which failed and why.
    ``flagged``: samples that ran but gave no miRNA read (left out of the count tables)."""

    out: Path
    results: dict[str, SampleResult] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # sample -> error message
    flagged: dict[str, str] = field(default_factory=dict)
    counts: pd.DataFrame | None = None
    ncrna_like: dict[str, str] = field(default_factory=dict)  # miRBase matures lying in a tRNA/rRNA/ncRNA

    @property
    def ok(self) -> bool:
        return not self.failed and not self.flagged


def _fingerprint(spec: SampleSpec, options: QuantOptions, reference_id: str) -> dict:
    stat = spec.fastq.stat()
    return {"sample": spec.sample, "file": str(spec.fastq.resolve()), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "options": options.key(), "reference": reference_id}


def _run_one(path: str, sample: str, options: QuantOptions, mirbase: str | None, chunk_reads: int,
             threads: int = 1, rna_source=None, progress=None):
    """One task: ``("ok", SampleResult)`` or ``("failed", message)``. The assignment store of
    this process is shared by every sample it runs."""
    try:
        reference = load_reference(mirbase)
        rna_types = _rna_types(rna_source)
        return "ok", quantify_file(path, reference, options, sample=sample, chunk_reads=chunk_reads,
                                   workers=threads, store=store_for(reference), rna_types=rna_types,
                                   progress=progress)
    except ExomirError as exc:
        return "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - one sample's crash must not stop the others
        return "failed", f"{path}: {type(exc).__name__}: {exc}"


def _rna_types(source):
    if source is False:
        return None

    return load_rna_types(source)


def quantify(
    fastqs: list[str | Path] | None,
    out: str | Path,
    *,
    options: QuantOptions = QuantOptions(),
    mirbase: str | Path | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    scheduler=None,
    chunk_reads: int = CHUNK_READS,
    samples: list[SampleSpec] | None = None,
    ncrna: str | Path | bool | None = None,
) -> QuantRun:
    """Quantify FASTQ files into ``out``: counts.csv, counts_exact.csv, hairpin_counts.csv, qc.csv,
    isomirs.gff3, quantify_report.html (GUIDE §3).

    ``samples``: a sample sheet's rows (:func:`exomir.quant.samples.read_sample_sheet`), instead of
    or besides ``fastqs``. ``threads``: threads of the read kernel per sample (default: one per
    core); ``jobs``: samples run at once in worker processes (default 1: one sample at a time,
    each on all cores); ``scheduler``: Dask scheduler address or Client (overrides ``jobs``).
    ``ncrna``: folder of the RNA-type references (default ``EXOMIR_NCRNA`` or download; False: no
    RNA-type composition)."""
    specs = specs_from_paths(fastqs or []) + list(samples or [])
    if not specs:
        raise InputError("no FASTQ files given")
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.sample in seen:
            raise InputError(f"two files give the same sample name {spec.sample!r} (also {seen[spec.sample]})",
                             path=spec.fastq)
        seen[spec.sample] = spec.fastq
    out = check_out(out)
    with run_log() as record:  # OUT/run.log: every message of the run
        state = out / ".samples"
        state.mkdir(parents=True, exist_ok=True)
        source = str(mirbase) if mirbase is not None else None
        reference = load_reference(source)
        rna_source = False if ncrna is False else (str(ncrna) if ncrna not in (None, True) else None)
        try:
            rna_types = _rna_types(rna_source)  # fetched (or found) once, before any sample runs
        except ReferenceDataError as exc:
            log.warning(f"no RNA-type composition in qc.csv: {exc}")
            rna_source, rna_types = False, None
        run = QuantRun(out)

        pending = []
        fingerprints = {}
        for spec in specs:
            if not spec.fastq.exists():
                run.failed[spec.sample] = f"{spec.fastq}: file not found"
                continue
            sample_options = spec.options(options)
            fp = _fingerprint(spec, sample_options, reference.fingerprint)
            fp["ncrna"] = rna_types.fingerprint if rna_types is not None else ""
            fingerprints[spec.sample] = fp
            saved = SampleResult.load(state / f"{spec.sample}.json.gz", fp)
            if saved is not None:
                run.results[spec.sample] = saved
                run.reused.append(spec.sample)
            else:
                pending.append((str(spec.fastq), spec.sample, sample_options))
        if run.reused:
            log.info(f"reusing {len(run.reused)} finished sample(s) from {state}")

        for name, status, payload in _execute(pending, source, jobs, threads, scheduler, chunk_reads, rna_source):
            if status == "ok":
                payload.save(state / f"{name}.json.gz", fingerprints[name])
                run.results[name] = payload
            else:
                run.failed[name] = payload
                log.warning(f"sample {name} failed: {payload}")
        for name, result in run.results.items():
            if result.qc.get("status") == "flagged":
                run.flagged[name] = result.qc.get("error", "")
                log.warning(f"sample {name} flagged: {run.flagged[name]}")
            elif result.qc.get("low_mirna_share"):
                log.warning(f"sample {name}: miRNA share {result.qc.get('share_mirna', 0):.1%} of reads is below "
                            f"{LOW_MIRNA_SHARE:.0%} (as miRTrace flags failed QC)")

        if rna_types is not None:
            run.ncrna_like = rna_types.flag_mirnas(reference.mature)
        for name, result in run.results.items():
            qc = result.qc
            log.info(f"{name}: {qc['reads_in']:,} reads, adapter {qc['adapter'] or '-'} ({qc['adapter_source']}), "
                     f"{qc['assigned_mirna']:,} to miRNAs ({qc['fraction_assigned']:.1%} of kept)")
        _write_outputs(run, specs, reference, options, record)
    return run



def _kill_with_parent() -> None:
    """Worker initializer: the kernel kills this worker when its parent dies (Linux)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the call
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _execute(pending, source, jobs, threads, scheduler, chunk_reads, rna_source):
    """Run the pending samples where asked; yield ``(sample, status, payload)`` as they finish."""
    if not pending:
        return
    cores = os.cpu_count() or 1
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
                client.submit(_run_one, path, name, opts, source, chunk_reads, threads or 1, rna_source,
                              key=f"exomir-quant-{name}", pure=False): name
                for path, name, opts in pending
            }
            for fut in track(dask_completed(futures), "quantify (dask)", total=len(futures)):
                yield (futures[fut], *fut.result())
        finally:
            if client is not scheduler:
                client.close()
        return
    workers = min(len(pending), jobs or 1)
    if workers <= 1:
        # one sample at a time, the read kernel on every core; one assignment store for all
        for i, (path, name, opts) in enumerate(pending, start=1):
            with reads_bar(f"{name} ({i}/{len(pending)})") as advance:
                yield (name, *_run_one(path, name, opts, source, chunk_reads, threads or cores, rna_source,
                                       advance))
        return
    # fork: workers inherit the reference already loaded (and cached) by this process
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    per_worker = threads or max(1, cores // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_kill_with_parent) as pool:
        futures = {pool.submit(_run_one, path, name, opts, source, chunk_reads, per_worker, rna_source): name
                   for path, name, opts in pending}
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


def qc_table(run: QuantRun, specs: list[SampleSpec]) -> pd.DataFrame:
    """One row per sample given (failed ones included); integer columns stay integers."""
    rows = []
    for spec in specs:
        if spec.sample in run.results:
            rows.append(run.results[spec.sample].qc)
        else:
            rows.append({"sample": spec.sample, "status": "failed", "error": run.failed.get(spec.sample, ""),
                         "file": str(spec.fastq)})
    qc = pd.DataFrame(rows).reindex(columns=QC_COLUMNS)
    for column in _INTEGER_COLUMNS:
        qc[column] = pd.array(qc[column], dtype="Int64")  # a failed row's blank keeps the others integer
    return qc


def _write_outputs(run: QuantRun, specs: list[SampleSpec], reference, options: QuantOptions, record: RunLog) -> None:
    names = [s.sample for s in specs]
    ok = [s for s in names if s in run.results and s not in run.flagged]
    qc = qc_table(run, specs)
    counted = {s: run.results[s] for s in ok}
    counts = counts_table(counted, names)
    exact = counts_table(counted, names, exact=True)
    hp_names = sorted({h for s in ok for h, v in run.results[s].hairpin_counts.items() if v > 0})
    hairpin = pd.DataFrame(
        {s: [run.results[s].hairpin_counts.get(h, 0.0) for h in hp_names] for s in ok},
        index=pd.Index(hp_names, name="hairpin"), columns=ok,
    )
    run.counts = counts

    with staged_directory(run.out) as stage:
        with atomic_open(stage / "qc.csv") as fh:
            qc.to_csv(fh, index=False, lineterminator="\n")
        write_report(stage / "quantify_report.html", qc)
        if ok:
            with atomic_open(stage / "counts.csv") as fh:
                counts.to_csv(fh, lineterminator="\n")
            with atomic_open(stage / "counts_exact.csv") as fh:
                exact.to_csv(fh, float_format="%.6g", lineterminator="\n")
            with atomic_open(stage / "hairpin_counts.csv") as fh:
                hairpin.to_csv(fh, float_format="%.6g", lineterminator="\n")
            _write_gff(stage / "isomirs.gff3", run, ok, reference, options)
            _write_ncrna_like(stage / "ncrna_like_mirnas.csv", run, exact)
        record.write(stage / "run.log")
    if not ok:
        # nothing to count: drop tables of an earlier run so they cannot be mistaken for this one
        for stale in ("counts.csv", "counts_exact.csv", "hairpin_counts.csv", "isomirs.gff3", "ncrna_like_mirnas.csv"):
            (run.out / stale).unlink(missing_ok=True)


def _write_ncrna_like(path: Path, run: QuantRun, exact: pd.DataFrame) -> None:
    """Counted miRNAs whose miRBase sequence lies in a tRNA, rRNA or other ncRNA: their reads may be
    fragments of that RNA (the usual source of false miRNAs in plasma)."""
    names = [m for m in exact.index if m in run.ncrna_like]
    table = pd.DataFrame({"mirna": names, "rna_type": [run.ncrna_like[m] for m in names],
                          "reads": [float(exact.loc[m].sum()) for m in names]})
    with atomic_open(path) as fh:
        table.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")


_GFF_BLOCK = 50_000


def _write_gff(path: Path, run: QuantRun, samples: list[str], reference, options: QuantOptions) -> None:
    """All samples' inserts placed on mature arms, written in blocks: the placements come from
    the compiled rule engine (all inserts at once, as arrays), the expression of a block is
    looked up sample by sample, so memory follows the block, not inserts × samples."""
    store = store_for(reference)
    results = [run.results[s] for s in samples]
    union = np.unique(np.concatenate([r.insert_codes for r in results] or [np.zeros(0, np.uint64)]))
    # inserts this run already knows as hairpin-only have no mirGFF3 line: skip them
    ids = store.known_outcomes(union)
    union = union[(ids == UNASSIGNED_ID) | store.mirna_outcomes()[ids]]
    engine = store.engine
    placed = engine.place(union)
    row_insert = np.repeat(np.arange(len(union)), np.diff(placed.offsets))
    row_k = np.arange(len(row_insert)) - placed.offsets[row_insert]
    on_arm = placed.arm >= 0
    row_hp, row_start, row_insert, row_k = placed.hairpin[on_arm], placed.start[on_arm], row_insert[on_arm], row_k[on_arm]
    overflow = {int(i): store.assignments(union[i:i + 1])[0] for i in placed.overflow.tolist()}
    if overflow:  # inserts the engine left to assign(): their rows join the others
        rank = {h: j for j, h in enumerate(engine.hairpin_names)}
        extra = [(rank[h.hairpin], h.start, i, k) for i, a in overflow.items() for k, h in enumerate(a.hits) if h.arm]
        if extra:
            e = np.array(extra, dtype=np.int64)
            row_hp, row_start = np.concatenate([row_hp, e[:, 0]]), np.concatenate([row_start, e[:, 1]])
            row_insert, row_k = np.concatenate([row_insert, e[:, 2]]), np.concatenate([row_k, e[:, 3]])
    # rows sorted by hairpin, start, then the insert as text (left-aligned code, then length)
    lengths = code_lengths(union)
    left = union << (2 * (32 - lengths - 1)).astype(np.uint64) if len(union) else union
    order = np.lexsort((lengths[row_insert], left[row_insert], row_start, row_hp))
    row_insert, row_k = row_insert[order], row_k[order]
    command = "exomir quantify " + json.dumps(json.loads(options.key()), sort_keys=True)
    source = f"miRBase{_release_number(reference.release)}"
    with atomic_open(path) as fh:
        for line in gff_header(samples, release=reference.release, tool=f"exomir {__version__}", commands=[command]):
            fh.write(line + "\n")
        for b in range(0, len(row_insert), _GFF_BLOCK):
            idx = row_insert[b:b + _GFF_BLOCK]
            codes = union[idx]
            expression = np.zeros((len(idx), len(results)))
            for j, result in enumerate(results):
                where = np.searchsorted(result.insert_codes, codes)
                where = np.minimum(where, max(0, len(result.insert_codes) - 1))
                hit = result.insert_codes[where] == codes if len(result.insert_codes) else np.zeros(len(idx), bool)
                expression[hit, j] = result.insert_counts[where[hit]]
            seqs = decode_many(codes)
            for i, k, seq, values in zip(idx.tolist(), row_k[b:b + _GFF_BLOCK].tolist(), seqs, expression):
                asg = overflow.get(i) or engine.assignment(placed, i, seq)
                fh.write(gff_rows(seq, asg, k, values, source=source) + "\n")


def _release_number(release: str) -> str:
    digits = "".join(ch for ch in release if ch.isdigit() or ch == ".")
    return digits.strip(".") or "22"


def clear_state(out: str | Path) -> None:
    """Forget saved per-sample results (the next run recomputes everything)."""
    shutil.rmtree(Path(out) / ".samples", ignore_errors=True)
