"""Commands of exomir: serve (registered on the root app)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from exomir.cli._app import app

log = logging.getLogger(__name__)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", help="Port."),
    results: Path | None = typer.Option(None, "--results", help="Folder whose report.html files are offered (by opaque id)."),
    model: list[Path] = typer.Option(None, "--model", help="Locked model file(s) for the scoring page; repeatable."),
    evidence: list[Path] = typer.Option(None, "--evidence", help="Extra evidence file(s) merged into the knowledge base."),
) -> None:
    """Serve the web app: knowledge base, transfer network, reports and scoring (read-only unless EXOMIR_API_TOKEN is set)."""
    import uvicorn

    from exomir.errors import InputError
    from exomir.web import WebSettings, create_app

    if results is not None and not results.is_dir():
        raise InputError("results folder not found", path=results)
    settings = WebSettings.from_environment(results=results, models=tuple(model or ()), evidence=tuple(evidence or ()))
    application = create_app(settings)
    state = application.state.exomir
    log.info(f"exomir web app on http://{host}:{port}/ ({len(state.models)} model(s), {len(state.reports)} report(s), "
             f"{'read-only' if settings.read_only else 'evidence writes need the bearer token'})")  # fmt: skip
    uvicorn.run(application, host=host, port=port, log_level="warning")
