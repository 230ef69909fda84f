"""The HTTP guard in front of the service: a request for the model must say its body is JSON."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class JSONBodyOnly:
    """Answer 400, naming the header, to a request for the model whose body is not JSON."""

    def __init__(self, app: ASGIApp, route: str) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.route:
            declared = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if declared.partition(";")[0].strip().lower() != "application/json":
                message = f"Content-Type must be application/json, got {declared or 'none'!r}"
                await JSONResponse({"error": message}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def json_only(service: Any, route: str) -> None:
    """Put the guard in front of a BentoML service's `route`.

    `service` is typed Any: `@bentoml.service` turns a class into a bentoml.Service, which BentoML's
    lazy imports hide from type checkers.
    """
    service.add_asgi_middleware(JSONBodyOnly, route=route)
