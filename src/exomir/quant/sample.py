"""One sample, FASTQ to counts: collapse, trim, filter, deduplicate UMIs, assign.

The order is what makes it fast: identical reads are collapsed first (chunk by chunk), so the
adapter is searched once per distinct read and an insert is placed on the hairpins once per
distinct insert, whatever the depth.

Read bookkeeping (every read lands in exactly one of these; ``reads_in`` is their sum):
``no_adapter`` (no adapter found: 3′ end not reached), ``adapter_dimer`` (nothing before the
adapter), ``too_short`` / ``too_long`` (insert outside the length limits, after 4N trimming),
``ambiguous_n`` (an N in the insert: it cannot be named or given a mirtop UID), ``reads_kept``.
With UMIs, kept reads collapse to molecules: distinct (insert, UMI) pairs, where a UMI one
substitution away from a much more frequent UMI of the same insert is taken for a sequencing
error of it (UMI-tools' directional rule);
``umi_duplicates`` = kept reads − molecules, and the assigned figures are molecules.
``assigned_mirna`` + ``assigned_hairpin`` + ``unassigned`` = molecules (= kept reads without
UMIs); ``fraction_assigned`` = ``assigned_mirna`` / that total.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from exomir.atomic import atomic_open
from exomir.quant.adapters import KITS, AdapterChoice, AdapterTrimmer, detect_adapter
from exomir.quant.fastq import CHUNK_READS, collapse_chunks, sample_name
from exomir.quant.isomir import Assignment, assign
from exomir.quant.reference import MirnaReference

RESULT_VERSION = 2  # bump when what a saved sample holds changes: older results are recomputed
_DETECT_DISTINCT = 20_000  # distinct reads of the first chunk used to detect the adapter
_CACHE_LIMIT = 500_000  # distinct reads (seen twice in a chunk) whose trimming is remembered across chunks


@dataclass(frozen=True)
class QuantOptions:
    """How reads become inserts. ``adapter``: a sequence, ``"auto"`` or ``"none"`` (already trimmed);
    ``umi``: None = use UMIs when the detected kit has them."""

    adapter: str = "auto"
    umi: bool | None = None
    umi_length: int = 12
    trim_4n: bool = False
    min_length: int = 16
    max_length: int = 30
    max_error_rate: float = 0.1
    min_overlap: int = 3

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class SampleResult:
    """Counts and QC of one sample (counts may be fractional: see the multi-mapping rule)."""

    sample: str
    path: str
    qc: dict
    mirna_counts: dict[str, float] = field(default_factory=dict)
    hairpin_counts: dict[str, float] = field(default_factory=dict)
    inserts: dict[str, float] = field(default_factory=dict)  # assigned inserts -> reads/molecules

    def save(self, path: str | Path, fingerprint: dict) -> None:
        payload = {"version": RESULT_VERSION, "fingerprint": fingerprint, **asdict(self)}
        with atomic_open(path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
            gz.write(json.dumps(payload, sort_keys=True).encode())

    @classmethod
    def load(cls, path: str | Path, fingerprint: dict) -> SampleResult | None:
        """A saved result, or None when absent, unreadable or made with other inputs/options."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                payload = json.load(handle)
        except (OSError, EOFError, ValueError):
            return None
        if payload.get("version") != RESULT_VERSION or payload.get("fingerprint") != fingerprint:
            return None
        return cls(payload["sample"], payload["path"], payload["qc"], payload["mirna_counts"],
                   payload["hairpin_counts"], payload["inserts"])


def _choose_adapter(options: QuantOptions, first_chunk: Counter[str]) -> AdapterChoice:
    given = options.adapter.strip()
    if given.lower() == "none":
        return AdapterChoice("", "none")
    if given.lower() != "auto":
        seq = given.upper().replace("U", "T")
        kit = next((k for k in KITS if k.adapter == seq), None)
        return AdapterChoice(seq, "given", kit=kit.name if kit else "", umi_length=kit.umi_length if kit else 0)
    sample: Counter[str] = Counter()
    for seq, n in first_chunk.items():  # first-seen order: a sample of the library's start
        sample[seq] = n
        if len(sample) >= _DETECT_DISTINCT:
            break
    return detect_adapter(sample)


