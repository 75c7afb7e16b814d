"""What a results folder needs to be archived and re-run: ``params.json`` and ``run.log``.

``params.json`` holds every option of ``analyze`` (the keyword arguments of
:func:`exomir.analysis.analyze`), the versions of exomir and the packages it used, and the size and
SHA-256 of every input file. ``exomir analyze --params params.json`` runs the same analysis again
(warning when an input file has changed since). No time stamps: the same run gives the same bytes.

``run.log`` is what the run said (steps, notes, warnings) with the time of each line (:mod:`exomir.logs`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from exomir._version import __version__
from exomir.errors import InputError
from exomir.io.text import check_input_file
from exomir.results import ANALYZE_OPTIONS

log = logging.getLogger(__name__)

FORMAT = "exomir-analyze-params"
FORMAT_VERSION = 1
PACKAGES = ("numpy", "scipy", "pandas", "anndata", "pydeseq2", "statsmodels", "scikit-learn", "lifelines", "plotly")
#: options that name input files (checked and checksummed)
PATH_OPTIONS = ("expression", "clinical")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _paths(value: Any) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(v) for v in value]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _versions() -> dict[str, str]:
    out = {"exomir": __version__, "python": platform.python_version()}
    for package in PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def analysis_params(options: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``params.json`` for the keyword arguments of ``analyze`` (``out`` excluded:
    where the results go is not part of the analysis). Input paths are made absolute so that the
    file re-runs from any folder."""
    recorded = {k: v for k, v in options.items() if k != "out"}
    inputs = []
    for option in PATH_OPTIONS:
        for given in _paths(recorded.get(option)):
            check_input_file(given)  # said as the user wrote it, before any checksum
        paths = [p.resolve() for p in _paths(recorded.get(option))]
        if option in recorded and recorded[option] is not None:
            recorded[option] = [str(p) for p in paths] if option == "expression" else str(paths[0])
        for path in paths:
            inputs.append({"option": option, "path": str(path), "bytes": path.stat().st_size, "sha256": sha256(path)})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "command": "analyze",
        "options": _jsonable(recorded),
        "inputs": inputs,
        "versions": _versions(),
        "rerun": "exomir analyze --params params.json --out DIR",
    }


def params_text(params: Mapping[str, Any]) -> str:
    return json.dumps(params, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def read_params(path: str | Path) -> dict[str, Any]:
    """The options recorded in a ``params.json``, ready for :func:`exomir.analysis.analyze`.

    Raises :class:`InputError` for a file that is not an analyze ``params.json`` or whose inputs
    are gone; warns when an input's checksum differs from the recorded one.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", path=path, expected="a params.json written by exomir analyze") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError("not a params.json of exomir analyze", path=path,
                         expected=f'a JSON object with "format": "{FORMAT}"')
    if content.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"params format version {content['format_version']} is newer than this exomir "
                         f"({FORMAT_VERSION})", path=path, expected="an exomir at least as new as the one that wrote it")
    options = content.get("options")
    if not isinstance(options, dict) or "expression" not in options:
        raise InputError('no "options" with "expression"', path=path, expected="the options of exomir analyze")
    known = analyze_options()
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}", path=path, expected=", ".join(sorted(known)))
    for entry in content.get("inputs", []):
        where = Path(entry["path"])
        if not where.exists():
            raise InputError(f"input file of the recorded run is missing ({entry['option']}: {where})", path=path,
                             expected="the input files at the recorded paths")
        if sha256(where) != entry.get("sha256"):
            log.warning(f"{where} has changed since the recorded run (SHA-256 differs): the results may differ")
    recorded = content.get("versions", {}).get("exomir")
    if recorded and recorded != __version__:
        log.warning(f"the recorded run used exomir {recorded}; this is exomir {__version__}")
    return options


def analyze_options() -> set[str]:
    """The keyword arguments :func:`exomir.analysis.analyze` takes (what params.json may hold)."""
    return {option.name for option in ANALYZE_OPTIONS}
