"""What several cohorts or published studies say together, miRNA by miRNA.

The ``meta`` workflow (``exomir meta``, :func:`run_meta`): read each cohort's result tables (an ``exomir analyze`` folder)
or a study-level CSV, match miRNAs across cohorts by their miRBase accession (cohorts write the
same miRNA differently: ``miR-21``, ``hsa-miR-21-5p``), pool each miRNA with
:func:`exomir.stats.meta.random_effects` and write ``meta.csv``, ``forest.csv``, ``excluded.csv``
and ``forest.html``. The statistics live in :mod:`exomir.stats.meta`; nothing here computes them.
The result is an :class:`exomir.results.MetaAnalysis`, which the forest page reads.

Conventions:

* The p-value of a pooled AUC tests AUC = 0.5; of a log ratio, 0 (the measure's no-effect value).
* An AUC (or a log diagnostic odds ratio) belongs to a stated direction (``higher_in_case`` /
  ``lower_in_case``). Before pooling, every cohort is put in one direction fixed in advance: the
  user's (``direction=``), else the one the first cohort (in input order) states; a cohort stating
  the other one has its AUC become ``1 − AUC`` (its log DOR changes sign). Choosing the direction
  most cohorts found would itself bias the pooled AUC away from 0.5 under the null. The choice and
  its source are reported (``auc_direction`` and ``direction_source`` in meta.csv, ``flipped`` in
  forest.csv).
* AUCs are pooled on the logit scale and back-transformed (:mod:`exomir.stats.meta`): intervals stay
  within [0, 1]. A published interval cut at 1 gives its SE from the uncut half (noted per row);
  an AUC of 0 or 1 has no logit-scale variance and is listed in excluded.csv.
* Names that do not resolve to one mature miRNA (AFP, panels, ``miR-221/222``) are matched by the
  name as written and say so in ``identity``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exomir.errors import InputError
from exomir.io.text import read_rows  # the plain-table parser
from exomir.results import MetaAnalysis
from exomir.stats.meta import MetaResult, auc_se_from_ci, effects_from_table, random_effects
from exomir.atomic import staged_directory
from exomir.identity import resolve
from exomir.logs import run_log
from exomir.report.forest import render_forest_page
from exomir.stats.common import bh_adjust

log = logging.getLogger(__name__)

MEASURES = ("auc", "log_hr", "log_dor", "log2fc", "generic")
METHODS = ("REML", "DL")
TESTS = ("z", "knha")
HIGHER, LOWER = "higher_in_case", "lower_in_case"

#: columns of meta.csv (extras follow)
META_COLUMNS = [
    "mirna", "mimat", "measure", "k", "estimate", "ci_low", "ci_high", "pvalue", "tau2", "i2", "q", "q_p",
    "pi_low", "pi_high", "direction_agreement", "method",
]  # fmt: skip
FOREST_COLUMNS = [
    "mirna", "mimat", "study", "input_name", "estimate", "se", "ci_low", "ci_high", "weight", "direction",
    "flipped", "n", "source", "line",
]  # fmt: skip
EXCLUDED_COLUMNS = ["mirna", "mimat", "study", "input_name", "reason", "source", "line"]
FLOAT_FORMAT = "%.10g"
_TRUNCATED = "interval truncated at 0 or 1"

# numbers a study table may carry, by measure (the first complete set is used)
_STUDY_FORMS = {
    "auc": [("auc", "se_auc"), ("auc", "auc_se"), ("auc", "auc_ci_low", "auc_ci_high")],
    "log_hr": [("log_hr", "se_log_hr"), ("coef", "se"), ("hr", "hr_ci_low", "hr_ci_high")],
    "log_dor": [("tp", "fp", "fn", "tn")],
    "log2fc": [("log2fc", "lfc_se"), ("log2fc", "se")],
    "generic": [("yi", "vi")],
}
_ANY_FORM = [("yi", "vi")]


# --------------------------------------------------------------------------- reading
@dataclass
class _Table:
    path: Path
    header: list[str]
    rows: list[dict[str, str]]
    lines: list[int]


def _read_csv(path: Path) -> _Table:
    """A CSV/TSV as text cells (a dict per record) with the line of each record, parsed by the
    plain-table reader every input of exomir goes through (ragged rows are an error)."""
    rows = read_rows(path, what="table")
    header = rows.header
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"duplicated column name(s) {dup}", path=path, line=rows.header_line)
    return _Table(path, header, [dict(zip(header, record, strict=True)) for record in rows.rows], rows.lines)


def _number(table: _Table, i: int, column: str) -> float:
    """The number in a cell; blank (or NA) is NaN, anything else that is not a number is an error."""
    text = table.rows[i].get(column, "")
    if text == "" or text.upper() in ("NA", "NAN", "N/A"):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", path=table.path, line=table.lines[i], column=column,
                         expected="a number") from None
    if math.isinf(value):
        raise InputError(f"{text!r} is not a finite number", path=table.path, line=table.lines[i], column=column)
    return value


def _require(table: _Table, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.header]
    if missing:
        raise InputError(f"{what} needs column(s) {', '.join(missing)}", path=table.path, line=1,
                         column=missing[0], expected="columns " + ", ".join(columns))


def _pick_form(table: _Table, measure: str) -> tuple[str, ...] | None:
    for form in _STUDY_FORMS[measure] + _ANY_FORM:
        if all(c in table.header for c in form):
            return form
    return None


def _check_values(table: _Table, i: int, form: tuple[str, ...], values: dict[str, float]) -> None:
    """Values that cannot be an estimate of their kind are an error (not a silent NaN)."""
    def bad(column: str, problem: str, expected: str) -> InputError:
        return InputError(problem, path=table.path, line=table.lines[i], column=column, expected=expected)

    for column in form:
        value = values[column]
        if math.isnan(value):
            continue
        if column.startswith("auc") and not 0.0 <= value <= 1.0:
            raise bad(column, f"AUC value {value:g} outside 0–1", "a value between 0 and 1")
        if column.startswith("hr") and value <= 0:
            raise bad(column, f"hazard ratio {value:g} is not positive", "a value above 0")
        if column in ("tp", "fp", "fn", "tn") and (value < 0 or value != int(value)):
            raise bad(column, f"count {value:g} is not a whole number >= 0", "a count")
        if column in ("vi", "se", "se_auc", "auc_se", "se_log_hr", "lfc_se") and value < 0:
            raise bad(column, f"{column} {value:g} is negative", "a variance or standard error >= 0")
    for est, low, high in (("auc", "auc_ci_low", "auc_ci_high"), ("hr", "hr_ci_low", "hr_ci_high")):
        if low in form and not any(math.isnan(values[c]) for c in (est, low, high)):
            if not values[low] <= values[est] <= values[high]:
                raise bad(est, f"estimate {values[est]:g} outside its interval [{values[low]:g}, {values[high]:g}]",
                          f"{low} <= {est} <= {high}")


def _rows_from(table: _Table, study_of, form: tuple[str, ...], indices: Iterable[int], *, extra=None) -> pd.DataFrame:
    """Long rows (study, input_name, the form's numbers, line) of the chosen records."""
    records = []
    for i in indices:
        if not table.rows[i]["mirna"]:
            raise InputError("empty miRNA name", path=table.path, line=table.lines[i], column="mirna",
                             expected="a miRNA name or MIMAT accession")
        values = {c: _number(table, i, c) for c in form}
        _check_values(table, i, form, values)
        row = {"study": study_of(i), "input_name": table.rows[i]["mirna"], "source": str(table.path),
               "line": table.lines[i], **values}
        if extra:
            row.update(extra(i))
        records.append(row)
    return pd.DataFrame.from_records(records)


def _choose(table: _Table, column: str, wanted: str | None, option: str) -> list[int]:
    """Indices of the records of one comparison (or endpoint); which one is asked or obvious."""
    if column not in table.header:
        return list(range(len(table.rows)))
    present = list(dict.fromkeys(r[column] for r in table.rows))
    if wanted is None:
        if len(present) > 1:
            raise InputError(f"the table holds several {column}s: {', '.join(present)}; choose one with {option}",
                             path=table.path, column=column, expected=f"{option} VALUE")
        wanted = present[0] if present else None
    elif wanted not in present:
        raise InputError(f"no {column} {wanted!r} in the table", path=table.path, column=column,
                         expected="one of " + ", ".join(present))
    return [i for i, r in enumerate(table.rows) if r[column] == wanted]


def _folder_effects(folder: Path, measure: str, comparison: str | None, endpoint: str | None) -> pd.DataFrame:
    """The per-miRNA effects of one ``exomir analyze`` results folder."""
    name = folder.resolve().name
    tables = folder / "tables"
    if measure in ("auc", "log_dor"):
        table = _read_csv(tables / "roc.csv")
        _require(table, ["mirna", "direction"], "an analyze ROC table")
        indices = _choose(table, "comparison", comparison, "--comparison")
        direction = lambda i: {"direction": table.rows[i]["direction"]}  # noqa: E731
        if measure == "auc":
            form = ("auc", "auc_se") if "auc_se" in table.header else ("auc", "auc_ci_low", "auc_ci_high")
            _require(table, form, "the AUC meta-analysis")
            frame = _rows_from(table, lambda i: name, form, indices, extra=direction)
        else:
            form = ("n_case", "n_control", "sensitivity", "specificity")
            _require(table, form, "the diagnostic odds ratio meta-analysis")
            frame = _rows_from(table, lambda i: name, form, indices, extra=direction)
            # the 2×2 table at the cohort's reported (Youden) threshold
            tp = np.round(frame["sensitivity"] * frame["n_case"])
            tn = np.round(frame["specificity"] * frame["n_control"])
            frame = frame.assign(tp=tp, fn=frame["n_case"] - tp, tn=tn, fp=frame["n_control"] - tn)
        frame["n"] = [_number(table, i, "n_case") + _number(table, i, "n_control") if "n_case" in table.header
                      else math.nan for i in indices]
        frame["context"] = comparison or (table.rows[indices[0]].get("comparison", "") if indices else "")
    elif measure == "log_hr":
        table = _read_csv(tables / "survival.csv")
        form = ("coef", "se") if {"coef", "se"} <= set(table.header) else ("hr", "hr_ci_low", "hr_ci_high")
        _require(table, ["mirna", *form], "the hazard ratio meta-analysis")
        indices = _choose(table, "endpoint", endpoint, "--endpoint")
        note = lambda i: {"note": table.rows[i].get("note", "")}  # noqa: E731
        frame = _rows_from(table, lambda i: name, form, indices, extra=note)
        frame["n"] = [_number(table, i, "n") if "n" in table.header else math.nan for i in indices]
        frame["context"] = endpoint or (table.rows[indices[0]].get("endpoint", "") if indices else "")
    elif measure == "log2fc":
        table = _read_csv(tables / "differential.csv")
        _require(table, ["mirna", "log2fc", "stat", "method"], "the fold-change meta-analysis")
        indices = _choose(table, "comparison", comparison, "--comparison")
        frame = _rows_from(table, lambda i: name, ("log2fc", "stat"), indices,
                           extra=lambda i: {"method": table.rows[i]["method"]})
        frame["lfc_se"] = [_number(table, i, "lfc_se") if "lfc_se" in table.header else math.nan for i in indices]
        frame = _fold_change_effects(frame)
        frame["n"] = [_number(table, i, "n_case") + _number(table, i, "n_control")
                      if {"n_case", "n_control"} <= set(table.header) else math.nan for i in indices]
        frame["context"] = comparison or (table.rows[indices[0]].get("comparison", "") if indices else "")
    else:
        raise InputError(f"an analyze folder gives auc, log_hr, log_dor or log2fc, not {measure!r}", path=folder)
    return frame


def _fold_change_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """log2 fold change and its variance: DESeq2's ``lfc_se``, or for the moderated t-test the
    standard error behind its t statistic (``log2fc / t``); the Wilcoxon test gives none."""
    if frame.empty:
        return frame.assign(yi=pd.Series(dtype=float), vi=pd.Series(dtype=float), note=pd.Series(dtype=str))
    lfc, stat, lfc_se = frame["log2fc"].to_numpy(float), frame["stat"].to_numpy(float), frame["lfc_se"].to_numpy(float)
    moderated = (frame["method"] == "moderated_t").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(np.isfinite(lfc_se), lfc_se, np.where(moderated, np.abs(lfc / stat), np.nan))
    note = np.where(np.isfinite(se) | moderated | np.isfinite(lfc_se), "",
                    "method " + frame["method"].astype(str) + " gives no standard error of the fold change")
    return frame.assign(yi=lfc, vi=se**2, note=note)


def _study_table_effects(path: Path, measure: str, comparison: str | None, endpoint: str | None) -> pd.DataFrame:
    """The per-study, per-miRNA effects of a published-studies CSV."""
    table = _read_csv(path)
    _require(table, ["study", "mirna"], "a study table")
    form = _pick_form(table, measure)
    if form is None:
        options = " or ".join("/".join(f) for f in _STUDY_FORMS[measure] + _ANY_FORM)
        raise InputError(f"no columns for the {measure} meta-analysis", path=path, line=1, expected=options)
    indices = list(range(len(table.rows)))
    if comparison is not None and "comparison" in table.header:
        indices = [i for i in indices if table.rows[i]["comparison"] == comparison]
    if endpoint is not None and "endpoint" in table.header:
        indices = [i for i in indices if table.rows[i]["endpoint"] == endpoint]
    for i in indices:
        for column in ("study", "mirna"):
            if not table.rows[i][column]:
                raise InputError(f"empty {column}", path=path, line=table.lines[i], column=column,
                                 expected=f"a {column} name")
        if "direction" in table.header and table.rows[i]["direction"] not in ("", HIGHER, LOWER):
            raise InputError(f"unknown direction {table.rows[i]['direction']!r}", path=path, line=table.lines[i],
                             column="direction", expected=f"{HIGHER} or {LOWER} (or blank)")

    def extra(i: int) -> dict:
        row = table.rows[i]
        n = _number(table, i, "n") if "n" in table.header else math.nan
        return {"direction": row.get("direction", ""), "n": n, "note": row.get("note", ""),
                "context": row.get("comparison", "") or row.get("endpoint", "")}

    frame = _rows_from(table, lambda i: table.rows[i]["study"], form, indices, extra=extra)
    if form[0] == "log2fc" and len(frame):
        frame = frame.assign(yi=frame["log2fc"], vi=frame[form[1]] ** 2)
    return frame


def _effects(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """yi and vi of each row through :func:`exomir.stats.meta.effects_from_table`."""
    if frame.empty:
        return frame.assign(yi=pd.Series(dtype=float), vi=pd.Series(dtype=float))
    work = frame.rename(columns={"auc_se": "se_auc"})
    stats_measure = "generic" if {"yi", "vi"} <= set(work.columns) else measure
    if stats_measure == "log_dor":
        # counts of a missing record stay missing instead of failing the whole table
        ok = work[["tp", "fp", "fn", "tn"]].notna().all(axis=1).to_numpy()
        yi = np.full(len(work), np.nan)
        vi = np.full(len(work), np.nan)
        if ok.any():
            yi[ok], vi[ok] = effects_from_table(work[ok], "log_dor")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            yi, vi = effects_from_table(work, stats_measure)
    frame = frame.assign(yi=np.asarray(yi, float), vi=np.asarray(vi, float))
    if stats_measure == "auc" and "se_auc" not in work and {"auc_ci_low", "auc_ci_high"} <= set(work):
        _, truncated = auc_se_from_ci(work["auc"], work["auc_ci_low"], work["auc_ci_high"])
        if truncated.any():
            note = frame["note"].astype(str) if "note" in frame else pd.Series("", index=frame.index)
            frame["note"] = np.where(truncated, _TRUNCATED + " (SE from the uncut half)", note.fillna(""))
            log.warning(f"{int(truncated.sum())} AUC interval(s) reach 0 or 1 (truncated when published): their SE comes "
                        "from the half that was not cut (column note of forest.csv)")
    return frame


def _kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "table"
    raise InputError("no such results folder or study table", path=path,
                     expected="an exomir analyze folder (with tables/) or a study CSV")


def collect_effects(sources: Sequence[str | Path], *, measure: str | None = None, comparison: str | None = None,
                    endpoint: str | None = None) -> tuple[pd.DataFrame, str]:
    """One row per study × miRNA as written (``study, input_name, yi, vi, direction, n, note, source,
    line``) from analyze folders and study CSVs; returns the rows and the measure used."""
    if not sources:
        raise InputError("no results folder or study table given", expected="one or more paths")
    paths = [Path(s) for s in sources]
    kinds = [_kind(p) for p in paths]
    if measure is None:
        measure = "auc" if "folder" in kinds else _guess_measure(paths[0])
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}", expected=", ".join(MEASURES))
    frames = []
    owner: dict[str, str] = {}
    for path, kind in zip(paths, kinds, strict=True):
        if kind == "folder":
            frame = _folder_effects(path, measure, comparison, endpoint)
        else:
            frame = _study_table_effects(path, measure, comparison, endpoint)
        for study in dict.fromkeys(frame["study"]) if len(frame) else []:
            if study in owner and owner[study] != str(path):
                raise InputError(f"study name {study!r} is used by two inputs ({owner[study]} and {path})",
                                 path=path, expected="a distinct name per cohort (rename a folder or a study)")
            owner[study] = str(path)
        frames.append(_effects(frame, measure))
    frames = [f for f in frames if len(f)]
    if not frames:
        raise InputError("the inputs hold no miRNA rows", path=paths[0])
    long = pd.concat(frames, ignore_index=True)
    if "n" not in long:
        long["n"] = math.nan
    for column in ("direction", "note", "context"):
        long[column] = long[column].fillna("").astype(str) if column in long else ""
    return long, measure


def _guess_measure(path: Path) -> str:
    table = _read_csv(path)
    for measure in ("auc", "log_hr", "log_dor", "log2fc", "generic"):
        if any(all(c in table.header for c in form) for form in _STUDY_FORMS[measure]):
            return measure
    raise InputError("cannot tell which effect the study table holds", path=path, line=1,
                     expected="columns yi, vi / auc, auc_ci_low, auc_ci_high / hr, hr_ci_low, hr_ci_high / "
                              "tp, fp, fn, tn / log2fc, lfc_se")


# --------------------------------------------------------------------------- matching
def match_mirnas(names: Iterable[str], *, mirbase=None) -> pd.DataFrame:
    """Key, display name and identity status of each distinct input name (by MIMAT accession when
    the name resolves to one mature miRNA, else by the name as written)."""
    distinct = list(dict.fromkeys(str(n) for n in names))
    resolved = resolve(distinct, mirbase=mirbase)
    rows = []
    for _, r in resolved.iterrows():
        mimat = str(r["mimat"] or "")
        if r["status"] in ("exact", "alias") and mimat:
            rows.append({"input_name": r["input"], "key": mimat, "mirna": r["name"], "mimat": mimat,
                         "identity": r["status"]})
        else:
            rows.append({"input_name": r["input"], "key": "name:" + r["input"], "mirna": r["input"], "mimat": "",
                         "identity": f"{r['status']}: matched by the name as written"})
    return pd.DataFrame(rows, columns=["input_name", "key", "mirna", "mimat", "identity"])


# --------------------------------------------------------------------------- pooling
def meta_analyze(sources: Sequence[str | Path], *, measure: str | None = None, method: str = "REML",
                 test: str = "z", comparison: str | None = None, endpoint: str | None = None,
                 min_studies: int = 2, mirbase=None, direction: str | None = None) -> MetaAnalysis:
    """Pool every miRNA across the cohorts/studies in ``sources`` (analyze folders and study CSVs).

    ``measure``: ``auc`` (default for folders), ``log_hr``, ``log_dor`` or ``generic`` (``yi``/``vi``);
    ``method``: ``REML`` or ``DL``; ``test``: ``z`` or ``knha`` (Hartung-Knapp); miRNAs with a usable
    estimate in fewer than ``min_studies`` cohorts are listed in ``excluded`` with the reason;
    ``direction``: ``higher_in_case`` or ``lower_in_case`` for AUCs and log DORs (default: the first
    cohort's).
    """
    if direction is not None and direction not in (HIGHER, LOWER):
        raise InputError(f"unknown direction {direction!r}", expected=f"{HIGHER} or {LOWER}")
    method = method.upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", expected=" or ".join(METHODS))
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}", expected=" or ".join(TESTS))
    if min_studies < 1:
        raise InputError(f"--min-studies must be at least 1, not {min_studies}")
    long, measure = collect_effects(sources, measure=measure, comparison=comparison, endpoint=endpoint)
    studies = list(dict.fromkeys(long["study"]))
    names = match_mirnas(long["input_name"], mirbase=mirbase)
    long = long.merge(names, on="input_name", how="left", validate="many_to_one")
    _check_duplicates(long)

    usable = np.isfinite(long["yi"]) & np.isfinite(long["vi"]) & (long["vi"] > 0)
    if measure == "auc":  # no logit, so no logit-scale variance, at perfect separation
        usable &= (long["yi"] > 0) & (long["yi"] < 1)
    excluded = [_excluded_row(r, _why_unusable(r, measure)) for _, r in long[~usable].iterrows()]
    good = long[usable].copy()
    study_order = {s: i for i, s in enumerate(studies)}
    good["_order"] = good["study"].map(study_order)
    good = good.sort_values(["key", "_order"], kind="mergesort")

    summary_rows, forest_frames, results = [], [], {}
    for key, part in good.groupby("key", sort=True):
        first = part.iloc[0]
        if len(part) < min_studies:
            excluded.append({"mirna": first["mirna"], "mimat": first["mimat"], "study": ";".join(part["study"]),
                             "input_name": ";".join(dict.fromkeys(part["input_name"])),
                             "reason": f"usable estimate in {len(part)} of {len(studies)} cohorts "
                                       f"(--min-studies {min_studies})",
                             "source": ";".join(dict.fromkeys(part["source"])), "line": ""})
            continue
        part, chosen, source = _harmonize(part, measure, direction)
        result = random_effects(part["yi"], part["vi"], method=method, studies=part["study"],
                                measure=measure, test=test)
        results[first["mirna"]] = result
        row = _summary_row(first, part, result, measure, chosen)
        row["direction_source"] = source
        if test == "knha" and result.k > 1:
            # Hartung-Knapp can be narrower than the z interval when cohorts agree more closely than
            # their standard errors suggest; say so instead of letting it pass as extra precision
            plain = random_effects(part["yi"], part["vi"], method=method, measure=measure)
            row["knha_narrower_than_z"] = bool(result.ci_high - result.ci_low < plain.ci_high - plain.ci_low)
        summary_rows.append(row)
        forest_frames.append(_forest_rows(first, part, result))
    summary = _order_summary(pd.DataFrame(summary_rows))
    if "knha_narrower_than_z" in summary and summary["knha_narrower_than_z"].any():
        narrow = summary.loc[summary["knha_narrower_than_z"], "mirna"].tolist()
        log.warning(f"meta-analysis: the Hartung-Knapp interval is narrower than the z interval for {len(narrow)} "
                    f"miRNA(s) (column knha_narrower_than_z): {', '.join(narrow[:8])}{' …' if len(narrow) > 8 else ''}")
    forest = _order_forest(forest_frames, summary)
    excluded_frame = pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS)
    excluded_frame = excluded_frame.sort_values(["mirna", "study"], kind="mergesort").reset_index(drop=True)
    if len(excluded_frame):
        log.warning(f"meta-analysis: {len(excluded_frame)} miRNA/cohort entr(y/ies) not pooled (see excluded.csv): "
                    + ", ".join(excluded_frame["mirna"].astype(str).head(8)) + (" …" if len(excluded_frame) > 8 else ""))
    context = ";".join(sorted({c for c in long["context"].astype(str) if c}))
    return MetaAnalysis(measure=measure, method=method, test=test, min_studies=min_studies, studies=studies,
                        sources=[str(s) for s in sources], summary=summary, forest=forest, excluded=excluded_frame,
                        comparison=context if measure in ("auc", "log_dor") else None,
                        endpoint=context if measure == "log_hr" else None, results=results)


