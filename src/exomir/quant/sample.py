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

import base64
import gzip
import itertools
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from exomir.atomic import atomic_open
from exomir.errors import InputError
from exomir.quant.adapters import KITS, AdapterChoice, AdapterTrimmer, detect_adapter
from exomir.quant.fastq import CHUNK_READS, check_start, collapse_chunks, sample_name
from exomir.quant.kernel import MAX_CODE_LENGTH, code_lengths, decode_many, encode
from exomir.quant.reference import MirnaReference
from exomir.quant.scan import KernelDeclined, ScanResult, classify_insert, merge_rows, open_blocks, scan_file, usable
from exomir.quant.store import AssignmentStore

RESULT_VERSION = 3  # bump when what a saved sample holds changes: older results are recomputed
_DETECT_DISTINCT = 20_000  # distinct reads of the first chunk used to detect the adapter
_DETECT_READS = 50_000  # first reads the adapter is detected from (kernel route)
_ACGT = frozenset("ACGT")
LOW_MIRNA_SHARE = 0.05  # below this share of typed reads a sample is flagged, as miRTrace flags failed QC
_EMPTY = np.zeros(0, dtype=np.uint64)
_EMPTY_COUNTS = np.zeros(0, dtype=np.int64)
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
    """Counts and QC of one sample (counts may be fractional: see the multi-mapping rule).
    The inserts placed on a hairpin are kept as codes (:mod:`exomir.quant.kernel`) with their
    reads or molecules, for the mirGFF3 file."""

    sample: str
    path: str
    qc: dict
    mirna_counts: dict[str, float] = field(default_factory=dict)
    hairpin_counts: dict[str, float] = field(default_factory=dict)
    insert_codes: np.ndarray = field(default_factory=lambda: _EMPTY)
    insert_counts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def inserts(self) -> dict[str, float]:
        """Placed inserts (sequence -> reads or molecules)."""
        return dict(zip(decode_many(self.insert_codes), self.insert_counts.tolist()))

    def save(self, path: str | Path, fingerprint: dict) -> None:
        payload = {"version": RESULT_VERSION, "fingerprint": fingerprint, "sample": self.sample, "path": self.path,
                   "qc": self.qc, "mirna_counts": self.mirna_counts, "hairpin_counts": self.hairpin_counts,
                   "insert_codes": _b64(self.insert_codes.astype("<u8")),
                   "insert_counts": _b64(self.insert_counts.astype("<f8"))}
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
                   payload["hairpin_counts"], _unb64(payload["insert_codes"], "<u8").astype(np.uint64),
                   _unb64(payload["insert_counts"], "<f8").astype(np.float64))


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


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
    """Trims, classifies and counts collapsed chunks of read sequences (the Python route)."""

    def __init__(self, options: QuantOptions, choice: AdapterChoice, use_umi: bool, umi_len: int) -> None:
        self.options, self.choice = options, choice
        self.trimmer = AdapterTrimmer(choice.sequence, options.max_error_rate, options.min_overlap)
        self.use_umi, self.umi_len = use_umi, umi_len
        self.qc: Counter[str] = Counter()
        self.kept: Counter[tuple[str, str]] = Counter()  # (insert, UMI or "") -> reads
        self.long: Counter[str] = Counter()  # too-long inserts' first 31 nt -> reads
        self.cache: dict[str, tuple[int, str, str]] = {}

    def add(self, chunk: Counter[str]) -> None:
        o = self.options
        lo, hi, four_n, use_umi, umi_len = o.min_length, o.max_length, o.trim_4n, self.use_umi, self.umi_len
        trim = self.trimmer.trim if self.choice.sequence else None
        cache, kept = self.cache, self.kept
        tally = [0, 0, 0, 0, 0, 0]
        for raw, n in chunk.items():
            outcome = cache.get(raw)
            if outcome is None:
                if trim is not None:
                    cut = trim(raw)
                    outcome = (0, "", "") if cut is None else classify_insert(cut[0], cut[1], lo, hi, four_n, use_umi, umi_len)
                else:  # already trimmed input
                    outcome = classify_insert(raw, "", lo, hi, four_n, False, 0)
                if n > 1 and len(cache) < _CACHE_LIMIT:
                    cache[raw] = outcome
            code = outcome[0]
            tally[code] += n
            if code == 4:
                kept[(outcome[1], outcome[2])] += n
            elif code == 3:
                self.long[outcome[1][:MAX_CODE_LENGTH]] += n
        for name, value in zip(_OUTCOMES, tally):
            self.qc[name] += value

    def scanned(self) -> ScanResult:
        """What the kernel route returns for the same reads."""
        result = ScanResult(np.array([self.qc[k] for k in _OUTCOMES], dtype=np.int64), _EMPTY, _EMPTY_COUNTS,
                            _EMPTY if self.use_umi else None)
        codes, umis, counts = [], [], []
        for (insert, umi), n in self.kept.items():
            if set(insert) - _ACGT:
                result.odd[insert] += n
            elif self.use_umi and umi and set(umi) - _ACGT:
                result.odd_umi.append((encode(insert), umi, n))
            else:
                codes.append(encode(insert))
                umis.append(encode(umi) if umi else 0)
                counts.append(n)
        self.cache.clear()
        longs = [(encode(q), n) for q, n in self.long.items() if not set(q) - _ACGT]
        if longs:
            result.long_codes, result.long_counts, _ = merge_rows(np.array([c for c, _ in longs], dtype=np.uint64),
                                                                  np.array([n for _, n in longs], dtype=np.int64))
        if codes:
            c, n, u = merge_rows(np.array(codes, dtype=np.uint64), np.array(counts, dtype=np.int64),
                                 np.array(umis, dtype=np.uint64) if self.use_umi else None)
            result.codes, result.counts, result.umis = c, n, u
        return result


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


