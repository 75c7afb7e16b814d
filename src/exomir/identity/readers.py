"""Readers of miRBase release files: FASTA, aliases.txt, miRNA.dat, gff3 and the name-history table.

Each reader returns plain tuples or DataFrames and raises :class:`exomir.errors.InputError`
naming the file and line when the file is not what it claims to be. Gzipped files are read
transparently.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from exomir.errors import InputError

_SEQUENCE = re.compile(r"[ACGUTNacgutn]+")
_ACC = re.compile(r"(MIMAT|MI)\d{7}")


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a text file, gunzipping when the name ends in ``.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_fasta(path: str | Path) -> list[tuple[str, str, str]]:
    """``(name, accession, sequence)`` of each record of a miRBase FASTA file.

    Headers look like ``>hsa-let-7a-5p MIMAT0000062 Homo sapiens let-7a-5p``; the accession may
    be missing in other FASTA files (then ``""``). Sequences use the RNA or DNA alphabet.
    Kept line by line rather than dnaio: dnaio joins a record's lines and reports no line numbers,
    which these errors must name (header without a name, bad character, empty record).
    """
    records: list[tuple[str, str, str]] = []
    name = acc = None
    seq: list[str] = []
    header_line = 0
    try:
        handle = open_text(path)
    except OSError as exc:
        raise InputError(f"cannot read the FASTA file ({exc.strerror})", path=path) from exc
    with handle:
        try:
            for lineno, raw in enumerate(handle, start=1):
                line = raw.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    if name is not None:
                        _finish(records, name, acc, seq, path, header_line)
                    fields = line[1:].split()
                    if not fields:
                        raise InputError("FASTA header without a name", path=path, line=lineno, expected="'>name ACCESSION'")
                    name = fields[0]
                    acc = fields[1] if len(fields) > 1 and _ACC.fullmatch(fields[1]) else ""
                    seq = []
                    header_line = lineno
                    continue
                if name is None:
                    raise InputError(
                        "sequence line before the first FASTA header", path=path, line=lineno, expected="a '>' header line"
                    )
                if not _SEQUENCE.fullmatch(line):
                    bad = next(ch for ch in line if ch not in "ACGUTNacgutn")
                    raise InputError(
                        f"invalid character {bad!r} in the sequence of {name}",
                        path=path,
                        line=lineno,
                        expected="nucleotides A, C, G, U/T or N",
                    )
                seq.append(line)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"cannot read the file ({exc})", path=path) from exc
    if name is not None:
        _finish(records, name, acc, seq, path, header_line)
    if not records:
        raise InputError("no FASTA records found", path=path, expected="'>name ACCESSION' headers followed by sequences")
    return records


def _finish(records, name, acc, seq, path, header_line) -> None:
    if not seq:
        raise InputError(f"FASTA record {name} has no sequence", path=path, line=header_line)
    records.append((name, acc or "", "".join(seq).upper().replace("T", "U")))


def read_aliases(path: str | Path) -> pd.DataFrame:
    """miRBase ``aliases.txt``: ``accession<TAB>name1;name2;...;`` → long table ``accession, alias``.

    Every name an accession ever had is listed, the current one last; the file does not say in
    which release each was used.
    """
    rows: list[tuple[str, str, int]] = []
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n\r")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not _ACC.fullmatch(parts[0].strip()):
                raise InputError(
                    "not an aliases.txt line", path=path, line=lineno, expected="ACCESSION<TAB>name;name;..."
                )
            names = [n.strip() for n in parts[1].split(";") if n.strip()]
            for order, alias in enumerate(names):
                rows.append((parts[0].strip(), alias, order))
    return pd.DataFrame(rows, columns=["accession", "alias", "order"])


def read_history(path: str | Path) -> pd.DataFrame:
    """Name-history table (one row per mature accession, one column per release ``v6``...``v22``).

    Returns a long table ``mimat, name, release`` (release as written by miRBase: ``7.1``, ``22``).
    """
    with open_text(path) as handle:
        header = handle.readline().rstrip("\n\r").split("\t")
        if not header or header[0] != "mature_acc":
            raise InputError("not a name-history table", path=path, line=1, expected="first column 'mature_acc'")
        release_cols = [(i, col) for i, col in enumerate(header) if re.fullmatch(r"v\d+(_\d+)?", col)]
        if not release_cols:
            raise InputError("no release columns", path=path, line=1, expected="columns named v6, v7_1, ... v22")
        rows: list[tuple[str, str, str]] = []
        for lineno, raw in enumerate(handle, start=2):
            parts = raw.rstrip("\n\r").split("\t")
            if len(parts) == 1 and not parts[0]:
                continue
            if len(parts) != len(header) or not _ACC.fullmatch(parts[0]):
                raise InputError(
                    f"expected {len(header)} tab-separated fields starting with an accession, found {len(parts)}",
                    path=path,
                    line=lineno,
                )
            for i, col in release_cols:
                if parts[i]:
                    rows.append((parts[0], parts[i], col[1:].replace("_", ".")))
    return pd.DataFrame(rows, columns=["mimat", "name", "release"])


def read_precursor_map(path: str | Path) -> pd.DataFrame:
    """Mature → precursor table (``mature_acc, mature_name, mature_seq, precursor_acc, precursor_name, species``)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    needed = {"mature_acc", "mature_name", "precursor_acc", "precursor_name"}
    missing = needed - set(table.columns)
    if missing:
        raise InputError(f"missing columns {sorted(missing)}", path=path, line=1, expected=", ".join(sorted(needed)))
    return table.rename(
        columns={"precursor_acc": "mi", "precursor_name": "precursor", "mature_acc": "mimat", "mature_name": "mature"}
    )


