"""The ``exomir`` command line: a thin typer layer over the Python API.

Each part of exomir registers its commands on the shared app in its own module, imported here.
The command bodies import the workflows when they run, not at the top of their modules: measured on
the shared 2-core machine (30 Nov 2026), ``import exomir.cli`` takes 0.14 s of CPU, and importing
what the bodies use (analysis, quant, model, web, kb, io) 5 s more, which ``exomir --help`` would pay.
"""

from __future__ import annotations

import sys

from exomir.cli._app import app, plain_metavars
from exomir.cli import names, kb, quantify, analysis, meta, model, serve, setup  # noqa: E402,F401  (registration)

plain_metavars(app)
from exomir.logs import error, flush
from exomir.errors import ExomirError


def command():
    """The click command of ``exomir`` whose help shows plain metavars (FASTQ..., TEXT), never
    Python types: typer adds a type such as ``<list[Path]>`` beside every argument."""
    import types

    import typer
    from typer.core import TyperArgument

    root = typer.main.get_command(app)
    pending = [root]
    while pending:
        current = pending.pop()
        pending.extend(getattr(current, "commands", {}).values())
        for param in current.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = types.MethodType(lambda self, ctx: None, param)
    return root


def main() -> None:
    try:
        command()(prog_name="exomir")
    except ExomirError as exc:
        error(str(exc))
        sys.exit(2)
    finally:
        flush()  # the count of the last folded warnings, before the command's exit
