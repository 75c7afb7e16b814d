"""Parsers of qPCR result exports into one long table of wells.

Every parser returns a :class:`pandas.DataFrame` with one row per well (or per table cell for
wide tables): ``plate, well, sample, target, cq, raw, task, omit, line, file`` where ``cq`` is
``NaN`` for a non-detect, ``raw`` is the value as written, ``task`` is ``sample``, ``ntc``,
``standard`` or ``control`` and ``line`` the 1-based line of the file the well came from.

Layouts handled (as documented by the vendors' export dialogs):

* Applied Biosystems 7500 / QuantStudio / ViiA 7 / TaqMan array cards: an optional header block of
  ``* key = value`` lines, then a ``[Results]`` section whose table has ``Well``,
  ``Well Position``, ``Omit``, ``Sample Name``, ``Target Name`` (``Detector`` in SDS),
  ``Task`` and ``CT`` / ``Cт`` / ``Cq``; other sections (``[Amplification Data]``…) are skipped.
* Bio-Rad CFX Manager / Maestro "Quantification Cq Results": ``Well, Fluor, Target, Content,
  Sample, Cq, …`` (often with an unnamed first column).
* Roche LightCycler 480: ``Experiment: … Selected Filter: …`` line, then tab-separated
  ``Include, Color, Pos, Name, Cp|Cq, …``; the target comes from a ``Target``/``Gene`` column
  when present, else from the caller (one assay per run is the usual LightCycler layout).
* Long tables: ``sample, target, Cq`` (+ optional ``plate``, ``well``, ``task``).
* Wide tables: one row per sample, one column per target (or the transpose).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pandas as pd

from exomir.errors import InputError
from exomir.io._qpcr_text import (
    find_columns,
    is_true,
    parse_cq,
    read_lines,
    sniff_delimiter,
    split_line,
    task_kind,
)

WELL_COLUMNS = ["plate", "well", "sample", "target", "cq", "raw", "task", "omit", "line", "file"]
FORMATS = ("applied_biosystems", "biorad_cfx", "lightcycler", "long", "wide")
_HEADER_SCAN = 60  # lines looked at when recognising a format
# section titles of Applied Biosystems exports ("[Sample Setup]", "[Amplification Data]", …)
_AB_SECTION = re.compile(r"\[(results|sample setup|amplification data|raw data|multicomponent data|melt curve[a-z ]*|technical analysis result)\]", re.IGNORECASE)
# columns that only Applied Biosystems results tables carry
_AB_MARKERS = frozenset({"well position", "target name", "detector", "detector name", "reporter", "quencher", "amp status"})
_MIRNA_LIKE = re.compile(r"(mir|let-?\d|lin-4|snord|rnu|u6|spike|cel-|ath-)", re.IGNORECASE)


def detect_format(path: Path, lines: list[str] | None = None) -> str | None:
    """Name of the export layout of ``path`` (one of :data:`FORMATS` but ``wide``), or ``None``."""
    lines = read_lines(path) if lines is None else lines
    head = lines[:_HEADER_SCAN]
    if (
        any(line.strip().lower().strip("\t,;") == "[results]" for line in lines)
        or any(line.startswith("* ") and "=" in line for line in head[:40])
        or any(_AB_SECTION.fullmatch(line.strip().strip("\t,;")) for line in head)
    ):
        return "applied_biosystems"
    for index, line in enumerate(head):
        if not line.strip():
            continue
        if line.lstrip().lower().startswith("experiment:") and _lightcycler_header(head, index) is not None:
            return "lightcycler"
        fields = split_line(line, sniff_delimiter(line))
        keys = {f.strip().lower() for f in fields}
        found = find_columns(fields)
        if "fluor" in keys and "cq" in found and "well" in found:
            return "biorad_cfx"
        if "pos" in keys and "cq" in found and "name" in keys and ("include" in keys or "color" in keys):
            return "lightcycler"
        if {"sample", "target", "cq"} <= found.keys():
            if keys & _AB_MARKERS:
                return "applied_biosystems"
            return "long"
        if index == 0 and len(fields) > 2:
            break  # a plain table whose header is not a qPCR header (e.g. a wide Cq table)
        # otherwise a "key, value" preamble line (QuantStudio Design & Analysis, SDS 2.x): go on
    return None


def _lightcycler_header(lines: list[str], start: int) -> int | None:
    for index in range(start + 1, min(len(lines), start + 6)):
        fields = split_line(lines[index], "\t")
        keys = {f.lower() for f in fields}
        if "pos" in keys and ({"cp", "cq", "ct"} & keys):
            return index
    return None


def parse(path: Path, fmt: str, *, target: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Parse ``path`` in layout ``fmt``; returns the wells table and the header key-values."""
    lines = read_lines(path)
    if not any(line.strip() for line in lines):
        raise InputError("the file is empty", path=path)
    if fmt == "applied_biosystems":
        return _parse_applied_biosystems(path, lines)
    if fmt == "biorad_cfx":
        return _parse_table(path, lines, _find_header(path, lines, ("well", "cq")), fmt_name="Bio-Rad CFX"), {}
    if fmt == "lightcycler":
        return _parse_lightcycler(path, lines, target)
    if fmt == "long":
        return _parse_table(path, lines, _find_header(path, lines, ("sample", "target", "cq")), fmt_name="long table"), {}
    if fmt == "wide":
        return _parse_wide(path, lines), {}
    raise ValueError(f"unknown qPCR format {fmt!r}; choose one of {FORMATS}")