def read_gff3(path: str | Path) -> tuple[pd.DataFrame, str | None]:
    """miRBase species ``gff3``: products table ``mi, precursor, mimat, mature`` and the release."""
    release = None
    hairpins: dict[str, str] = {}
    matures: list[tuple[str, str, str]] = []
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            if raw.startswith("#"):
                found = re.search(r"miRBase\s+v?(\d+(?:\.\d+)?)", raw)
                if found and release is None:
                    release = found.group(1)
                continue
            if not raw.strip():
                continue
            cols = raw.rstrip("\n\r").split("\t")
            if len(cols) != 9:
                raise InputError(f"expected 9 tab-separated GFF3 columns, found {len(cols)}", path=path, line=lineno)
            attrs = dict(a.split("=", 1) for a in cols[8].split(";") if "=" in a)
            if "ID" not in attrs or "Name" not in attrs:
                raise InputError("GFF3 record without ID or Name", path=path, line=lineno, column=9)
            if cols[2] == "miRNA_primary_transcript":
                hairpins[attrs["ID"].split("_")[0]] = attrs["Name"]
            elif cols[2] == "miRNA":
                parent = attrs.get("Derives_from", "")
                matures.append((parent, attrs["ID"].split("_")[0], attrs["Name"]))
    rows = {(mi, hairpins.get(mi, ""), mimat, name) for mi, mimat, name in matures}
    table = pd.DataFrame(sorted(rows), columns=["mi", "precursor", "mimat", "mature"])
    return table, release


def iter_embl(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Records of an EMBL-style ``miRNA.dat`` (terminated by ``//``), with their first line number."""
    record: list[str] = []
    start = 1
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n\r")
            if not record:
                start = lineno
            if line.startswith("//"):
                if record:
                    yield start, record
                record = []
                continue
            if line.strip():
                record.append(line)
    if record:
        raise InputError("last record is not terminated by '//'", path=path, line=start)


def read_mirna_dat(path: str | Path) -> pd.DataFrame:
    """``miRNA.dat``: products table ``mi, precursor, mimat, mature`` (all species)."""
    rows: list[tuple[str, str, str, str]] = []
    for start, record in iter_embl(path):
        if not record[0].startswith("ID"):
            raise InputError("EMBL record does not start with an ID line", path=path, line=start, expected="'ID   name ...'")
        precursor = record[0].split()[1]
        mi = ""
        pending_acc = None
        for line in record[1:]:
            if line.startswith("AC") and not mi:
                mi = line[2:].strip().rstrip(";").split(";")[0].strip()
            elif line.startswith("FT"):
                found = re.search(r'/accession="([^"]+)"', line)
                if found:
                    pending_acc = found.group(1)
                found = re.search(r'/product="([^"]+)"', line)
                if found and pending_acc:
                    rows.append((mi, precursor, pending_acc, found.group(1)))
                    pending_acc = None
        if not mi:
            raise InputError(f"record {precursor} has no AC line", path=path, line=start)
    return pd.DataFrame(rows, columns=["mi", "precursor", "mimat", "mature"])