class _Tally:
    """Trims, classifies and counts collapsed chunks; assigns each new insert as it appears."""

    def __init__(self, reference: MirnaReference, options: QuantOptions, choice: AdapterChoice) -> None:
        self.reference, self.options, self.choice = reference, options, choice
        self.trimmer = AdapterTrimmer(choice.sequence, options.max_error_rate, options.min_overlap)
        self.use_umi = bool(options.umi if options.umi is not None else choice.umi_length > 0)
        self.umi_len = options.umi_length if options.umi is not None else (choice.umi_length or options.umi_length)
        self.qc: Counter[str] = Counter()
        self.reads_per_insert: Counter[str] = Counter()
        self.molecules: dict[str, Counter[str]] = defaultdict(Counter)  # insert -> reads per UMI
        self.umi_missing: Counter[str] = Counter()
        self.assigned: dict[str, Assignment] = {}
        self.cache: dict[str, tuple[int, str, str]] = {}

    def add(self, chunk: Counter[str]) -> None:
        o = self.options
        lo, hi, four_n, use_umi, umi_len = o.min_length, o.max_length, o.trim_4n, self.use_umi, self.umi_len
        trim = self.trimmer.trim if self.choice.sequence else None
        cache, reads_per_insert, assigned, reference = self.cache, self.reads_per_insert, self.assigned, self.reference
        tally = [0, 0, 0, 0, 0, 0]
        for raw, n in chunk.items():
            outcome = cache.get(raw)
            if outcome is None:
                if trim is not None:
                    cut = trim(raw)
                    outcome = (0, "", "") if cut is None else _classify(cut[0], cut[1], lo, hi, four_n, use_umi, umi_len)
                else:  # already trimmed input
                    outcome = _classify(raw, "", lo, hi, four_n, False, 0)
                if n > 1 and len(cache) < _CACHE_LIMIT:
                    cache[raw] = outcome
            code = outcome[0]
            tally[code] += n
            if code == 4:
                insert = outcome[1]
                reads_per_insert[insert] += n
                if insert not in assigned:
                    assigned[insert] = assign(insert, reference)
                if use_umi:
                    if outcome[2]:
                        self.molecules[insert][outcome[2]] += n
                    else:
                        self.umi_missing[insert] += n
        for name, value in zip(_OUTCOMES, tally):
            self.qc[name] += value

    def result(self, sample: str, path: str) -> SampleResult:
        if self.use_umi:
            counts = {
                ins: directional_molecules(self.molecules[ins]) + self.umi_missing[ins] if ins in self.molecules
                else self.umi_missing[ins]
                for ins in self.reads_per_insert
            }
        else:
            counts = dict(self.reads_per_insert)
        self.cache.clear()
        return _assign_counts(counts, self.assigned, self.qc, self.choice, self.use_umi, self.umi_missing,
                              sample=sample, path=path)


def directional_molecules(umis: Counter[str]) -> int:
    """Molecules behind the UMIs of one insert, by the directional rule of UMI-tools: a UMI one
    substitution away from a UMI with at least twice (minus one) its reads is a sequencing error
    of that UMI, not another molecule."""
    if len(umis) == 1:
        return 1
    seen: set[str] = set()
    molecules = 0
    for umi, _ in sorted(umis.items(), key=lambda kv: (-kv[1], kv[0])):
        if umi in seen:
            continue
        molecules += 1
        seen.add(umi)
        queue = [umi]
        while queue:
            node = queue.pop()
            limit = (umis[node] + 1) / 2
            for i, base in enumerate(node):
                for other in "ACGT":
                    if other != base:
                        neighbour = node[:i] + other + node[i + 1:]
                        count = umis.get(neighbour)
                        if count is not None and neighbour not in seen and count <= limit:
                            seen.add(neighbour)
                            queue.append(neighbour)
    return molecules


_OUTCOMES = ("no_adapter", "adapter_dimer", "too_short", "too_long", "reads_kept", "ambiguous_n")


