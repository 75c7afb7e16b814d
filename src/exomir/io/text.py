"""Delimited text as the user wrote it: gzip or not, sniffed delimiter, rows with line numbers.

Every reader of exomir goes through :func:`read_rows`, so that an error can always name the
file and the line where it was found.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import sys
import zlib
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


# Byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_SAVE_AS_UTF8 = "UTF-8 text (in Excel: Save As → CSV UTF-8; elsewhere: save with encoding UTF-8)"

# A row of a miRNAs-as-rows table holds one field per sample: no line length limit of csv's own.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def check_input_file(path: str | Path) -> None:
    """An input that is missing, or a folder, is an InputError naming it as the user wrote it."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file, decompressed when gzip (recognized by its magic bytes).

    A truncated or corrupt gzip, a zip/Excel or HDF5 file is an InputError saying so.
    """
    path = Path(path)
    check_input_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
    if data.startswith(b"PK\x03\x04"):
        raise InputError(
            "is a zip archive or an Excel workbook, not a text table",
            path=path,
            expected="a CSV/TSV file (in Excel: Save As → CSV)",
        )
    if data.startswith(b"\x89HDF"):
        raise InputError("is an HDF5 file, not a text table", path=path, expected="a .h5ad Cohort named *.h5ad, or a CSV/TSV file")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise InputError("the gzip file is truncated (it ends before its last block)", path=path,
                             expected="a complete .gz file: download or copy it again") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise InputError(f"the gzip file is corrupt ({exc})", path=path,
                             expected="an intact .gz file: download or copy it again") from None
    return data


def decode_text(data: bytes, path: str | Path, *, legacy: str | None = None) -> str:
    """Decode strictly: a byte-order mark (UTF-8, UTF-16, UTF-32) decides; otherwise UTF-8.

    No character is ever replaced: a byte that is not UTF-8 is an InputError naming it and its
    line, unless ``legacy`` names a fallback encoding (instrument exports in Windows-1252).
    """
    path = Path(path)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]  # spreadsheet programs put it in front of CSV files
    else:
        for bom, codec, name in _BOMS:
            if data.startswith(bom):
                try:
                    return data.decode(codec)
                except UnicodeDecodeError as exc:
                    raise InputError(f"not valid {name} although it starts with a {name} byte-order mark ({exc.reason} "
                                     f"at byte {exc.start})", path=path, expected=_SAVE_AS_UTF8) from None
    if b"\x00" in data:
        _raise_nul(data, path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if legacy is not None:
            try:
                return data.decode(legacy)
            except UnicodeDecodeError:
                pass
        prefix = data[: exc.start].decode("utf-8")
        line = len((prefix + "x").splitlines())
        start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
        end = min(i for i in (data.find(b"\n", exc.start), data.find(b"\r", exc.start), len(data)) if i >= 0)
        context = data[start:end].decode("utf-8", errors="backslashreplace").strip()
        if len(context) > 60:
            column = exc.start - start
            context = data[max(start, start + column - 25): start + column + 25].decode("utf-8", errors="backslashreplace")
        raise InputError(
            f"not UTF-8 (byte 0x{data[exc.start]:02X} at line {line}, in '{context}'); "
            "the file may be in Latin-1/Windows-1252",
            path=path,
            expected=_SAVE_AS_UTF8,
        ) from None


def _raise_nul(data: bytes, path: Path) -> None:
    head = data[:4096]
    head = head[: len(head) - len(head) % 2]
    printable = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
    for text, zeros in ((head[0::2], head[1::2]), (head[1::2], head[0::2])):  # little-, big-endian
        if zeros and zeros.count(0) > 0.9 * len(zeros) and sum(b in printable for b in text) > 0.9 * len(text):
            raise InputError("looks like UTF-16 text without a byte-order mark", path=path, expected=_SAVE_AS_UTF8)
    line = data[: data.index(b"\x00")].count(b"\n") + 1
    raise InputError(f"binary content (a NUL byte at line {line}): not a text table", path=path,
                     expected="a CSV/TSV text file")


def open_text(path: str | Path) -> io.TextIOBase:
    """A text stream of a file as :func:`read_text` decodes it (newlines kept as written)."""
    return io.StringIO(read_text(path), newline="")


def read_text(path: str | Path) -> str:
    """The text of a file: gzip decompressed, decoded strictly (see :func:`decode_text`)."""
    return decode_text(read_bytes(path), path)


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
    spans: dict[int, int] = {}  # first line → last line of records that run over several lines
    # Parse line by line so that each record keeps the number of the line it came from.
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    consumed = 0
    try:
        for fields in reader:
            first = numbers[min(consumed, len(numbers) - 1)]
            consumed = reader.line_num
            last = numbers[min(consumed, len(numbers)) - 1]
            records.append([field.strip() for field in fields])
            record_lines.append(last)
            if last != first:
                spans[last] = first
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
            if line in spans:
                raise InputError(
                    f"a quote (\") opened on line {spans[line]} is not closed: lines {spans[line]} to {line} were read as "
                    "one row",
                    path=path,
                    line=spans[line],
                    expected="quotes in pairs around a field",
                )
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