def _check_duplicates(long: pd.DataFrame) -> None:
    """Two rows of one cohort for the same miRNA would count that cohort twice."""
    dup = long[long.duplicated(["study", "key"], keep=False)]
    if len(dup):
        first = dup.iloc[0]
        same = dup[(dup["study"] == first["study"]) & (dup["key"] == first["key"])]
        raise InputError(f"study {first['study']!r} has {len(same)} rows for {first['mirna']} "
                         f"({', '.join(same['input_name'])} on lines {', '.join(str(v) for v in same['line'])})",
                         path=first["source"], line=int(same["line"].iloc[1]), column="mirna",
                         expected="one row per study and miRNA")


def _why_unusable(row: pd.Series, measure: str) -> str:
    if str(row.get("note", "")) and not str(row["note"]).startswith(_TRUNCATED):
        return f"no estimate: {row['note']}"
    if not np.isfinite(row["yi"]):
        return "no estimate (missing value)"
    if measure == "auc" and row["yi"] in (0.0, 1.0):
        return f"AUC of {row['yi']:g} (perfect separation): no logit-scale variance, not pooled"
    if not np.isfinite(row["vi"]):
        return "no standard error or interval (missing value)"
    return "zero-width interval (variance 0)"


def _excluded_row(row: pd.Series, reason: str) -> dict:
    return {"mirna": row["mirna"], "mimat": row["mimat"], "study": row["study"], "input_name": row["input_name"],
            "reason": reason, "source": row["source"], "line": row["line"]}


