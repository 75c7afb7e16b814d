"""RNA-type composition of a library (as miRTrace and exceRpt report it): miRNA, tRNA, rRNA,
Y RNA and other ncRNA, artifacts, unknown.

Every read with an insert gets one type, in this order of precedence:

* ``mirna``: assigned to a mature miRNA (the counts of ``counts.csv``);
* ``artifact``: an adapter dimer, a low-complexity insert (one base ≥ 80 %, or a repeated
  dinucleotide), a poly-A stretch, or an insert matching an adapter/primer artifact sequence;
* ``rrna``, ``trna``, ``other_ncrna`` (Y RNA, snRNA, snoRNA, vault, 7SK and the like): the
  insert's first or last 16 nt occur in that class's reference sequences (exact 16-mers, sorted
  uint64 codes, so a library of a million distinct inserts is classified in one vectorised pass);
* ``unknown``: anything else, including inserts placed on a hairpin off the mature arms.

Inserts longer than ``--max-length`` are not counted but are typed too, by their first 31 nt
(tRNA halves and rRNA fragments are mostly longer than miRNAs).

Reads with no adapter or an insert shorter than ``--min-length`` have no type. Shares are of the
typed reads. A class whose reference is absent is left blank (not measured), never zero.

References come from the official sources at run time and are cached (``refdata``):
GtRNAdb (human mature tRNAs, hg38), RNAcentral/Ensembl (human rRNA, including the 45S pre-rRNA,
and the misc_RNA/snRNA/snoRNA classes), and the common small RNA-seq artifact sequences.
``--ncrna FOLDER`` or ``EXOMIR_NCRNA`` points at a local copy: a folder of FASTA files whose names
say the class (``*trna*``, ``*rrna*``, ``*artifact*``; anything else is other ncRNA).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import exomir.refdata as refdata
from exomir.quant.kernel import _LUT, code_lengths
from exomir.quant.adapters import KITS
from exomir.quant.kernel import encode

K = 16
CLASSES = ("rrna", "trna", "other_ncrna", "artifact")
TYPES = ("mirna", "trna", "rrna", "other_ncrna", "artifact", "unknown")
#: official sources: (class, URL); gzip or plain FASTA
SOURCES = (
    ("trna", "https://gtrnadb.ucsc.edu/genomes/eukaryota/Hsapi38/hg38-mature-tRNAs.fa"),
    ("rrna", "https://ftp.ebi.ac.uk/pub/databases/RNAcentral/current_release/sequences/by-database/ena.fasta"),
    ("other_ncrna", "https://ftp.ensembl.org/pub/current_fasta/homo_sapiens/ncrna/Homo_sapiens.GRCh38.ncrna.fa.gz"),
)
_OTHER_BIOTYPES = ("misc_RNA", "snRNA", "snoRNA", "scaRNA", "vault_RNA", "Y_RNA", "7SK", "sRNA", "rRNA", "Mt_rRNA",
                   "Mt_tRNA")


@dataclass
class RnaTypes:
    """Sorted 16-mer codes of each non-miRNA class (None: class not measured)."""

    kmers: dict[str, np.ndarray | None]
    sources: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @classmethod
    def from_sequences(cls, by_class: dict[str, list[str]], sources: dict[str, str] | None = None) -> RnaTypes:
        kmers: dict[str, np.ndarray | None] = {}
        digest = hashlib.sha256()
        for name in CLASSES:
            seqs = by_class.get(name)
            if seqs is None:
                kmers[name] = None
                continue
            kmers[name] = _kmer_codes(seqs)
            digest.update(name.encode() + kmers[name].tobytes())
        return cls(kmers, sources or {}, digest.hexdigest()[:16])

    def classify(self, codes: np.ndarray) -> np.ndarray:
        """Index into ``CLASSES`` of each insert code (-1 = none), by precedence artifact, rRNA,
        tRNA, other ncRNA."""
        codes = np.asarray(codes, dtype=np.uint64)
        out = np.full(len(codes), -1, dtype=np.int64)
        if not len(codes):
            return out
        n = code_lengths(codes)
        long_enough = n >= K
        shift = np.where(long_enough, 2 * (n - K), 0).astype(np.uint64)
        prefix = codes >> shift
        mask = np.uint64((1 << (2 * K)) - 1)
        suffix = (codes & mask) | np.uint64(1 << (2 * K))
        for idx in (CLASSES.index("other_ncrna"), CLASSES.index("trna"), CLASSES.index("rrna")):
            table = self.kmers.get(CLASSES[idx])
            if table is None or not len(table):
                continue
            hit = long_enough & (_member(prefix, table) | _member(suffix, table))
            out[hit] = idx
        art = self.kmers.get("artifact")
        if art is not None and len(art):
            out[long_enough & (_member(prefix, art) | _member(suffix, art))] = CLASSES.index("artifact")
        out[_low_complexity(codes, n)] = CLASSES.index("artifact")
        return out

    def composition(self, codes: np.ndarray, reads: np.ndarray, is_mirna: np.ndarray, qc: dict, odd_reads: float,
                    long_typed: int, low_share: float) -> dict:
        """qc.csv columns: reads (``rna_*``) and shares (``share_*``) of each type, from the kept
        inserts' codes with their reads and whether each went to a miRNA; and ``low_mirna_share``."""
        totals = dict.fromkeys(TYPES, 0.0)
        reads = np.asarray(reads, dtype=np.float64)
        totals["mirna"] = float(reads[is_mirna].sum())
        rest = ~is_mirna
        kinds = self.classify(codes[rest])
        rest_reads = reads[rest]
        for j, name in enumerate(CLASSES):
            totals[name] += float(rest_reads[kinds == j].sum())
        # too-long inserts are typed by their first 31 nt; the few holding an N stay unknown
        totals["unknown"] += (float(rest_reads[kinds == -1].sum()) + odd_reads + qc["too_long"] - long_typed
                              + qc["ambiguous_n"])
        totals["artifact"] += float(qc["adapter_dimer"])
        out = self.shares(totals)
        share = out["share_mirna"]
        out["low_mirna_share"] = bool(share is not None and share < low_share)
        return out

    def flag_mirnas(self, mature: dict[str, str]) -> dict[str, str]:
        """miRBase matures whose sequence lies in a tRNA, rRNA or other ncRNA reference (by the
        same 16-mer rule): such "miRNAs" are often fragments of those RNAs."""
        names = sorted(mature)

        ok = [n for n in names if set(mature[n]) <= set("ACGT") and len(mature[n]) <= 31]
        kinds = self.classify(np.array([encode(mature[n]) for n in ok], dtype=np.uint64))
        return {n: CLASSES[k] for n, k in zip(ok, kinds.tolist()) if k >= 0 and CLASSES[k] != "artifact"}

    def shares(self, reads: dict[str, float]) -> dict:
        total = sum(v for v in reads.values())
        out: dict = {}
        for t in TYPES:
            measured = t in ("mirna", "artifact", "unknown") or self.kmers.get(t) is not None
            out[f"rna_{t}"] = int(round(reads[t])) if measured else None
            out[f"share_{t}"] = round(reads[t] / total, 4) if (measured and total) else None
        return out


