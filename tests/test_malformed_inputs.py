"""Malformed inputs to ``exomir analyze``, through its command line, one table row per case.

Each case writes a small cohort with one defect and runs ``exomir analyze`` as a user would
(``exomir.cli.main``: the entry point that prints errors). A refused input must give exit status 2,
a message naming the file and the line (or the sample, column or option) and what is wrong, no
traceback, and no results folder or staging folder. An accepted input must say what it did with
the oddity (a warning, ``exclusions.csv``) so that nothing is silently dropped.

Classes of cases (the table of outcomes of issue 16 is grouped by these):
file, encoding, compression, structure, delimiter, values, labels, join, groups, clinical,
survival, qpcr, options, out, markup.
"""

from __future__ import annotations

import codecs
import gzip
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from exomir.simulate import simulate_cohort, write_cohort

N_SAMPLES = 32


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The lines of a valid cohort: counts (miRNAs as rows) and Cq values, and the clinical table."""
    folder = tmp_path_factory.mktemp("base")
    counts = write_cohort(simulate_cohort(N_SAMPLES, n_mirnas=32, seed=7), f"{folder}/counts/")
    cq = write_cohort(simulate_cohort(N_SAMPLES, measure="cq", n_mirnas=32, seed=7), f"{folder}/cq/")
    return {
        "expression": counts["expression"].read_text().splitlines(),
        "cq": cq["expression"].read_text().splitlines(),
        "clinical": counts["clinical"].read_text().splitlines(),
    }


class Build:
    """What one case writes: files in its own folder, and the command line that reads them."""

    def __init__(self, folder: Path, base: dict) -> None:
        self.folder = folder
        self.e = list(base["expression"])
        self.cq = list(base["cq"])
        self.c = list(base["clinical"])
        self.expression: list[Path] = []
        self.clinical: Path | None = None
        self.options = ["--afp", "afp_ng_ml", "--time", "dfs_months", "--event", "dfs_event"]
        self.out = folder / "results"

    def file(self, name: str, content: str | bytes | list[str]) -> Path:
        path = self.folder / name
        if isinstance(content, list):
            content = "\n".join(content) + "\n"
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    def expr(self, content: str | bytes | list[str] | None = None, name: str = "expression.csv") -> Path:
        self.expression = [self.file(name, self.e if content is None else content)]
        return self.expression[0]

    def clin(self, content: str | bytes | list[str] | None = None, name: str = "clinical.csv") -> Path:
        self.clinical = self.file(name, self.c if content is None else content)
        return self.clinical

    def args(self) -> list[str]:
        if not self.expression:
            self.expr()
        if self.clinical is None:
            self.clin()
        args = ["analyze"]
        for path in self.expression:
            args += ["--expression", str(path)]
        if self.clinical is not False:
            args += ["--clinical", str(self.clinical)]
        return [*args, "--out", str(self.out), *self.options, "--no-panels", "--quiet"]


def cell(lines: list[str], line: int, column: int, value: str) -> list[str]:
    """``lines`` with the field ``column`` (0-based) of 1-based ``line`` replaced."""
    out = list(lines)
    fields = out[line - 1].split(",")
    fields[column] = value
    out[line - 1] = ",".join(fields)
    return out


def column_of(lines: list[str], name: str) -> int:
    return lines[0].split(",").index(name)


def sample_at(lines: list[str], line: int) -> str:
    return lines[line - 1].split(",")[0]


@dataclass
class Case:
    id: str
    cls: str
    build: Callable[[Build], None]
    expect: tuple[str, ...] = ()  # substrings of the message; {e}/{c} = file names, {out} = the --out
    ok: bool = False  # the input is usable: the analysis runs, says what it did
    check: Callable[[Path, str], None] | None = None
    xfail: str | None = None
    marks: list = field(default_factory=list)


def excluded(*items: str):
    def check(out: Path, err: str) -> None:
        table = pd.read_csv(out / "tables" / "exclusions.csv", dtype=str)
        for item in items:
            assert item in set(table["item"]), f"{item} not in exclusions.csv"
    return check


def n_qc(n: int):
    def check(out: Path, err: str) -> None:
        assert len(pd.read_csv(out / "tables" / "qc.csv")) == n
    return check


# --- builders --------------------------------------------------------------------------------

def gz(b: Build, text: list[str]) -> bytes:
    return gzip.compress(("\n".join(text) + "\n").encode(), mtime=0)


def corrupt_gzip(b: Build) -> None:
    data = bytearray(gz(b, b.e))
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(x ^ 0x5A for x in data[middle:middle + 16])
    b.expr(bytes(data), "expression.csv.gz")


def latin1(b: Build, which: str, line: int, old: str, new: str) -> None:
    lines = b.e if which == "e" else b.c
    lines[line - 1] = lines[line - 1].replace(old, new)
    data = ("\n".join(lines) + "\n").encode("latin-1")
    (b.expr if which == "e" else b.clin)(data)


def rename_sample(b: Build, old: str, new: str, both: bool = True) -> None:
    b.e[0] = b.e[0].replace(old, new)
    if both:
        b.c = [line.replace(old + ",", new + ",", 1) if line.startswith(old + ",") else line for line in b.c]


def utf16(b: Build, codec: str, bom: bool) -> None:
    text = "\n".join(b.e) + "\n"
    data = text.encode(codec)
    if bom:
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + data
    b.expr(data, "expression.txt")


def long_rows(b: Build, n: int, bad: bool) -> None:
    """miRNAs as rows with ``n`` samples: each line is far longer than csv's 128 KiB field limit."""
    samples = [f"S{i:05d}" for i in range(n)]
    rows = ["mirna," + ",".join(samples)]
    for k, line in enumerate(b.e[1:4]):
        name = line.split(",")[0]
        rows.append(name + "," + ",".join(str(100 + (i * 7 + k) % 50) for i in range(n)))
    if bad:
        rows[2] = rows[2][: len(rows[2]) // 2] + "x" + rows[2][len(rows[2]) // 2:]
    b.expr(rows)
    b.clin(["sample_id,group"] + [f"S{i:05d},{'HCC' if i % 2 else 'LC'}" for i in range(n)])
    b.options = []


def qpcr_plates(b: Build, drop_on_second: str | None, encoding: str = "utf-8", rename: tuple[str, str] | None = None) -> None:
    """Two plates of a long Cq export; ``drop_on_second`` is a target the second plate lacks."""
    if rename:
        b.cq[0] = b.cq[0].replace(*rename)
        rename_sample(b, *rename)
    samples = b.cq[0].split(",")[1:]
    halves = [samples[: len(samples) // 2], samples[len(samples) // 2:]]
    paths = []
    for p, part in enumerate(halves):
        rows = ["Sample Name,Target Name,CT"]
        for line in b.cq[1:]:
            fields = line.split(",")
            if p == 1 and fields[0] == drop_on_second:
                continue
            for s in part:
                rows.append(f"{s},{fields[0]},{fields[1 + samples.index(s)]}")
        paths.append(b.file(f"plate{p + 1}.csv", ("\n".join(rows) + "\n").encode(encoding)))
    b.expression = paths


def two_names(lines: list[str]) -> list[str]:
    """The same miRNA twice: as hsa-let-7a-5p (line 2) and as its accession MIMAT0000062 (last line)."""
    first, second = lines[1].split(",", 1), lines[2].split(",", 1)
    return [lines[0], "hsa-let-7a-5p," + first[1], *lines[2:], "MIMAT0000062," + second[1]]


def only_cases(b: Build) -> None:
    g = column_of(b.c, "group")
    b.c = [b.c[0]] + [line for line in b.c[1:] if line.split(",")[g] == "HCC"]
    keep = [line.split(",")[0] for line in b.c[1:]]
    b.e = _keep_samples(b.e, keep)


def _keep_samples(lines: list[str], keep: list[str]) -> list[str]:
    header = lines[0].split(",")
    idx = [0] + [i for i, s in enumerate(header) if s in keep]
    return [",".join(line.split(",")[i] for i in idx) for line in lines]


def set_column(b: Build, name: str, value: str, line: int = 2) -> None:
    b.c = cell(b.c, line, column_of(b.c, name), value)


def first_group_line(b: Build, group: str) -> int:
    g = column_of(b.c, "group")
    return next(i for i, line in enumerate(b.c, start=1) if i > 1 and line.split(",")[g] == group)


def hcc_lines(b: Build, n: int) -> list[int]:
    g = column_of(b.c, "group")
    return [i for i, line in enumerate(b.c, start=1) if i > 1 and line.split(",")[g] == "HCC"][:n]


def event_line(b: Build) -> int:
    t = column_of(b.c, "dfs_months")
    return next(i for i, line in enumerate(b.c, start=1) if i > 1 and line.split(",")[t])


# --- the table ---------------------------------------------------------------------------------


CASES: list[Case] = [
    # file: what is (not) there
    Case("expression-missing", "file", lambda b: setattr(b, "expression", [b.folder / "nowhere.csv"]),
         ("nowhere.csv", "file not found")),
    Case("clinical-missing", "file", lambda b: setattr(b, "clinical", b.folder / "nowhere_clin.csv"),
         ("nowhere_clin.csv", "file not found")),
    Case("expression-is-a-folder", "file", lambda b: (b.folder.joinpath("adir").mkdir(),
                                                      setattr(b, "expression", [b.folder / "adir"])),
         ("adir", "is a folder")),
    Case("expression-empty", "file", lambda b: b.expr(b""), ("{e}", "empty")),
    Case("clinical-empty", "file", lambda b: b.clin(b""), ("{c}", "empty")),
    Case("expression-blank-lines-only", "file", lambda b: b.expr("\n \n\t\n"), ("{e}", "empty")),
    Case("expression-comments-only", "file", lambda b: b.expr("# exported by X\n# nothing\n"), ("{e}", "empty")),
    Case("expression-header-only", "file", lambda b: b.expr(b.e[:1]), ("{e}", "line 1", "no data rows")),
    Case("clinical-header-only", "file", lambda b: b.clin(b.c[:1]), ("{c}", "line 1", "no rows")),
    Case("expression-zip", "file", lambda b: b.expr(b"PK\x03\x04" + bytes(200)), ("{e}", "zip archive")),
    Case("expression-hdf5-named-csv", "file", lambda b: b.expr(b"\x89HDF\r\n\x1a\n" + bytes(100)), ("{e}", "HDF5")),
    Case("expression-binary", "file", lambda b: b.expr(bytes(range(256)) * 8), ("{e}", "binary", "line 1")),
    Case("expression-png", "file", lambda b: b.expr(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "plot.csv"),
         ("plot.csv", "binary")),
    Case("clinical-binary", "file", lambda b: b.clin(b"\x00\x01\x02\x03" * 100), ("{c}", "binary")),
    # compression
    Case("gzip-truncated", "compression", lambda b: b.expr(gz(b, b.e)[:-40], "expression.csv.gz"),
         ("{e}", "gzip", "truncated")),
    Case("gzip-corrupt", "compression", corrupt_gzip, ("{e}", "gzip", "corrupt")),
    Case("gzip-ok", "compression", lambda b: b.expr(gz(b, b.e), "expression.csv.gz"), ok=True, check=n_qc(N_SAMPLES)),
    Case("gzip-of-binary", "compression", lambda b: b.expr(gzip.compress(bytes(1000), mtime=0), "e.csv.gz"),
         ("e.csv.gz", "binary")),
    Case("clinical-gzip-truncated", "compression", lambda b: b.clin(gz(b, b.c)[:30], "clinical.csv.gz"),
         ("{c}", "truncated")),
    # encoding
    Case("latin1-sample-id", "encoding", lambda b: latin1(b, "e", 1, "EXO0003", "Pati\u00e9nt03"),
         ("{e}", "not UTF-8", "byte 0xE9", "line 1")),
    Case("latin1-clinical-id", "encoding", lambda b: latin1(b, "c", 4, "EXO0003", "M\u00f6ller"),
         ("{c}", "not UTF-8", "byte 0xF6", "line 4")),
    Case("latin1-muller-moller-not-merged", "encoding",
         lambda b: (rename_sample(b, "EXO0003", "M\u00fcller"), rename_sample(b, "EXO0004", "M\u00f6ller"),
                    b.expr(("\n".join(b.e) + "\n").encode("latin-1"))),
         ("{e}", "not UTF-8", "byte 0xFC", "line 1")),
    Case("cp1252-smart-quote", "encoding", lambda b: b.clin(("\n".join(b.c) + "\n").encode().replace(
        b.c[5].encode(), b.c[5].replace(",M,", ",_M_,").replace(",F,", ",_F_,").encode().replace(b"_", b"\x93"))),
         ("{c}", "not UTF-8", "byte 0x93", "line 6")),
    Case("utf16-le-bom", "encoding", lambda b: utf16(b, "utf-16-le", True), ok=True, check=n_qc(N_SAMPLES)),
    Case("utf16-be-bom", "encoding", lambda b: utf16(b, "utf-16-be", True), ok=True, check=n_qc(N_SAMPLES)),
    Case("utf16-no-bom", "encoding", lambda b: utf16(b, "utf-16-le", False), ("expression.txt", "UTF-16")),
    Case("utf8-bom", "encoding", lambda b: b.clin(codecs.BOM_UTF8 + ("\n".join(b.c) + "\n").encode()), ok=True,
         check=n_qc(N_SAMPLES)),
    Case("utf8-ok-accented-ids", "encoding",
         lambda b: (rename_sample(b, "EXO0003", "M\u00fcller"), rename_sample(b, "EXO0004", "M\u00f6ller")), ok=True,
         check=lambda out, err: _qc_has(out, ["M\u00fcller", "M\u00f6ller"])),
    Case("crlf-line-ends", "encoding", lambda b: b.expr("\r\n".join(b.e) + "\r\n"), ok=True, check=n_qc(N_SAMPLES)),
    Case("cr-only-line-ends", "encoding", lambda b: b.clin("\r".join(b.c) + "\r"), ok=True, check=n_qc(N_SAMPLES)),
    Case("cr-only-ragged-line-counted", "encoding",
         lambda b: b.clin("\r".join(b.c[:6] + [b.c[6] + ",x"] + b.c[7:]) + "\r"), ("{c}", "line 7", "ragged")),
    # structure
    Case("ragged-short-row", "structure", lambda b: b.expr(b.e[:9] + [b.e[9].rsplit(",", 3)[0]] + b.e[10:]),
         ("{e}", "line 10", "ragged row")),
    Case("ragged-long-row", "structure", lambda b: b.expr(b.e[:4] + [b.e[4] + ",1,2"] + b.e[5:]),
         ("{e}", "line 5", "ragged row")),
    Case("clinical-ragged", "structure", lambda b: b.clin(b.c[:11] + [b.c[11] + ",extra,more"] + b.c[12:]),
         ("{c}", "line 12", "ragged row")),
    Case("single-column", "structure", lambda b: b.expr([line.split(",")[0] for line in b.e]),
         ("{e}", "line 1", "single field")),
    Case("unclosed-quote", "structure", lambda b: b.expr(b.e[:7] + ['"' + b.e[7]] + b.e[8:]),
         ("{e}", "line 8")),
    Case("header-trailing-delimiter", "structure", lambda b: b.expr([line + "," for line in b.e]), ok=True,
         check=n_qc(N_SAMPLES)),
    Case("blank-and-comment-lines", "structure", lambda b: b.expr(["# exported 2024", ""] + b.e[:5] + ["", "# note"] + b.e[5:]),
         ok=True, check=n_qc(N_SAMPLES)),
    Case("too-long-line-16000-samples-bad-cell", "structure", lambda b: long_rows(b, 16_000, bad=True),
         ("{e}", "line 3", "non-numeric")),
    Case("truncated-mid-row", "structure", lambda b: b.expr("\n".join(b.e)[: len("\n".join(b.e)) - 40]),
         ("{e}", "line 33", "ragged row")),
    # delimiter
    Case("semicolon-line-in-comma-file", "delimiter", lambda b: b.expr(b.e[:12] + [b.e[12].replace(",", ";")] + b.e[13:]),
         ("{e}", "line 13", "semicolon")),
    Case("clinical-tab-line-in-comma-file", "delimiter", lambda b: b.clin(b.c[:3] + [b.c[3].replace(",", "\t")] + b.c[4:]),
         ("{c}", "line 4", "tab")),
    Case("tab-separated-ok", "delimiter", lambda b: b.expr([line.replace(",", "\t") for line in b.e], "expression.tsv"),
         ok=True, check=n_qc(N_SAMPLES)),
    Case("semicolon-decimal-comma-ok", "delimiter",
         lambda b: b.expr([line.replace(",", ";") for line in b.cq]), ok=True, check=n_qc(N_SAMPLES)),
    Case("pipe-separated-clinical-ok", "delimiter", lambda b: b.clin([line.replace(",", "|") for line in b.c]), ok=True,
         check=n_qc(N_SAMPLES)),
    Case("space-separated", "delimiter", lambda b: b.expr([line.replace(",", " ") for line in b.e]),
         ("{e}", "line 1", "single field")),
    # values
    Case("text-in-count-cell", "values", lambda b: b.expr(cell(b.e, 6, 4, "abc")),
         ("{e}", "line 6", "non-numeric value 'abc'", "EXO0004")),
    Case("two-decimal-points", "values", lambda b: b.expr(cell(b.e, 7, 2, "1.2.3")), ("{e}", "line 7", "'1.2.3'")),
    Case("percent-sign", "values", lambda b: b.expr(cell(b.e, 8, 3, "12%")), ("{e}", "line 8", "'12%'")),
    Case("thousands-separator-quoted", "values", lambda b: b.expr(cell(b.e, 9, 3, '"1,234"')), ("{e}", "line 9", "1,234")),
    Case("count-1e300", "values", lambda b: b.expr(cell(b.e, 5, 3, "1e300")), ("{e}", "line 5", "EXO0003", "1e+300")),
    Case("count-1e20", "values", lambda b: b.expr(cell(b.e, 11, 2, "100000000000000000000")), ("{e}", "line 11", "EXO0002")),
    Case("count-infinite", "values", lambda b: b.expr(cell(b.e, 4, 5, "inf")), ("{e}", "line 4", "EXO0005")),
    Case("negative-count-one-cell", "values", lambda b: b.expr(cell(b.e, 10, 6, "-3")), ("{e}", "line 10", "EXO0006", "negative")),
    Case("nan-count-cells", "values", lambda b: b.expr(cell(cell(b.e, 3, 2, "NaN"), 4, 2, "NA")), ("{e}", "line 3", "EXO0002")),
    Case("non-integer-counts-rounded-reported", "values", lambda b: b.expr(cell(b.e, 3, 2, "10.5")), ok=True,
         check=lambda out, err: _said((out / "report.html").read_text(encoding="utf-8"), "not whole numbers rounded")),
    Case("all-cells-empty", "values", lambda b: b.expr([b.e[0]] + [line.split(",")[0] + "," * N_SAMPLES for line in b.e[1:]]),
         ("{e}", "no measured values")),
    Case("negative-cq", "values", lambda b: b.expr(cell(b.cq, 5, 3, "-2.5")), ("{e}", "line 5", "EXO0003", "negative")),
    Case("cq-undetermined-ok", "values", lambda b: b.expr(cell(cell(b.cq, 5, 3, "Undetermined"), 6, 4, "No Ct")), ok=True,
         check=n_qc(N_SAMPLES)),
    Case("cq-all-undetermined-mirna", "values",
         lambda b: b.expr(b.cq[:7] + [b.cq[7].split(",")[0] + ",Undetermined" * N_SAMPLES] + b.cq[8:]), ok=True,
         check=lambda out, err: _mirna_reported(out, err, b_line=8)),
    Case("excel-error-cell", "values", lambda b: b.expr(cell(b.e, 6, 7, "#DIV/0!")), ("{e}", "line 6", "#DIV/0!")),
    Case("all-zero-sample", "values",
         lambda b: b.expr([b.e[0]] + [",".join(f if i != 5 else "0" for i, f in enumerate(line.split(","))) for line in b.e[1:]]),
         ("EXO0005",)),
    # labels
    Case("unknown-mirna-names", "labels",
         lambda b: b.expr(b.e[:3] + [b.e[3].replace(b.e[3].split(",")[0], "hsa-miR-99999-5p")] + b.e[4:]), ok=True,
         check=lambda out, err: _said(err, "hsa-miR-99999-5p")),
    Case("duplicated-mirna-row", "labels", lambda b: b.expr(b.e[:6] + [b.e[3]] + b.e[6:]),
         ("{e}", "line 7", "duplicated miRNA name", "line 4")),
    Case("duplicated-sample-column", "labels", lambda b: rename_sample(b, "EXO0009", "EXO0008", both=False),
         ("{e}", "duplicated sample ID 'EXO0008'")),
    Case("empty-mirna-name", "labels", lambda b: b.expr(b.e[:5] + ["," + b.e[5].split(",", 1)[1]] + b.e[6:]),
         ("{e}", "line 6", "empty miRNA name")),
    Case("empty-sample-id-in-header", "labels", lambda b: b.expr([b.e[0].replace("EXO0010", "")] + b.e[1:]),
         ("{e}", "line 1", "empty sample ID")),
    Case("same-mirna-two-names", "labels", lambda b: b.expr(two_names(b.e)), ("{e}", "hsa-let-7a-5p", "MIMAT0000062")),
    Case("bracket-sample-id", "markup", lambda b: rename_sample(b, "EXO0005", "EXO[/x]5"), ok=True,
         check=lambda out, err: _qc_has(out, ["EXO[/x]5"])),
    Case("bracket-in-error-value", "markup", lambda b: b.expr(cell(b.e, 6, 4, "[/x]")), ("{e}", "line 6", "'[/x]'")),
    Case("bracket-in-missing-path", "markup", lambda b: setattr(b, "expression", [b.folder / "data[x].csv"]),
         ("data[x].csv", "file not found")),
    Case("bracket-markup-in-clinical-id", "markup", lambda b: rename_sample(b, "EXO0006", "[bold red]EXO6[/]"), ok=True,
         check=lambda out, err: _qc_has(out, ["[bold red]EXO6[/]"])),
    # join of expression and clinical
    Case("no-sample-ids-match", "join", lambda b: b.clin([b.c[0]] + [line.replace("EXO", "PT-", 1) for line in b.c[1:]]),
         ("{c}", "no expression sample matches")),
    Case("ids-differ-in-case", "join", lambda b: b.clin([b.c[0]] + [line.replace("EXO", "exo", 1) for line in b.c[1:]]),
         ("{c}", "ignoring case")),
    Case("clinical-row-without-expression", "join", lambda b: b.clin(b.c + ["EXO9999,HCC,60,M,30.1,II,B,12.0,1"]), ok=True,
         check=excluded("EXO9999")),
    Case("expression-sample-without-clinical", "join", lambda b: b.clin(b.c[:4] + b.c[5:]), ok=True,
         check=lambda out, err: _said(err, sample_at(b_c_default(), 5))),
    Case("duplicated-clinical-id", "join", lambda b: b.clin(b.c + [b.c[3]]), ("{c}", "line 34", "duplicated sample ID", "line 4")),
    Case("missing-clinical-id", "join", lambda b: b.clin(b.c[:6] + ["," + b.c[6].split(",", 1)[1]] + b.c[7:]),
         ("{c}", "line 7", "missing sample ID")),
    Case("clinical-ids-with-spaces", "join", lambda b: b.clin(b.c[:2] + [" " + b.c[2]] + b.c[3:]), ok=True,
         check=n_qc(N_SAMPLES)),
    Case("sample-column-option-missing", "join", lambda b: b.options.extend(["--sample-column", "patient"]),
         ("{c}", "no column 'patient'")),
    Case("duplicated-clinical-column", "join", lambda b: b.clin([b.c[0].replace("age", "sex")] + b.c[1:]),
         ("{c}", "duplicated column name 'sex'")),
    # groups
    Case("group-column-missing", "groups", lambda b: b.options.extend(["--group", "diagnosis"]), ("diagnosis",)),
    Case("case-group-absent", "groups", lambda b: b.options.extend(["--case", "HCCX"]), ("case group 'HCCX' not found",)),
    Case("control-group-absent", "groups", lambda b: b.options.extend(["--control", "cirrhosis"]),
         ("control group 'cirrhosis' not found",)),
    Case("no-controls-only-cases-prognosis", "groups",
         lambda b: (only_cases(b), b.expr(), b.clin(), setattr(b, "options", ["--time", "dfs_months", "--event", "dfs_event"])),
         ok=True, check=lambda out, err: _said(err, "prognosis only")),
    Case("no-controls-only-cases", "groups", lambda b: (only_cases(b), b.expr(), b.clin(), setattr(b, "options", [])),
         ("'HCC'",)),
    Case("group-empty-for-all", "groups",
         lambda b: (b.clin([b.c[0]] + [cell([line], 1, 1, "")[0] for line in b.c[1:]]), setattr(b, "options", [])),
         ("{c}", "group", "empty")),
    Case("group-empty-for-all-prognosis", "groups",
         lambda b: (b.clin([b.c[0]] + [cell([line], 1, 1, "")[0] for line in b.c[1:]]),
                    setattr(b, "options", ["--time", "dfs_months", "--event", "dfs_event"])),
         ok=True, check=lambda out, err: _said(err, "prognosis only")),
    Case("group-missing-some", "groups", lambda b: set_column(b, "group", "", line=9), ok=True,
         check=lambda out, err: (excluded(sample_at(b_c_default(), 9))(out, err))),
    Case("group-case-variants", "groups", lambda b: [set_column(b, "group", "hcc ", line=n) for n in hcc_lines(b, 3)],
         ("{c}", "line 6", "'hcc'", "differ only in case")),
    Case("group-case-variants-without-survival", "groups",
         lambda b: (setattr(b, "options", []), [set_column(b, "group", "Hcc", line=n) for n in hcc_lines(b, 2)]),
         ("{c}", "line", "differ only in case")),
    Case("case-is-also-control", "groups", lambda b: b.options.extend(["--control", "HCC"]),
         ("'HCC' is the case group",)),
    # clinical values
    Case("afp-text", "clinical", lambda b: set_column(b, "afp_ng_ml", "high", line=5), ("{c}", "line 5", "afp_ng_ml", "'high'")),
    Case("afp-negative", "clinical", lambda b: set_column(b, "afp_ng_ml", "-5", line=6), ("{c}", "line 6", "afp_ng_ml")),
    Case("afp-censored-below-detection", "clinical", lambda b: set_column(b, "afp_ng_ml", "<2", line=7), ok=True,
         check=lambda out, err: _said(err, "'afp_ng_ml': 1 below a limit (<2)")),
    Case("afp-column-missing", "clinical", lambda b: b.options.extend(["--afp", "AFP"]), ("AFP",)),
    Case("afp-decimal-comma-in-comma-file", "clinical", lambda b: set_column(b, "afp_ng_ml", '"12,5"', line=8),
         ("{c}", "line 8", "12,5")),
    Case("stage-column-missing", "clinical", lambda b: b.options.extend(["--stage", "tnm"]), ("--stage", "tnm")),
    Case("covariate-missing", "clinical", lambda b: b.options.extend(["--covariate", "bmi"]), ("--covariate", "bmi")),
    # survival
    Case("time-without-event", "survival", lambda b: setattr(b, "options", ["--time", "dfs_months"]), ("--event",)),
    Case("time-column-missing", "survival", lambda b: b.options.extend(["--time", "os_months"]), ("os_months",)),
    Case("time-text", "survival", lambda b: set_column(b, "dfs_months", "soon", line=event_line(b)),
         ("{c}", "line", "dfs_months", "'soon'")),
    Case("time-negative", "survival", lambda b: set_column(b, "dfs_months", "-3", line=event_line(b)),
         ("{c}", "line", "dfs_months")),
    Case("event-two", "survival", lambda b: set_column(b, "dfs_event", "2", line=event_line(b)),
         ("{c}", "line", "dfs_event")),
    Case("event-yes-no", "survival", lambda b: set_column(b, "dfs_event", "yes", line=event_line(b)),
         ("{c}", "line", "dfs_event", "'yes'")),
    # qPCR instrument exports
    Case("qpcr-plates-ok", "qpcr", lambda b: qpcr_plates(b, None), ok=True, check=n_qc(N_SAMPLES)),
    Case("qpcr-target-missing-on-a-plate", "qpcr", lambda b: qpcr_plates(b, b.cq[5].split(",")[0]), ok=True,
         check=lambda out, err: _said(err, f"{_BASE['cq'][5].split(',')[0]} on plate2")),
    Case("qpcr-export-windows-1252-ok", "qpcr", lambda b: qpcr_plates(b, None, "cp1252", ("EXO0002", "Pati\u00e9nt02")),
         ok=True, check=lambda out, err: _qc_has(out, ["Pati\u00e9nt02"])),
    Case("qpcr-export-undecodable-byte", "qpcr",
         lambda b: (qpcr_plates(b, None), b.expression[0].write_bytes(b.expression[0].read_bytes().replace(b"EXO0002", b"EXO\x810002"))),
         ("plate1.csv", "byte 0x81", "line 3")),
    Case("qpcr-plate-missing-file", "qpcr", lambda b: (qpcr_plates(b, None), b.expression.append(b.folder / "plate3.csv")),
         ("plate3.csv", "file not found")),
    # options
    Case("measure-unknown", "options", lambda b: b.options.extend(["--measure", "tpm"]), ("unknown measure 'tpm'",)),
    Case("normalization-unknown", "options", lambda b: b.options.extend(["--normalization", "quantile"]), ("quantile",)),
    Case("measure-cq-on-counts", "options", lambda b: b.options.extend(["--measure", "cq"]), ("{e}", "line", "Cq beyond")),
    # --out
    Case("out-is-a-file", "out", lambda b: (b.file("results", "a file"), None)[1], ("{out}", "is a file, not a folder")),
    Case("out-under-a-file", "out", lambda b: (b.file("afile", "x"), setattr(b, "out", b.folder / "afile" / "results")),
         ("afile is a file",)),
    Case("out-with-brackets-ok", "out", lambda b: setattr(b, "out", b.folder / "res[1]"), ok=True, check=n_qc(N_SAMPLES)),
]


def b_c_default() -> list[str]:
    return _BASE["clinical"]


_BASE: dict = {}


def _qc_has(out: Path, samples: list[str]) -> None:
    qc = pd.read_csv(out / "tables" / "qc.csv", dtype=str)
    column = qc.columns[0]
    for sample in samples:
        assert sample in set(qc[column]), sample


def _said(err: str, text: str) -> None:
    assert text in err, f"{text!r} is not mentioned"


def _mirna_reported(out: Path, err: str, b_line: int) -> None:
    name = _BASE["cq"][b_line - 1].split(",")[0]
    table = pd.read_csv(out / "tables" / "exclusions.csv", dtype=str)
    de = pd.read_csv(out / "tables" / "differential.csv", dtype=str)
    assert name in set(table["item"]) or name in err or name in set(de["mirna"]), name


def _params():
    for case in CASES:
        marks = list(case.marks)
        if case.xfail:
            marks.append(pytest.mark.xfail(reason=case.xfail, strict=False))
        yield pytest.param(case, id=f"{case.cls}:{case.id}", marks=marks)


def _run(args: list[str], capsys) -> tuple[int, str]:
    """``exomir ARGS`` through the console entry point; any exception but SystemExit propagates."""
    from exomir import logs as progress
    from exomir.cli import main

    old_argv, old_width = sys.argv, progress.console.width
    sys.argv = ["exomir", *args]
    progress.console.width = 10_000  # a message on one line, as the user's terminal would show it unwrapped
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
        progress.console.width = old_width
        progress.set_quiet(False)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_the_table_has_at_least_85_cases():
    assert len(CASES) >= 85 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", list(_params()))
def test_malformed_input(case: Case, base, tmp_path, capsys):
    _BASE.update(base)
    b = Build(tmp_path, base)
    if case.ok:  # one comparison and no survival: the reading is under test, not the statistics
        b.options = ["--afp", "afp_ng_ml", "--control", "LC"]
    case.build(b)
    args = b.args()
    code, err = _run(args, capsys)
    assert "Traceback" not in err
    names = {"e": b.expression[0].name if b.expression else "", "c": b.clinical.name if b.clinical else "",
             "out": str(b.out)}
    if case.ok:
        assert code == 0, err
        assert (b.out / "report.html").is_file() and (b.out / "cohort.h5ad").is_file()
        if case.check:
            case.check(b.out, err)
    else:
        assert code == 2, err
        assert err.strip().splitlines()[-1].startswith("error:"), err
        for text in case.expect:
            assert text.format(**names) in err, f"{text.format(**names)!r} not in: {err}"
        if not b.out.is_file():
            assert not b.out.exists(), "a results folder was written"
    parent = b.out.parent
    if parent.is_dir():
        assert [p.name for p in parent.iterdir() if p.name.startswith(f".{b.out.name}.")] == [], "staging left"


def test_a_table_of_16000_samples_as_columns_reads(tmp_path):
    """Each line is ~100 KiB-1 MiB: longer than csv's default field limit of 128 KiB (issue 16, item 12)."""
    from exomir.io import read_expression

    n = 16_000
    names = ["hsa-miR-21-5p", "hsa-miR-122-5p", "hsa-let-7a-5p"]
    lines = ["mirna," + ",".join(f"PATIENT-{i:06d}" for i in range(n))]
    lines += [name + "," + ",".join(str((i * 31 + k) % 997) for i in range(n)) for k, name in enumerate(names)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    assert len(lines[0]) > 128 * 1024
    table = read_expression(path)
    assert table.values.shape == (n, 3) and table.measure == "counts"
    assert table.values.loc["PATIENT-015999", "hsa-let-7a-5p"] == (15999 * 31 + 2) % 997
