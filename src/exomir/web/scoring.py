"""Scoring through the web: the locked models the server was given, uploads kept within limits,
and scored tables kept briefly for download under random ids."""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd

from exomir.errors import InputError
from exomir.model import LockedModel, load_model

ALLOWED_SUFFIXES = (".csv", ".tsv", ".txt")
MODEL_FILE_LIMIT = 4 * 1024 * 1024
KEEP_RESULTS = 32


class TooLarge(Exception):
    """An upload beyond the server's size or row limits (HTTP 413)."""


def find_models(paths: tuple[Path, ...], results: Path | None) -> dict[str, LockedModel]:
    """Models given explicitly (refused loudly when broken) and any intact ``*.json`` model under
    ``results`` (other JSON files are skipped). Keyed by the first 16 hex digits of the checksum."""
    models: dict[str, LockedModel] = {}
    for path in paths:
        model = load_model(path)
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
    return models


def safe_suffix(filename: str | None) -> str:
    """The table type from the client's file name; the name itself is never used as a path."""
    name = (filename or "").lower()
    for suffix in ALLOWED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return ".csv"


def check_limits(data: bytes, *, max_bytes: int, max_lines: int) -> None:
    if len(data) > max_bytes:
        raise TooLarge(f"upload of more than {max_bytes:,} bytes refused (limit of this server)")
    if data.count(b"\n") > max_lines:
        raise TooLarge(f"table of more than {max_lines} lines refused (limit of this server)")
    if not data.strip():
        raise InputError("the uploaded table is empty")


def score_upload(model: LockedModel, expression: bytes, expression_name: str | None, clinical: bytes | None,
                 clinical_name: str | None, *, max_samples: int) -> pd.DataFrame:
    """Write the upload into a private temporary folder under server-chosen names and score it."""
    from exomir.model import score_files

    with tempfile.TemporaryDirectory(prefix="exomir-upload-") as folder:
        expr_path = Path(folder) / f"expression{safe_suffix(expression_name)}"
        expr_path.write_bytes(expression)
        clin_path = None
        if clinical:
            clin_path = Path(folder) / f"clinical{safe_suffix(clinical_name)}"
            clin_path.write_bytes(clinical)
        try:
            scores = score_files(model, expr_path, clin_path)
        except InputError as exc:
            # the temporary names mean nothing to the person who uploaded: show what they sent
            text = str(exc).replace(str(expr_path), expression_name or "uploaded table")
            if clin_path is not None:
                text = text.replace(str(clin_path), clinical_name or "uploaded clinical table")
            raise InputError(text) from None
    if len(scores) > max_samples:
        raise TooLarge(f"{len(scores)} samples is more than this server scores at once ({max_samples})")
    return scores


def scores_csv(scores: pd.DataFrame) -> bytes:
    """The download of the scoring page: the same bytes ``exomir score`` writes."""
    from exomir.model.score import scores_csv_text

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
