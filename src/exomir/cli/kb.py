"""Commands of exomir: kb (registered on the root app)."""

from __future__ import annotations

import typer

from exomir.cli._app import app

kb_app = typer.Typer(help="The knowledge base of exosomal miRNA evidence in HCC.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
