"""Gene sets from GMT files (MSigDB hallmark, KEGG): read a file, a named set in
``EXOMIR_GENESETS``, or download a known library from its official site."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exomir.errors import InputError
from exomir.kb.sources import file_sha256
from exomir.refdata import download, local_source

# Known libraries: local file name in EXOMIR_GENESETS, and the official download.
KNOWN_LIBRARIES = {
    "kegg_2016": ("kegg_2016.gmt", "https://maayanlab.cloud/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2016"),
    "hallmark": ("msigdb_hallmark_v7.0.gmt",
                 "https://data.broadinstitute.org/gsea-msigdb/msigdb/release/7.0/h.all.v7.0.symbols.gmt"),
    "kegg_legacy": ("msigdb_c2_kegg_v7.5.1.gmt",
                    "https://data.broadinstitute.org/gsea-msigdb/msigdb/release/7.5.1/c2.cp.kegg.v7.5.1.symbols.gmt"),
}


@dataclass(frozen=True)
class GeneSet:
    name: str
    description: str
    genes: frozenset[str]
    library: str = ""


def read_gmt(path: str | Path, *, library: str | None = None) -> dict[str, GeneSet]:
    """Read a GMT file: one set per line, ``name<TAB>description<TAB>gene<TAB>gene…``.

    Gene symbols are upper-cased; Enrichr's ``GENE,1.0`` weights are dropped.
    """
    path = Path(path)
    library = library or path.stem
    sets: dict[str, GeneSet] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                raise InputError("a gene set line needs a name, a description and at least one gene",
                                 path=path, line=number, expected="tab-separated GMT")
            name = fields[0].strip()
            if not name:
                raise InputError("gene set without a name", path=path, line=number)
            genes = frozenset(g.split(",")[0].strip().upper() for g in fields[2:] if g.strip())
            if not genes:
                raise InputError(f"gene set {name!r} has no genes", path=path, line=number)
            if name in sets:
                raise InputError(f"gene set {name!r} appears twice", path=path, line=number)
            sets[name] = GeneSet(name, fields[1].strip(), genes, library)
    if not sets:
        raise InputError("no gene sets in the file", path=path, expected="a GMT file")
    return sets


def gene_set_file(library: str | Path) -> Path:
    """The GMT file of ``library``: a path, a known name found in ``EXOMIR_GENESETS``, or a download."""
    candidate = Path(library)
    if candidate.suffix.lower() == ".gmt" or candidate.exists():
        if not candidate.exists():
            raise InputError("gene set file not found", path=candidate)
        return candidate
    key = str(library).lower()
    if key not in KNOWN_LIBRARIES:
        raise InputError(f"unknown gene set library {library!r}", expected="a .gmt path or one of " + ", ".join(KNOWN_LIBRARIES))
    fname, url = KNOWN_LIBRARIES[key]
    folder = local_source(None, "EXOMIR_GENESETS")
    if folder is not None and (folder / fname).exists():
        return folder / fname
    return download(url, "genesets", fname, local="`exomir setup --genesets FOLDER` once (a folder of GMT files), or EXOMIR_GENESETS=FOLDER")


def load_gene_sets(library: str | Path = "kegg_2016") -> tuple[dict[str, GeneSet], dict]:
    """Gene sets of a library and their provenance (file, SHA-256)."""
    path = gene_set_file(library)
    name = Path(library).stem if Path(str(library)).suffix else str(library)
    sets = read_gmt(path, library=name)
    return sets, {"library": name, "path": str(path), "sha256": file_sha256(path), "sets": len(sets)}
