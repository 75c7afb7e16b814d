"""ASGI middleware of the web app: security headers on every answer, and a request-body limit
enforced while the body streams in, whatever the client declares.

A ``Content-Length`` above the limit is refused before a byte of the body is read. A chunked
body (no length) is counted as it arrives: the moment it passes the limit the server answers
413, stops reading and tells the application the client went away, so nothing beyond the limit
is spooled to disk or parsed.
"""

from __future__ import annotations

import json

BODY_METHODS = {"POST", "PUT", "PATCH"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Add the security headers to every response that does not set them itself (plain ASGI:
    no per-request task or buffering, unlike a decorator-style HTTP middleware)."""

    def __init__(self, app) -> None:
        self.app = app
        self._headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *[(k, v) for k, v in self._headers if k not in present]]}  # fmt: skip
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send, detail: str, status: int = 413) -> None:
        body = json.dumps({"detail": detail}).encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope["headers"] if k.lower() == b"content-length"]
        if declared:
            text = declared[0].decode("latin-1").strip()
            if not text.isdigit():
                await self._refuse(send, "the Content-Length header is not a number", status=400)
                return
            if int(text) > self.max_bytes:
                await self._refuse(send, f"request body of {int(text) // 1024:,} KiB is over this server's limit "
                                         f"of {self.max_bytes // 1024:,} KiB")  # fmt: skip
                return
        received = 0
        refused = False

        async def counted_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    await self._refuse(send, f"request body over this server's limit of {self.max_bytes // 1024:,} KiB "
                                             "(stopped reading)")  # fmt: skip
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # once the 413 is out, whatever the application says is dropped
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise  # a real error; a refused body's "client disconnected" is expected
