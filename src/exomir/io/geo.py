"""GEO series matrix files (``GSE…_series_matrix.txt[.gz]``).

The header lines (``!Series_…``, ``!Sample_…``) describe the study and its samples; the block
between ``!series_matrix_table_begin`` and ``!series_matrix_table_end`` holds the values with
probes or miRNAs as rows (``ID_REF``) and samples (GSM accessions) as columns.

Sample characteristics (``!Sample_characteristics_ch1  "disease state: HCC"``) become ``obs``
columns named by their key; ``!Sample_title``, ``!Sample_source_name_ch1`` and other one-value-
per-sample fields are kept as ``title``, ``source_name_ch1``…
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exomir.errors import InputError
from exomir.io.text import Rows, is_missing, read_text
from exomir.io.tables import ExpressionTable, table_from_rows
from exomir.io.text import open_text

# Per-sample fields kept in obs (besides the characteristics), under these names.
_SAMPLE_FIELDS = {
    "!Sample_title": "title",
    "!Sample_geo_accession": "geo_accession",
    "!Sample_source_name_ch1": "source_name_ch1",
    "!Sample_organism_ch1": "organism_ch1",
    "!Sample_molecule_ch1": "molecule_ch1",
    "!Sample_type": "sample_type",
    "!Sample_platform_id": "platform_id",
    "!Sample_description": "description",
}
_SERIES_FIELDS = ("!Series_title", "!Series_geo_accession", "!Series_platform_id", "!Series_pubmed_id", "!Series_type")


@dataclass
class SeriesMatrix:
    """A GEO series: values (samples × miRNAs/probes), per-sample annotations and series facts."""

    expression: ExpressionTable
    obs: pd.DataFrame
    series: dict[str, Any] = field(default_factory=dict)


def is_series_matrix(path: str | Path) -> bool:
    """True for files named ``*_series_matrix.txt[.gz]`` or that start with ``!Series_`` lines."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith("_series_matrix.txt") or name.endswith("_series_matrix.txt.gz"):
        return True
    try:
        with open_text(path) as handle:
            for _ in range(20):
                line = handle.readline()
                if not line:
                    return False
                if line.strip():
                    return line.startswith("!Series_") or line.startswith("^SERIES")
    except (OSError, EOFError, InputError):
        return False
    return False


def _split(line: str) -> list[str]:
    return next(csv.reader([line], delimiter="\t"))


def read_geo_series_matrix(
    path: str | Path,
    *,
    measure: str = "auto",
    id_map: dict[str, str] | None = None,
) -> SeriesMatrix:
    """Read a GEO series matrix: characteristics into obs, the table into values.

    ``id_map`` renames probe IDs to miRNA names (from the platform's GPL annotation); probes
    without a name in it are kept under their ID and reported in the notes.
    """
    path = Path(path)
    text = read_text(path)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise InputError("the file is empty", path=path, expected="a GEO series matrix")
    series: dict[str, Any] = {}
    sample_fields: dict[str, tuple[int, list[str]]] = {}
    characteristics: list[tuple[int, list[str]]] = []
    begin = end = None
    for number, line in enumerate(lines, start=1):
        if begin is not None:
            if line.strip().lower() == "!series_matrix_table_end":
                end = number
                break
            continue
        if not line.startswith("!"):
            continue
        fields = _split(line)
        key = fields[0]
        if key.lower() == "!series_matrix_table_begin":
            begin = number
        elif key in _SERIES_FIELDS:
            value = "; ".join(f for f in fields[1:] if f)
            series[key[len("!Series_"):]] = value if key[len("!Series_"):] not in series else series[key[len("!Series_"):]] + "; " + value
        elif key.startswith("!Sample_characteristics"):
            characteristics.append((number, fields[1:]))
        elif key in _SAMPLE_FIELDS and key not in sample_fields:
            sample_fields[key] = (number, fields[1:])
    if begin is None:
        raise InputError(
            "no !series_matrix_table_begin line: the file holds no value table",
            path=path,
            expected="a GEO series matrix with its data table",
        )
    if end is None:
        raise InputError(
            "the value table is not closed by !series_matrix_table_end (truncated download?)",
            path=path,
            line=len(lines),
        )
    block = [(n, lines[n - 1]) for n in range(begin + 1, end) if lines[n - 1].strip()]
    if not block:
        raise InputError("the value table is empty", path=path, line=begin)
    records = [_split(line) for _, line in block]
    header = [h.strip() for h in records[0]]
    width = len(header)
    for fields, (number, _) in zip(records[1:], block[1:]):
        if len(fields) != width:
            if len(fields) == width + 1 and fields[-1] == "":
                fields.pop()
                continue
            raise InputError(
                f"ragged row: {len(fields)} fields where the table header has {width}",
                path=path,
                line=number,
                expected=f"{width} tab-separated fields",
            )
    rows = Rows(
        path=path,
        delimiter="\t",
        header=header,
        header_line=block[0][0],
        rows=[[f.strip() for f in fields] for fields in records[1:]],
        lines=[number for number, _ in block[1:]],
    )
    if id_map:
        unnamed = 0
        for fields in rows.rows:
            if fields[0] in id_map:
                fields[0] = id_map[fields[0]]
            else:
                unnamed += 1
    expression = table_from_rows(rows, measure=measure, orientation="rows")
    expression.orientation_reason = "GEO series matrix: ID_REF rows are probes/miRNAs"
    if id_map:
        expression.notes.append(f"probe IDs renamed with the given map; {unnamed} probes had no name and keep their ID")
    samples = header[1:]
    obs = _sample_table(path, samples, sample_fields, characteristics)
    obs = obs.reindex(expression.values.index)
    expression.sample_annotations = obs
    expression.extra.update({f"geo_{k}": v for k, v in series.items()})
    return SeriesMatrix(expression=expression, obs=obs, series=series)