def _harmonize(part: pd.DataFrame, measure: str, wanted: str | None) -> tuple[pd.DataFrame, str, str]:
    """Put every cohort's AUC / log DOR in one direction fixed in advance (``wanted``, else the first
    cohort's): never the majority's, which would lean the pooled AUC away from 0.5 under the null."""
    part = part.copy()
    stated = part["direction"].astype(str)
    if measure not in ("auc", "log_dor") or not stated.isin([HIGHER, LOWER]).any():
        part["flipped"] = False
        return part, "", ""
    if wanted is not None:
        direction, source = wanted, "given (--direction)"
    else:
        first = part.loc[stated.isin([HIGHER, LOWER]).to_numpy()].iloc[0]  # rows are in input order
        direction, source = str(first["direction"]), f"first cohort ({first['study']})"
    flip = (stated.isin([HIGHER, LOWER]) & (stated != direction)).to_numpy()
    if measure == "auc":
        part.loc[flip, "yi"] = 1.0 - part.loc[flip, "yi"]
    else:
        part.loc[flip, "yi"] = -part.loc[flip, "yi"]
    part["flipped"] = flip
    return part, direction, source


def _summary_row(first: pd.Series, part: pd.DataFrame, res: MetaResult, measure: str,
                 direction: str) -> dict:
    row = {
        "mirna": first["mirna"], "mimat": first["mimat"], "measure": measure, "k": res.k,
        "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
        "pvalue": res.pvalue, "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p": res.q_p,
        "pi_low": res.pi_low, "pi_high": res.pi_high,
        "direction_agreement": res.direction_agreement, "method": res.method,
        "test": res.test, "se": res.se, "zval": res.zval, "h2": res.h2, "q_df": res.q_df,
        "n_same_direction": res.n_same_direction, "scale": res.scale,
    }
    for key, value in res.logit.items():
        row[f"logit_{key}"] = value
    if measure in ("log_hr", "log_dor"):
        for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            row[f"exp_{key}"] = math.exp(row[key])
    row["auc_direction"] = direction
    row["n_total"] = float(part["n"].sum()) if part["n"].notna().all() else math.nan
    row["studies"] = ";".join(part["study"])
    row["input_names"] = ";".join(sorted(set(part["input_name"])))
    row["identity"] = ";".join(sorted(set(part["identity"])))
    return row


