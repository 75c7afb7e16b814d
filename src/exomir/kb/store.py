"""The SQLite store: evidence files validated, resolved and indexed for queries.

The store is built on first use into the cache (``EXOMIR_CACHE``/kb) under a name made of the
fingerprint of its sources (the files' SHA-256, the schema version, the miRBase in use), so a
changed evidence file or an added lab file simply builds a new store. Lab files registered with
``exomir kb import-lab`` are the user's own data: they live in the user data folder
(``EXOMIR_DATA_DIR``/lab), which no cache purge touches, and are always included. Lab files left
in the cache by earlier versions are moved there on first use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import yaml

import exomir.kb.vocab as vocab
from exomir.atomic import atomic_path
from exomir.errors import InputError
from exomir.kb.naming import candidate_mimats, name_key, resolve_names
from exomir.kb.schema import EXPORT_COLUMNS, NOT_HGNC, EvidenceRecord
from exomir.kb.sources import EvidenceSource, builtin_evidence_files, file_sha256, read_evidence
from exomir.kb.vocab import coerce
from exomir.refdata import cache_dir, configured, data_dir
from exomir.kb.conflicts import find_conflicts
from exomir.kb.network import build_network

log = logging.getLogger(__name__)

SCHEMA_VERSION = "4"
EVIDENCE_SUFFIXES = {".yaml", ".yml", ".csv", ".tsv"}

_LINK_TABLES = {
    "record_cells": "record_id TEXT, role TEXT, cell TEXT",
    "record_genes": "record_id TEXT, gene TEXT, kind TEXT",
    "record_pathways": "record_id TEXT, pathway TEXT",
    "record_hallmarks": "record_id TEXT, hallmark TEXT",
    "record_roles": "record_id TEXT, role TEXT",
    "record_refs": "record_id TEXT, number INTEGER",
    "record_panel": "record_id TEXT, marker TEXT",
    "name_keys": "key TEXT, mimat TEXT, record_id TEXT",
}


def kb_dir() -> Path:
    path = cache_dir() / "kb"
    path.mkdir(parents=True, exist_ok=True)
    return path


def lab_dir() -> Path:
    """Where ``exomir kb import-lab`` keeps the lab evidence files that join every store
    (user data, outside the cache)."""
    path = data_dir() / "lab"
    path.mkdir(parents=True, exist_ok=True)
    _migrate_cached_lab_files(path)
    return path


def _migrate_cached_lab_files(dest: Path) -> None:
    """Move lab files that earlier versions kept in the cache (``kb/lab``) to the user data folder.

    A file whose name is already taken in the new folder is left where it is, with a warning:
    neither copy is dropped silently.
    """
    old = cache_dir() / "kb" / "lab"
    if not old.is_dir() or old.resolve() == dest.resolve():
        return
    for path in sorted(p for p in old.iterdir() if p.suffix.lower() in EVIDENCE_SUFFIXES):
        target = dest / path.name
        if target.exists():
            if file_sha256(target) == file_sha256(path):
                path.unlink()
            else:
                log.warning(f"lab evidence {path.name} exists both in {old} and {dest}; the cached copy is left in place, not used")
            continue
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        path.unlink()
        log.info(f"moved lab evidence {path.name} from the cache to {dest}")


def _lab_files() -> list[Path]:
    return sorted(p for p in lab_dir().iterdir() if p.suffix.lower() in EVIDENCE_SUFFIXES)


def evidence_files(extra: Iterable[str | Path] = ()) -> list[Path]:
    """The files a store is built from: built-in, registered lab files, then ``extra``."""
    lab = _lab_files()
    files = builtin_evidence_files() + lab
    for path in extra:
        path = Path(path)
        if not path.exists():
            raise InputError("evidence file not found", path=path)
        files.append(path)
    return files


def fingerprint(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    h.update(f"schema {SCHEMA_VERSION}\n".encode())
    h.update(f"mirbase {configured('EXOMIR_MIRBASE')[0] or ''}\n".encode())
    for path in files:
        h.update(f"{path.name} {file_sha256(path)}\n".encode())
    return h.hexdigest()


def lab_name(name: str) -> str:
    """A lab evidence name as a file stem: letters, digits, ``._-``; anything else is an error."""
    text = str(name).strip()
    if not text or not all(ch.isalnum() or ch in "._-" for ch in text) or text.startswith("."):
        raise InputError(f"{name!r} is not a usable lab evidence name", expected="letters, digits, '.', '_' or '-'")
    return text


def lab_file(name: str) -> Path | None:
    return next((p for p in _lab_files() if p.stem == name), None)


def import_lab_file(path: str | Path, *, name: str | None = None, mode: str = "refuse") -> Path:
    """Validate a lab's evidence file and register it so every later store includes it.

    Under a lab name already in use, ``mode`` decides: ``refuse`` (the default) raises an
    :class:`InputError` and changes nothing; ``append`` adds the new records to the existing lab
    evidence (a record id already used there is an error); ``replace`` swaps the file.
    """
    path = Path(path)
    if mode not in {"refuse", "append", "replace"}:
        raise InputError(f"unknown import mode {mode!r}", expected="refuse, append or replace")
    name = lab_name(name or path.stem)
    source = read_evidence(path, name=name)
    existing = lab_file(name)
    if existing is not None and mode == "refuse":
        n = len(read_evidence(existing).records)
        raise InputError(
            f"lab evidence {name!r} already exists ({n} record(s)); nothing was changed",
            path=path, expected="another --name, or --append to add these records, or --replace to swap the file",
        )
    others = [p for p in evidence_files() if p != existing]
    if existing is not None and mode == "append":
        old = read_evidence(existing)
        _check_unique_ids([read_evidence(p) for p in others] + [old, source])
        dest = lab_dir() / f"{name}.yaml"
        records = [r.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for r in old.records + source.records]
        for record in records:  # required fields kept even when they equal a default
            record.setdefault("marker_type", "mirna")
        doc = {"provenance": {"name": name, "document": old.provenance.document or source.provenance.document},
               "records": records}
        with atomic_path(dest) as tmp:
            tmp.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        read_evidence(dest)  # the merged file must read back as valid evidence
        if existing != dest:
            existing.unlink()
        return dest
    # Check ids against everything already known before registering.
    _check_unique_ids([read_evidence(p) for p in others] + [source])
    dest = lab_dir() / f"{name}{path.suffix.lower()}"
    with atomic_path(dest) as tmp:
        shutil.copyfile(path, tmp)
    if existing is not None and existing != dest:
        existing.unlink()
    return dest


def lab_sources() -> pd.DataFrame:
    """The registered lab evidence: name, file, number of records, checksum."""
    rows = []
    for path in _lab_files():
        source = read_evidence(path)
        rows.append({"name": path.stem, "records": len(source.records), "file": str(path),
                     "sha256": source.provenance.sha256, "record_ids": ";".join(r.id for r in source.records)})
    return pd.DataFrame(rows, columns=["name", "records", "file", "sha256", "record_ids"])


def remove_lab_file(name: str) -> Path:
    """Unregister a lab's evidence (the file is deleted from the user data folder)."""
    path = lab_file(lab_name(name))
    if path is None:
        known = ", ".join(p.stem for p in _lab_files()) or "none"
        raise InputError(f"no lab evidence named {name!r}", expected=f"one of: {known}")
    path.unlink()
    return path