def _use_umi(options: QuantOptions, choice: AdapterChoice) -> tuple[bool, int]:
    use = bool(options.umi if options.umi is not None else choice.umi_length > 0)
    length = options.umi_length if options.umi is not None else (choice.umi_length or options.umi_length)
    return use, length


def quantify_reads(
    chunks, reference: MirnaReference, options: QuantOptions = QuantOptions(), *, sample: str = "sample",
    path: str = "", store: AssignmentStore | None = None, rna_types=None,
) -> SampleResult:
    """Quantify collapsed read chunks (Counters of raw read sequences) against ``reference``
    (the Python route: collapsed FASTQ input, and files the kernel declines)."""
    chunks = iter(chunks)
    first = next(chunks, None)
    choice = _choose_adapter(options, first) if first is not None else AdapterChoice("", "none")
    use_umi, umi_len = _use_umi(options, choice)
    tally = _Tally(options, choice, use_umi, umi_len)
    if first is not None:
        tally.add(first)
        for chunk in chunks:
            tally.add(chunk)
    return _finish(tally.scanned(), store or AssignmentStore(reference), choice, use_umi, sample=sample, path=path,
                   rna_types=rna_types)


def _molecules(scan: ScanResult) -> tuple[np.ndarray, np.ndarray, int]:
    """Per distinct insert code, its molecules (directional UMI rule); and the reads without UMI."""
    codes, counts, umis = scan.codes, scan.counts, scan.umis
    extra: dict[int, Counter[str]] = defaultdict(Counter)
    for code, umi, n in scan.odd_umi:
        extra[code][umi] += n
    if extra:
        codes = np.concatenate([codes, np.array(list(extra), dtype=np.uint64)])
        counts = np.concatenate([counts, np.zeros(len(extra), dtype=np.int64)])
        umis = np.concatenate([umis, np.full(len(extra), 1, dtype=np.uint64)])  # placeholder UMI row
    missing_mask = umis == 0
    umi_missing = int(counts[missing_mask].sum())
    inserts, first = np.unique(codes, return_index=True)
    result = np.zeros(len(inserts), dtype=np.float64)
    where = np.searchsorted(inserts, codes)
    np.add.at(result, where[missing_mask], counts[missing_mask])  # reads without UMI count as molecules
    with_umi = ~missing_mask
    per_insert = np.bincount(where[with_umi], minlength=len(inserts))
    single = per_insert == 1
    result[single] += 1
    several = np.flatnonzero(per_insert > 1)
    if len(several):
        rows = np.flatnonzero(with_umi & np.isin(where, several))
        groups: dict[int, Counter[str]] = defaultdict(Counter)
        texts = decode_many(umis[rows])
        for r, text in zip(rows.tolist(), texts):
            if counts[r]:
                groups[int(where[r])][text] += int(counts[r])
        for i, found in extra.items():
            groups[int(np.searchsorted(inserts, np.uint64(i)))].update(found)
        for i, umi_counts in groups.items():
            result[i] += directional_molecules(umi_counts)
    return inserts, result, umi_missing