def _forest_rows(first: pd.Series, part: pd.DataFrame, res: MetaResult) -> pd.DataFrame:
    forest = res.forest.copy()
    info_by_study = part.set_index("study")
    forest.insert(0, "mirna", first["mirna"])
    forest.insert(1, "mimat", first["mimat"])
    forest["input_name"] = forest["study"].map(info_by_study["input_name"])
    forest["flipped"] = forest["study"].map(info_by_study["flipped"]).astype(bool)
    forest["n"] = forest["study"].map(info_by_study["n"])
    forest["source"] = forest["study"].map(info_by_study["source"])
    forest["line"] = forest["study"].map(info_by_study["line"])
    if "note" in info_by_study:
        forest["note"] = forest["study"].map(info_by_study["note"]).fillna("").astype(str)
    return forest[FOREST_COLUMNS + [c for c in forest.columns if c not in FOREST_COLUMNS]]


def _order_summary(summary: pd.DataFrame) -> pd.DataFrame:
    if summary.empty:
        return pd.DataFrame(columns=META_COLUMNS)

    summary.insert(summary.columns.get_loc("pvalue") + 1, "padj", bh_adjust(summary["pvalue"].to_numpy(float)))
    summary = summary.sort_values(["pvalue", "mirna"], kind="mergesort", na_position="last")
    return summary.reset_index(drop=True)


