"""Scoring through the web: the locked models the server was given, uploads kept within limits,
and scored tables kept briefly for download under random ids."""

from __future__ import annotations

import gzip
import io
import json
import re
import secrets
import tempfile
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exomir.errors import InputError
from exomir.model import LockedModel, load_model
from exomir.model import score_files
from exomir.model.score import TooManySamples, scores_csv_text

ALLOWED_SUFFIXES = (".csv", ".tsv", ".txt")
MODEL_FILE_LIMIT = 4 * 1024 * 1024
KEEP_RESULTS = 32


class TooLarge(Exception):
    """An upload beyond the server's size or row limits (HTTP 413)."""


@dataclass(frozen=True)
class RefusedModel:
    """A model file the server was given but will not score with, and why."""

    path: Path
    reason: str


def find_models(paths: tuple[Path, ...], results: Path | None) -> tuple[dict[str, LockedModel], list[RefusedModel]]:
    """Models given explicitly and any intact ``*.json`` model under ``results`` (other JSON files
    are skipped), keyed by the first 16 hex digits of the checksum; and the given files refused
    (damaged, unsound or unsigned), with the reason. A refused file never stops the server."""
    models: dict[str, LockedModel] = {}
    refused: list[RefusedModel] = []
    for path in paths:
        try:
            model = load_model(path)
        except InputError as exc:
            refused.append(RefusedModel(Path(path), str(exc)))
            continue
        models[model.checksum[:16]] = model
    if results is not None and results.is_dir():
        for path in sorted(results.rglob("*.json")):
            if any(p.startswith(".") for p in path.relative_to(results).parts) or path.stat().st_size > MODEL_FILE_LIMIT:
                continue
            head = path.open("rb").read(65536)
            if b"exomir-locked-model" not in head:
                continue
            try:
                model = load_model(path)
            except InputError:
                continue  # a tampered or foreign file is never offered for scoring
            models.setdefault(model.checksum[:16], model)
    return models, refused


def safe_suffix(filename: str | None) -> str:
    """The table type from the client's file name; the name itself is never used as a path."""
    name = (filename or "").lower()
    for suffix in ALLOWED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return ".csv"


GZIP_MAGIC = b"\x1f\x8b"
OTHER_COMPRESSION = {b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"PK\x03\x04": "zip", b"\x28\xb5\x2f\xfd": "zstd"}


def count_lines(data: bytes) -> int:
    """Line ends of any convention: \\n, \\r\\n and a lone \\r (old Mac files) each end one line."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def widest_header(data: bytes) -> int:
    """Fields of the first line (comma or tab separated), counted without parsing the table."""
    end = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=len(data))
    first = data[:end]
    return max(first.count(b","), first.count(b"\t"), first.count(b";")) + 1


def inflate(data: bytes, *, max_bytes: int) -> bytes:
    """A gzip upload decompressed, stopping as soon as it exceeds ``max_bytes`` (so a small bomb
    never costs more than the limit); other compressions are refused."""
    for magic, kind in OTHER_COMPRESSION.items():
        if data.startswith(magic):
            raise InputError(f"{kind}-compressed uploads are not accepted", expected="a CSV/TSV table, plain or gzip")
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            plain = handle.read(max_bytes + 1)  # reads output in bounded steps
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise InputError(f"the gzip upload is damaged ({exc})", expected="a complete gzip file") from None
    if len(plain) > max_bytes:
        raise TooLarge(f"the gzip upload expands to more than {max_bytes:,} bytes (limit of this server)")
    if plain.startswith(GZIP_MAGIC):
        raise InputError("a gzip file inside a gzip file is not accepted", expected="a table compressed once")
    return plain


def check_limits(data: bytes, *, max_bytes: int, max_lines: int, max_columns: int | None = None) -> bytes:
    """The table an upload holds (gzip inflated within the limit), refused when it exceeds the
    server's bytes, lines or columns (counted before anything is parsed)."""
    if len(data) > max_bytes:
        raise TooLarge(f"upload of more than {max_bytes:,} bytes refused (limit of this server)")
    data = inflate(data, max_bytes=max_bytes)
    if count_lines(data) > max_lines:
        raise TooLarge(f"table of more than {max_lines:,} lines refused (limit of this server)")
    max_columns = max_lines if max_columns is None else max_columns
    if widest_header(data) > max_columns:
        raise TooLarge(f"table of more than {max_columns:,} columns refused (limit of this server)")
    if not data.strip():
        raise InputError("the uploaded table is empty")
    return data


def score_upload(model: LockedModel, expression: bytes, expression_name: str | None, clinical: bytes | None,
                 clinical_name: str | None, *, max_samples: int) -> pd.DataFrame:
    """Write the upload into a private temporary folder under server-chosen names and score it."""
    with tempfile.TemporaryDirectory(prefix="exomir-upload-") as folder:
        expr_path = Path(folder) / f"expression{safe_suffix(expression_name)}"
        expr_path.write_bytes(expression)
        clin_path = None
        if clinical:
            clin_path = Path(folder) / f"clinical{safe_suffix(clinical_name)}"
            clin_path.write_bytes(clinical)
        try:
            return score_files(model, expr_path, clin_path, max_samples=max_samples)
        except TooManySamples as exc:
            raise TooLarge(f"{exc} (limit of this server); nothing was scored") from None
        except InputError as exc:
            # the temporary names mean nothing to the person who uploaded: show what they sent
            text = str(exc).replace(str(expr_path), expression_name or "uploaded table")
            if clin_path is not None:
                text = text.replace(str(clin_path), clinical_name or "uploaded clinical table")
            raise InputError(without_flags(text)) from None


def without_flags(text: str) -> str:
    """A scorer message in the words of the web form: the command line's options mean nothing here."""
    for flag, words in (("a --clinical table", "a clinical table"), ("(--clinical FILE)", "(the clinical upload)"),
                        ("--clinical FILE", "the clinical upload"), ("--clinical", "the clinical upload"),
                        ("is --sample-column the right column?", "does the clinical table's first column hold the sample IDs?"),
                        ("--measure", "the measure")):  # fmt: skip
        text = text.replace(flag, words)
    return re.sub(r"(?<![\w-])--[a-z][a-z-]*( [A-Z]+)?", "an option of the command line", text)


def scores_csv(scores: pd.DataFrame) -> bytes:
    """The download of the scoring page: the same bytes ``exomir score`` writes."""
    return scores_csv_text(scores).encode("utf-8")


def scores_records(scores: pd.DataFrame) -> list[dict]:
    return json.loads(scores.to_json(orient="records", double_precision=10))


class ResultStore:
    """The last scored tables, by random id, in memory only."""

    def __init__(self, keep: int = KEEP_RESULTS) -> None:
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def put(self, csv: bytes, model_id: str) -> str:
        rid = secrets.token_hex(16)
        with self._lock:
            self._items[rid] = (csv, model_id)
            while len(self._items) > self._keep:
                self._items.popitem(last=False)
        return rid

    def get(self, rid: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._items.get(rid)