def _finish(scan: ScanResult, store: AssignmentStore, choice: AdapterChoice, use_umi: bool, *, sample: str,
            path: str, rna_types=None) -> SampleResult:
    """Counts and QC of a sample from its distinct inserts (either route)."""
    if use_umi:
        codes, counts, umi_missing = _molecules(scan)
    else:
        codes, counts, umi_missing = scan.codes, scan.counts.astype(np.float64), 0
    ids = store.outcomes_of(codes)
    mirna: defaultdict[str, float] = defaultdict(float)
    hairpin: defaultdict[str, float] = defaultdict(float)
    placed = ids >= 0
    per_outcome = np.bincount(ids[placed], weights=counts[placed], minlength=len(store.outcomes))
    assigned_mirna = assigned_hairpin = isomir = 0.0
    for oid in np.flatnonzero(per_outcome).tolist():
        n = float(per_outcome[oid])
        mirnas, hairpins, is_isomir = store.outcomes[oid]
        if mirnas:
            for name in mirnas:
                mirna[name] += n / len(mirnas)
            assigned_mirna += n
            if is_isomir:
                isomir += n
        else:
            for hp in hairpins:
                hairpin[hp] += n / len(hairpins)
            assigned_hairpin += n
    odd_reads = float(sum(scan.odd.values()))
    unassigned = float(counts[~placed].sum()) + odd_reads
    molecules_total = assigned_mirna + assigned_hairpin + unassigned
    qc = {k: int(v) for k, v in zip(_OUTCOMES, scan.tally.tolist())}
    top = sorted(mirna.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    reads_in = sum(qc.values())
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
        "umi_missing": umi_missing if use_umi else 0,
        "molecules": int(molecules_total),
        "assigned_mirna": int(assigned_mirna),
        "assigned_hairpin": int(assigned_hairpin),
        "unassigned": int(unassigned),
        "fraction_assigned": round(assigned_mirna / molecules_total, 6) if molecules_total else 0.0,
        "isomir_fraction": round(isomir / assigned_mirna, 6) if assigned_mirna else 0.0,
        "distinct_inserts": int(len(codes) + len(scan.odd)),
        "mirnas_detected": sum(1 for v in mirna.values() if v > 0),
        "top_mirnas": ";".join(f"{k}:{_num(v)}" for k, v in top),
    }
    complexity = _complexity(mirna)
    result_qc["mirna_complexity_95"] = complexity
    if not assigned_mirna:
        result_qc["status"] = "flagged"
        result_qc["error"] = _no_mirna_reason(qc, reads_in)
    if rna_types is not None:
        # composition in reads (not UMI molecules), like the other read counts of qc.csv
        read_ids = ids if not use_umi else store.outcomes_of(scan.codes)
        is_mirna = store.mirna_outcomes()[read_ids]
        result_qc.update(rna_types.composition(
            np.concatenate([scan.codes, scan.long_codes]), np.concatenate([scan.counts, scan.long_counts]),
            np.concatenate([is_mirna, np.zeros(len(scan.long_codes), dtype=bool)]), qc, odd_reads,
            int(scan.long_counts.sum()), LOW_MIRNA_SHARE))
    result_qc.update(_length_summary(codes, counts))
    keep = placed
    return SampleResult(sample, path, result_qc, dict(sorted(mirna.items())), dict(sorted(hairpin.items())),
                        insert_codes=codes[keep].copy(), insert_counts=counts[keep].copy())


