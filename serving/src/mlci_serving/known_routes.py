"""Request metrics for the routes the service has, and for no others.

BentoML labels its request metrics by the path asked for, whatever it is: every distinct unknown path
added series to `/metrics` (3,000 paths added 60,000 series, and a scrape took 4 to 7 s). Here its
metrics middleware sees only requests for the application's own routes; any other path is still
answered (404) by the application, uncounted.
"""

from __future__ import annotations

from typing import Any

import bentoml._internal.server.http.instruments as bentoml_instruments
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

COUNTING = bentoml_instruments.RunnerTrafficMetricsMiddleware  # BentoML's own, as imported


class KnownRoutesCounted:
    """BentoML's request metrics middleware, for requests of the application's own routes only."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        self.app = app
        self.counting = COUNTING(app, **options)
        self.routes: frozenset[str] | None = None  # read from the application at its first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.counting(scope, receive, send)
            return
        if self.routes is None:
            self.routes = frozenset(route.path for route in scope["app"].routes if isinstance(route, Route))
        known = scope["path"] in self.routes
        await (self.counting if known else self.app)(scope, receive, send)


def install() -> None:
    """Make BentoML build its servers with this metrics middleware in place of its own (in this process)."""
    bentoml_instruments.RunnerTrafficMetricsMiddleware = KnownRoutesCounted  # type: ignore[misc, assignment]
