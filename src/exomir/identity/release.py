"""A miRBase release in memory: mature and hairpin sequences, precursor products, name history.

:func:`read_release` parses the release files of a folder (where the folder comes from, and the
caches, are :mod:`exomir.identity.mirbase`'s business). Two folder layouts are understood:

* the official release files: ``mature.fa``, ``hairpin.fa`` (all species), ``aliases.txt``,
  ``miRNA.dat`` and/or a species ``hsa.gff3`` (each optionally gzipped);
* the test layout of ``../shared/data/mirbase_v22``: ``hsa_mature.fa``, ``hsa_hairpin.fa``,
  ``mature_allspecies.fa``, ``mature_precursor_map.tsv.gz``,
  ``hsa_mature_name_history_v6_v22.tsv`` (names per release, standing in for ``aliases.txt``)
  and ``hsa.gff3``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import exomir.identity.readers as readers
from exomir.errors import ReferenceDataError

log = logging.getLogger(__name__)

SPECIES = "hsa"


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


def read_release(folder: Path) -> MirBase:
    """Parse the release files of ``folder`` (no caching; see :func:`exomir.identity.mirbase.load_mirbase`)."""
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
        log.warning(f"no hairpin sequences in {folder} (hairpin.fa): precursor names will not resolve")
    products = _products(files, release)
    if products.empty:
        log.warning(f"no precursor-to-mature table in {folder} (miRNA.dat, hsa.gff3 or mature_precursor_map.tsv.gz): "
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
