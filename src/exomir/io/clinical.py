"""Clinical tables (one row per sample) and their join to the expression samples.

Rules, so nothing is lost without a word:

* The sample column is ``sample_column`` or, by default, the first column. A blank or
  duplicated sample ID is an :class:`InputError` naming the line(s).
* A column is **numeric** when at least 80 % of its present values are numbers (50 % for
  columns numeric by nature). Columns numeric by nature (AFP, ages, times, events, lab values:
  see ``_NUMERIC_NAME``) or
  listed in ``numeric`` must hold only numbers: any other text (``12,5``, ``dead``, ``n.d.``) is an
  InputError naming file, line and column, since guessing would change the analysis. Other
  mostly-numeric columns keep their text (a stage of ``1``, ``2``, ``3A`` is a category, not a
  typo); the rows that are not numbers are reported as a warning and in the join report.
* Values reported at an assay limit (``<2``, ``>1000``, ``>60500``, ``≤ 0.5``) are **censored**:
  the bound is used as the value (so ranks tie at the limit, as the lab's instrument does) and
  each column's censored cells are counted in ``censored`` and reported, never dropped.
* Concentrations, counts, sizes and ages (``_NON_NEGATIVE_NAME``: AFP, DCP, ALT, bilirubin,
  platelets, tumour size ...) cannot be negative: a negative cell is an InputError.
* Joining: expression samples without a clinical row are kept (clinical values missing) and
  named in a warning; clinical rows without expression are left out and named. When no
  sample matches at all, the join is an InputError showing IDs from both sides.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.io.text import check_unique, is_missing, read_rows
from exomir.cohort import is_id_column

log = logging.getLogger(__name__)

_NUMERIC_NAME = re.compile(
    r"""(^|[^a-z])(afp|age|ages|bmi|time|times|days?|months?|years?|weeks?|event|events|os|dfs|rfs|pfs|ttr
        |survival|follow.?up|censor(ed)?|status|alt|ast|ggt|alb|albumin|bilirubin|tbil|inr|platelets?|plt
        |creatinine|size|diameter|dcp|pivka.?ii|meld|score|level|concentration|ng.?ml|iu.?ml)([^a-z]|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_NON_NEGATIVE_NAME = re.compile(
    r"""(^|[^a-z])(afp|age|bmi|alt|ast|ggt|alb|albumin|bilirubin|tbil|inr|platelets?|plt|creatinine|size
        |diameter|dcp|pivka.?ii|meld|concentration|ng.?ml|iu.?ml|mau.?ml)([^a-z]|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_CENSORED = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")
_MOSTLY = 0.8


@dataclass
class ClinicalTable:
    """Clinical data indexed by sample ID, with what the reader noticed."""

    frame: pd.DataFrame
    path: Path
    sample_column: str
    numeric_columns: list[str] = field(default_factory=list)
    text_in_numeric: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    censored: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # column → (line, text as written)

    def censored_summary(self) -> dict[str, str]:
        """Per column: how many values were reported below / above an assay limit."""
        out = {}
        for name, cells in self.censored.items():
            below = [text for _, text in cells if text.strip()[0] in "<≤"]
            above = [text for _, text in cells if text.strip()[0] in ">≥"]
            parts = []
            for label, texts in (("below", below), ("above", above)):
                if texts:
                    limits = ", ".join(sorted(set(t.strip() for t in texts)))
                    parts.append(f"{len(texts)} {label} a limit ({limits})")
            out[name] = "; ".join(parts) + ": the limit is used as the value"
        return out

    def source(self) -> dict[str, Any]:
        return {
            "clinical": str(self.path),
            "sample_column": self.sample_column,
            "clinical_columns": [str(c) for c in self.frame.columns],
            "numeric_columns": list(self.numeric_columns),
            "text_in_mostly_numeric_columns": [
                f"{name}: " + ", ".join(f"line {line} {value!r}" for line, value in rows)
                for name, rows in self.text_in_numeric.items()
            ],
            "censored_values": [f"{name}: {text}" for name, text in self.censored_summary().items()],
        }


@dataclass
class JoinReport:
    """How expression samples and clinical rows matched."""

    matched: list[str]
    expression_only: list[str]
    clinical_only: list[str]

    def source(self) -> dict[str, Any]:
        return {
            "matched_samples": len(self.matched),
            "expression_without_clinical": list(self.expression_only),
            "clinical_without_expression": list(self.clinical_only),
        }


def read_clinical(
    path: str | Path,
    *,
    sample_column: str | None = None,
    numeric: Iterable[str] = (),
    text: Iterable[str] = (),
    delimiter: str | None = None,
) -> ClinicalTable:
    """Read a clinical table indexed by sample ID (see the module notes for the rules).

    ``numeric`` columns must hold numbers; ``text`` columns are kept as written (a group coded
    ``0``/``1`` stays the labels ``"0"``/``"1"``).
    """
    path = Path(path)
    rows = read_rows(path, delimiter=delimiter, what="clinical table")
    header = rows.header
    if not rows.rows:
        raise InputError("the clinical table has a header but no rows", path=path, line=rows.header_line)
    if header[0] == "":
        header = ["sample"] + header[1:]
    for number, name in enumerate(header, start=1):
        if not name:
            raise InputError("a column has no name", path=path, line=rows.header_line, column=number)
    check_unique(header, list(range(1, len(header) + 1)), path=path, what="column name", place="column")
    if sample_column is None:
        sample_column = header[0]
    elif sample_column not in header:
        raise InputError(
            f"no column {sample_column!r}",
            path=path,
            line=rows.header_line,
            expected="one of " + ", ".join(repr(h) for h in header[:20]),
        )
    s = header.index(sample_column)
    ids = [fields[s] for fields in rows.rows]
    for sample, line in zip(ids, rows.lines):
        if not sample or is_missing(sample):
            raise InputError("missing sample ID", path=path, line=line, column=sample_column, expected="a sample ID on every row")
    check_unique(ids, rows.lines, path=path, what="sample ID")

    frame = pd.DataFrame([fields for fields in rows.rows], columns=header)
    frame = frame.drop(columns=[sample_column])
    frame.index = pd.Index(ids, name=None)
    forced = set(numeric)
    unknown = forced - set(frame.columns)
    if unknown:
        raise InputError(
            f"numeric column(s) {', '.join(sorted(unknown))} not in the table",
            path=path,
            expected="one of " + ", ".join(repr(h) for h in frame.columns[:20]),
        )
    numeric_columns: list[str] = []
    text_in_numeric: dict[str, list[tuple[int, str]]] = {}
    censored: dict[str, list[tuple[int, str]]] = {}

    # identifiers (patient, subject, pair ...) are labels and pairing keys even when written as digits
    as_text = (set(text) | {c for c in frame.columns if is_id_column(c)}) - forced
    for name in list(frame.columns):
        if name in as_text:
            frame[name] = frame[name].where(~frame[name].map(is_missing), np.nan)
            if name in set(text) and not is_id_column(name):  # a group column, not identifiers
                frame[name] = _one_spelling(frame[name], rows.lines, path, name)
            continue
        by_name = bool(_NUMERIC_NAME.search(name))
        converted, offending, is_numeric = _numeric_column(frame[name], rows.lines, 0.5 if by_name else _MOSTLY)
        if not is_numeric and name not in forced:
            frame[name] = frame[name].where(~frame[name].map(is_missing), np.nan)
            continue
        if offending and (name in forced or by_name or not is_numeric):
            line, value = offending[0]
            more = f"; also lines {', '.join(str(n) for n, _ in offending[1:6])}" if len(offending) > 1 else ""
            raise InputError(
                f"non-numeric value {value!r} in a numeric column{more}",
                path=path,
                line=line,
                column=name,
                expected="a number or a blank/NA for missing",
            )
        if offending:
            text_in_numeric[name] = offending
            frame[name] = frame[name].where(~frame[name].map(is_missing), np.nan)
            shown = ", ".join(f"line {n} {v!r}" for n, v in offending[:5])
            log.warning(f"{path}: column {name!r} is mostly numeric but {len(offending)} rows are not ({shown}): kept as text")
            continue
        limits = [(line, text) for line, text in zip(rows.lines, frame[name])
                  if isinstance(text, str) and _CENSORED.match(text)]
        if limits:
            censored[name] = limits
        if _NON_NEGATIVE_NAME.search(name):
            negative = np.flatnonzero(converted.to_numpy(dtype=np.float64) < 0)
            if len(negative):
                i = int(negative[0])
                raise InputError(f"negative value {frame[name].iloc[i]!r}: {name} cannot be below 0",
                                 path=path, line=rows.lines[i], column=name,
                                 expected="a value >= 0 (a blank/NA for missing, '<LIMIT' below an assay limit)")
        frame[name] = converted
        numeric_columns.append(name)
    table = ClinicalTable(
        frame=frame,
        path=path,
        sample_column=sample_column,
        numeric_columns=numeric_columns,
        text_in_numeric=text_in_numeric,
        lines=dict(zip(ids, rows.lines)),
        censored=censored,
    )
    if censored:
        for name, text in table.censored_summary().items():
            log.warning(f"{path}: column {name!r}: {text}")
    return table


def _one_spelling(column: pd.Series, lines: list[int], path: Path, name: str) -> pd.Series:
    """Labels of a group column: spaces around a label are removed (with a warning); labels that
    differ only in case (``HCC``/``hcc``) would split one group in two, so they are an error."""
    present = column.dropna().astype(str)
    stripped = present.str.strip()
    changed = int((stripped != present).sum())
    if changed:
        log.warning(f"{path}: column {name!r}: spaces around {changed} label(s) removed "
                    f"({', '.join(repr(v) for v in dict.fromkeys(present[stripped != present]))})")
    out = column.copy()
    out[stripped.index] = stripped
    spellings: dict[str, list[str]] = {}
    for value in dict.fromkeys(stripped):
        spellings.setdefault(value.casefold(), []).append(value)
    for forms in spellings.values():
        if len(forms) > 1:
            counts = stripped.value_counts()
            rare = min(forms, key=lambda f: (counts[f], f))
            position = column.index.get_loc(stripped.index[stripped == rare][0])
            raise InputError(f"group labels {', '.join(repr(f) for f in forms)} differ only in case: they would be "
                             "analysed as different groups", path=path, line=lines[position], column=name,
                             expected="one spelling per group")
    return out


def _numeric_column(
    column: pd.Series, lines: list[int], mostly: float = _MOSTLY
) -> tuple[pd.Series, list[tuple[int, str]], bool]:
    """(numbers, [(line, text) that are not numbers], whether the column is mostly numeric)."""
    missing = column.map(is_missing).to_numpy()
    # "<2" and ">1000" are values censored at an assay limit: the limit stands for them
    bounds = column.map(lambda text: _CENSORED.match(text).group(2) if isinstance(text, str) and _CENSORED.match(text)
                        else text)
    converted = pd.to_numeric(bounds.where(~missing, np.nan), errors="coerce")
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(converted.to_numpy(dtype=np.float64))
    present = ~missing
    if present.sum() == 0:
        return converted, [], False
    bad = present & ~finite
    share = (present & finite).sum() / present.sum()
    offending = [(lines[i], str(column.iloc[i])) for i in np.flatnonzero(bad)]
    return converted.where(finite, np.nan), offending, bool(share >= mostly)


def join_clinical(
    samples: list[str],
    clinical: ClinicalTable,
    *,
    expression_path: str | Path | None = None,
) -> tuple[pd.DataFrame, JoinReport]:
    """Clinical rows in the order of the expression samples, and the match report."""
    known = set(clinical.frame.index)
    matched = [s for s in samples if s in known]
    expression_only = [s for s in samples if s not in known]
    wanted = set(samples)
    clinical_only = [s for s in clinical.frame.index if s not in wanted]
    if not matched:
        hint = _mismatch_hint(samples, list(clinical.frame.index))
        raise InputError(
            "no expression sample matches a clinical sample ID "
            f"(expression: {_show(samples)}; clinical {clinical.sample_column!r}: {_show(list(clinical.frame.index))})"
            + hint,
            path=clinical.path,
            column=clinical.sample_column,
            expected=f"the sample IDs of {expression_path}" if expression_path else "the expression sample IDs",
        )
    if expression_only:
        log.warning(
            f"{len(expression_only)} expression sample(s) have no row in {clinical.path}: "
            f"{_show(expression_only, 10)} (kept, clinical values missing)"
        )
    if clinical_only:
        lines = ", ".join(f"{s} (line {clinical.lines.get(s)})" for s in clinical_only[:10])
        more = f" and {len(clinical_only) - 10} more" if len(clinical_only) > 10 else ""
        log.warning(f"{len(clinical_only)} clinical row(s) have no expression data and are left out: {lines}{more}")
    obs = clinical.frame.reindex(samples)
    return obs, JoinReport(matched=matched, expression_only=expression_only, clinical_only=clinical_only)


def check_group(obs: pd.DataFrame, group: str, *, path: Path | None = None) -> list[str]:
    """Check a group column: present and filled for some samples; return samples without a group."""
    if group not in obs.columns:
        raise InputError(
            f"no group column {group!r} in the clinical table",
            path=path,
            expected="one of " + ", ".join(repr(c) for c in obs.columns[:20]),
        )
    values = obs[group]
    empty = values.isna() | values.astype(str).map(is_missing)
    if empty.all():
        raise InputError(
            f"the group column {group!r} is empty for every expression sample",
            path=path,
            column=group,
            expected="a group label (e.g. HCC, LC, CHB, healthy) per sample",
        )
    return [str(s) for s in obs.index[empty.to_numpy()]]


def _show(items: list[str], n: int = 5) -> str:
    shown = ", ".join(repr(i) for i in items[:n])
    return shown + (f" … ({len(items)} in all)" if len(items) > n else "")


def _mismatch_hint(samples: list[str], ids: list[str]) -> str:
    def norm(text: str) -> str:
        return re.sub(r"[\s._-]+", "", text).lower()

    clinical_norm = {norm(i) for i in ids}
    close = sum(norm(s) in clinical_norm for s in samples)
    if close:
        return (
            f"; {close} would match ignoring case, spaces, dots, dashes and underscores: "
            "write the IDs the same way in both files"
        )
    return "; is --sample-column the right column?"
