"""A miRBase release in memory: mature and hairpin sequences, precursor products, name history.

:func:`load_mirbase` reads a folder (``--mirbase DIR``, else ``EXOMIR_MIRBASE``), or downloads
the official release files from miRBase on first use (cached, checksums recorded). Two folder
layouts are understood:

* the official release files: ``mature.fa``, ``hairpin.fa`` (all species), ``aliases.txt``,
  ``miRNA.dat`` and/or a species ``hsa.gff3`` (each optionally gzipped);
* the test layout of ``../shared/data/mirbase_v22``: ``hsa_mature.fa``, ``hsa_hairpin.fa``,
  ``mature_allspecies.fa``, ``mature_precursor_map.tsv.gz``,
  ``hsa_mature_name_history_v6_v22.tsv`` (names per release, standing in for ``aliases.txt``)
  and ``hsa.gff3``.

A parsed release is cached per process (keyed by folder and file modification times).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from exomir import __version__, refdata
from exomir.atomic import atomic_path
from exomir.errors import ReferenceDataError
from exomir.progress import warn
from exomir.identity import readers

SPECIES = "hsa"
#: Current release from the official site; older releases from its archive of release folders.
CURRENT_URL = "https://mirbase.org/download/CURRENT/"
ARCHIVE_URL = "https://www.mirbase.org/ftp/{release}/"
DOWNLOAD_FILES = ("mature.fa", "hairpin.fa", "aliases.txt", "miRNA.dat")


@dataclass(eq=False)
class MirBase:
    """One miRBase release.

    ``mature`` (human): ``mimat, name, sequence``; ``hairpin`` (human): ``mi, name, sequence``;
    ``products`` (human): ``mi, precursor, mimat, mature``; ``all_mature`` (all species):
    ``mimat, name, sequence, species``; ``history``: ``mimat, name, release`` (older names; release
    is ``""`` when the source, like ``aliases.txt``, does not say); ``release``: e.g. ``"22"``.
    """

    release: str
    mature: pd.DataFrame
    hairpin: pd.DataFrame
    products: pd.DataFrame
    all_mature: pd.DataFrame
    history: pd.DataFrame
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)
    _resolver: object | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"MirBase(release={self.release!r}, mature={len(self.mature)}, hairpin={len(self.hairpin)}, "
            f"all_mature={len(self.all_mature)}, source={self.source!r})"
        )


# file roles → accepted names, first found wins
_CANDIDATES = {
    "hsa_mature": ["hsa_mature.fa", "hsa_mature.fa.gz"],
    "all_mature": ["mature.fa", "mature.fa.gz", "mature_allspecies.fa", "mature_allspecies.fa.gz"],
    "hsa_hairpin": ["hsa_hairpin.fa", "hsa_hairpin.fa.gz"],
    "all_hairpin": ["hairpin.fa", "hairpin.fa.gz"],
    "aliases": ["aliases.txt", "aliases.txt.gz"],
    "dat": ["miRNA.dat", "miRNA.dat.gz"],
    "gff3": ["hsa.gff3", "hsa.gff3.gz"],
    "precursor_map": ["mature_precursor_map.tsv.gz", "mature_precursor_map.tsv"],
}


def find_files(folder: Path) -> dict[str, Path]:
    """The release files present in ``folder``, by role."""
    found: dict[str, Path] = {}
    for role, names in _CANDIDATES.items():
        for name in names:
            if (folder / name).is_file():
                found[role] = folder / name
                break
    history = sorted(folder.glob("*name_history*.tsv*"))
    if history:
        found["history"] = history[0]
    return found


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
    from exomir.identity.resolver import resolver_for  # the index lives beside the release

    resolver_for(mirbase)
    try:
        with atomic_path(stored) as tmp, open(tmp, "wb") as handle:
            pickle.dump(mirbase, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass  # a read-only cache only costs start-up time
    return mirbase


def read_release(folder: Path) -> MirBase:
    """Parse the release files of ``folder`` (no caching; see :func:`load_mirbase`)."""
    files = find_files(folder)
    if "hsa_mature" not in files and "all_mature" not in files:
        raise ReferenceDataError(
            f"no miRBase mature sequences in {folder} (expected mature.fa[.gz] or hsa_mature.fa)"
        )
    release = _release_label(folder, files)

    all_mature = _fasta_frame(files.get("all_mature") or files["hsa_mature"], "mimat")
    all_mature["species"] = all_mature["name"].str.split("-", n=1).str[0]
    if "hsa_mature" in files:
        mature = _fasta_frame(files["hsa_mature"], "mimat")
    else:
        mature = all_mature.loc[all_mature["species"] == SPECIES, ["mimat", "name", "sequence"]]
    mature = mature.reset_index(drop=True)

    if "hsa_hairpin" in files:
        hairpin = _fasta_frame(files["hsa_hairpin"], "mi")
    elif "all_hairpin" in files:
        hairpin = _fasta_frame(files["all_hairpin"], "mi")
        hairpin = hairpin.loc[hairpin["name"].str.startswith(SPECIES + "-")].reset_index(drop=True)
    else:
        hairpin = pd.DataFrame(columns=["mi", "name", "sequence"])

    if hairpin.empty:
        warn(f"no hairpin sequences in {folder} (hairpin.fa): precursor names will not resolve")
    products = _products(files, release)
    if products.empty:
        warn(f"no precursor-to-mature table in {folder} (miRNA.dat, hsa.gff3 or mature_precursor_map.tsv.gz): "
             "precursor names will not map to mature products")
    products = products.loc[products["mimat"].isin(set(mature["mimat"]))]
    products = products.drop_duplicates().sort_values(["mi", "mimat"]).reset_index(drop=True)

    history = _history(files)
    return MirBase(
        release=release,
        mature=mature,
        hairpin=hairpin,
        products=products,
        all_mature=all_mature.reset_index(drop=True),
        history=history,
        source=str(folder),
        files={role: str(path) for role, path in files.items()},
    )


def _fasta_frame(path: Path, acc_column: str) -> pd.DataFrame:
    records = readers.read_fasta(path)
    frame = pd.DataFrame(records, columns=["name", acc_column, "sequence"])
    return frame[[acc_column, "name", "sequence"]]


def _products(files: dict[str, Path], release: str) -> pd.DataFrame:
    columns = ["mi", "precursor", "mimat", "mature"]
    if "precursor_map" in files:
        table = readers.read_precursor_map(files["precursor_map"])
        return table[columns]
    if "gff3" in files:
        return readers.read_gff3(files["gff3"])[0][columns]
    if "dat" in files:
        return readers.read_mirna_dat(files["dat"])[columns]
    return pd.DataFrame(columns=columns)


def _history(files: dict[str, Path]) -> pd.DataFrame:
    if "history" in files:
        return readers.read_history(files["history"])
    if "aliases" in files:
        aliases = readers.read_aliases(files["aliases"])
        aliases = aliases.loc[aliases["accession"].str.startswith("MIMAT")]
        return pd.DataFrame({"mimat": aliases["accession"], "name": aliases["alias"], "release": ""}).reset_index(
            drop=True
        )
    return pd.DataFrame(columns=["mimat", "name", "release"])


def _release_label(folder: Path, files: dict[str, Path]) -> str:
    """The release number, from the gff3 header, a README, or the folder name."""
    if "gff3" in files:
        with readers.open_text(files["gff3"]) as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                found = re.search(r"miRBase\s+v?(\d+(?:\.\d+)?)", line)
                if found:
                    return found.group(1)
    readme = folder / "README"
    if readme.is_file():
        found = re.search(r"[Rr]elease\s+(\d+(?:\.\d+)?)", readme.read_text(errors="replace")[:5000])
        if found:
            return found.group(1)
    found = re.search(r"(?:v|release[_-]?)(\d+(?:\.\d+)?)$", folder.name, re.IGNORECASE)
    if found:
        return found.group(1)
    return "unknown"