def _find_header(path: Path, lines: list[str], required: tuple[str, ...]) -> int:
    for index, line in enumerate(lines[:_HEADER_SCAN]):
        if not line.strip():
            continue
        found = find_columns(split_line(line, sniff_delimiter(line)))
        if set(required) <= found.keys():
            return index
    raise InputError(
        "no header row with the needed columns",
        path=path,
        line=1,
        expected="a header naming " + ", ".join(required),
    )


def _parse_applied_biosystems(path: Path, lines: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    meta: dict[str, str] = {}
    results_at = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("*") and "=" in stripped and results_at is None:
            key, _, value = stripped.lstrip("* ").partition("=")
            meta[key.strip()] = value.strip().rstrip(",;\t").strip()
        elif stripped.lower().strip("\t,;") == "[results]":
            results_at = index
            break
    if results_at is None:
        if any(re.fullmatch(r"\[[^\]]+\][\t,;]*", line.strip()) for line in lines):
            raise InputError(
                "the export has sections but no [Results] section",
                path=path,
                line=len(lines),
                expected="a [Results] section (export the Results tab)",
            )
        header = _find_header(path, lines, ("sample", "target", "cq"))
        for line in lines[:header]:  # "key<TAB>value" preamble of Design & Analysis / SDS exports
            fields = [f for f in split_line(line, sniff_delimiter(line)) if f]
            if len(fields) == 2:
                meta.setdefault(fields[0].strip(" *:"), fields[1])
        return _parse_table(path, lines, header, fmt_name="Applied Biosystems results"), meta
    header = results_at + 1
    while header < len(lines) and not lines[header].strip():
        header += 1
    if header >= len(lines):
        raise InputError("the [Results] section is empty", path=path, line=results_at + 1, expected="a results table")
    end = header + 1
    while end < len(lines) and lines[end].strip() and not lines[end].lstrip().startswith("["):
        end += 1
    wells = _parse_table(path, lines, header, fmt_name="Applied Biosystems [Results]", stop=end)
    return wells, meta


def _parse_lightcycler(path: Path, lines: list[str], target: str | None) -> tuple[pd.DataFrame, dict[str, str]]:
    meta: dict[str, str] = {}
    start = 0
    for index, line in enumerate(lines[:_HEADER_SCAN]):
        if line.lstrip().lower().startswith("experiment:"):
            text = line.strip()
            match = re.match(r"experiment:\s*(.*?)(?:\s+selected filter:\s*(.*))?$", text, re.IGNORECASE)
            if match:
                meta["Experiment"] = match.group(1).strip()
                if match.group(2):
                    meta["Selected Filter"] = match.group(2).strip()
            start = index
            break
    header = _lightcycler_header(lines, start) if meta else None
    if header is None:
        header = _find_header(path, lines, ("well", "cq"))
    wells = _parse_table(path, lines, header, fmt_name="LightCycler", default_target=target)
    return wells, meta


def _parse_table(
    path: Path,
    lines: list[str],
    header_index: int,
    *,
    fmt_name: str,
    stop: int | None = None,
    default_target: str | None = None,
) -> pd.DataFrame:
    """Read a delimited results table whose header is ``lines[header_index]``."""
    header_line = lines[header_index]
    delimiter = sniff_delimiter(header_line)
    header = split_line(header_line, delimiter)
    cols = find_columns(header)
    header_no = header_index + 1
    if "cq" not in cols:
        raise InputError(
            f"the {fmt_name} header has no Cq column",
            path=path,
            line=header_no,
            expected="a column named CT, Cт, Cq or Cp",
        )
    if "sample" not in cols:
        raise InputError(
            f"the {fmt_name} header has no sample column",
            path=path,
            line=header_no,
            expected="a column named Sample Name, Sample or Name",
        )
    if "target" not in cols and not default_target:
        raise InputError(
            f"the {fmt_name} export names no target (miRNA) for its wells",
            path=path,
            line=header_no,
            expected="a Target/Gene column, or the assay given with target=",
        )
    needed = max(cols[c] for c in ("sample", "target", "cq") if c in cols) + 1
    rows = []
    seen_wells: dict[tuple[str, str, str], int] = {}
    stop = len(lines) if stop is None else stop
    # one reader over the whole block (a record per line: exports never quote line breaks)
    records = csv.reader(lines[header_index + 1 : stop], delimiter=delimiter)
    for index, raw_fields in enumerate(records, start=header_index + 1):
        fields = [f.strip() for f in raw_fields]
        if not any(fields):
            continue
        line_no = index + 1
        if len(fields) < needed:
            raise InputError(
                f"the row has {len(fields)} fields but the header has {len(header)}",
                path=path,
                line=line_no,
                expected=f"{len(header)} {_delimiter_name(delimiter)}-separated fields",
            )
        if len(fields) > len(header) and any(fields[len(header) :]):
            raise InputError(
                f"the row has {len(fields)} fields but the header has {len(header)}",
                path=path,
                line=line_no,
                expected=f"{len(header)} {_delimiter_name(delimiter)}-separated fields",
            )

        def get(name: str, default: str = "") -> str:
            position = cols.get(name)
            return fields[position] if position is not None and position < len(fields) else default

        raw = get("cq")
        cq = parse_cq(raw, path=path, line=line_no, column=header[cols["cq"]])
        omit = is_true(get("omit")) if "omit" in cols else False
        if "include" in cols and get("include") and not is_true(get("include")):
            omit = True
        sample = get("sample")
        target = assay_name(get("target") or (default_target or ""))
        well = get("well")
        plate = get("plate")
        if well:
            key = (plate, well, target)  # multiplexed wells carry one row per target
            if key in seen_wells:
                raise InputError(
                    f"well {well} (target {target!r}) appears twice; first on line {seen_wells[key]}",
                    path=path,
                    line=line_no,
                    expected="each well once per target",
                )
            seen_wells[key] = line_no
        rows.append(
            {
                "plate": plate,
                "well": well,
                "sample": sample,
                "target": target,
                "cq": cq,
                "raw": raw,
                "task": task_kind(get("task")),
                "omit": omit,
                "line": line_no,
                "file": str(path),
            }
        )
    if not rows:
        raise InputError(f"the {fmt_name} table has a header but no wells", path=path, line=header_no)
    return pd.DataFrame(rows, columns=WELL_COLUMNS)


_ASSAY_ID_BRACKETS = re.compile(r"\s*[(\[]\s*\d{6,7}(?:_\w+)?\s*[)\]]$")
_ASSAY_ID = re.compile(r"^(?P<name>.*?[A-Za-z].*?)[-_ ](?P<id>\d{6,7})(?:_\w+)?$")


@functools.lru_cache(maxsize=65536)
def assay_name(target: str) -> str:
    """Target name without a trailing TaqMan assay ID (``hsa-miR-16-000391`` → ``hsa-miR-16``).

    TaqMan array cards and Megaplex panels label detectors with the assay number appended
    (``-000391``, ``_477975_mir``, `` (477975_mir)``); the number is not part of the miRNA name.
    Names ending in a short number (``miR-1``) are untouched.
    """
    text = _ASSAY_ID_BRACKETS.sub("", target.strip())
    match = _ASSAY_ID.match(text)
    return match.group("name") if match else text


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ";": "semicolon", ",": "comma"}[delimiter]