def _complexity(mirna: dict[str, float], share: float = 0.95) -> int:
    """miRNAs that together make ``share`` of the miRNA reads (most abundant first)."""
    values = np.sort(np.array([v for v in mirna.values() if v > 0]))[::-1]
    if not len(values):
        return 0
    cumulative = np.cumsum(values) / values.sum()
    return int(np.searchsorted(cumulative, share - 1e-12) + 1)


def _length_summary(codes: np.ndarray, counts: np.ndarray) -> dict:
    """Insert length distribution of the kept reads, as ``length:reads`` pairs."""
    if not len(codes):
        return {"insert_lengths": ""}
    lengths = code_lengths(codes)
    per = np.bincount(lengths, weights=counts)
    return {"insert_lengths": ";".join(f"{n}:{_num(v)}" for n, v in enumerate(per.tolist()) if v > 0)}


def _no_mirna_reason(qc: dict, reads_in: int) -> str:
    if not reads_in:
        return "no reads"
    biggest = max(_OUTCOMES, key=lambda k: qc[k])
    return (f"no read was assigned to a miRNA ({qc[biggest] / reads_in:.0%} of {reads_in:,} reads are "
            f"{biggest.replace('_', ' ')}); left out of counts.csv")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _first_reads(blocks, limit: int = _DETECT_READS) -> tuple[list, Counter[str]]:
    """The first ``limit`` read sequences (for adapter detection), collapsed, and the blocks
    they were read from (the scan starts with them: nothing is decompressed twice)."""
    sample: Counter[str] = Counter()
    head = []
    for block in blocks:
        head.append(block)
        ends = np.flatnonzero(block == 10)  # a block holds whole records: line 4k + 1 is a sequence
        starts, stops = ends[0::4] + 1, ends[1::4]
        take = min(len(stops), limit - sample.total())
        raw = block.tobytes()
        sample.update(raw[a:b].decode("latin-1") for a, b in zip(starts[:take].tolist(), stops[:take].tolist()))
        if sample.total() >= limit:
            break
    return head, sample


def quantify_file(
    path: str | Path, reference: MirnaReference, options: QuantOptions = QuantOptions(), *,
    sample: str | None = None, chunk_reads: int = CHUNK_READS, workers: int = 2,
    store: AssignmentStore | None = None, rna_types=None, progress=None,
) -> SampleResult:
    """Quantify one FASTQ file (plain or gzip). Raises InputError for a bad file.

    Plain 4-line FASTQ goes through the read kernel on ``workers`` threads; collapsed files, other
    compressions and files the kernel declines (malformed: dnaio names the record) go through the
    Python route. Both give the same counts."""
    path = Path(path)
    name = sample or sample_name(path)
    store = store or AssignmentStore(reference)
    collapsed = check_start(path)
    if not collapsed and _kernel_format(path):
        try:
            blocks = open_blocks(path)
            head, first = _first_reads(blocks)
            choice = _choose_adapter(options, first) if first else AdapterChoice("", "none")
            use_umi, umi_len = _use_umi(options, choice)
            scanned = (scan_file(path, choice, options, use_umi, umi_len, threads=workers, progress=progress,
                                 blocks=itertools.chain(head, blocks))
                       if usable(choice, options, umi_len) else None)
        except KernelDeclined:
            scanned = None
        if scanned is not None:
            if scanned.tally.sum() == 0:
                raise InputError("no reads", path=path, record=1, expected="FASTQ records")
            return _finish(scanned, store, choice, use_umi, sample=name, path=str(path), rna_types=rna_types)
    return quantify_reads(collapse_chunks(path, chunk_reads), reference, options, sample=name, path=str(path),
                          store=store, rna_types=rna_types)


def _kernel_format(path: Path) -> bool:
    """gzip or plain text (the kernel's inputs); other compressions go through dnaio."""
    with open(path, "rb") as raw:
        head = raw.read(2)
    return head == b"\x1f\x8b" or head[:1] == b"@"