def _order_forest(frames: list[pd.DataFrame], summary: pd.DataFrame) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=FOREST_COLUMNS)
    forest = pd.concat(frames, ignore_index=True)
    rank = {name: i for i, name in enumerate(summary["mirna"])}
    forest["_rank"] = forest["mirna"].map(rank)
    return forest.sort_values("_rank", kind="mergesort").drop(columns="_rank").reset_index(drop=True)


# --------------------------------------------------------------------------- writing
def csv_text(frame: pd.DataFrame) -> str:
    """CSV with 10 significant digits and ``\\n`` line ends (same results, same bytes)."""
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_meta(analysis: MetaAnalysis, folder: str | Path) -> dict[str, Path]:
    """Write ``meta.csv``, ``forest.csv``, ``excluded.csv`` and ``forest.html`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in (("meta", analysis.summary), ("forest", analysis.forest), ("excluded", analysis.excluded)):
        path = folder / f"{name}.csv"
        path.write_text(csv_text(frame), encoding="utf-8", newline="")
        written[name] = path
    page = folder / "forest.html"
    page.write_text(render_forest_page(analysis), encoding="utf-8", newline="")
    written["forest_html"] = page
    return written


def run_meta(sources: Sequence[str | Path], out: str | Path, **options) -> MetaAnalysis:
    """:func:`meta_analyze` and :func:`write_meta` into ``out``, all or nothing, with ``run.log``."""
    with run_log() as record, staged_directory(out) as staging:
        analysis = meta_analyze(sources, **options)
        write_meta(analysis, staging)
        log.info(f"meta-analysis of {len(analysis.summary)} miRNA(s) across {len(analysis.studies)} cohort(s) "
                 f"({analysis.measure}, {analysis.method}) → {out}")
        record.write(staging / "run.log")
    return analysis

