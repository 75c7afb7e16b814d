"""The miRBase release exomir works with, and name resolution against it.

:func:`load_mirbase` reads a folder (``--mirbase DIR``, else ``EXOMIR_MIRBASE``), or downloads
the official release files from miRBase on first use (cached, checksums recorded). A parsed
release is cached per process (keyed by folder and file modification times) and on disk together
with its name index, so a new process does not rebuild either. :func:`resolve` and
:func:`resolver_for` use the default release when none is given.

This module sits above :mod:`~exomir.identity.release` (parsing) and
:mod:`~exomir.identity.resolver` (the index): the cache needs both, and the index never needs
to know where a release came from.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

import exomir.refdata as refdata
from exomir._version import __version__
from exomir.atomic import atomic_path
from exomir.identity.release import MirBase, find_files, read_release
from exomir.identity.resolver import COLUMNS, Resolver

#: Current release from the official site; older releases from its archive of release folders.
CURRENT_URL = "https://mirbase.org/download/CURRENT/"
ARCHIVE_URL = "https://www.mirbase.org/ftp/{release}/"
DOWNLOAD_FILES = ("mature.fa", "hairpin.fa", "aliases.txt", "miRNA.dat")


def load_mirbase(source: str | Path | None = None, *, release: str | None = None) -> MirBase:
    """Load a miRBase release (cached per process).

    ``source``: a folder of release files; else ``EXOMIR_MIRBASE``; else the official files are
    downloaded (release ``release``, default the current one) into the exomir cache.
    """
    folder = refdata.local_source(source, "EXOMIR_MIRBASE")
    if folder is None:
        folder = download_release(release)
    folder = folder.resolve()
    if folder.is_file():
        folder = folder.parent
    files = find_files(folder)
    stamp = tuple(sorted((role, str(p), p.stat().st_mtime_ns) for role, p in files.items()))
    return _load_cached(str(folder), stamp)


def download_release(release: str | None = None) -> Path:
    """Fetch the official release files into the cache and return their folder."""
    label = release or "CURRENT"
    subdir = f"mirbase/{label}"
    if release is None:
        urls = {name: CURRENT_URL + name for name in DOWNLOAD_FILES}
        urls["hsa.gff3"] = CURRENT_URL + "genomes/hsa.gff3"
    else:
        base = ARCHIVE_URL.format(release=release)
        urls = {name + ".gz": base + name + ".gz" for name in DOWNLOAD_FILES}
        urls["hsa.gff3"] = base + "genomes/hsa.gff3"
    path = None
    for fname, url in urls.items():
        path = refdata.download(url, subdir, fname, local="`exomir setup --mirbase FOLDER` once, or EXOMIR_MIRBASE=FOLDER, or --mirbase FOLDER")
    assert path is not None
    return path.parent


def _code_fingerprint() -> str:
    """Hash of the identity package's source, so an edited parser never meets an old index."""
    sha = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        sha.update(path.read_bytes())
    return sha.hexdigest()


#: Bump when the parsed form (MirBase fields or the resolver's index) changes.
INDEX_FORMAT = 3


@functools.lru_cache(maxsize=8)
def _load_cached(folder: str, stamp: tuple) -> MirBase:
    """Parse a release once per process; the parsed release and its name index are also kept
    on disk in the exomir cache (keyed by the files' paths and modification times), so a new
    process starts in a fraction of a second instead of re-reading 50,000 sequences."""
    digest = hashlib.sha256(repr((folder, stamp, __version__, INDEX_FORMAT, _code_fingerprint())).encode())
    digest = digest.hexdigest()[:20]
    stored = refdata.cache_dir() / "identity" / f"mirbase-{digest}.pickle"
    if stored.is_file():
        try:
            with open(stored, "rb") as handle:
                mirbase = pickle.load(handle)
            if isinstance(mirbase, MirBase):
                return mirbase
        except Exception:  # a damaged or foreign cache file: rebuild it
            pass
    mirbase = read_release(Path(folder))
    resolver_for(mirbase)  # the name index is kept beside the release
    try:
        with atomic_path(stored) as tmp, open(tmp, "wb") as handle:
            pickle.dump(mirbase, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass  # a read-only cache only costs start-up time
    return mirbase


def resolver_for(mirbase: MirBase | None = None) -> Resolver:
    """The (cached) resolver of a release; the default release when ``mirbase`` is None."""
    mb = mirbase if mirbase is not None else load_mirbase()
    if mb._resolver is None:
        mb._resolver = Resolver(mb)
    return mb._resolver  # type: ignore[return-value]


def resolve(names: Iterable[object], *, mirbase: MirBase | None = None, level: str = "auto") -> pd.DataFrame:
    """Resolve miRNA names to miRBase mature accessions.

    Returns one row per input, in input order, with columns ``input, mimat, name, status,
    candidates, note, kind, precursor, sequence`` (status ∈ exact, alias, ambiguous, unknown;
    ``candidates`` is ``MIMAT…:name`` joined by ``;``; ``kind`` mature, precursor or group;
    ``precursor`` the MI accession(s) when the name was read as a hairpin).

    ``level``: ``auto`` reads the case of each name (``miR`` mature, ``mir`` precursor);
    ``precursor`` reads every arm-less name as a hairpin (precursor-level data such as TCGA's,
    where ``hsa-let-7b`` is the hairpin); ``mature`` reads every name as a mature product
    (sources that write ``mir-21`` for the mature miRNA).
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:  # nothing to look up: no need to load (or download) a release
        return pd.DataFrame({column: pd.Series(dtype=object) for column in COLUMNS})
    return resolver_for(mirbase).resolve(names, level)
