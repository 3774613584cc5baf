"""HTTP hardening of the console: security headers on every response, and requests carrying a
NUL character refused (422) before they reach a route or the database.

PostgreSQL refuses NUL in text; without this guard such a request (an anonymous sign-in too)
reached the database and failed with a 500. Both are plain ASGI middleware, so server-sent
events stream through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script anywhere (pages and the API docs load theirs from /static); inline style
# attributes stay allowed (server-drawn SVG and Swagger UI use them).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
MAX_BODY = 1 << 20  # the console's forms and JSON bodies are a few kB


def security_headers(*, secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if secure:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, *, secure: bool):
        self.app = app
        self.headers = security_headers(secure=secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in self.headers if h[0] not in names),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _strings(value: Any, at: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield at + (str(key),), str(key)
            yield from _strings(item, at + (str(key),))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, at + (index,))


def nul_field(scope: Scope, body: bytes) -> tuple[str | int, ...] | None:
    """Where a NUL character hides in the request (path, query or body), or None."""
    if "\x00" in scope.get("path", ""):
        return ("path",)
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ("query", name.replace("\x00", ""))
    if b"\x00" in body:
        return ("body",)
    if b"%00" in body:
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ("body", name.replace("\x00", ""))
    if b"\\u0000" in body:
        try:
            document = json.loads(body)
        except ValueError:
            return None
        for at, text in _strings(document, ("body",)):
            if "\x00" in text:
                return at
    return None


class RefuseNul:
    """Answers 422 (FastAPI's validation error shape) to a request with a NUL character in its
    path, query string or body, and 413 to a body over MAX_BODY."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            chunks: list[bytes] = []
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    await _answer(send, 413, {"detail": f"the body is over {MAX_BODY} bytes"})
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        where = nul_field(scope, body)
        if where is not None:
            detail = [
                {
                    "loc": list(where),
                    "msg": "text must not contain NUL characters (\\u0000)",
                    "type": "value_error",
                }
            ]
            await _answer(send, 422, {"detail": detail})
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, document: dict[str, Any]) -> None:
    payload = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
