"""Simulated small RNA libraries with known truth, for accuracy tests and the benchmark.

A library mixes: mature miRNAs of the reference (abundances from a steep log-normal, as in
serum exosome libraries where a few miRNAs dominate) read as the reference sequence or as
isomiRs (templated 5′/3′ shifts taken from the hairpin, non-templated 3′ A/U additions, a
substitution); fragments of other RNA (random "transcripts", fragmented at preferred sites, so
they are redundant like real tRNA/rRNA/Y RNA fragments); adapter dimers. Each molecule gets the
3′ adapter (and, optionally, a UMI and the downstream Illumina adapter), is cut to the read
length, and receives substitution errors at a rate rising along the read. Every read's true
miRNA is recorded (totals in the result, per read in the FASTQ header comment, ``-`` for
non-miRNA reads). miRNAs whose mature sequence is shared with another miRNA are not simulated:
their reads have no single true source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exomir.quant.reference import MirnaReference
from exomir.quant.adapters import AdapterTrimmer
from exomir.quant.kernel import encode
from exomir.quant.sample import QuantOptions
from exomir.quant.scan import classify_insert
from exomir.quant.store import AssignmentStore

TRUSEQ = "TGGAATTCTCGGGTGCCAAGG"
ILLUMINA_3P = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCAC"
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass
class SimulatedLibrary:
    path: Path
    reads: int
    truth: Counter = field(default_factory=Counter)  # miRNA -> reads (before any UMI collapse)
    molecules: Counter = field(default_factory=Counter)  # miRNA -> distinct molecules (UMI truth)
    mirna_reads: int = 0
    dimers: int = 0
    other: int = 0


def _isomir(rng: np.random.Generator, ref: MirnaReference, arm, hseq: str) -> str:
    """A mature sequence or one of its isomiRs, drawn with realistic frequencies."""
    start, end = arm.start, arm.end
    u = rng.random()
    if u < 0.55:
        pass  # reference sequence
    elif u < 0.85:  # templated 3′ shift (most common isomiR class)
        end += int(rng.choice([-2, -1, 1, 2], p=[0.25, 0.4, 0.25, 0.1]))
    elif u < 0.92:  # templated 5′ shift
        start += int(rng.choice([-1, 1]))
    start = max(0, start)
    end = min(len(hseq), max(end, start + 17))
    seq = hseq[start:end]
    if rng.random() < 0.12:  # non-templated 3′ addition
        tail = "A" if rng.random() < 0.5 else "T"
        seq += tail * int(rng.choice([1, 2], p=[0.8, 0.2]))
    if rng.random() < 0.02:  # single-nucleotide variant (editing/SNP)
        pos = int(rng.integers(1, len(seq) - 1))
        seq = seq[:pos] + "ACGT".replace(seq[pos], "")[int(rng.integers(3))] + seq[pos + 1:]
    return seq


def simulate_library(
    path: str | Path,
    reference: MirnaReference,
    *,
    reads: int = 100_000,
    read_length: int = 50,
    n_mirnas: int = 400,
    mirna_fraction: float = 0.7,
    dimer_fraction: float = 0.03,
    adapter: str = TRUSEQ,
    umi_length: int = 0,
    error_start: float = 0.001,
    error_end: float = 0.004,
    seed: int = 0,
    batch: int = 200_000,
    random_fraction: float = 0.0,
    random_pool: int = 500_000,
    fragment_fraction: float = 0.0,
    long_rnas: int = 300,
) -> SimulatedLibrary:
    """Write a gzipped FASTQ of ``reads`` reads and return the truth. Same seed, same file.

    Besides the fixed species (miRNA isoforms, a dimer, other-RNA hotspots: the rest of the
    reads), ``random_fraction`` of the reads are drawn from a pool of ``random_pool`` random
    inserts (16–45 nt) and ``fragment_fraction`` are fragments (18–45 nt, anywhere) of
    ``long_rnas`` fixed long RNAs of 80–600 nt with log-normal abundance, which repeat as tRNA
    and rRNA fragments do: together they make a plasma-like library mostly not miRNA, with
    hundreds of thousands of distinct inserts."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    # miRNAs that sit on a hairpin arm, one hairpin each (the truth is the mature name)
    # miRNAs whose mature sequence is unique (a shared sequence has no single true miRNA)
    arms = sorted({a.name: a for hp in sorted(reference.arms) for a in reference.arms[hp]
                   if len(reference.by_sequence[reference.mature[a.name]]) == 1}.values(), key=lambda a: a.name)
    chosen = [arms[i] for i in sorted(rng.choice(len(arms), size=min(n_mirnas, len(arms)), replace=False))]
    weights = rng.lognormal(0.0, 2.2, size=len(chosen))
    weights /= weights.sum()
    # a fixed pool of isomiR sequences per miRNA keeps the library as redundant as real ones
    pools = []
    for arm in chosen:
        hseq = reference.hairpins[arm.hairpin]
        pool = Counter(_isomir(rng, reference, arm, hseq) for _ in range(60))
        seqs = sorted(pool)
        p = np.array([pool[s] for s in seqs], dtype=float)
        pools.append((seqs, p / p.sum()))
    transcripts = ["".join(rng.choice(list("ACGT"), size=400)) for _ in range(60)]
    hotspots = [(int(t), int(s), int(rng.integers(18, 45))) for t in range(60) for s in rng.choice(380, size=8, replace=False)]
    hot_w = rng.lognormal(0, 1.5, size=len(hotspots))
    hot_w /= hot_w.sum()

    # every distinct insert with its probability: miRNA isoforms, the dimer, other-RNA fragments
    species: list[tuple[str, str | None]] = []
    probs: list[float] = []
    for arm, w, (seqs, p) in zip(chosen, weights, pools):
        for seq, q in zip(seqs, p):
            species.append((seq, arm.name))
            probs.append(mirna_fraction * w * q)
    species.append(("", None))
    probs.append(dimer_fraction)
    other_fraction = max(0.0, 1.0 - mirna_fraction - dimer_fraction - random_fraction - fragment_fraction)
    for (t, s, ln), w in zip(hotspots, hot_w):
        species.append((transcripts[t][s:s + ln], None))
        probs.append(other_fraction * w)
    fixed = len(species)
    if random_fraction > 0:
        species.append(("", None))  # stands for a draw from the random pool
        probs.append(random_fraction)
    if fragment_fraction > 0:
        species.append(("", None))  # stands for a fragment of a long RNA
        probs.append(fragment_fraction)
    prob = np.array(probs)
    prob /= prob.sum()
    labels = [name or "-" for _, name in species]
    pool_len = rng.integers(16, 46, size=random_pool if random_fraction > 0 else 0)
    pool_text = "".join(rng.choice(list("ACGT"), size=int(pool_len.sum()))) if len(pool_len) else ""
    pool_at = np.concatenate([[0], np.cumsum(pool_len)])
    long_seqs = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(80, 601)))) for _ in range(long_rnas)] \
        if fragment_fraction > 0 else []
    long_w = rng.lognormal(0, 1.5, size=len(long_seqs))
    long_w = long_w / long_w.sum() if len(long_seqs) else long_w
    random_id = fixed if random_fraction > 0 else -1
    fragment_id = fixed + (random_fraction > 0) if fragment_fraction > 0 else -1

    def extra_inserts(idx: np.ndarray) -> dict[int, str]:
        """Inserts of the reads drawn from the random pool or as long-RNA fragments."""
        out: dict[int, str] = {}
        pos = np.flatnonzero(idx == random_id)
        if len(pos):
            pick = rng.integers(0, len(pool_len), size=len(pos))
            for i, k in zip(pos.tolist(), pick.tolist()):
                out[i] = pool_text[pool_at[k]:pool_at[k + 1]]
        pos = np.flatnonzero(idx == fragment_id)
        if len(pos):
            which = rng.choice(len(long_seqs), size=len(pos), p=long_w)
            lengths = rng.integers(18, 46, size=len(pos))
            starts = rng.random(len(pos))
            for i, t, ln, u in zip(pos.tolist(), which.tolist(), lengths.tolist(), starts.tolist()):
                seq = long_seqs[t]
                start = int(u * (len(seq) - ln))
                out[i] = seq[start:start + ln]
        return out
    tail = adapter + ILLUMINA_3P
    full = [(ins + tail)[:read_length].ljust(read_length, "A") for ins, _ in species]

    lib = SimulatedLibrary(path, reads)
    position = np.arange(read_length)
    error_rate = error_start + (error_end - error_start) * position / max(1, read_length - 1)
    qual = "".join(chr(33 + int(round(-10 * np.log10(e)))) for e in error_rate)
    per_species = np.zeros(len(species), dtype=np.int64)
    molecules_per_species = np.zeros(len(species), dtype=np.int64)
    done = 0
    from isal import igzip

    with igzip.IGzipFile(path, "wb", compresslevel=1, mtime=0) as out:  # mtime 0: same seed, same bytes
        while done < reads:
            n = min(batch, reads - done)
            if umi_length:
                # PCR duplicates: each molecule is read 1 + Poisson(1) times
                mol = rng.choice(len(species), size=n, p=prob)
                copies = 1 + rng.poisson(1.0, size=n)
                umis = rng.integers(0, 4, size=(n, umi_length))
                order = np.repeat(np.arange(n), copies)[:n]
                idx = mol[order]
                np.add.at(molecules_per_species, mol[np.unique(order)], 1)
                umi_text = ["".join("ACGT"[b] for b in row) for row in umis]
                texts = []
                for j, i in zip(order, idx.tolist()):
                    ins = species[i][0]
                    texts.append((ins + adapter + umi_text[j] + ILLUMINA_3P)[:read_length].ljust(read_length, "A"))
            else:
                idx = rng.choice(len(species), size=n, p=prob)
                texts = [full[i] for i in idx]
                for i, ins in extra_inserts(idx).items():
                    texts[i] = (ins + tail)[:read_length].ljust(read_length, "A")
            np.add.at(per_species, idx, 1)
            block = np.frombuffer("".join(texts).encode(), dtype=np.uint8).reshape(n, read_length).copy()
            errors = rng.random((n, read_length)) < error_rate
            subst = rng.integers(1, 4, size=int(errors.sum()))
            codes = np.searchsorted(_BASES, block[errors])
            block[errors] = _BASES[(codes + subst) % 4]
            seqs = block.tobytes().decode()
            truth = [labels[i] for i in idx.tolist()]  # the read's true miRNA in its header comment
            out.write("".join(
                f"@sim{done + i} {truth[i]}\n{seqs[i * read_length:(i + 1) * read_length]}\n+\n{qual}\n"
                for i in range(n)
            ).encode())
            done += n
    for i, (ins, name) in enumerate(species):
        if per_species[i] == 0:
            continue
        if i in (random_id, fragment_id):
            lib.other += int(per_species[i])
        elif name is not None:
            lib.truth[name] += int(per_species[i])
            lib.molecules[name] += int(molecules_per_species[i] if umi_length else per_species[i])
            lib.mirna_reads += int(per_species[i])
        elif ins:
            lib.other += int(per_species[i])
        else:
            lib.dimers += int(per_species[i])
    return lib


