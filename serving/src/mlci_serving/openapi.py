"""The OpenAPI schema as the service really answers. BentoML describes a 400's `detail` as a string,
but a request the contract refuses gets pydantic's list of errors there; and the guard's 413 is not
described at all. The schema served at /docs.json is corrected on its way out."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCHEMA_PATH = "/docs.json"
LOCATION_PART = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
ERROR_DETAIL = {
    "title": "Error Detail",
    "anyOf": [
        {"type": "string"},
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": LOCATION_PART},
                    "msg": {"type": "string"},
                },
            },
        },
    ],
}
TOO_LARGE = {
    "type": "object",
    "title": "TooLarge",
    "description": "Payload Too Large",
    "required": ["error"],
    "properties": {"error": {"type": "string", "title": "Message"}},
}


def described(spec: dict[str, Any], route: str) -> dict[str, Any]:
    """The spec with the 400's detail as the service writes it and the route's 413 described."""
    schemas = spec["components"]["schemas"]
    schemas["InvalidArgument"]["properties"]["detail"] = ERROR_DETAIL
    schemas["TooLarge"] = TOO_LARGE
    spec["paths"][route]["post"]["responses"]["413"] = {
        "description": "Payload Too Large",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TooLarge"}}},
    }
    return spec


class DescribedAnswers:
    """Serve the corrected schema in place of BentoML's."""

    def __init__(self, app: ASGIApp, route: str) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != SCHEMA_PATH:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
        if start.get("status") != 200:
            for message in messages:
                await send(message)
            return
        spec = described(json.loads(body), self.route)
        await JSONResponse(spec)(scope, receive, send)


def describe(service: Any, route: str) -> None:
    """Correct the schema a BentoML service serves (`service` is a bentoml.Service, as in guard)."""
    service.add_asgi_middleware(DescribedAnswers, route=route)