def _parse_wide(path: Path, lines: list[str]) -> pd.DataFrame:
    """A samples × targets table (or targets × samples, recognised by miRNA-like row names)."""
    header_index = next(i for i, line in enumerate(lines) if line.strip())
    delimiter = sniff_delimiter(lines[header_index])
    header = split_line(lines[header_index], delimiter)
    if len(header) < 2:
        raise InputError(
            "a wide Cq table needs a first column of names and at least one value column",
            path=path,
            line=header_index + 1,
        )
    body: list[tuple[int, list[str]]] = []
    for index in range(header_index + 1, len(lines)):
        if not lines[index].strip():
            continue
        fields = split_line(lines[index], delimiter)
        if len(fields) != len(header):
            raise InputError(
                f"the row has {len(fields)} fields but the header has {len(header)}",
                path=path,
                line=index + 1,
                expected=f"{len(header)} {_delimiter_name(delimiter)}-separated fields",
            )
        body.append((index + 1, fields))
    if not body:
        raise InputError("the table has a header but no rows", path=path, line=header_index + 1)
    row_names = [fields[0] for _, fields in body]
    col_names = header[1:]
    rows_are_targets = sum(bool(_MIRNA_LIKE.search(n)) for n in row_names) > len(row_names) / 2 and sum(
        bool(_MIRNA_LIKE.search(n)) for n in col_names
    ) <= len(col_names) / 2
    records = []
    for line_no, fields in body:
        for position, raw in enumerate(fields[1:], start=1):
            cq = parse_cq(raw, path=path, line=line_no, column=header[position])
            sample, target = (header[position], fields[0]) if rows_are_targets else (fields[0], header[position])
            records.append(
                {
                    "plate": "",
                    "well": "",
                    "sample": sample,
                    "target": target,
                    "cq": cq,
                    "raw": raw,
                    "task": "sample",
                    "omit": False,
                    "line": line_no,
                    "file": str(path),
                }
            )
    return pd.DataFrame(records, columns=WELL_COLUMNS)

