"""Reference data (miRBase, miRTarBase, HMDD, gene sets): local folder, cache, or download.

Order of lookup for a resource: an explicit folder or file given by the caller (``--mirbase DIR``),
then the resource's environment variable (``EXOMIR_MIRBASE``...), then the cache
(``EXOMIR_CACHE`` or the platform cache folder), then a download from the official source with
pooch, whose SHA-256 is recorded in the cache next to the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pooch

from exomir.errors import ReferenceDataError


def cache_dir() -> Path:
    """Where downloads are kept: ``EXOMIR_CACHE`` or the user cache folder."""
    env = os.environ.get("EXOMIR_CACHE")
    path = Path(env) if env else Path(pooch.os_cache("exomir"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_source(explicit: str | Path | None, env_var: str) -> Path | None:
    """The folder or file the user pointed at, or ``None``; a path that does not exist is an error."""
    chosen = explicit if explicit is not None else os.environ.get(env_var) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.exists():
        origin = "given" if explicit is not None else f"named by {env_var}"
        raise ReferenceDataError(f"the reference data path {origin} does not exist: {path}")
    return path


def download(
    url: str, subdir: str, fname: str | None = None, known_hash: str | None = None, *, local: str | None = None
) -> Path:
    """Fetch ``url`` into the cache (once) and return the local file.

    ``local`` says how to point exomir at a local copy instead (shown when the download fails).

    The file's SHA-256 is written to ``checksums.json`` of its cache folder, so a later session can
    tell whether the cached copy changed.
    """
    folder = cache_dir() / subdir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(
            pooch.retrieve(url, known_hash=known_hash, fname=fname, path=folder, progressbar=False)
        )
    except Exception as exc:  # network errors come in many types
        how = f" ({local})" if local else ""
        raise ReferenceDataError(
            f"could not download {url} ({exc}); point exomir at a local copy instead{how}"
        ) from exc
    _record_checksum(folder, path, url)
    return path


def _record_checksum(folder: Path, path: Path, url: str) -> None:
    ledger = folder / "checksums.json"
    data = json.loads(ledger.read_text()) if ledger.exists() else {}
    data[path.name] = {"url": url, "sha256": pooch.file_hash(str(path))}
    ledger.write_text(json.dumps(data, indent=1, sort_keys=True))