def _check_unique_ids(sources: list[EvidenceSource]) -> None:
    owner: dict[str, str] = {}
    for source in sources:
        for record in source.records:
            if record.id in owner and owner[record.id] != source.provenance.path:
                raise InputError(
                    f"record id already used in {owner[record.id]}",
                    path=source.provenance.path,
                    record=record.id,
                    column="id",
                    expected="ids unique across the review and all lab files",
                )
            owner[record.id] = source.provenance.path


_OPEN: dict[str, KnowledgeBase] = {}


def load_store(evidence: Iterable[str | Path] = (), *, rebuild: bool = False) -> KnowledgeBase:
    """The knowledge base, built into SQLite on first use (and whenever its sources change).

    ``evidence``: extra lab files to merge for this call (their provenance is kept per record).
    """
    files = evidence_files(evidence)
    fp = fingerprint(files)
    db = kb_dir() / f"evidence-{fp[:16]}.sqlite"
    if rebuild:
        _OPEN.pop(fp, None)
        db.unlink(missing_ok=True)
    if fp in _OPEN and db.exists():
        return _OPEN[fp]
    if not db.exists():
        build_store(files, db, fp)
        _prune(keep=db)
    kb = KnowledgeBase(db)
    _OPEN[fp] = kb
    return kb


def _prune(keep: Path, limit: int = 6) -> None:
    """Drop the oldest stores beyond ``limit`` (each is rebuilt on demand from its sources)."""
    stores = sorted(kb_dir().glob("evidence-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    open_paths = {kb.path for kb in _OPEN.values()}
    for old in stores[limit:]:
        if old != keep and old not in open_paths:
            old.unlink(missing_ok=True)


def _join(values: Iterable) -> str:
    return ";".join(str(v) for v in values)


def _record_row(record: EvidenceRecord, prov: str, resolution: dict) -> dict:
    m = record.metrics
    return {
        "id": record.id,
        "mirna": record.mirna,
        "mimat": resolution.get("mimat") or "",
        "name": resolution.get("name") or "",
        "marker_type": str(record.marker_type),
        "direction": str(record.direction) if record.direction else "",
        "comparison": record.comparison or "",
        "parental_cell": _join(record.parental_cell),
        "parental_detail": record.parental_detail or "",
        "recipient_cell": _join(record.recipient_cell),
        "recipient_detail": record.recipient_detail or "",
        "target": _join(record.target),
        "regulates": _join(record.regulates),
        "pathway": _join(record.pathway),
        "hallmark": _join(record.hallmark),
        "tumour_role": str(record.tumour_role) if record.tumour_role else "",
        "effect": record.effect,
        "clinical_role": _join(record.clinical_role),
        "biofluid": str(record.biofluid) if record.biofluid else "",
        "sensitivity": m.sensitivity if m else None,
        "specificity": m.specificity if m else None,
        "auc": m.auc if m else None,
        "threshold": (m.threshold or "") if m else "",
        "approximate": ("true" if m.approximate else "") if m else "",
        "panel": _join(record.panel),
        "reference": record.reference.text(),
        "reference_numbers": _join(record.reference.numbers),
        "citation": record.reference.citation or "",
        "pmid": record.reference.pmid or "",
        "doi": record.reference.doi or "",
        "title": record.reference.title or "",
        "pmid_source": record.reference.pmid_source or "",
        "doi_source": record.reference.doi_source or "",
        "id_status": str(record.reference.id_status) if record.reference.id_status else "",
        "id_note": record.reference.id_note or "",
        "retraction": record.reference.retraction or "",
        "source": record.source,
        "notes": record.notes or "",
        "provenance": prov,
        "resolution": resolution.get("resolution", ""),
    }


def _resolutions(sources: list[EvidenceSource]) -> dict[str, dict]:
    """Resolve every miRNA record in one identity call; pinned accessions win over names."""
    records = [r for s in sources for r in s.records if r.marker_type == vocab.MarkerType.mirna]
    queries = sorted({r.mirna for r in records} | {r.mimat for r in records if r.mimat})
    table = resolve_names(queries)
    by_input = {row["input"]: row for _, row in table.iterrows()}
    out: dict[str, dict] = {}
    for r in records:
        row = by_input[r.mirna]
        if r.mimat:
            pin = by_input[r.mimat]
            agrees = r.mimat in candidate_mimats(row)
            out[r.id] = {
                "mimat": r.mimat,
                "name": pin.get("name") or "",
                "resolution": "curated" + ("" if agrees else f" (the name resolves {row['status']}: {row.get('candidates') or row.get('mimat') or 'nothing'})"),
            }
            continue
        status = row["status"]
        note = row.get("note") or ""
        if status in ("exact", "alias"):
            out[r.id] = {"mimat": row["mimat"], "name": row["name"], "resolution": status + (f": {note}" if note else "")}
        else:
            out[r.id] = {"mimat": "", "name": "", "resolution": f"{status}: {row.get('candidates') or note}"}
    return out


def build_store(files: Sequence[Path], db: Path, fp: str) -> None:
    """Validate ``files``, resolve names and write the SQLite store ``db`` (atomically)."""
    log.info(f"building the knowledge base from {len(files)} evidence file(s)")
    sources = [read_evidence(p) for p in files]
    _check_unique_ids(sources)
    resolved = _resolutions(sources)
    for s in sources:
        for r in s.records:
            res = resolved.get(r.id)
            if res is not None and not res["mimat"]:
                log.warning(f"{s.provenance.path}: record {r.id}: {r.mirna!r} has no single miRBase accession ({res['resolution']}); kept under its written name")
    with atomic_path(db) as tmp:
        con = sqlite3.connect(tmp)
        try:
            _write(con, sources, resolved, fp)
            con.commit()
        finally:
            con.close()


def _write(con: sqlite3.Connection, sources: list[EvidenceSource], resolved: dict[str, dict], fp: str) -> None:
    cols = ", ".join(f'"{c}"' for c in EXPORT_COLUMNS)
    con.execute(f"CREATE TABLE records ({cols}, position INTEGER, json TEXT)")
    for table, spec in _LINK_TABLES.items():
        con.execute(f"CREATE TABLE {table} ({spec})")
    con.execute("CREATE TABLE sources (name TEXT, path TEXT, sha256 TEXT, document TEXT, n_records INTEGER)")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    position = 0
    for source in sources:
        prov = source.provenance
        con.execute("INSERT INTO sources VALUES (?,?,?,?,?)", (prov.name, prov.path, prov.sha256, prov.document, len(source.records)))
        for r in source.records:
            res = resolved.get(r.id, {"mimat": "", "name": "", "resolution": "not a miRNA"})
            row = _record_row(r, prov.name, res)
            position += 1
            con.execute(
                f"INSERT INTO records VALUES ({', '.join('?' * (len(EXPORT_COLUMNS) + 2))})",
                [row[c] for c in EXPORT_COLUMNS] + [position, r.model_dump_json()],
            )
            rid = r.id
            con.executemany("INSERT INTO record_cells VALUES (?,?,?)",
                            [(rid, "parental", str(c)) for c in r.parental_cell] + [(rid, "recipient", str(c)) for c in r.recipient_cell])
            con.executemany("INSERT INTO record_genes VALUES (?,?,?)",
                            [(rid, g, "target") for g in r.target] + [(rid, g, "regulates") for g in r.regulates])
            con.executemany("INSERT INTO record_pathways VALUES (?,?)", [(rid, str(p)) for p in r.pathway])
            con.executemany("INSERT INTO record_hallmarks VALUES (?,?)", [(rid, str(h)) for h in r.hallmark])
            con.executemany("INSERT INTO record_roles VALUES (?,?)", [(rid, str(c)) for c in r.clinical_role])
            con.executemany("INSERT INTO record_refs VALUES (?,?)", [(rid, n) for n in r.reference.numbers])
            con.executemany("INSERT INTO record_panel VALUES (?,?)", [(rid, m) for m in r.panel])
            keys = {name_key(r.mirna)}
            if res["mimat"]:
                keys |= {name_key(res["mimat"]), name_key(res["name"])}
            con.executemany("INSERT INTO name_keys VALUES (?,?,?)", [(k, res["mimat"], rid) for k in sorted(keys) if k])
    con.executemany("INSERT INTO meta VALUES (?,?)", [("fingerprint", fp), ("schema", SCHEMA_VERSION)])
    for table, column in [("record_cells", "cell"), ("record_genes", "gene"), ("record_pathways", "pathway"),
                          ("record_hallmarks", "hallmark"), ("record_roles", "role"), ("name_keys", "key")]:
        con.execute(f"CREATE INDEX idx_{table} ON {table} ({column})")


class KnowledgeBase:
    """Queries over a built store. Results are DataFrames with the GUIDE §4 columns."""

    def __init__(self, db: str | Path) -> None:
        self.path = Path(db)
        self._con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)

    # -- whole tables -------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Every record, in source order."""
        return self._records("SELECT * FROM records ORDER BY position")

    def sources(self) -> pd.DataFrame:
        """The evidence files behind the store and their checksums (provenance)."""
        return pd.read_sql("SELECT * FROM sources", self._con)

    def records(self) -> list[EvidenceRecord]:
        rows = self._con.execute("SELECT json FROM records ORDER BY position").fetchall()
        return [EvidenceRecord.model_validate_json(r[0]) for r in rows]

    def record(self, record_id: str) -> EvidenceRecord:
        row = self._con.execute("SELECT json FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise InputError(f"no evidence record {record_id!r}")
        return EvidenceRecord.model_validate_json(row[0])

    # -- queries ------------------------------------------------------------------------------
    def mimats_for(self, name: str) -> tuple[list[str], list[str]]:
        """Accessions (and record ids of non-miRNA markers) that ``name`` means, in any name form."""
        key = name_key(name)
        rows = self._con.execute("SELECT DISTINCT mimat, record_id FROM name_keys WHERE key = ?", (key,)).fetchall()
        mimats = sorted({m for m, _ in rows if m})
        ids = sorted({rid for m, rid in rows if not m})
        if mimats or ids:
            return mimats, ids
        table = resolve_names([name])
        return candidate_mimats(table.iloc[0]), []

    def search(
        self,
        mirna: str | None = None,
        *,
        target: str | None = None,
        cell: str | None = None,
        pathway: str | None = None,
        hallmark: str | None = None,
        role: str | None = None,
        direction: str | None = None,
        reference: int | None = None,
        provenance: str | None = None,
    ) -> pd.DataFrame:
        """Records matching every given filter (``cell`` matches the parental or recipient cell;
        ``target`` matches direct targets and downstream genes)."""
        where, params = [], []
        if mirna is not None:
            mimats, ids = self.mimats_for(mirna)
            clause = []
            if mimats:
                clause.append(f"mimat IN ({','.join('?' * len(mimats))})")
                params += mimats
            if ids:
                clause.append(f"id IN ({','.join('?' * len(ids))})")
                params += ids
            where.append("(" + " OR ".join(clause) + ")" if clause else "0")
        # filters on the records' link tables: (value given, table, column, value as stored)
        linked = (
            (target, "record_genes", "gene", gene_symbol),
            (cell, "record_cells", "cell", lambda v: str(coerce(vocab.Cell, v))),
            (pathway, "record_pathways", "pathway", lambda v: str(coerce(vocab.Pathway, v))),
            (hallmark, "record_hallmarks", "hallmark", lambda v: str(coerce(vocab.Hallmark, v))),
            (role, "record_roles", "role", lambda v: str(coerce(vocab.ClinicalRole, v))),
        )
        for value, table, column, stored in linked:
            if value is not None:
                where.append(f"id IN (SELECT record_id FROM {table} WHERE {column} = ?)")
                params.append(stored(value))
        if direction is not None:
            where.append("direction = ?")
            params.append(str(coerce(vocab.Direction, direction)))
        if reference is not None:
            where.append("id IN (SELECT record_id FROM record_refs WHERE number = ?)")
            params.append(int(reference))
        if provenance is not None:
            where.append("provenance = ?")
            params.append(provenance)
        sql = "SELECT * FROM records" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY position"
        return self._records(sql, params)

    def show(self, name: str) -> pd.DataFrame:
        """Every claim about one miRNA (any name form) or marker."""
        return self.search(name)

    def _records(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        frame = pd.read_sql(sql, self._con, params=list(params))
        frame = frame.drop(columns=[c for c in ("position", "json") if c in frame.columns])
        for col in ("sensitivity", "specificity", "auc"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
        return frame.reset_index(drop=True)

    # -- derived views ------------------------------------------------------------------------
    def conflicts(self) -> pd.DataFrame:
        return find_conflicts(self.table())

    def network(self, **filters):
        return build_network(self.table(), **filters)

    def to_json(self) -> str:
        table = self.table()
        records = json.loads(table.to_json(orient="records", force_ascii=False))
        return json.dumps({"sources": json.loads(self.sources().to_json(orient="records")), "records": records},
                          indent=1, ensure_ascii=False, sort_keys=False)


def gene_symbol(text: str) -> str:
    """HGNC symbol for a gene as people write it (TIM-3 → HAVCR2, PD-L1 → CD274)."""
    up = text.strip().upper()
    return NOT_HGNC.get(up, NOT_HGNC.get(up.replace("-", ""), up))