def _tally_worker(conn, reference: MirnaReference, options: QuantOptions, sample: str, path: str) -> None:
    """Child process of a pipelined sample: receives the adapter choice, then chunks until None,
    and sends the result back."""
    try:
        tally = _Tally(reference, options, conn.recv())
        while (chunk := conn.recv()) is not None:
            tally.add(chunk)
        conn.send(("ok", tally.result(sample, path)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which re-raises
        conn.send(("error", exc))
    finally:
        conn.close()


def _can_fork() -> bool:
    # the child only receives chunks and sends one result: it touches no lock another thread
    # (a progress bar) might hold; the reader's decompression thread starts after the fork
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def quantify_reads(
    chunks, reference: MirnaReference, options: QuantOptions = QuantOptions(), *, sample: str = "sample",
    path: str = "", workers: int = 1,
) -> SampleResult:
    """Quantify collapsed read chunks (Counters of raw read sequences) against ``reference``.

    ``workers=2`` pipelines the work over two cores: this process reads and collapses chunks
    while a forked child trims, counts and assigns the previous one (same result as serial)."""
    chunks = iter(chunks)
    if workers > 1 and _can_fork():
        # fork before the first chunk is read: the reader starts a decompression thread
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        proc = context.Process(target=_tally_worker, args=(child, reference, options, sample, path), daemon=True)
        proc.start()
        child.close()
        try:
            first = next(chunks, None)
            parent.send(_choose_adapter(options, first) if first is not None else AdapterChoice("", "none"))
            if first is not None:
                parent.send(first)
                for chunk in chunks:
                    parent.send(chunk)
            parent.send(None)
            status, payload = parent.recv()
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.join()
            parent.close()
        if status != "ok":
            raise payload
        return payload
    first = next(chunks, None)
    choice = _choose_adapter(options, first) if first is not None else AdapterChoice("", "none")
    tally = _Tally(reference, options, choice)
    if first is not None:
        tally.add(first)
        for chunk in chunks:
            tally.add(chunk)
    return tally.result(sample, path)


def _classify(insert: str, after: str, lo: int, hi: int, four_n: bool, use_umi: bool, umi_len: int):
    if not insert:
        return (1, "", "")
    if four_n:
        insert = insert[4:-4] if len(insert) > 8 else ""
    length = len(insert)
    if length < lo:
        return (2, "", "")
    if length > hi:
        return (3, "", "")
    if "N" in insert:
        return (5, "", "")
    umi = after[:umi_len] if use_umi and len(after) >= umi_len else ""
    return (4, insert, umi)


def _assign_counts(counts, assigned, qc, choice, use_umi, umi_missing, *, sample, path) -> SampleResult:
    mirna: defaultdict[str, float] = defaultdict(float)
    hairpin: defaultdict[str, float] = defaultdict(float)
    kept_inserts: dict[str, float] = {}
    assigned_mirna = assigned_hairpin = unassigned = isomir = 0.0
    for insert, n in counts.items():
        asg: Assignment = assigned[insert]
        if asg.mirnas:
            share = n / len(asg.mirnas)
            for name in asg.mirnas:
                mirna[name] += share
            assigned_mirna += n
            if asg.is_isomir:
                isomir += n
            kept_inserts[insert] = n
        elif asg.hits:
            hps = asg.hairpins
            for hp in hps:
                hairpin[hp] += n / len(hps)
            assigned_hairpin += n
            kept_inserts[insert] = n
        else:
            unassigned += n
    molecules_total = assigned_mirna + assigned_hairpin + unassigned
    top = sorted(mirna.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    reads_in = sum(qc[k] for k in ("no_adapter", "adapter_dimer", "too_short", "too_long", "ambiguous_n", "reads_kept"))
    result_qc = {
        "sample": sample,
        "file": path,
        "status": "ok",
        "error": "",
        "reads_in": reads_in,
        "adapter": choice.sequence,
        "adapter_source": choice.kit or choice.source,
        "adapter_in_sample": round(choice.fraction, 4) if choice.fraction == choice.fraction else "",
        "no_adapter": qc["no_adapter"],
        "adapter_dimer": qc["adapter_dimer"],
        "too_short": qc["too_short"],
        "too_long": qc["too_long"],
        "ambiguous_n": qc["ambiguous_n"],
        "reads_kept": qc["reads_kept"],
        "umi": bool(use_umi),
        "umi_duplicates": int(qc["reads_kept"] - molecules_total) if use_umi else 0,
        "umi_missing": int(sum(umi_missing.values())) if use_umi else 0,
        "molecules": int(molecules_total),
        "assigned_mirna": int(assigned_mirna),
        "assigned_hairpin": int(assigned_hairpin),
        "unassigned": int(unassigned),
        "fraction_assigned": round(assigned_mirna / molecules_total, 6) if molecules_total else 0.0,
        "isomir_fraction": round(isomir / assigned_mirna, 6) if assigned_mirna else 0.0,
        "distinct_inserts": len(counts),
        "mirnas_detected": sum(1 for v in mirna.values() if v > 0),
        "top_mirnas": ";".join(f"{k}:{_num(v)}" for k, v in top),
    }
    return SampleResult(sample, path, result_qc, dict(sorted(mirna.items())), dict(sorted(hairpin.items())),
                        dict(sorted(kept_inserts.items())))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def quantify_file(
    path: str | Path, reference: MirnaReference, options: QuantOptions = QuantOptions(), *,
    sample: str | None = None, chunk_reads: int = CHUNK_READS, workers: int = 1,
) -> SampleResult:
    """Quantify one FASTQ file (plain or gzip). Raises InputError for a bad file.
    ``workers=2`` uses two cores for one file (see :func:`quantify_reads`)."""
    path = Path(path)
    return quantify_reads(collapse_chunks(path, chunk_reads), reference, options,
                          sample=sample or sample_name(path), path=str(path), workers=workers)
