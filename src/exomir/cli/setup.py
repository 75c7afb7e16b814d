"""Command of exomir: setup (registered on the root app).

``exomir setup`` points exomir at reference data once (or fetches it) and remembers the paths in
the user's config file, so later commands in any shell find miRBase, miRTarBase, HMDD and the gene
sets without environment variables. Environment variables still override the config.
"""

from __future__ import annotations

from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.errors import InputError, ReferenceDataError


def _check_mirbase(path: Path) -> str:
    from exomir.identity import load_mirbase

    folder = path if path.is_dir() else path.parent
    mb = load_mirbase(folder)
    return f"miRBase release {mb.release}, {len(mb.mature)} mature sequences"


def _check_mirtarbase(path: Path) -> str:
    from exomir.kb import load_mirtarbase

    table = load_mirtarbase(path)
    return f"miRTarBase ({table.provenance['release']}), {len(table.table)} interactions"


def _check_hmdd(path: Path) -> str:
    from exomir.kb import load_hmdd

    table = load_hmdd(path)
    return f"HMDD ({table.provenance['release']}), {len(table.table)} associations"


def _check_genesets(path: Path) -> str:
    from exomir.kb.genesets import KNOWN_LIBRARIES

    if not path.is_dir():
        raise InputError("the gene set location must be a folder of GMT files", path=path)
    found = [key for key, (fname, _) in KNOWN_LIBRARIES.items() if (path / fname).exists()]
    if not found:
        names = ", ".join(fname for fname, _ in KNOWN_LIBRARIES.values())
        raise InputError("no known GMT file in the folder", path=path, expected=names)
    return "gene set libraries: " + ", ".join(found)


def _check_ncrna(path: Path) -> str:
    from exomir.quant.rnatypes import load_rna_types

    types = load_rna_types(path)
    measured = [name for name, codes in types.kmers.items() if codes is not None]
    if not measured:
        raise InputError("no tRNA, rRNA, ncRNA or artifact FASTA file in the folder", path=path)
    return "RNA-type references: " + ", ".join(measured)


_CHECKS = {"mirbase": _check_mirbase, "mirtarbase": _check_mirtarbase, "hmdd": _check_hmdd, "genesets": _check_genesets,
           "ncrna": _check_ncrna}


def _fetch(key: str) -> Path | None:
    """Download one resource from its official source into the cache; the path to remember."""
    import exomir.refdata as refdata

    if key == "mirbase":
        from exomir.identity.mirbase import download_release

        return download_release()
    if key == "mirtarbase":
        from exomir.kb.external import MIRTARBASE_URL, MIRTARBASE_URL_RELEASE

        return refdata.download(MIRTARBASE_URL, "mirtarbase", f"hsa_MTI_{MIRTARBASE_URL_RELEASE}.xlsx")
    if key == "ncrna":
        # The official files are filtered as they are read, so they stay in the cache, where
        # quantify finds them, rather than being remembered as a local folder.
        from exomir.quant.rnatypes import load_rna_types

        load_rna_types()
        return None
    if key == "hmdd":
        from exomir.kb.external import HMDD_URL, HMDD_URL_RELEASE

        return refdata.download(HMDD_URL, "hmdd", f"hmdd_{HMDD_URL_RELEASE}_alldata.txt")
    from exomir.kb.genesets import KNOWN_LIBRARIES

    folder = None
    for fname, url in KNOWN_LIBRARIES.values():
        folder = refdata.download(url, "genesets", fname).parent
    assert folder is not None
    return folder


_SET_FOR_CHECKS: list[str] = []


def _use_now(key: str, path: Path) -> None:
    """Checking miRTarBase or HMDD resolves miRNA names, which needs miRBase: a miRBase just given
    is used for the checks that follow, during this command only (an environment variable still wins)."""
    import os

    import exomir.refdata as refdata

    var = refdata.RESOURCES[key]
    if var not in os.environ:
        os.environ[var] = str(path)
        _SET_FOR_CHECKS.append(var)


