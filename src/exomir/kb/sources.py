"""Read evidence files (YAML, CSV, TSV) into validated records with their provenance.

The built-in review file ships with the package; a lab's own files in the same record form are
read the same way and keep their own provenance (file name, checksum). Every validation problem
names the file, the line, the record id and the field.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from exomir.errors import InputError
from exomir.kb.schema import EvidenceRecord

# Columns of an export that are computed, not curated: accepted on import and ignored.
_COMPUTED = {"name", "provenance", "resolution", "reference_numbers"}
_METRIC_COLUMNS = {"sensitivity", "specificity", "auc", "threshold", "approximate"}
_ID_COLUMNS = ("title", "pmid", "pmid_source", "doi", "doi_source", "id_status", "id_note", "retraction")
_REFERENCE_COLUMNS = {"reference", "citation", *_ID_COLUMNS}


@dataclass(frozen=True)
class Provenance:
    """Where a set of records came from."""

    name: str
    path: str
    sha256: str
    document: str = ""


@dataclass
class EvidenceSource:
    """The validated records of one file."""

    provenance: Provenance
    records: list[EvidenceRecord] = field(default_factory=list)


def builtin_evidence_files() -> list[Path]:
    """The curated files shipped inside the package (the review)."""
    folder = resources.files("exomir.kb") / "evidence"
    files = [Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml", ".csv", ".tsv"))]
    return sorted(files)


def _display_path(path: Path) -> str:
    """Package files by their place in the package (same on every machine); others as given."""
    package = Path(str(resources.files("exomir"))).resolve()
    try:
        return "exomir/" + path.resolve().relative_to(package).as_posix()
    except ValueError:
        return str(path)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_evidence(path: str | Path, *, name: str | None = None) -> EvidenceSource:
    """Read and validate one evidence file (``.yaml``/``.yml``, ``.csv`` or ``.tsv``).

    The first problem is raised as an :class:`InputError` (saying how many more there are);
    :func:`check_evidence` lists them all.
    """
    source, problems = check_evidence(path, name=name)
    if problems:
        first = problems[0]
        if len(problems) > 1:
            more = len(problems) - 1
            raise InputError(
                f"{first.problem} (and {more} more problem{'s' if more > 1 else ''} in this file: "
                f"`exomir kb validate {path}` lists them all)",
                path=first.path, line=first.line, record=first.record, column=first.column, expected=first.expected,
            )
        raise first
    assert source is not None
    return source


def check_evidence(path: str | Path, *, name: str | None = None) -> tuple[EvidenceSource | None, list[InputError]]:
    """Validate one evidence file and return ``(source, problems)``: every problem of every record
    (file, line, record id, field), in file order. ``source`` is ``None`` when there are problems."""
    path = Path(path)
    try:
        raw, lines, meta = _load(path)
    except InputError as exc:
        return None, [exc]
    prov = Provenance(
        name=str(meta.get("name") or name or path.stem),
        path=_display_path(path),
        sha256=file_sha256(path),
        document=str(meta.get("document") or ""),
    )
    records: list[EvidenceRecord] = []
    problems: list[InputError] = []
    seen: dict[str, int] = {}
    for index, (item, line) in enumerate(zip(raw, lines), start=1):
        label = item.get("id") if isinstance(item, dict) and item.get("id") else f"#{index}"
        if not isinstance(item, dict):
            problems.append(InputError("a record must be a mapping of field: value", path=path, line=line, record=label))
            continue
        try:
            record = EvidenceRecord.model_validate(item)
        except ValidationError as exc:
            problems.extend(_as_input_errors(exc, path, line, label))
            record = None
        key = str(item.get("id") or "")
        if key and key in seen:  # checked on every record, valid or not, so one run shows every problem
            problems.append(InputError(
                f"duplicate record id (first used on line {seen[key]})", path=path, line=line, record=key, column="id"
            ))
            continue
        if key:
            seen[key] = line
        if record is not None:
            records.append(record)
    if not raw:
        problems.append(InputError("no evidence records in the file", path=path))
    return (None if problems else EvidenceSource(prov, records)), problems


def _load(path: Path) -> tuple[list[Any], list[int], dict]:
    if not path.exists():
        raise InputError("evidence file not found", path=path)
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return _yaml_records(path)
    if suffix in {".csv", ".tsv"}:
        raw, lines = _table_records(path, "\t" if suffix == ".tsv" else ",")
        return raw, lines, {}
    raise InputError("unknown evidence file type", path=path, expected=".yaml, .yml, .csv or .tsv")


def _as_input_errors(exc: ValidationError, path: Path, line: int, label: str) -> list[InputError]:
    """One message per problem of a record; a misspelt field is named before the "missing" field
    it leaves behind."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    out = []
    for error in errors:
        loc = ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "record"
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            msg = "unknown field"
        elif error["type"] == "missing":
            msg = "required field is missing"
        elif error["type"] == "enum":
            msg = f"{error.get('input')!r} is not allowed; {msg.lower()}"
        out.append(InputError(msg, path=path, line=line, record=label, column=loc))
    return out


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader that remembers the line where each mapping starts."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _yaml_records(path: Path) -> tuple[list[Any], list[int], dict]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=mark.line + 1 if mark else None) from None
    meta: dict = {}
    if isinstance(doc, dict):
        meta = _strip_lines(doc.get("provenance") or {})
        if "records" not in doc:
            raise InputError("no 'records:' list", path=path, expected="a mapping with a 'records' list, or a list of records")
        items = doc["records"]
    else:
        items = doc
    if not isinstance(items, list):
        raise InputError("'records' is not a list", path=path)
    lines = [item.get("__line__", 0) if isinstance(item, dict) else 0 for item in items]
    return [_strip_lines(item) for item in items], lines, meta


