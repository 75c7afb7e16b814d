"""Streaming FASTQ reading: plain or gzip, collapsed into counts of identical reads chunk by chunk.

Small RNA libraries are extremely redundant (a few thousand distinct inserts make up most of the
reads), so every later step works on distinct sequences with their counts. Reading goes through
dnaio (isal-backed gzip); memory is bounded by the chunk size, not by the file size.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from operator import attrgetter
from pathlib import Path

import dnaio

from exomir.errors import InputError

#: reads collapsed per chunk; a chunk's Counter holds at most this many distinct sequences
CHUNK_READS = 1_000_000

_SEQUENCE = attrgetter("sequence")
_GZIP_MAGIC = b"\x1f\x8b"
_COLLAPSED = re.compile(r"_x(\d+)$")


def sample_name(path: str | Path) -> str:
    """The sample name of a FASTQ file: its file name without FASTQ and compression suffixes."""
    name = Path(path).name
    for suffix in (".gz", ".bz2", ".xz", ".zst"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in (".fastq", ".fq", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def check_start(path: Path) -> bool:
    """Reject empty files and files whose first byte is not '@' before dnaio sees them.

    Returns True when the file is already collapsed (``@name_x<count>`` headers, as written by
    seqcluster and miRge): each record then stands for ``count`` reads."""
    if not path.exists():
        raise InputError("file not found", path=path)
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if not magic:
        raise InputError("the file is empty", path=path, record=1, expected="FASTQ records")
    opener = gzip.open if magic == _GZIP_MAGIC else open
    try:
        with opener(path, "rb") as handle:
            head = handle.readline(1000)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot decompress: {exc}", path=path, record=1) from exc
    first = head[:1]
    if not first:
        raise InputError("the file is empty", path=path, record=1, expected="FASTQ records")
    if first != b"@":
        raise InputError(
            f"not a FASTQ file (starts with {first.decode('latin-1')!r})",
            path=path, line=1, record=1, expected="a FASTQ record starting with '@'",
        )
    return _COLLAPSED.search(head.decode("latin-1").split()[0]) is not None


def _intact_records(path: Path) -> int:
    """Number of complete 4-line records before a gzip stream breaks off."""
    lines = 0
    try:
        with gzip.open(path, "rb") as handle:
            for lines, _ in enumerate(handle, start=1):
                pass
    except (EOFError, zlib.error, OSError):
        pass
    return max(0, lines - 1) // 4  # the last line read may be cut short


def _expand_collapsed(reader, path: Path) -> Iterator[str]:
    """Sequences of a collapsed file, each repeated as often as its ``_x<count>`` header says."""
    for number, record in enumerate(reader, start=1):
        found = _COLLAPSED.search(record.name.split()[0])
        if found is None:
            raise InputError("collapsed FASTQ record without a _x<count> suffix", path=path,
                             line=4 * number - 3, record=number, expected="@name_x<count>")
        seq = record.sequence
        for _ in range(int(found.group(1))):
            yield seq


def collapse_chunks(path: str | Path, chunk_reads: int = CHUNK_READS) -> Iterator[Counter[str]]:
    """Yield, for each chunk of ``chunk_reads`` reads, a Counter of identical read sequences.

    Raises InputError naming the file and record number for a truncated gzip stream, a malformed
    record, a quality string whose length differs from the sequence, an empty or non-FASTQ file.
    """
    path = Path(path)
    collapsed = check_start(path)
    done = 0
    chunk: Counter[str] = Counter()
    try:
        with dnaio.open(path, fileformat="fastq", open_threads=1) as reader:
            sequences = _expand_collapsed(reader, path) if collapsed else map(_SEQUENCE, reader)
            while True:
                chunk = Counter()
                chunk.update(islice(sequences, chunk_reads))  # C loop: no per-read Python code
                n = chunk.total()
                chunk_out = chunk
                if not n:
                    break
                done += n
                chunk = Counter()
                yield chunk_out
                if n < chunk_reads:
                    break
    except dnaio.exceptions.FileFormatError as exc:
        line = getattr(exc, "line", None)
        record = line // 4 + 1 if line is not None else done + 1
        message = str(exc).split(" (line")[0].removeprefix("Error in FASTQ file at line ")
        raise InputError(
            f"malformed FASTQ record: {message}", path=path,
            line=None if line is None else line + 1, record=record,
        ) from exc
    except (EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
            # decompression runs ahead in a thread, so count the intact records again, serially
            done = _intact_records(path)
            raise InputError(f"truncated or corrupt gzip stream after {done} complete reads ({exc})",
                             path=path, record=done + 1) from exc
        raise InputError(f"cannot read: {exc}", path=path, record=done + chunk.total() + 1) from exc
    if done == 0:
        raise InputError("no reads", path=path, record=1, expected="FASTQ records")
