"""``/docs``: the API reference as a plain page built from the app's own OpenAPI schema."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exomir.web.apidocs import api_reference
from exomir.web.pages import Pages
from exomir.web.state import State


def router(state: State, pages: Pages) -> APIRouter:
    routes = APIRouter()

    @routes.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request):
        reference = state.views.get(("apidocs",), lambda: api_reference(request.app.openapi()))
        return pages.page(request, "docs.html", api=reference)

    return routes
