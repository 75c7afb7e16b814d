"""The ``exomir`` command line: a thin typer layer over the Python API.

Each part of exomir registers its commands on the shared app in its own module, imported here.
"""

from __future__ import annotations

import sys

from exomir.cli._app import app
from exomir.cli import names, kb, quantify, analysis, meta, model, serve, setup  # noqa: E402,F401  (registration)
from exomir.errors import ExomirError


def main() -> None:
    try:
        app()
    except ExomirError as exc:
        from exomir.progress import console

        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
