"""Commands of exomir: names (registered on the root app)."""

from __future__ import annotations

import typer

from exomir.cli._app import app

names_app = typer.Typer(help="miRNA names: resolve any form to miRBase accessions.", no_args_is_help=True)
app.add_typer(names_app, name="names")
