"""The HTTP guard in front of the service's model route: a request must say its body is JSON (400 otherwise),
its body must fit the size limit (413), declared or chunked, and the body's shape must fit the record limits
(400, `shape`), all before BentoML parses it. A client that goes away mid-body is one line in the log."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlci_serving.quiet_errors import BENTOML_REQUEST_LOGGER
from mlci_serving.shape import BodyShape

logger = logging.getLogger(BENTOML_REQUEST_LOGGER)


class TooLargeError(Exception):
    """A body over the limit."""


class ClientGoneError(Exception):
    """The client disconnected before its body was whole."""


class GuardedBody:
    """Answer 400, naming the header, to a request for the model whose body is not JSON; 413 to one whose body
    is larger than `max_bytes`; 400 to one whose body holds more than `shape` allows."""

    def __init__(self, app: ASGIApp, route: str, max_bytes: int, shape: BodyShape) -> None:
        self.app = app
        self.route = route
        self.max_bytes = max_bytes
        self.shape = shape

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
            await self.refuse(scope, receive, send, 413, self.too_large())
            return
        try:
            body = await self.read(receive)
        except TooLargeError:
            await self.refuse(scope, receive, send, 413, self.too_large())
            return
        except ClientGoneError as gone:
            logger.warning("a client went away before sending its whole request (%s bytes read)", gone)
            return
        problem = self.shape.problem(body)
        if problem:
            await self.refuse(scope, receive, send, 400, problem)
            return
        await self.app(scope, replay(body), send)

    async def read(self, receive: Receive) -> bytes:
        """The whole body, up to the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGoneError(size)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def too_large(self) -> str:
        return f"the body is larger than {self.max_bytes} bytes: send fewer records per request"

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


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


def guard(service: Any, route: str, max_bytes: int, shape: BodyShape) -> None:
    """Put the guard in front of a BentoML service's `route`.

    `service` is typed Any: `@bentoml.service` turns a class into a bentoml.Service, which BentoML's
    lazy imports hide from type checkers.
    """
    service.add_asgi_middleware(GuardedBody, route=route, max_bytes=max_bytes, shape=shape)
