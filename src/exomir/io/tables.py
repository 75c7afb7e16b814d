"""Expression tables: counts, Cq values or log-scale values in CSV/TSV (gzipped or not).

``read_table`` turns such a table into an :class:`ExpressionTable` (samples × miRNAs)
and says what it decided and why:

* **orientation**: which side holds the miRNAs. The row labels and the column labels are
  matched against miRNA name patterns (``hsa-miR-21-5p``, ``let-7a``, ``MIMAT…``, U6/RNU6…);
  the side where clearly more labels match holds the miRNAs. When neither side tells, a
  corner cell such as ``miRNA``/``ID_REF``/``precursor`` does; failing that, the longer side is
  taken as the miRNAs (studies measure more miRNAs than samples) and the reason says so.
* **measure** (``measure="auto"``):

  - words such as ``Undetermined``/``No Ct`` among values between 0 and 50 → ``cq``;
  - non-negative whole numbers, or at least 90 % whole numbers with zeros or values above
    50 → ``counts`` (values that are not whole numbers are rounded, and the count is reported);
  - values between 5 and 50, reaching at least 22 cycles, with a median between 12 and 40 →
    ``cq`` (log2 array intensities stay below about 20);
  - non-negative values with decimals reaching above 100 → a linear scale (RPM, CPM,
    intensities): stored as ``log`` after log2(x + 1), reported;
  - anything else (negatives, decimals in a narrow range) → ``log``.

  ``measure`` may also be given: ``counts``, ``cq``, ``log`` or ``linear`` (→ log2(x + 1)).

Cells reading ``Undetermined``, ``No Ct``, ``N/A``, ``NA``, ``null`` or blank are not values:
in Cq tables they are non-detects, elsewhere missing values; both become ``NaN`` and are
counted in the report. Any other text where a number belongs is an :class:`InputError`
naming the file, line and column.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.io._names import mirna_fraction
from exomir.io.text import DELIMITERS, MISSING_TOKENS, Rows, check_unique, read_rows

log = logging.getLogger(__name__)

MEASURE_CHOICES = ("auto", "counts", "cq", "log", "linear")
ROWS = "miRNAs as rows"
COLUMNS = "miRNAs as columns"

# Cell texts that say "the instrument saw nothing", as opposed to a cell left blank.
_NONDETECT_WORDS = frozenset(
    {"undetermined", "undet", "undet.", "no ct", "noct", "no cq", "nocq", "no amp", "no amplification", "not detected", "nd", "n.d."}
)
# Corner cells that name the row labels as miRNAs (or probes) rather than samples.
_FEATURE_CORNERS = frozenset(
    {"mirna", "mirnas", "mirna_id", "mirna id", "mir", "id_ref", "precursor", "mature", "name", "gene", "genes",
     "feature", "features", "probe", "probe_id", "probeset", "target", "targets", "assay", "detector", "mimat", "accession"}
)
_SAMPLE_CORNERS = frozenset({"sample", "samples", "sample_id", "sample id", "sampleid", "patient", "patient_id", "barcode"})
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")


@dataclass
class ExpressionTable:
    """A samples × miRNAs table of raw values and what the reader decided about it."""

    values: pd.DataFrame
    measure: str
    orientation: str
    path: Path
    orientation_reason: str = ""
    measure_reason: str = ""
    excluded: list[dict[str, str]] = field(default_factory=list)
    nondetects: int = 0
    missing: int = 0
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    feature_annotations: pd.DataFrame | None = None
    sample_annotations: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> list[str]:
        return list(self.values.index)

    @property
    def mirnas(self) -> list[str]:
        return list(self.values.columns)

    def source(self) -> dict[str, Any]:
        """Provenance for ``uns["exomir"]["source"]`` (plain strings and numbers only)."""
        info: dict[str, Any] = {
            "expression": str(self.path),
            "orientation": self.orientation,
            "orientation_reason": self.orientation_reason,
            "measure": self.measure,
            "measure_reason": self.measure_reason,
            "n_samples": int(self.values.shape[0]),
            "n_mirnas": int(self.values.shape[1]),
            "nondetects": int(self.nondetects),
            "missing_values": int(self.missing),
            "notes": list(self.notes),
        }
        if self.delimiter is not None:
            info["delimiter"] = DELIMITERS.get(self.delimiter, self.delimiter)
        for key, value in self.extra.items():
            if isinstance(value, (str, int, float, bool)):
                info[key] = value
        return info

    def report(self) -> str:
        """A few lines saying what was read and decided."""
        n_s, n_m = self.values.shape
        source = str(self.path)
        if "plates" in self.extra:  # several plates: name each, not only the first file
            plates = str(self.extra["plates"]).split("; ")
            source = f"{len(plates)} plates ({self.extra.get('plate_samples') or ', '.join(plates)}); together"
        lines = [
            f"{source}: {n_s} samples × {n_m} miRNAs ({self.orientation}: {self.orientation_reason})",
            f"measure {self.measure}: {self.measure_reason}",
        ]
        if self.nondetects:
            lines.append(f"{self.nondetects} non-detects kept as NaN")
        if self.missing:
            lines.append(f"{self.missing} missing values kept as NaN")
        lines.extend(self.notes)
        lines.extend(f"excluded {e['what']} {e['item']}: {e['reason']}" for e in self.excluded)
        return "\n".join(lines)


def read_table(
    path: str | Path, *, measure: str = "auto", orientation: str = "auto", delimiter: str | None = None
) -> ExpressionTable:
    """Parse a plain CSV/TSV table (gzipped or not) of counts, Cq or log values into samples × miRNAs.

    Other formats (qPCR instrument exports, GEO series matrices) are recognized by
    :func:`exomir.io.reader.read_expression`, not here.
    """
    rows = read_rows(Path(path), delimiter=delimiter, what="expression table")
    return table_from_rows(rows, measure=measure, orientation=orientation)


def table_from_rows(rows: Rows, *, measure: str = "auto", orientation: str = "auto") -> ExpressionTable:
    """Build an ExpressionTable from parsed rows whose first column holds labels."""
    path = rows.path
    if not rows.rows:
        raise InputError("the table has a header but no data rows", path=path, line=rows.header_line)
    row_labels = [fields[0] for fields in rows.rows]
    col_labels = rows.header[1:]
    notes: list[str] = []
    excluded: list[dict[str, str]] = []
    if rows.comments:
        notes.append(f"{rows.comments} comment line(s) starting with # skipped")

    # Columns with neither a name nor a value are left by spreadsheets: drop them, reported.
    strings = np.array([fields[1:] for fields in rows.rows], dtype=object)
    keep = np.ones(len(col_labels), dtype=bool)
    for j, label in enumerate(col_labels):
        if not label and all(not str(cell).strip() for cell in strings[:, j]):
            keep[j] = False
            excluded.append({"what": "column", "item": f"column {j + 2}", "reason": "no header and no values"})
    if not keep.all():
        strings = strings[:, keep]
        col_labels = [label for label, k in zip(col_labels, keep) if k]
    column_numbers = [j + 2 for j, k in enumerate(keep) if k]  # 1-based, after the label column

    if orientation == "auto":
        orient, orient_reason = detect_orientation(row_labels, col_labels, corner=rows.header[0])
    else:
        orient = ROWS if orientation == "rows" else COLUMNS
        orient_reason = "given"

    strings, decimal_note = _decimal_commas(strings, rows.delimiter)
    if decimal_note:
        notes.append(decimal_note)

    # Columns of text only (accession, sequence, group…) are annotations, not measurements.
    annotations: dict[str, list[str]] = {}
    numbers, parsed, missing_mask, nondetect_mask = _parse_numbers(strings)
    text_columns = [
        j for j in range(strings.shape[1]) if (~parsed[:, j] & ~missing_mask[:, j]).all() and (~missing_mask[:, j]).any()
    ]
    if text_columns and len(text_columns) < strings.shape[1]:
        for j in text_columns:
            annotations[col_labels[j]] = [str(s) for s in strings[:, j]]
        value_idx = [j for j in range(strings.shape[1]) if j not in set(text_columns)]
        strings, missing_mask, numbers, parsed = (
            strings[:, value_idx], missing_mask[:, value_idx], numbers[:, value_idx], parsed[:, value_idx]
        )
        nondetect_mask = nondetect_mask[:, value_idx]
        col_labels = [col_labels[j] for j in value_idx]
        column_numbers = [column_numbers[j] for j in value_idx]
        if orientation == "auto":
            orient, orient_reason = detect_orientation(row_labels, col_labels, corner=rows.header[0])
        what = "miRNA annotation" if orient == ROWS else "sample annotation"
        for name in annotations:
            excluded.append({"what": "column", "item": name, "reason": f"text only: kept as {what}, not as values"})

    bad = ~parsed & ~missing_mask
    if bad.any():
        i, j = np.argwhere(bad)[0]
        total = int(bad.sum())
        others = sorted({rows.lines[k] for k in np.argwhere(bad)[:, 0]} - {rows.lines[i]})[:5]
        also = f", also on line{'s' if len(others) > 1 else ''} {', '.join(map(str, others))}" if others else ""
        more = f"; {total} such cell{'s' if total > 1 else ''} in all{also}"
        raise InputError(
            f"non-numeric value {strings[i, j]!r} in {row_labels[i]!r}{more}",
            path=path,
            line=rows.lines[i],
            column=col_labels[j] or column_numbers[j],
            expected="a number, or Undetermined / No Ct / NA / blank for no value",
        )
    if numbers.size == 0:
        raise InputError("the table has no value columns, only labels", path=path, line=rows.header_line)

    nondetect_words = int(nondetect_mask.sum())
    n_missing = int(missing_mask.sum())

    # Labels: none empty, none duplicated.
    feature_what, sample_what = "miRNA name", "sample ID"
    row_what = feature_what if orient == ROWS else sample_what
    col_what = sample_what if orient == ROWS else feature_what
    for label, line in zip(row_labels, rows.lines):
        if not label:
            raise InputError(f"empty {row_what} in the first column", path=path, line=line, expected=f"a {row_what}")
    for label, number in zip(col_labels, column_numbers):
        if not label:
            raise InputError(
                f"empty {col_what} in the header", path=path, line=rows.header_line, column=number, expected=f"a {col_what}"
            )
    check_unique(row_labels, rows.lines, path=path, what=row_what)
    check_unique(col_labels, column_numbers, path=path, what=col_what, place="column")

    frame = pd.DataFrame(numbers, index=row_labels, columns=col_labels)
    feature_annotations = sample_annotations = None
    if annotations:
        ann = pd.DataFrame(annotations, index=row_labels)
        if orient == ROWS:
            feature_annotations = ann
        else:
            sample_annotations = ann
    # Summary lines that counting tools append (HTSeq: __no_feature, __ambiguous…) are not miRNAs.
    if orient == ROWS:
        summary = [label for label in frame.index if label.startswith("__")]
        for label in summary:
            excluded.append({"what": "miRNA", "item": label, "reason": "counting-tool summary line, not a miRNA"})
        frame = frame.drop(index=summary)
        frame = frame.T
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise InputError("no samples or no miRNAs left in the table", path=path)

    value_measure, measure_reason, frame = decide_measure(frame, measure, nondetect_words=nondetect_words, path=path, locate=_locator(rows, row_labels, col_labels, orient))
    table = ExpressionTable(
        values=frame,
        measure=value_measure,
        orientation=orient,
        path=path,
        orientation_reason=orient_reason,
        measure_reason=measure_reason,
        excluded=excluded,
        nondetects=n_missing if value_measure == "cq" else 0,
        missing=0 if value_measure == "cq" else n_missing,
        delimiter=rows.delimiter,
        notes=notes,
        feature_annotations=feature_annotations,
        sample_annotations=sample_annotations,
    )
    if table.values.isna().all().all():
        raise InputError("every cell of the table is empty or a non-detect", path=path, expected="some measured values")
    return table


def detect_orientation(row_labels: list[str], col_labels: list[str], *, corner: str = "") -> tuple[str, str]:
    """Decide which side of a table holds the miRNAs, with the reason in words."""
    in_rows = mirna_fraction(row_labels)
    in_cols = mirna_fraction(col_labels)
    if max(in_rows, in_cols) >= 0.3 and abs(in_rows - in_cols) >= 0.2:
        if in_rows > in_cols:
            return ROWS, f"{in_rows:.0%} of row labels and {in_cols:.0%} of column labels look like miRNA names"
        return COLUMNS, f"{in_cols:.0%} of column labels and {in_rows:.0%} of row labels look like miRNA names"
    key = corner.strip().lower()
    if key in _FEATURE_CORNERS:
        return ROWS, f"the corner cell {corner!r} names the row labels"
    if key in _SAMPLE_CORNERS:
        return COLUMNS, f"the corner cell {corner!r} names the row labels as samples"
    if len(row_labels) >= len(col_labels):
        return ROWS, (
            f"labels do not tell; by shape: {len(row_labels)} rows ≥ {len(col_labels)} columns "
            "(studies measure more miRNAs than samples)"
        )
    return COLUMNS, (
        f"labels do not tell; by shape: {len(col_labels)} columns > {len(row_labels)} rows "
        "(studies measure more miRNAs than samples)"
    )


def decide_measure(
    frame: pd.DataFrame,
    measure: str,
    *,
    nondetect_words: int = 0,
    path: Path | None = None,
    locate=None,
) -> tuple[str, str, pd.DataFrame]:
    """Return (measure, reason, values) for a samples × miRNAs frame; may round or log-transform."""
    values = frame.to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError(
            "the table holds no measured values: every cell is blank, NA or a non-detect",
            path=path,
            expected="some measured values",
        )
    lo, hi, median = float(finite.min()), float(finite.max()), float(np.median(finite))
    whole = np.isclose(finite, np.round(finite), rtol=0, atol=1e-9)
    whole_share = float(whole.mean())
    negative = lo < 0
    span = f"values {lo:g} to {hi:g}, median {median:g}"

    if measure == "auto" and negative and hi > 50 and float(((finite >= 0) & whole).mean()) >= 0.99:
        # one bad cell does not turn a count table into log values (and every sample into a QC outlier)
        _raise_at(frame, lambda v: v < 0, "negative value in a table of read counts (at least 99 % of its cells "
                  "are whole numbers >= 0)", "a count >= 0 in every cell", path, locate)
    in_cycles = (finite >= 5) & (finite <= 50)
    if measure == "auto" and negative and hi <= 50 and 12 <= median <= 40 and float(in_cycles.mean()) >= 0.99:
        # the same for a Cq table: one negative cell does not make it log values
        _raise_at(frame, lambda v: v < 0, "negative value in a table of Cq values (at least 99 % of its cells are "
                  "within the qPCR cycle range)", "Cq values >= 0", path, locate)
    if measure == "auto":
        if nondetect_words and 0 <= lo and hi <= 50:
            measure, reason = "cq", f"{nondetect_words} cells say Undetermined/No Ct and {span}: Cq values"
        elif not negative and (whole_share == 1 or (whole_share >= 0.9 and (hi > 50 or (finite == 0).any()))):
            measure, reason = "counts", f"non-negative, {whole_share:.0%} whole numbers, {span}: read counts"
        elif 5 <= lo and 22 <= hi <= 50 and 12 <= median <= 40:
            measure, reason = "cq", f"{span}, within the qPCR cycle range: Cq values"
        elif not negative and hi > 100:
            measure, reason = "linear", f"non-negative with decimals, {span}: a linear scale (RPM, CPM or intensity)"
        else:
            measure, reason = "log", f"{span}" + (", with negatives" if negative else "") + ": log-scale values"
        reason = "detected: " + reason
    else:
        reason = f"given ({span})"

    out = frame.astype(np.float64)
    _refuse_out_of_range(frame, measure, path, locate)
    if measure == "counts":
        if negative:
            _raise_at(frame, lambda v: v < 0, "negative read count", "counts ≥ 0", path, locate)
        if np.isnan(values).any():
            _raise_at(frame, np.isnan, "empty cell in a table of read counts", "a count in every cell (0 for no reads)",
                      path, locate)
        if whole_share < 1:
            n_round = int((~whole).sum())
            out = frame.round(0)
            reason += f"; {n_round} values that were not whole numbers rounded to the nearest count"
            log.warning(f"{path or 'expression table'}: {n_round} count(s) are not whole numbers and were rounded to the "
                        "nearest count (are these normalized values? then give --measure log or the raw counts)")
    elif measure == "cq":
        if negative:
            _raise_at(frame, lambda v: v < 0, "negative Cq value", "Cq values ≥ 0", path, locate)
    elif measure == "linear":
        if negative:
            _raise_at(frame, lambda v: v < 0, "negative value on a linear scale", "values ≥ 0", path, locate)
        out = np.log2(frame.astype(np.float64) + 1.0)
        measure = "log"
        reason += "; stored as log2(x + 1)"
    return measure, reason, out


def _locator(rows: Rows, row_labels: list[str], col_labels: list[str], orient: str):
    """Map (sample, miRNA) back to (line, column) of the file for error messages."""
    line_of = dict(zip(row_labels, rows.lines))

    def locate(sample: str, mirna: str) -> tuple[int | None, str]:
        if orient == ROWS:
            return line_of.get(mirna), sample
        return line_of.get(sample), mirna

    return locate


#: No sequencing run yields 10^12 reads for one sample; larger "counts" are a unit or export error
#: (and overflow the 64-bit integers of the count model).
MAX_COUNT = 1e12
#: qPCR runs have at most 50 cycles (a little slack for exports that extrapolate).
MAX_CQ = 55.0


def _refuse_out_of_range(frame: pd.DataFrame, measure: str, path, locate) -> None:
    """Infinite values, and counts beyond any sequencer's output, are refused at their cell."""
    values = frame.to_numpy(dtype=np.float64)
    if np.isinf(values).any():
        _raise_at(frame, np.isinf, "infinite value", "a finite number", path, locate)
    if measure == "counts" and np.nanmax(values, initial=0) > MAX_COUNT:
        _raise_at(frame, lambda v: v > MAX_COUNT, "read count too large:", f"counts below {MAX_COUNT:.0e}", path, locate)
    if measure == "cq" and np.nanmax(values, initial=0) > MAX_CQ:
        _raise_at(frame, lambda v: v > MAX_CQ, "Cq beyond the cycles of any qPCR run:",
                  f"Cq values up to {MAX_CQ:g} (are these counts? then --measure counts)", path, locate)


