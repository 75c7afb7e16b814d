"""The root typer application; each part's commands live in their own module of this package."""

from __future__ import annotations

import typer

from exomir._version import __version__
from exomir.logs import set_quiet

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


_METAVARS = {int: "INTEGER", float: "NUMBER", str: "TEXT"}


def plain_metavars(typer_app: typer.Typer) -> None:
    """Give every option and argument without a metavar of its own a plain one (PATH, TEXT,
    INTEGER): typer would otherwise show Python types such as ``<list[Path]>`` in ``--help``."""
    import inspect
    import typing
    from pathlib import Path

    from typer.models import ArgumentInfo, OptionInfo

    commands = list(typer_app.registered_commands)
    for group in typer_app.registered_groups:
        plain_metavars(group.typer_instance)
    for command in commands:
        hints = typing.get_type_hints(command.callback)
        for name, parameter in inspect.signature(command.callback).parameters.items():
            info = parameter.default
            if not isinstance(info, (OptionInfo, ArgumentInfo)) or info.metavar is not None:
                continue
            kind = hints.get(name)
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            while typing.get_origin(kind) in (list, typing.Union) or (args and typing.get_origin(kind) is not None):
                kind = args[0] if args else str
                args = [a for a in typing.get_args(kind) if a is not type(None)]
            if kind is bool:
                continue
            label = "PATH" if kind is Path else _METAVARS.get(kind, "TEXT")
            info.metavar = name.upper() if isinstance(info, ArgumentInfo) else label
