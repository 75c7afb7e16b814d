"""Low-level text handling for qPCR exports: decoding, delimiters, column names, Cq values.

Instrument software writes UTF-8, UTF-16 (with a byte-order mark) or a Windows code page, uses
tabs, commas or semicolons, and spells the cycle column ``CT``, ``Cт`` (Cyrillic te, QuantStudio),
``Cq`` or ``Cp`` (LightCycler). Everything here maps those spellings onto one vocabulary.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from exomir.errors import InputError
from exomir.io.text import decode_text

# Values that mean "no amplification" in the exports we read (compared lower-case, stripped).
NONDETECT_TOKENS = frozenset(
    {
        "",
        "undetermined",
        "undet",
        "undet.",
        "no ct",
        "no cq",
        "no cp",
        "noct",
        "n/a",
        "na",
        "nan",
        "-",
        "--",
        "none",
        "nd",
        "n.d.",
        "not detected",
        "no amp",
        "no amplification",
        "negative",
    }
)

# Canonical column → accepted spellings (after :func:`column_key`).
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sample": ("samplename", "sample", "sampleid", "name", "biologicalsetname"),
    "target": (
        "targetname",
        "target",
        "detector",
        "detectorname",
        "assay",
        "assayname",
        "assayid",
        "gene",
        "genename",
        "mirna",
        "mirnaname",
        "microrna",
        "feature",
    ),
    "cq": ("ct", "cq", "cp", "crt", "cqvalue", "ctvalue", "cpvalue", "cqconf"),
    "well": ("wellposition", "well", "pos", "position"),
    "task": ("task", "content", "sampletype", "type"),
    "omit": ("omit", "omitted", "excluded"),
    "include": ("include", "included"),
    "plate": ("plate", "plateid", "platename", "run", "runid", "batch"),
}


def column_key(name: str) -> str:
    """A spelling-independent key for a column name (``Cт`` → ``ct``, ``Sample Name`` → ``samplename``)."""
    text = name.strip().lower().replace("\u0442", "t")  # Cyrillic te in QuantStudio "Cт"
    return re.sub(r"[\s._\-()#]+", "", text)


def find_columns(header: list[str]) -> dict[str, int]:
    """Map canonical column names to their index in ``header`` (first synonym in priority order wins)."""
    keys = [column_key(h) for h in header]
    found: dict[str, int] = {}
    for canonical, synonyms in COLUMN_SYNONYMS.items():
        for synonym in synonyms:
            if synonym in keys:
                found[canonical] = keys.index(synonym)
                break
    # "cqconf" is only a last resort; never let a confidence column stand in for Cq
    if "cq" in found and keys[found["cq"]] == "cqconf":
        del found["cq"]
    return found


def read_lines(path: Path) -> list[str]:
    """The lines of a text export, decoded (UTF-16 with BOM, UTF-8, then Windows-1252; strictly).

    An Excel workbook (``.xlsx``) is read as tab-separated lines of its ``Results`` sheet (else
    its first sheet), so that line numbers are the spreadsheet's row numbers.
    """
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _workbook_lines(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
    # instrument software of older generations writes Windows-1252: decoded as such, strictly
    text = decode_text(raw, path, legacy="cp1252")
    if "\x00" in text:
        raise InputError("binary content; export the results as text or CSV from the instrument software", path=path)
    return text.splitlines()


def head_lines(path: Path, limit: int = 262_144) -> list[str]:
    """The complete lines within the first ``limit`` bytes (enough to recognise a layout)."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return read_lines(path)[:200]
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
    truncated = len(raw) > limit
    raw = raw[:limit]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw[: len(raw) - len(raw) % 2].decode("utf-16", errors="ignore")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the limit is not a decoding problem
            text = raw[: exc.start].decode("utf-8-sig") if exc.start > len(raw) - 4 else raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise InputError("binary content; export the results as text or CSV from the instrument software", path=path)
    lines = text.splitlines()
    return lines[:-1] if truncated and len(lines) > 1 else lines


def _workbook_lines(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(f"cannot open the workbook ({exc})", path=path) from None
    try:
        names = {name.lower(): name for name in book.sheetnames}
        sheet = book[names.get("results", book.sheetnames[0])]
        lines = []
        for row in sheet.iter_rows(values_only=True):
            cells = ["" if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in row]
            while cells and not cells[-1]:
                cells.pop()
            lines.append("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells))
        return lines
    finally:
        book.close()


def sniff_delimiter(line: str) -> str:
    """Tab, semicolon or comma: whichever splits the header line into the most fields."""
    counts = {d: len(split_line(line, d)) for d in ("\t", ";", ",")}
    best = max(counts.values())
    for delimiter in ("\t", ";", ","):
        if counts[delimiter] == best:
            return delimiter
    return ","


def split_line(line: str, delimiter: str) -> list[str]:
    """Split one line (quotes honoured) and strip each field."""
    return [field.strip() for field in next(csv.reader([line], delimiter=delimiter), [])]


def parse_cq(raw: str, *, path: Path, line: int, column: str) -> float:
    """A Cq value as float; ``NaN`` for a non-detect. Anything else is an error naming the line."""
    text = raw.strip().strip('"')
    if text.lower() in NONDETECT_TOKENS:
        return math.nan
    candidate = text
    if re.fullmatch(r"-?\d+,\d+", candidate):  # decimal comma (European locale settings)
        candidate = candidate.replace(",", ".")
    try:
        value = float(candidate)
    except ValueError:
        raise InputError(
            f"Cq value {raw!r} is neither a number nor a non-detect",
            path=path,
            line=line,
            column=column,
            expected="a number or one of Undetermined, No Ct, N/A, blank",
        ) from None
    if math.isnan(value):
        return math.nan
    if not 0.0 < value < 100.0 or math.isinf(value):
        raise InputError(
            f"Cq value {raw!r} is outside the possible range of a PCR run",
            path=path,
            line=line,
            column=column,
            expected="a cycle number between 0 and 100",
        )
    return value


def is_true(text: str) -> bool:
    return text.strip().lower() in {"true", "yes", "y", "1", "x", "omit", "omitted", "excluded"}


def task_kind(text: str) -> str:
    """Classify a well's task/content into ``sample``, ``ntc``, ``standard`` or ``control``."""
    key = text.strip().lower()
    if key in {"", "unknown", "unkn", "sample", "endogenous control", "target", "unk"} or re.fullmatch(
        r"unkn?-?\d*", key
    ):
        return "sample"
    if key in {"ntc", "no template control", "neg ctrl", "negative control", "nrt", "no rt", "nac", "neg"} or key.startswith(
        ("ntc", "neg")
    ):
        return "ntc"
    if key.startswith(("std", "standard")):
        return "standard"
    if key.startswith(("pos", "positive", "ipc", "calibrator")):
        return "control"
    return "sample"
