"""The exomir web app: browse the knowledge base, the transfer network and the reports of a
results folder, and score new samples with a locked model; a JSON API for the same.

Safety rules: the app reads only what the server was started with (a results folder, model
files, the knowledge base); reports and scored tables are reached by ids the server issued;
uploads are size- and row-limited and written under server-chosen names; it is read-only
unless ``EXOMIR_API_TOKEN`` is set, and then only ``POST /api/evidence`` writes, with that
token as a bearer token.

This module assembles the app; the routes live in :mod:`exomir.web.routes`, one router per concern.
"""

from __future__ import annotations

from fastapi import FastAPI
import logging

from exomir._version import __version__
from exomir.web.error_answers import add_error_answers
from exomir.web.limits import BodyLimit, SecurityHeaders
from exomir.web.pages import Pages
import exomir.web.routes.docs as docs
import exomir.web.routes.evidence as evidence
import exomir.web.routes.health as health
import exomir.web.routes.knowledge as knowledge
import exomir.web.routes.reports as reports
import exomir.web.routes.scoring as scoring
from exomir.web.routes.static import add_static
from exomir.web.settings import WebSettings
from exomir.web.state import State

log = logging.getLogger(__name__)

DESCRIPTION = ("Exosomal miRNA evidence in hepatocellular carcinoma, transfer network, reports and locked-model "
               "scoring.")  # fmt: skip


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI application (``exomir serve`` runs it with uvicorn)."""
    settings = settings or WebSettings.from_environment()
    state = State(settings)
    for refused in state.refused:
        log.warning(f"model not offered for scoring: {refused.reason}")
    app = FastAPI(
        title="exomir",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # the stock page loads its scripts from a CDN: blocked by our CSP and offline
        redoc_url=None,
    )
    app.state.exomir = state
    # two tables plus form overhead at most; counted as the body streams in (chunked or not)
    app.add_middleware(BodyLimit, max_bytes=2 * settings.max_upload_bytes + 65536)
    app.add_middleware(SecurityHeaders)
    add_static(app)
    pages = Pages(state.views, read_only=settings.read_only)
    add_error_answers(app, pages, settings)
    # the API's operations appear in /openapi.json in this order
    app.include_router(health.router(state))
    app.include_router(knowledge.router(state, pages))
    app.include_router(reports.router(state, pages))
    app.include_router(scoring.router(state, pages))
    app.include_router(evidence.router(state))
    app.include_router(docs.router(state, pages))
    return app
