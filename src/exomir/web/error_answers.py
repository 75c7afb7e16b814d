"""How the web app answers a failure: JSON ``{"detail": ...}`` under ``/api/``, an error page for
people elsewhere; exomir's own errors keep their words and get the status that fits them."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from exomir.errors import ExomirError, InputError
from exomir.model.score import TooManySamples
from exomir.web.access import token_problem
from exomir.web.pages import Pages
from exomir.web.scoring import TooLarge
from exomir.web.settings import WebSettings


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _explain(pages: Pages, status: int, title: str):
    """An error handler: JSON for the API, an error page for people."""

    async def handler(request: Request, exc: Exception):
        if wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return pages.page(request, "error.html", status, title=title, message=str(exc))

    return handler


def validation_message(exc: RequestValidationError) -> str:
    """Every problem of a request as ``where: what``, joined."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def add_error_answers(app: FastAPI, pages: Pages, settings: WebSettings) -> None:
    """Register the app's exception handlers."""
    app.add_exception_handler(InputError, _explain(pages, 422, "Cannot use this input"))
    app.add_exception_handler(TooManySamples, _explain(pages, 413, "Too large"))
    app.add_exception_handler(TooLarge, _explain(pages, 413, "Too large"))
    app.add_exception_handler(ExomirError, _explain(pages, 422, "exomir could not do this"))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError):
        # a body that is not even JSON fails before the token dependency runs: strangers still get 403
        if request.method == "POST" and request.url.path == "/api/evidence":
            problem = token_problem(settings, request.headers.get("authorization"))
            if problem:
                return JSONResponse({"detail": problem}, status_code=403)
        message = validation_message(exc)
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=422)
        return pages.page(request, "error.html", 422, title="Invalid request", message=message)

    @app.exception_handler(404)
    async def _not_found(request: Request, exc):
        detail = getattr(exc, "detail", "not found")
        if wants_json(request):
            return JSONResponse({"detail": str(detail)}, status_code=404)
        return pages.page(request, "error.html", 404, title="Not found", message=str(detail))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if wants_json(request) or exc.status_code not in (404,):
            return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)
        return pages.page(request, "error.html", exc.status_code, title="Not found", message=str(exc.detail))
