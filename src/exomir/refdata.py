"""Reference data (miRBase, miRTarBase, HMDD, gene sets): local folder, cache, or download.

Order of lookup for a resource: an explicit folder or file given by the caller (``--mirbase DIR``),
then the resource's environment variable (``EXOMIR_MIRBASE``...), then the path remembered by
``exomir setup`` in the user's config file (:func:`config_file`), then the cache (``EXOMIR_CACHE``
or the platform cache folder), then a download from the official source with pooch, whose
SHA-256 is recorded in the cache next to the file.

Three folders, each overridable for tests and shared machines:

* cache (``EXOMIR_CACHE``): downloads and rebuildable indexes; safe to purge;
* user data (``EXOMIR_DATA_DIR``): what the user made, e.g. imported lab evidence; never purged;
* config (``EXOMIR_CONFIG_DIR``): ``config.toml`` written by ``exomir setup``.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import platformdirs
import pooch

from exomir.errors import ReferenceDataError
from exomir.atomic import atomic_open


def cache_dir() -> Path:
    """Where downloads are kept: ``EXOMIR_CACHE`` or the user cache folder."""
    env = os.environ.get("EXOMIR_CACHE")
    path = Path(env) if env else Path(pooch.os_cache("exomir"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Where the user's own data lives (lab evidence): ``EXOMIR_DATA_DIR`` or the user data folder.

    Unlike the cache, nothing here can be rebuilt, so no purge touches it.
    """
    env = os.environ.get("EXOMIR_DATA_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("exomir", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Where ``config.toml`` lives: ``EXOMIR_CONFIG_DIR`` or the user config folder."""
    env = os.environ.get("EXOMIR_CONFIG_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_config_dir("exomir", appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


# The resources ``exomir setup`` can remember: config key -> environment variable.
RESOURCES = {
    "mirbase": "EXOMIR_MIRBASE",
    "mirtarbase": "EXOMIR_MIRTARBASE",
    "hmdd": "EXOMIR_HMDD",
    "genesets": "EXOMIR_GENESETS",
    "ncrna": "EXOMIR_NCRNA",
}


def read_config() -> dict[str, str]:
    """The ``[data]`` table of the config file (empty when there is none)."""
    path = config_file()
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"{path}: not a valid exomir config file ({exc}); rerun `exomir setup` or delete it") from None
    data = doc.get("data", {})
    if not isinstance(data, dict):
        raise ReferenceDataError(f"{path}: [data] must be a table of resource = path")
    return {str(k): str(v) for k, v in data.items() if k in RESOURCES}


def write_config(data: dict[str, str]) -> Path:
    """Write the ``[data]`` table (paths are TOML basic strings, escaped)."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `exomir setup`: where exomir finds its reference data.",
             "# Environment variables (EXOMIR_MIRBASE, ...) override these paths.", "", "[data]"]
    for key in RESOURCES:
        if data.get(key):
            lines.append(f"{key} = {json.dumps(str(data[key]), ensure_ascii=False)}")
    with atomic_open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def configured(env_var: str) -> tuple[str | None, str]:
    """The path set for a resource and where it was set: the environment first, then the config."""
    value = os.environ.get(env_var) or None
    if value:
        return value, f"named by {env_var}"
    key = next((k for k, v in RESOURCES.items() if v == env_var), None)
    if key is not None:
        value = read_config().get(key) or None
        if value:
            return value, f"remembered in {config_file()} ({key})"
    return None, ""


def local_source(explicit: str | Path | None, env_var: str) -> Path | None:
    """The folder or file the user pointed at (argument, environment, then config), or ``None``;
    a path that does not exist is an error naming where it was set."""
    if explicit is not None:
        chosen, origin = str(explicit), "given"
    else:
        chosen, origin = configured(env_var)
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.exists():
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
