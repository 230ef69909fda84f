"""The service's request timeout (`traffic.timeout`), with nothing left behind once answered.

BentoML 1.4's own timeout middleware schedules a timer for every request and never cancels it:
each answered request left a timer, a future and a context alive for the whole timeout. Under
load that is tens of thousands of objects, walked by every full garbage collection: pauses of
100 to 370 ms that stalled every request (p99 seven times p50 at 32 clients, `nox -s bench`).
This one cancels its timer as the answer starts; it reads the same setting, answers the same 504.
"""

from __future__ import annotations

import asyncio

import bentoml._internal.server.http.traffic as bentoml_traffic
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Deadline:
    """Answer 504 to a request whose answer has not started within `timeout` seconds."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.timeout(self.timeout)

        async def send_in_time(message: Message) -> None:
            deadline.reschedule(None)  # the answer has started: it may take as long as it needs
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_in_time)
        except TimeoutError:
            if not deadline.expired():  # the application's own, not the deadline's
                raise
            message = f"Not able to process the request in {self.timeout} seconds"
            await JSONResponse({"error": message}, status_code=504)(scope, receive, send)


def install() -> None:
    """Make BentoML build its servers with this timeout in place of its own (in this process)."""
    bentoml_traffic.TimeoutMiddleware = Deadline  # type: ignore[misc, assignment]  # a stand-in