@app.command("setup")
def setup(
    mirbase: Path = typer.Option(None, "--mirbase", help="A miRBase release folder (mature.fa, hairpin.fa, aliases.txt...)."),
    mirtarbase: Path = typer.Option(None, "--mirtarbase", help="A miRTarBase table (CSV, TSV or XLSX)."),
    hmdd: Path = typer.Option(None, "--hmdd", help="An HMDD association table (TSV)."),
    genesets: Path = typer.Option(None, "--genesets", help="A folder of GMT gene set files."),
    ncrna: Path = typer.Option(None, "--ncrna", help="A folder of tRNA/rRNA/ncRNA/artifact FASTA files (quantify's RNA types)."),
    download: bool = typer.Option(False, "--download", help="Fetch every resource not given from its official source (once) and remember it."),
    forget: list[str] = typer.Option(None, "--forget", help="Drop a remembered resource (mirbase, mirtarbase, hmdd, genesets, ncrna); repeatable."),
) -> None:
    """Point exomir at its reference data once and remember it in the user config file.

    Without options it shows where each resource comes from. Every given path is checked (read
    and parsed) before it is remembered; a bad path changes nothing. Environment variables
    (EXOMIR_MIRBASE, EXOMIR_MIRTARBASE, EXOMIR_HMDD, EXOMIR_GENESETS, EXOMIR_NCRNA) override the config;
    EXOMIR_CONFIG_DIR moves the config folder.
    """
    try:
        _setup(mirbase, mirtarbase, hmdd, genesets, ncrna, download, forget)
    finally:
        _forget_checks()


def _setup(mirbase, mirtarbase, hmdd, genesets, ncrna, download, forget) -> None:
    import exomir.refdata as refdata

    given = {"mirbase": mirbase, "mirtarbase": mirtarbase, "hmdd": hmdd, "genesets": genesets, "ncrna": ncrna}
    unknown = [k for k in forget or [] if k not in refdata.RESOURCES]
    if unknown:
        raise InputError(f"unknown resource {unknown[0]!r} for --forget", expected=", ".join(refdata.RESOURCES))
    config = refdata.read_config()
    changed: dict[str, str] = {}
    for key in forget or []:
        config.pop(key, None)
    for key, path in given.items():
        if path is None:
            continue
        path = path.expanduser().resolve()
        if not path.exists():
            raise InputError(f"the {key} path does not exist", path=path)
        try:
            summary = _CHECKS[key](path)
        except (InputError, ReferenceDataError, OSError) as exc:
            raise InputError(f"cannot use it as {key}: {exc}", path=path) from None
        changed[key] = str(path)
        _use_now(key, path)
        typer.echo(f"{key}: {path}\n    {summary}")
    if download:
        for key in refdata.RESOURCES:
            if key in changed or config.get(key):
                continue
            path = _fetch(key)
            if path is None:
                typer.echo(f"{key}: downloaded into the cache {refdata.cache_dir()}")
                continue
            summary = _CHECKS[key](path)
            changed[key] = str(path)
            _use_now(key, path)
            typer.echo(f"{key}: downloaded to {path}\n    {summary}")
    if changed or forget:
        config.update(changed)
        written = refdata.write_config(config)
        typer.echo(f"remembered in {written}")
    _forget_checks()
    _show(refdata)


def _forget_checks() -> None:
    """Drop the variables set only for the checks, so the summary does not present the paths just
    given as environment overrides of the config."""
    import os

    while _SET_FOR_CHECKS:
        os.environ.pop(_SET_FOR_CHECKS.pop(), None)


def _show(refdata) -> None:
    import os

    typer.echo(f"config file: {refdata.config_file()}" + ("" if refdata.config_file().exists() else " (none yet)"))
    remembered = refdata.read_config()
    for key, env_var in refdata.RESOURCES.items():
        if os.environ.get(env_var):
            where = f"{os.environ[env_var]}  (from {env_var}, which overrides the config)"
        elif remembered.get(key):
            where = remembered[key]
        else:
            where = "not set: downloaded on first use into the cache"
        typer.echo(f"    {key:<11} {where}")
    typer.echo(f"cache: {refdata.cache_dir()}  (downloads; safe to delete)")
    typer.echo(f"user data: {refdata.data_dir()}  (lab evidence)")
