"""Delimited text as the user wrote it: gzip or not, sniffed delimiter, rows with line numbers.

Every reader of exomir goes through :func:`read_rows`, so that an error can always name the
file and the line where it was found.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from exomir.errors import InputError

DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}

# Cell texts that mean "no value". For Cq tables they are non-detects; elsewhere missing values.
MISSING_TOKENS = frozenset(
    {
        "",
        "na",
        "n/a",
        "nan",
        "null",
        "none",
        "-",
        "--",
        ".",
        "undetermined",
        "undet",
        "undet.",
        "no ct",
        "noct",
        "no cq",
        "nocq",
        "no amp",
        "no amplification",
        "nd",
        "n.d.",
        "not detected",
        "#n/a",
        "#na",
    }
)


def is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING_TOKENS


@dataclass
class Rows:
    """The records of a delimited file: ``header``, ``rows`` and the line of each row."""

    path: Path
    delimiter: str
    header: list[str]
    header_line: int
    rows: list[list[str]]
    lines: list[int]
    comments: int = 0

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a text file for reading, decompressing gzip (recognized by its magic bytes)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"PK\x03\x04"):
        raise InputError(
            "is a zip archive or an Excel workbook, not a text table",
            path=path,
            expected="a CSV/TSV file (in Excel: Save As → CSV)",
        )
    if magic.startswith(b"\x89HDF"):
        raise InputError("is an HDF5 file, not a text table", path=path, expected="a .h5ad Cohort named *.h5ad, or a CSV/TSV file")
    if magic[:2] == b"\x1f\x8b":
        raw = gzip.open(path, "rb")
    else:
        raw = open(path, "rb")
    # utf-8-sig drops the byte-order mark that spreadsheet programs put in front of CSV files.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def read_text(path: str | Path) -> str:
    try:
        with open_text(path) as handle:
            return handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read the file ({exc})", path=path) from exc


def _content_lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines that are not ``#`` comments, with their 1-based line numbers."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        out.append((number, line))
    return out


def sniff_delimiter(path: Path, lines: list[tuple[int, str]], expected: str | None) -> str:
    """Pick the delimiter that splits the first lines into the same number (≥ 2) of fields."""
    sample = [line for _, line in lines[:50]]
    best: tuple[float, int, int] | None = None
    choice = None
    for rank, delimiter in enumerate(DELIMITERS):
        counts = [len(fields) for fields in csv.reader(sample, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        common, n_common = Counter(counts).most_common(1)[0]
        consistency = n_common / len(counts)
        # Header and body must agree (the header may lack the corner cell of the row labels).
        header_fits = counts[0] in (common, common - 1)
        score = (consistency if header_fits else consistency / 2, common, -rank)
        if best is None or score > best:
            best, choice = score, delimiter
    if choice is None:
        seen = [DELIMITERS[d] for d in DELIMITERS if d in sample[0]]
        raise InputError(
            "every line holds a single field: no tab, comma, semicolon or pipe separates the columns"
            + (f" (the first line contains {', '.join(seen)} characters inside quotes)" if seen else ""),
            path=path,
            line=lines[0][0],
            expected=expected or "a table of at least two columns",
        )
    return choice


def read_rows(
    path: str | Path,
    *,
    delimiter: str | None = None,
    what: str = "table",
    min_columns: int = 2,
) -> Rows:
    """Read a delimited table, checking that every row has as many fields as the header.

    ``delimiter=None`` sniffs it. The header may have one field fewer than the rows (tables
    written with row names and no corner cell); it then gets an empty first field.
    """
    path = Path(path)
    text = read_text(path)
    lines = _content_lines(text)
    if not lines:
        raise InputError(f"the file is empty: no {what} found", path=path, expected=f"{_a(what)} with a header line")
    if delimiter is None:
        delimiter = sniff_delimiter(path, lines, expected=f"{_a(what)} separated by tabs, commas or semicolons")
    comments = sum(1 for line in text.splitlines() if line.strip().startswith("#"))
    numbers = [number for number, _ in lines]
    records: list[list[str]] = []
    record_lines: list[int] = []
    # Parse line by line so that each record keeps the number of the line it came from.
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    try:
        for fields in reader:
            records.append([field.strip() for field in fields])
            record_lines.append(numbers[min(reader.line_num, len(numbers)) - 1])
    except csv.Error as exc:
        raise InputError(f"malformed quoting ({exc})", path=path, line=numbers[min(reader.line_num, len(numbers)) - 1]) from exc
    header, header_line = records[0], record_lines[0]
    body, body_lines = records[1:], record_lines[1:]
    if len(header) < min_columns:
        other = [DELIMITERS[d] for d in DELIMITERS if d != delimiter and d in lines[0][1]]
        hint = f"; the header contains {other[0]} characters: is the file separated by {other[0]}s?" if other else ""
        raise InputError(
            f"the header has {len(header)} column with {DELIMITERS.get(delimiter, repr(delimiter))} as delimiter{hint}",
            path=path,
            line=header_line,
            expected=f"at least {min_columns} columns",
        )
    if body and len(header) == len(body[0]) - 1 and all(len(r) == len(header) + 1 for r in body[:20]):
        header = [""] + header
    width = len(header)
    for fields, line in zip(body, body_lines):
        if len(fields) != width:
            # A trailing delimiter gives one empty extra field: accept it.
            if len(fields) == width + 1 and fields[-1] == "":
                fields.pop()
                continue
            raw = dict(lines).get(line, "")
            other = [DELIMITERS[d] for d in DELIMITERS if d != delimiter and raw.count(d) >= width - 1]
            hint = (
                f" (this line seems separated by {other[0]}s, the header by {DELIMITERS.get(delimiter, repr(delimiter))}s)"
                if len(fields) == 1 and other
                else ""
            )
            raise InputError(
                f"ragged row: {len(fields)} fields where the header has {width}{hint}",
                path=path,
                line=line,
                expected=f"{width} {DELIMITERS.get(delimiter, repr(delimiter))}-separated fields on every line",
            )
    return Rows(
        path=path,
        delimiter=delimiter,
        header=header,
        header_line=header_line,
        rows=body,
        lines=body_lines,
        comments=comments,
    )


def check_unique(labels: list[str], places: list[int], *, path: Path, what: str, place: str = "line") -> None:
    """Raise an InputError naming the first duplicated label and where both copies are."""
    seen: dict[str, int] = {}
    for label, where in zip(labels, places):
        if label in seen:
            first = seen[label]
            if place == "line":
                raise InputError(
                    f"duplicated {what} {label!r} (first seen on line {first})",
                    path=path,
                    line=where,
                    expected=f"each {what} once",
                )
            raise InputError(
                f"duplicated {what} {label!r} in header columns {first} and {where}",
                path=path,
                expected=f"each {what} once",
            )
        seen[label] = where


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun
