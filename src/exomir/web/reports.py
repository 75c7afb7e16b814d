"""The reports of a results folder, reachable only by opaque ids the server hands out.

The folder is scanned for ``report.html`` files (``exomir analyze`` and ``exomir demo`` write
one per results folder); each gets an id derived from its path relative to the folder. A client
can only name an id from that list: no path from a request ever reaches the file system.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

MAX_DEPTH = 4
_TITLE = re.compile(rb"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Report:
    id: str
    relative: str  # shown to people, never accepted back
    path: Path
    size: int
    title: str
    modified: str = ""  # ISO 8601, UTC
    label: str = ""  # the title, with its folder when another report has the same title

    @property
    def modified_text(self) -> str:
        return self.modified[:16].replace("T", " ") + " UTC" if self.modified else ""

    @property
    def size_text(self) -> str:
        for unit, scale in (("MB", 1e6), ("kB", 1e3)):
            if self.size >= scale:
                return f"{self.size / scale:.1f} {unit}"
        return f"{self.size} B"


def report_id(relative: str) -> str:
    return hashlib.sha256(relative.encode("utf-8")).hexdigest()[:16]


def scan_reports(root: Path | None) -> dict[str, Report]:
    """Every ``report.html`` under ``root`` (at most four folders deep, symlinks not followed)."""
    if root is None or not root.is_dir():
        return {}
    root = root.resolve()
    found: dict[str, Report] = {}
    for path in sorted(root.rglob("report.html")):
        relative = path.relative_to(root)
        if len(relative.parts) > MAX_DEPTH + 1 or any(p.startswith(".") for p in relative.parts):
            continue  # staging folders of unfinished runs start with a dot
        if path.is_symlink() or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            continue
        head = path.open("rb").read(4096)
        match = _TITLE.search(head)
        title = match.group(1).decode("utf-8", "replace").strip() if match else str(relative.parent)
        rel = relative.as_posix()
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc).isoformat(timespec="seconds")
        found[report_id(rel)] = Report(report_id(rel), rel, path, stat.st_size, title, modified, title)
    # identical titles (every analysis is "exomir report") are told apart by their folder
    repeats = Counter(r.title for r in found.values())
    return {k: replace(r, label=f"{r.title} · {Path(r.relative).parent.as_posix()}") if repeats[r.title] > 1 else r
            for k, r in found.items()}
