"""Variant strings of ``isomirs.gff3`` against ``mirtop gff`` (BAM route) on 5,000 real reads.

    EXOMIR_SHARED_DATA=../shared/data .venv/bin/python benchmarks/mirtop_agreement.py --mirtop /path/to/venv/bin/mirtop

Needs Debian's ``bowtie`` and ``samtools`` and a ``mirtop`` (PyPI; it is not an exomir
dependency: install it in a scratch virtualenv with ``six pysam pybedtools biopython pandas pyyaml``).

1. The first 5,000 reads of ``nextseq_truseq_1.fastq.gz``.
2. exomir: ``exomir quantify`` on them (its own trimming and placement), ``isomirs.gff3``.
3. mirtop's route, as nf-core/smrnaseq runs it: cutadapt (the TruSeq adapter, -e 0.1 -O 3,
   16-30 nt, untrimmed reads dropped), bowtie 1 to the miRBase 22 hairpins (``-k 50 --best
   --strata -e 99999 --norc``), samtools sort/index, ``mirtop gff --sps hsa`` with the hairpins and
   miRBase's ``hsa.gff3``.
4. Per read whose sequence both place on the same mature miRNA of the same hairpin: are the
   Variant attributes the same (as sets of comma-separated terms)? Differences are grouped by
   class, with examples. Writes ``benchmarks/results/mirtop_agreement.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EXOMIR_SHARED_DATA", REPO.parent / "shared" / "data"))
ADAPTER = "TGGAATTCTCGGGTGCCAAGG"


def _gff(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(read, hairpin) -> (mature, Variant) of a mirGFF3 file."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        attrs = dict(re.match(r"\s*(\S+)\s+(.*)", a).groups() for a in cols[8].split(";") if a.strip())
        out[(attrs["Read"], attrs["Parent"])] = (attrs["Name"], attrs["Variant"].strip())
    return out


def _unique_fasta(source: Path, dest: Path) -> None:
    """Hairpins in the DNA alphabet, names to the first space, each name once (bowtie, samtools)."""
    seen, keep, lines = set(), False, []
    for line in source.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            keep = name not in seen
            seen.add(name)
            line = ">" + name
        elif keep:
            line = line.upper().replace("U", "T")
        if keep:
            lines.append(line)
    dest.write_text("\n".join(lines) + "\n")


def _term_class(variant: str) -> str:
    return ",".join(sorted(re.sub(r":[+-]?\d+", ":N", t) for t in variant.split(",")))


def compare(ours: dict, theirs: dict, reads: Counter) -> dict:
    both = agree = 0
    classes: Counter = Counter()
    examples: dict[str, list] = defaultdict(list)
    by_seq: dict[str, list] = defaultdict(list)
    for key in ours:
        by_seq[key[0]].append(key)
    for seq in sorted(set(by_seq) & {k[0] for k in theirs}):
        common = [k for k in by_seq[seq] if k in theirs and ours[k][0] == theirs[k][0]]
        n = reads[seq]
        both += n
        if not common:
            classes["placed on another miRNA or hairpin"] += n
            continue
        differ = [k for k in common if set(ours[k][1].split(",")) != set(theirs[k][1].split(","))]
        if not differ:
            agree += n
            continue
        k = differ[0]
        label = f"{_term_class(ours[k][1])} | mirtop: {_term_class(theirs[k][1])}"
        classes[label] += n
        if len(examples[label]) < 3:
            examples[label].append({"read": seq, "hairpin": k[1], "mirna": ours[k][0], "exomir": ours[k][1],
                                    "mirtop": theirs[k][1]})
    ours_seqs, their_seqs = set(by_seq), {k[0] for k in theirs}
    return {"reads_placed_by_both": both, "reads_agreeing": agree, "agreement": round(agree / both, 4) if both else None,
            "reads_placed_by_exomir_only": sum(reads[s] for s in ours_seqs - their_seqs),
            "reads_placed_by_mirtop_only": sum(reads[s] for s in their_seqs - ours_seqs),
            "differences": [{"class": c, "reads": n, "examples": examples.get(c, [])} for c, n in classes.most_common()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirtop", required=True, help="the mirtop executable")
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "mirtop_agreement.json")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with gzip.open(DATA / "fastq" / "nextseq_truseq_1.fastq.gz", "rt") as fh:
            head = [next(fh) for _ in range(4 * args.reads)]
        (t / "reads.fastq").write_text("".join(head))
        subprocess.run([str(bin_dir / "exomir"), "quantify", str(t / "reads.fastq"), "--out", str(t / "exomir"),
                        "--mirbase", str(DATA / "mirbase_v22"), "--no-rna-types", "--threads", "1"], check=True,
                       capture_output=True)
        subprocess.run([str(bin_dir / "cutadapt"), "-a", ADAPTER, "-e", "0.1", "-O", "3", "-m", "16", "-M", "30",
                        "--discard-untrimmed", "--quiet", "-o", str(t / "trimmed.fastq"), str(t / "reads.fastq")],
                       check=True)
        _unique_fasta(DATA / "mirbase_v22" / "hsa_hairpin.fa", t / "hairpin.fa")
        gff = [line for line in (DATA / "mirbase_v22" / "hsa.gff3").read_text().splitlines() if line.strip()]
        (t / "hsa.gff3").write_text("\n".join(gff) + "\n")  # mirtop stops at a blank line
        subprocess.run(["bowtie-build", "-q", str(t / "hairpin.fa"), str(t / "hairpin")], check=True)
        sam = subprocess.run(["bowtie", "-q", "-k", "50", "--best", "--strata", "-e", "99999", "--norc", "-S",
                              "-x", str(t / "hairpin"), str(t / "trimmed.fastq")], check=True, capture_output=True).stdout
        bam = subprocess.run(["samtools", "view", "-b", "-F", "4", "-"], input=sam, check=True,
                             capture_output=True).stdout
        subprocess.run(["samtools", "sort", "-o", str(t / "aligned.bam"), "-"], input=bam, check=True)
        subprocess.run(["samtools", "index", str(t / "aligned.bam")], check=True)
        subprocess.run([args.mirtop, "gff", "--sps", "hsa", "--hairpin", str(t / "hairpin.fa"), "--gtf",
                        str(t / "hsa.gff3"), "-o", str(t / "mirtop"), str(t / "aligned.bam")], check=True,
                       capture_output=True)
        reads = Counter((t / "trimmed.fastq").read_text().split("\n")[1::4])
        version = subprocess.run([args.mirtop, "--version"], capture_output=True, text=True).stdout.strip()
        result = compare(_gff(t / "exomir" / "isomirs.gff3"), _gff(t / "mirtop" / "aligned.gff"), reads)
    result.update(reads=args.reads, library="nextseq_truseq_1.fastq.gz (first reads)", mirtop=version)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"reads placed by both: {result['reads_placed_by_both']:,}; variant strings agree for "
          f"{result['reads_agreeing']:,} ({result['agreement']:.2%})")
    for d in result["differences"]:
        print(f"  {d['reads']:>5}  {d['class']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
