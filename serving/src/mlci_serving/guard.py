"""The HTTP guard in front of the service: a request for the model must say its body is JSON, and
its body must fit the size limit (413 otherwise), whether it declares its length or is chunked."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TooLargeError(Exception):
    """A body over the limit."""


class GuardedBody:
    """Answer 400, naming the header, to a request for the model whose body is not JSON, and 413 to
    one whose body is larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, route: str, max_bytes: int) -> None:
        self.app = app
        self.route = route
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.route:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-type", b"").decode("latin-1")
        if declared.partition(";")[0].strip().lower() != "application/json":
            message = f"Content-Type must be application/json, got {declared or 'none'!r}"
            await JSONResponse({"error": message}, status_code=400)(scope, receive, send)
            return
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length.isdigit() and int(length) > self.max_bytes:
            await self.too_large(scope, receive, send)
            return
        if not length.isdigit():  # chunked: read it here, up to the limit, then hand it on
            try:
                body = await self.read(receive)
            except TooLargeError:
                await self.too_large(scope, receive, send)
                return
            receive = replay(body)
        await self.app(scope, receive, send)

    async def read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the body is larger than {self.max_bytes} bytes: send fewer records per request"
        await JSONResponse({"error": message}, status_code=413)(scope, receive, send)


def replay(body: bytes) -> Receive:
    """A receive that gives the body read already, once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def guard(service: Any, route: str, max_bytes: int) -> None:
    """Put the guard in front of a BentoML service's `route`.

    `service` is typed Any: `@bentoml.service` turns a class into a bentoml.Service, which BentoML's
    lazy imports hide from type checkers.
    """
    service.add_asgi_middleware(GuardedBody, route=route, max_bytes=max_bytes)
