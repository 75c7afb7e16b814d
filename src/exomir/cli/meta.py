"""Commands of exomir: cross-study meta-analysis (registered on the root app)."""

from __future__ import annotations

import typer

from exomir.cli._app import app