def _sample_table(
    path: Path,
    samples: list[str],
    sample_fields: dict[str, tuple[int, list[str]]],
    characteristics: list[tuple[int, list[str]]],
) -> pd.DataFrame:
    n = len(samples)
    columns: dict[str, list[Any]] = {}
    for key, (number, values) in sample_fields.items():
        values = _fit(values, n, path, number, key)
        columns[_SAMPLE_FIELDS[key]] = values
    accession = columns.get("geo_accession")
    if accession is not None and [a for a in accession] != samples:
        mismatch = next(i for i, (a, s) in enumerate(zip(accession, samples)) if a != s)
        raise InputError(
            f"sample {mismatch + 1} is {accession[mismatch]!r} in !Sample_geo_accession but "
            f"{samples[mismatch]!r} in the table header",
            path=path,
            line=sample_fields["!Sample_geo_accession"][0],
            expected="the same samples in the same order",
        )
    # A characteristics line may mix keys across samples (GEO fills rows in submission order),
    # so each "key: value" cell is placed by its own key.
    keyed: dict[str, list[Any]] = {}
    for index, (number, values) in enumerate(characteristics, start=1):
        values = _fit(values, n, path, number, "!Sample_characteristics_ch1")
        for i, cell in enumerate(values):
            if is_missing(cell):
                continue
            if ":" in cell:
                key, value = cell.split(":", 1)
                key, value = _column_name(key), value.strip()
            else:
                key, value = f"characteristics_{index}", cell.strip()
            column = keyed.setdefault(key, [None] * n)
            if column[i] is not None and column[i] != value:
                value = f"{column[i]}; {value}"
            column[i] = value
    for key, values in keyed.items():
        name = key if key not in columns else f"characteristics_{key}"
        columns[name] = values
    frame = pd.DataFrame(columns, index=pd.Index(samples, name=None))
    for name in frame.columns:
        frame[name] = _maybe_numeric(frame[name])
    return frame


def _fit(values: list[str], n: int, path: Path, line: int, key: str) -> list[str]:
    values = [v.strip() for v in values]
    if len(values) == n + 1 and values[-1] == "":
        values = values[:-1]
    if len(values) != n:
        raise InputError(
            f"{key} has {len(values)} values for {n} samples",
            path=path,
            line=line,
            expected="one value per sample of the table",
        )
    return values


def _column_name(key: str) -> str:
    key = re.sub(r"\s+", " ", key.strip())
    return key.replace(" ", "_")


def _maybe_numeric(series: pd.Series) -> pd.Series:
    """Numbers when every present value is a number (age, AFP, time); text otherwise."""
    present = series.dropna()
    present = present[[not is_missing(str(v)) for v in present]]
    if present.empty:
        return series
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.notna().all():
        out = pd.to_numeric(series.where(series.notna() & ~series.astype(str).map(is_missing)), errors="coerce")
        return out
    return series