def _raise_at(frame: pd.DataFrame, test, problem: str, expected: str, path, locate) -> None:
    values = frame.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        hits = np.argwhere(test(values))
    i, j = hits[0]
    sample, mirna = str(frame.index[i]), str(frame.columns[j])
    line, column = (locate(sample, mirna) if locate else (None, mirna))
    raise InputError(
        f"{problem} {'(blank)' if np.isnan(values[i, j]) else format(values[i, j], 'g')} for sample {sample!r}, "
        f"miRNA {mirna!r} ({len(hits)} such values)",
        path=path,
        line=line,
        column=column,
        expected=expected,
    )


def _parse_numbers(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse cells to floats.

    Returns (numbers with NaN where there is no number, cells that hold a valid entry, cells
    that say "no value" (blank, NA, Undetermined…), cells with a non-detect word).
    """
    shape = strings.shape
    if strings.size == 0:
        empty = np.zeros(shape, bool)
        return np.zeros(shape), empty, empty, empty
    flat = strings.ravel()
    try:
        numbers = flat.astype(np.float64)  # fast path: every cell is a number
    except ValueError:
        numbers = pd.to_numeric(pd.Series(flat, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    # Only the cells that are not finite numbers need a closer look (usually few).
    odd = np.flatnonzero(~np.isfinite(numbers))
    words = [str(flat[k]).strip().lower() for k in odd]
    missing = np.zeros(flat.size, bool)
    nondetect = np.zeros(flat.size, bool)
    missing[odd] = [w in MISSING_TOKENS for w in words]
    nondetect[odd] = [w in _NONDETECT_WORDS for w in words]
    numbers[missing] = np.nan
    parsed = np.isfinite(numbers) | missing
    return numbers.reshape(shape), parsed.reshape(shape), missing.reshape(shape), nondetect.reshape(shape)


def _decimal_commas(strings: np.ndarray, delimiter: str) -> tuple[np.ndarray, str]:
    """Read ``1,5`` as 1.5 in semicolon- or tab-separated tables that use decimal commas."""
    if delimiter == "," or strings.size == 0:
        return strings, ""
    flat = [str(s) for s in strings.ravel()]
    n_comma = sum(bool(_DECIMAL_COMMA.match(s)) for s in flat)
    if not n_comma or any(_DECIMAL_POINT.match(s) for s in flat):
        return strings, ""
    converted = np.array([s.replace(",", ".") if _DECIMAL_COMMA.match(s) else s for s in flat], dtype=object)
    return converted.reshape(strings.shape), f"{n_comma} numbers written with a decimal comma read as decimals"
