"""The root typer application; each part's commands live in their own module of this package."""

from __future__ import annotations

import typer

from exomir import __version__
from exomir.progress import set_quiet

app = typer.Typer(
    name="exomir",
    help="Exosomal microRNA liquid biopsy for hepatocellular carcinoma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"exomir {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output (warnings still shown)."),
) -> None:
    """Exosomal microRNA liquid biopsy for hepatocellular carcinoma."""
    set_quiet(quiet)