def evaluate_assignment(path: str | Path, reference: MirnaReference, options=None) -> dict:
    """Per-read accuracy on a simulated library: each read is trimmed and assigned like
    ``quantify`` does. ``correct`` sums the share its true miRNA received (miRNA reads);
    ``spurious`` counts the non-miRNA reads given to any miRNA."""
    import dnaio

    options = options or QuantOptions()
    trimmer = AdapterTrimmer(TRUSEQ if options.adapter == "auto" else options.adapter,
                             options.max_error_rate, options.min_overlap)
    pairs: Counter = Counter()
    with dnaio.open(path) as reader:
        for record in reader:
            pairs[(record.sequence, record.name.split(" ", 1)[1])] += 1
    inserts: dict[str, str] = {}
    for raw in {raw for raw, _ in pairs}:
        cut = trimmer.trim(raw)
        if cut is not None:
            code, insert, _ = classify_insert(cut[0], cut[1], options.min_length, options.max_length, options.trim_4n,
                                        False, 0)
            if code == 4 and not set(insert) - set("ACGT"):
                inserts[raw] = insert
    distinct = sorted(set(inserts.values()))
    store = AssignmentStore(reference)
    ids = store.outcomes_of(np.array([encode(q) for q in distinct], dtype=np.uint64))
    mirnas_of = {q: store.outcomes[i][0] if i >= 0 else () for q, i in zip(distinct, ids.tolist())}
    outcome: Counter = Counter()
    for (raw, truth), n in pairs.items():
        got = mirnas_of.get(inserts.get(raw, ""), ())
        if truth == "-":
            outcome["other_reads"] += n
            if got:
                outcome["spurious"] += n
            continue
        outcome["mirna_reads"] += n
        share = 1 / len(got) if truth in got else 0.0
        outcome["correct"] += n * share
        if not got:
            outcome["unassigned"] += n
        else:
            outcome["wrong"] += n * (1 - share)
    n = outcome["mirna_reads"]
    return {**outcome, "accuracy": outcome["correct"] / n if n else float("nan"),
            "spurious_share": outcome["spurious"] / n if n else float("nan")}
