"""The request timeout: 504 when the answer has not started in time, nothing left once answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from mlci_serving.deadline import Deadline

REQUEST: Scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}


def answering(delay_before: float, delay_during: float = 0.0) -> Callable[..., Awaitable[None]]:
    """An application that starts its answer after `delay_before` seconds and ends it
    `delay_during` seconds later."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(delay_before)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(delay_during)
        await send({"type": "http.response.body", "body": b"answered"})

    return app


async def call(app: Any, timeout: float) -> list[Message]:
    """What `Deadline` around `app` sends for one request."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await Deadline(app, timeout)(REQUEST, receive, send)
    return sent


def test_an_answer_in_time_passes_unchanged() -> None:
    sent = asyncio.run(call(answering(0.0), timeout=1.0))
    assert [message.get("status") for message in sent] == [200, None]
    assert sent[1]["body"] == b"answered"


def test_an_answer_not_started_in_time_gets_504_naming_the_timeout() -> None:
    sent = asyncio.run(call(answering(0.5), timeout=0.05))
    assert sent[0]["status"] == 504
    assert json.loads(sent[1]["body"]) == {"error": "Not able to process the request in 0.05 seconds"}


def test_an_answer_started_in_time_may_take_longer_to_finish() -> None:
    sent = asyncio.run(call(answering(0.0, delay_during=0.2), timeout=0.05))
    assert [message.get("status") for message in sent] == [200, None]


def test_the_applications_own_timeout_is_not_taken_for_the_deadline() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("the application's")

    with pytest.raises(TimeoutError, match="the application's"):
        asyncio.run(call(failing, timeout=1.0))


def test_answered_requests_leave_no_timer_behind(pending_timers: Callable[[], int]) -> None:
    async def many() -> int:
        before = pending_timers()
        for _ in range(50):
            await call(answering(0.0), timeout=60.0)
        return pending_timers() - before

    assert asyncio.run(many()) == 0  # BentoML's own timeout left one per request, for 60 s