def _table_records(path: Path, delimiter: str) -> tuple[list[dict], list[int]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        if not reader.fieldnames:
            raise InputError("the table has no header", path=path, line=1)
        allowed = set(EvidenceRecord.model_fields) | _COMPUTED | _METRIC_COLUMNS | _REFERENCE_COLUMNS
        unknown = [c for c in reader.fieldnames if c not in allowed]
        if unknown:
            raise InputError(f"unknown column {unknown[0]!r}", path=path, line=1, column=unknown[0],
                             expected="the columns of `exomir kb export --format csv`")
        rows, lines = [], []
        for row in reader:
            rows.append(_row_to_record(row))
            lines.append(reader.line_num)
    return rows, lines


_REF_TEXT = re.compile(r"^\s*\[([0-9,\s–-]+)\]\s*(.*)$")


def _numbers(text: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        bounds = re.split(r"[–-]", part)
        if len(bounds) == 2 and bounds[0].strip().isdigit() and bounds[1].strip().isdigit():
            out.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.append(int(part) if part.isdigit() else part)  # type: ignore[arg-type]  (pydantic names the bad value)
    return out


def _row_to_record(row: dict[str, str | None]) -> dict:
    """A flat table row → the nested record form (metrics, reference)."""
    item: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or key in _COMPUTED or key in _METRIC_COLUMNS or key in _REFERENCE_COLUMNS:
            continue
        if value is not None and value.strip() != "":
            item[key] = value.strip()
    metrics = {k: row[k].strip() for k in _METRIC_COLUMNS if row.get(k) and row[k].strip()}
    if metrics:
        item["metrics"] = metrics
    ref: dict[str, Any] = {}
    text = (row.get("reference") or "").strip()
    match = _REF_TEXT.match(text)
    if match:
        ref["numbers"] = _numbers(match.group(1))
        text = match.group(2).strip()
    if (row.get("reference_numbers") or "").strip() and "numbers" not in ref:
        ref["numbers"] = _numbers(row["reference_numbers"])
    if "citation" in row:  # an export: the citation column is the citation, blank or not
        citation = (row.get("citation") or "").strip()
    else:  # a hand-made table: the reference text after the numbers, without the identifiers it spells out
        citation = re.sub(r"\s*(?:PMID \S+|doi:\S+|\(retracted\))", "", text).strip()
    if citation:
        ref["citation"] = citation
    for key in _ID_COLUMNS:
        if (row.get(key) or "").strip():
            ref[key] = row[key].strip()
    if ref:
        item["reference"] = ref
    return item
