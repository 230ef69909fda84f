"""Requests answered together when they arrive together, and none kept waiting for others.

The first request is answered at once; the requests that arrive while the model answers it go into
the next call, up to `limit` records. BentoML's own adaptive batching waits for a batch as long as
the average wait it has recorded: after a burst, that average is the burst's queue, and a quiet
service went on waiting (one record took 36 ms instead of 2 after 32 clients, `nox -s bench`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

# A request's items and what its answers are given to. Items and answers are Any: a generic class
# would be written one way before Python 3.12 and another after, and the package supports both.
Waiting = tuple[list[Any], asyncio.Future[list[Any]]]


class Batcher:
    """Answer lists of items through one function, merging the lists that wait into one call."""

    def __init__(self, answer: Callable[[list[Any]], list[Any]], limit: int) -> None:
        self.answer = answer  # one answer per item, in order; run in a thread
        self.limit = limit  # items per call, unless one list alone is longer
        self.waiting: list[Waiting] = []
        self.draining: asyncio.Task[None] | None = None

    async def __call__(self, items: list[Any]) -> list[Any]:
        """The answers to these items, given with whatever else waits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self.waiting.append((items, future))
        if self.draining is None:
            self.draining = loop.create_task(self.drain())
        return await future

    async def drain(self) -> None:
        """Answer what waits, call after call, until nothing does."""
        try:
            while True:  # until nothing waits but requests their clients gave up
                self.waiting = [entry for entry in self.waiting if not entry[1].done()]
                if not self.waiting:
                    break
                batch = self.next_batch()
                items = [item for part, _ in batch for item in part]
                try:
                    answers = await asyncio.to_thread(self.answer, items)
                except Exception as error:  # each request fails as it would have alone
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                start = 0
                for part, future in batch:
                    if not future.done():  # a request whose client went away is cancelled
                        future.set_result(answers[start : start + len(part)])
                    start += len(part)
        finally:
            self.draining = None

    def next_batch(self) -> list[Waiting]:
        """The lists that wait, oldest first, as many as fit in `limit` items (at least one)."""
        batch = [self.waiting.pop(0)]
        size = len(batch[0][0])
        while self.waiting and size + len(self.waiting[0][0]) <= self.limit:
            size += len(self.waiting[0][0])
            batch.append(self.waiting.pop(0))
        return batch
