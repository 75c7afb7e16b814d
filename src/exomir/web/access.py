"""Who may write: the server's only write (``POST /api/evidence``) needs its ``EXOMIR_API_TOKEN``
as a bearer token, and a server started without a token writes nothing."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header, HTTPException

from exomir.web.settings import WebSettings


def token_problem(settings: WebSettings, authorization: str | None) -> str | None:
    """Why a write is not allowed (None when the bearer token is the server's)."""
    if settings.read_only:
        return "this server is read-only (it accepts no evidence)"
    scheme, _, given = (authorization or "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""  # RFC 7235: the scheme is case-insensitive
    if not given or not hmac.compare_digest(given.encode(), str(settings.api_token).encode()):
        return "a valid bearer token is needed to add evidence"
    return None


def token_required(settings: WebSettings):
    """The dependency that guards a write route with the server's token."""

    def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        """Writes need the server's token; checked before the body, so no token means 403 whatever is sent."""
        problem = token_problem(settings, authorization)
        if problem:
            raise HTTPException(403, problem)

    return require_token