def _member(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    where = np.searchsorted(table, values)
    where = np.minimum(where, len(table) - 1)
    return table[where] == values


def _low_complexity(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One base makes ≥ 80 % of the insert, or it repeats a dinucleotide (poly-A included)."""
    out = np.zeros(len(codes), dtype=bool)
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        shifts = np.arange(2 * (int(n) - 1), -1, -2, dtype=np.uint64)
        bases = ((codes[idx, None] >> shifts[None, :]) & np.uint64(3)).astype(np.int8)
        top = np.stack([(bases == b).sum(axis=1) for b in range(4)], axis=1).max(axis=1)
        dinuc = (bases[:, 2:] == bases[:, :-2]).all(axis=1) if n > 2 else np.zeros(len(idx), bool)
        out[idx] = (top >= 0.8 * int(n)) | dinuc
    return out


def _kmer_codes(seqs: list[str]) -> np.ndarray:
    """Sorted distinct 16-mer codes (with the length sentinel) of both strands? No: RNA-seq of
    small RNA is stranded, so the sense strand only."""
    parts = []
    for seq in seqs:
        values = _LUT[np.frombuffer(seq.upper().replace("U", "T").encode(), dtype=np.uint8)]
        if len(values) < K:
            continue
        rolling = np.ones(len(values) - K + 1, dtype=np.uint64)
        bad = np.zeros(len(values) - K + 1, dtype=bool)
        for j in range(K):
            part = values[j:j + len(rolling)]
            rolling = (rolling << np.uint64(2)) | (part & 3).astype(np.uint64)
            bad |= part > 3
        parts.append(rolling[~bad])
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    return np.unique(np.concatenate(parts))


def read_fasta(path: Path, *, biotypes: tuple[str, ...] | None = None, keep=None) -> list[str]:
    """Sequences of a FASTA file (gzip or plain); ``biotypes`` keeps Ensembl records of those
    ``gene_biotype:`` values; ``keep(header)`` filters by header. Kept rather than dnaio, which
    stops at the first non-ASCII header (RNAcentral/Ensembl descriptions); this reader replaces
    such characters and reads on."""
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    seqs: list[str] = []
    take = False
    current: list[str] = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(">"):
                if take and current:
                    seqs.append("".join(current))
                current = []
                header = line[1:].strip()
                take = True
                if biotypes is not None:
                    take = any(f"gene_biotype:{b} " in header + " " or f"transcript_biotype:{b} " in header + " "
                               for b in biotypes)
                if keep is not None and take:
                    take = keep(header)
            elif take:
                current.append(line.strip())
    if take and current:
        seqs.append("".join(current))
    return seqs


def _class_of_file(name: str) -> str:
    low = name.lower()
    if "artifact" in low:
        return "artifact"
    if "rrna" in low:
        return "rrna"
    if "trna" in low:
        return "trna"
    return "other_ncrna"


_CACHE: dict[str, RnaTypes] = {}


def load_rna_types(source: str | Path | None = None) -> RnaTypes:
    """The RNA-type references: a local folder (``source`` or ``EXOMIR_NCRNA``), else the official
    files (downloaded once into the cache). Cached per process."""
    key = str(source)
    if key in _CACHE:
        return _CACHE[key]
    folder = refdata.local_source(source, "EXOMIR_NCRNA")
    by_class: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    if folder is not None:
        files = sorted(p for p in (folder.iterdir() if folder.is_dir() else [folder])
                       if p.suffix in (".fa", ".fasta", ".gz") and p.is_file())
        for path in files:
            cls = _class_of_file(path.name)
            by_class.setdefault(cls, []).extend(read_fasta(path))
            sources[cls] = str(path)
    else:
        local = "EXOMIR_NCRNA=FOLDER or --ncrna FOLDER"
        for cls, url in SOURCES:
            path = refdata.download(url, "ncrna", local=local)
            if cls == "rrna":
                seqs = read_fasta(path, keep=lambda h: "Homo sapiens" in h and "ribosomal RNA" in h)
            elif cls == "other_ncrna":
                ensembl = read_fasta(path, biotypes=_OTHER_BIOTYPES)
                seqs = ensembl
            else:
                seqs = read_fasta(path)
            by_class[cls] = seqs
            sources[cls] = url

        by_class["artifact"] = [k.adapter for k in KITS if len(set(k.adapter)) > 1]
    types = RnaTypes.from_sequences(by_class, sources)
    _CACHE[key] = types
    return types
