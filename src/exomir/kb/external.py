"""External evidence: miRTarBase target interactions and HMDD disease associations.

Both read a local file (argument, then ``EXOMIR_MIRTARBASE`` / ``EXOMIR_HMDD``) or download the
official table into the cache. Each result carries its provenance: file, SHA-256, release and
what was excluded (non-human rows, names that do not resolve to one accession).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from exomir.errors import InputError
from exomir.kb.naming import candidate_mimats, resolve_names
from exomir.kb.sources import file_sha256
from exomir.refdata import download, local_source

log = logging.getLogger(__name__)

MIRTARBASE_URL = "https://mirtarbase.cuhk.edu.cn/~miRTarBase/miRTarBase_2022/cache/download/9.0/hsa_MTI.xlsx"
MIRTARBASE_URL_RELEASE = "9.0"
HMDD_URL = "http://www.cuilab.cn/static/hmdd3/data/alldata.txt"
HMDD_URL_RELEASE = "3.2"

# Experiments that miRTarBase counts as strong evidence.
STRONG_EXPERIMENTS = ("reporter assay", "western blot")


@dataclass
class ExternalTable:
    """A table of external evidence and where it came from."""

    table: pd.DataFrame
    provenance: dict = field(default_factory=dict)


def _release_from(path: Path, default: str) -> str:
    # A version written in the file name ("hsa_MTI_9.0.xlsx", "hmdd_v3.2.tsv"); never guessed otherwise.
    match = re.search(r"(?:^|[_\-v])(\d+\.\d+)(?=[_\-.]|$)", Path(path).name, re.IGNORECASE)
    return match.group(1) if match else default


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls"}:
            return pd.read_excel(path, dtype=str).fillna("")
        sep = "\t" if suffix in {".tsv", ".txt"} else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding_errors="replace")
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read the table ({exc})", path=path) from None


# ------------------------------------------------------------------------------- miRTarBase
def load_mirtarbase(source: str | Path | None = None, *, strong_only: bool = False,
                    release: str | None = None) -> ExternalTable:
    """Human miRNA–target interactions of miRTarBase, one row per miRNA–gene pair.

    Columns: ``mirna`` (as in the file), ``mimat``, ``name`` (canonical), ``gene`` (HGNC symbol),
    ``entrez``, ``experiments``, ``support_type``, ``pmids``, ``mirtarbase_ids``.
    ``strong_only`` keeps pairs with a reporter assay or western blot.
    """
    path = local_source(source, "EXOMIR_MIRTARBASE")
    default_release = "not stated"
    if path is None:
        path = download(MIRTARBASE_URL, "mirtarbase", f"hsa_MTI_{MIRTARBASE_URL_RELEASE}.xlsx",
                        local="`exomir setup --mirtarbase FILE` once, or EXOMIR_MIRTARBASE=FILE")
        default_release = MIRTARBASE_URL_RELEASE
    return _mirtarbase_cached(str(path), path.stat().st_mtime_ns, strong_only, release or _release_from(path, default_release))


@lru_cache(maxsize=4)
def _mirtarbase_cached(path_text: str, _mtime: int, strong_only: bool, release: str) -> ExternalTable:
    path = Path(path_text)
    raw = _read_table(path)
    needed = {"miRNA", "Target Gene"}
    missing = needed - set(raw.columns)
    if missing:
        raise InputError(f"not a miRTarBase table: column {sorted(missing)[0]!r} is missing", path=path, line=1,
                         expected="miRTarBase columns 'miRTarBase ID', 'miRNA', 'Species (miRNA)', 'Target Gene', ...")
    n_rows = len(raw)
    excluded: dict[str, int] = {}
    for col in ("Species (miRNA)", "Species (Target Gene)"):
        if col in raw.columns:
            keep = raw[col].str.strip().eq("Homo sapiens")
            excluded[f"non-human {col}"] = int((~keep).sum())
            raw = raw[keep]
    raw = raw.assign(miRNA=raw["miRNA"].str.strip(), gene=raw["Target Gene"].str.strip())
    blank = raw["miRNA"].eq("") | raw["gene"].eq("")
    excluded["blank miRNA or gene"] = int(blank.sum())
    raw = raw[~blank]
    experiments = raw.get("Experiments", pd.Series("", index=raw.index)).fillna("")
    if strong_only:
        strong = experiments.str.lower().str.contains("|".join(STRONG_EXPERIMENTS))
        excluded["not strong evidence"] = int((~strong).sum())
        raw = raw[strong]
        experiments = experiments[strong]

    def _col(name: str) -> pd.Series:
        return raw.get(name, pd.Series("", index=raw.index)).fillna("").astype(str)

    entrez = _col("Target Gene (Entrez ID)").str.replace(r"\.0$", "", regex=True)
    pmid = _col("References (PMID)").str.replace(r"\.0$", "", regex=True)
    frame = pd.DataFrame({
        "mirna": raw["miRNA"], "gene": raw["gene"], "entrez": entrez, "experiments": experiments,
        "support_type": _col("Support Type"), "pmid": pmid, "mirtarbase_id": _col("miRTarBase ID"),
    })
    grouped = frame.groupby(["mirna", "gene"], sort=True).agg(
        entrez=("entrez", "first"),
        experiments=("experiments", lambda s: "//".join(sorted({e for v in s for e in v.split("//") if e}))),
        support_type=("support_type", lambda s: ";".join(sorted({v for v in s if v}))),
        pmids=("pmid", lambda s: ";".join(sorted({v for v in s if v}))),
        mirtarbase_ids=("mirtarbase_id", lambda s: ";".join(sorted({v for v in s if v}))),
    ).reset_index()
    names = sorted(grouped["mirna"].unique())
    resolved = resolve_names(names).set_index("input")
    grouped["mimat"] = grouped["mirna"].map(resolved["mimat"]).fillna("")
    grouped["name"] = grouped["mirna"].map(resolved["name"]).fillna("")
    unresolved = sorted(n for n in names if not resolved.loc[n, "mimat"])
    if unresolved:
        log.warning(f"{path}: {len(unresolved)} miRTarBase miRNA name(s) do not resolve to one miRBase accession; their "
                    f"interactions are kept in the table but cannot be matched to query miRNAs: {', '.join(unresolved[:5])}{' …' if len(unresolved) > 5 else ''}")
    grouped = grouped[["mirna", "mimat", "name", "gene", "entrez", "experiments", "support_type", "pmids", "mirtarbase_ids"]]
    provenance = {
        "database": "miRTarBase", "path": str(path), "sha256": file_sha256(path), "release": release,
        "rows_read": n_rows, "interactions": len(grouped), "mirnas": len(names),
        "genes": int(grouped["gene"].nunique()), "strong_only": strong_only,
        "excluded": {k: v for k, v in excluded.items() if v}, "unresolved_mirnas": unresolved,
    }
    log.info(f"miRTarBase {release}: {len(grouped)} interactions of {len(names)} miRNAs and {provenance['genes']} genes")
    return ExternalTable(grouped, provenance)


def targets_of(table: ExternalTable, mirnas: list[str]) -> pd.DataFrame:
    """The interactions of the given miRNAs (any name form, matched by accession)."""
    wanted = resolve_names(mirnas)
    mimats = {m for _, row in wanted.iterrows() for m in candidate_mimats(row)}
    return table.table[table.table["mimat"].isin(mimats)].reset_index(drop=True)


# ------------------------------------------------------------------------------------- HMDD
def load_hmdd(source: str | Path | None = None, *, release: str | None = None) -> ExternalTable:
    """HMDD miRNA–disease associations with accessions of the miRNAs each row may mean.

    Columns: ``category``, ``mir``, ``disease``, ``pmid``, ``description``, ``evidence``
    (circulation, tissue, genetics...), ``direction`` (up/down/ns or blank), ``mimats``
    (``;``-joined accessions: HMDD names precursors, which stand for every mature product).
    """
    path = local_source(source, "EXOMIR_HMDD")
    default_release = "not stated"
    if path is None:
        path = download(HMDD_URL, "hmdd", f"hmdd_{HMDD_URL_RELEASE}_alldata.txt", local="`exomir setup --hmdd FILE` once, or EXOMIR_HMDD=FILE")
        default_release = HMDD_URL_RELEASE
    return _hmdd_cached(str(path), path.stat().st_mtime_ns, release or _release_from(path, default_release))


@lru_cache(maxsize=2)
def _hmdd_cached(path_text: str, _mtime: int, release: str) -> ExternalTable:
    path = Path(path_text)
    raw = _read_table(path)
    needed = ["category", "mir", "disease", "pmid"]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InputError(f"not an HMDD table: column {missing[0]!r} is missing", path=path, line=1,
                         expected="columns category, mir, disease, pmid, description")
    frame = raw.copy()
    if "description" not in frame.columns:
        frame["description"] = ""
    frame["category"] = frame["category"].str.strip()
    cat = frame["category"].str.lower().str.replace("-", "_")
    frame["evidence"] = cat.str.extract(r"^(circulation|tissue|genetics|epigenetics|target|therapeutic|transcription|lncrna|other)", expand=False).fillna("other")
    frame["direction"] = cat.str.extract(r"_(up|down|ns)$", expand=False).fillna("")
    names = sorted(frame["mir"].str.strip().unique())
    resolved = resolve_names(names)
    mapping = {row["input"]: ";".join(candidate_mimats(row)) for _, row in resolved.iterrows()}
    frame["mimats"] = frame["mir"].str.strip().map(mapping).fillna("")
    unresolved = sorted(n for n, m in mapping.items() if not m)
    if unresolved:
        log.warning(f"{path}: {len(unresolved)} HMDD miRNA name(s) match no human miRBase entry: "
                    f"{', '.join(unresolved[:5])}{' …' if len(unresolved) > 5 else ''}")
    provenance = {"database": "HMDD", "path": str(path), "sha256": file_sha256(path), "release": release,
                  "associations": len(frame), "mirnas": len(names), "unresolved_mirnas": unresolved}
    return ExternalTable(frame[["category", "mir", "disease", "pmid", "description", "evidence", "direction", "mimats"]], provenance)


def hmdd_for(table: ExternalTable, mimat: str, *, disease: str | None = "Carcinoma, Hepatocellular",
             evidence: str | None = None) -> pd.DataFrame:
    """HMDD rows that may concern ``mimat`` (optionally one disease, with its subtypes, and one evidence kind)."""
    frame = table.table
    hit = frame["mimats"].str.split(";").apply(lambda ms: mimat in ms)
    if disease:
        hit &= frame["disease"].str.lower().str.startswith(disease.lower())  # incl. "…, HBV-Related"
    if evidence:
        hit &= frame["evidence"].eq(evidence)
    return frame[hit].reset_index(drop=True)
