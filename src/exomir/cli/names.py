"""Commands of exomir: names (registered on the root app)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from exomir.cli._app import app
from exomir.errors import InputError

names_app = typer.Typer(help="miRNA names: resolve any form to miRBase accessions.", no_args_is_help=True)
app.add_typer(names_app, name="names")


def read_name_file(path: Path) -> list[str]:
    """Names from a file, one per line (the first tab- or comma-separated field); blank lines and ``#`` comments skipped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the names file ({exc.strerror})", path=path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("the names file is not UTF-8 text", path=path, line=line) from exc
    names = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        field = line.split("\t")[0] if "\t" in line else line
        names.append(field.strip())
    return names


@names_app.command("resolve")
def resolve_command(
    names: list[str] = typer.Argument(None, help="miRNA names or accessions (any written form)."),
    file: Path = typer.Option(None, "--file", "-f", help="A file with one name per line.", dir_okay=False),
    mirbase: Path = typer.Option(
        None, "--mirbase", help="Folder of miRBase release files (default: EXOMIR_MIRBASE, else download)."
    ),
    level: str = typer.Option(
        "auto",
        "--level",
        help="auto: miR = mature, mir = precursor; precursor: arm-less names are hairpins (TCGA); "
        "mature: every name is a mature miRNA.",
    ),
) -> None:
    """Resolve miRNA names to miRBase accessions; a TSV on stdout (input, mimat, name, status, candidates, ...)."""
    from exomir.identity import LEVELS, load_mirbase, resolve

    given = list(names or [])
    if file is not None:
        given += read_name_file(file)
    if not given:
        raise InputError("no names given", expected="NAME arguments or --file FILE")
    if level not in LEVELS:
        raise InputError(f"unknown --level {level!r}", expected=", ".join(LEVELS))
    release = load_mirbase(mirbase)
    table = resolve(given, mirbase=release, level=level)
    table.to_csv(sys.stdout, sep="\t", index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


@names_app.command("expand")
def expand_command(names: list[str] = typer.Argument(..., help="Slashed or listed groups such as miR-221/222.")) -> None:
    """Print the single names behind each group (input<TAB>member per line)."""
    from exomir.identity import expand

    for name in names:
        for member in expand(name):
            typer.echo(f"{name}\t{member}")
