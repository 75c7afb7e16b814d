"""Reference miRNA counts of the real reads by the classic route: cutadapt, then bowtie.

Run once (needs the ``cutadapt`` of the virtualenv and Debian's ``bowtie``):

    .venv/bin/python tests/reference/quant/cutadapt_bowtie.py

and commit the CSV it writes next to itself. Route (as miRge3 and nf-core/smrnaseq do it):

1. cutadapt trims the kit's 3′ adapter (-e 0.1 -O 3, -m 16 -M 30, untrimmed reads discarded);
   for the QIAseq file the 12 nt after the adapter (from cutadapt's --info-file) are the UMI,
   and reads are deduplicated by (trimmed sequence, UMI) as UMI-aware pipelines do;
2. bowtie 1 aligns the trimmed reads to the human hairpins (miRBase 22) end to end with at most
   one mismatch, forward strand only, keeping all best-stratum alignments (-v 1 -a --best --strata --norc);
3. an alignment counts for a mature miRNA when its 5′ end lies within 3 nt of the mature's
   5′ end in that hairpin (mature positions by locating the mature sequence in the hairpin);
   a read with several such miRNAs is split evenly among them.

This shares no code with exomir.quant.
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DATA = REPO.parent / "shared" / "data"
CUTADAPT = REPO / ".venv" / "bin" / "cutadapt"
SAMPLES = {
    "nextseq_truseq_1": ("nextseq_truseq_1.fastq.gz", "TGGAATTCTCGGGTGCCAAGG", 0),
    "nextseq_truseq_2": ("nextseq_truseq_2.fastq.gz", "TGGAATTCTCGGGTGCCAAGG", 0),
    "nextseq_qiaseq_umi": ("nextseq_qiaseq_umi.fastq.gz", "AACTGTAGGCACCATCAAT", 12),
}


def read_fasta(path: Path) -> dict[str, str]:
    out, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        elif name:
            out[name] += line.strip().upper().replace("U", "T")
    return out


def mature_positions(mirbase: Path) -> dict[str, list[tuple[str, int]]]:
    """hairpin -> [(mature name, 0-based start)]."""
    mature = read_fasta(mirbase / "hsa_mature.fa")
    hairpin = read_fasta(mirbase / "hsa_hairpin.fa")
    positions: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with gzip.open(mirbase / "mature_precursor_map.tsv.gz", "rt") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["species"] != "hsa":
                continue
            m, h = row["mature_name"], row["precursor_name"]
            if m in mature and h in hairpin:
                start = hairpin[h].find(mature[m])
                if start >= 0 and (m, start) not in positions[h]:
                    positions[h].append((m, start))
    return positions


def trimmed_reads(fastq: Path, adapter: str, umi_length: int, workdir: Path) -> Counter:
    """Trimmed sequences -> reads (or molecules with UMIs) using cutadapt."""
    info = workdir / f"{fastq.stem}.info.tsv"
    subprocess.run(
        [str(CUTADAPT), "-a", adapter, "-e", "0.1", "-O", "3", "-m", "16", "-M", "30",
         "--discard-untrimmed", "--quiet", "--info-file", str(info), "-o", str(workdir / "trimmed.fastq"),
         str(fastq)],
        check=True,
    )
    kept = set()
    with open(workdir / "trimmed.fastq") as handle:
        for i, line in enumerate(handle):
            if i % 4 == 0:
                kept.add(line[1:].split()[0])
    counts: Counter = Counter()
    molecules = set()
    with open(info) as handle:
        for row in csv.reader(handle, delimiter="\t"):
            name = row[0].split()[0]
            if name not in kept or row[1] == "-1":
                continue
            insert, after = row[4], row[6]
            if umi_length:
                if len(after) >= umi_length:
                    key = (insert, after[:umi_length])
                    if key in molecules:
                        continue
                    molecules.add(key)
            counts[insert] += 1
    return counts


def main() -> None:
    mirbase = DATA / "mirbase_v22"
    positions = mature_positions(mirbase)
    table: dict[str, Counter] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        index = work / "hairpin"
        hairpins = read_fasta(mirbase / "hsa_hairpin.fa")
        with open(work / "hairpin.fa", "w") as fa:
            for name, seq in hairpins.items():
                fa.write(f">{name}\n{seq}\n")
        subprocess.run(["bowtie-build", "--quiet", str(work / "hairpin.fa"), str(index)], check=True)
        for sample, (fname, adapter, umi) in SAMPLES.items():
            reads = trimmed_reads(DATA / "fastq" / fname, adapter, umi, work)
            seqs = sorted(reads)
            with open(work / "reads.fa", "w") as fa:
                for i, s in enumerate(seqs):
                    fa.write(f">r{i}\n{s}\n")
            sam = subprocess.run(
                ["bowtie", "-f", "-v", "1", "-a", "--best", "--strata", "--norc", "--no-unal", "-S", "--quiet",
                 str(index), str(work / "reads.fa")],
                check=True, capture_output=True, text=True,
            ).stdout
            targets: dict[int, set[str]] = defaultdict(set)
            for line in sam.splitlines():
                if line.startswith("@"):
                    continue
                f = line.split("\t")
                if f[2] == "*":
                    continue
                read, hp, pos = int(f[0][1:]), f[2], int(f[3]) - 1
                for mature, start in positions.get(hp, ()):
                    if abs(pos - start) <= 3:
                        targets[read].add(mature)
            counts: Counter = Counter()
            for read, names in targets.items():
                for m in names:
                    counts[m] += reads[seqs[read]] / len(names)
            table[sample] = counts
            print(f"{sample}: {sum(reads.values())} trimmed reads/molecules, {sum(counts.values()):.0f} to miRNAs",
                  file=sys.stderr)
    mirnas = sorted(set().union(*table.values()))
    with open(HERE / "cutadapt_bowtie_counts.csv", "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["mirna", *table])
        for m in mirnas:
            writer.writerow([m, *(f"{table[s][m]:.4g}" for s in table)])


if __name__ == "__main__":
    main()
