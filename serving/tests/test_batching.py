"""Requests answered together when they arrive together, and none kept waiting for others."""

import asyncio
import threading

import pytest

from mlci_serving.batching import Batcher

DEADLINE = 10.0  # seconds any wait here may take before the test fails saying what it waited for


class Model:
    """Answers each item with its double and records each call; the first call can be held."""

    def __init__(self, hold_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.release = threading.Event()
        self.busy = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        self.busy.set()
        assert self.release.wait(DEADLINE), "the test never released the model"
        if -1 in items:
            raise ValueError("a broken item")
        return [2 * item for item in items]


async def wait_until_busy(model: Model) -> None:
    busy = await asyncio.to_thread(model.busy.wait, DEADLINE)
    assert busy, f"the model was not called within {DEADLINE} s"


async def hold_then_send(model: Model, batcher: Batcher, later: list[list[int]]) -> list[list[int]]:
    """One request the model holds, then `later` sent while it is held; every request's answers."""
    first = asyncio.ensure_future(batcher([1]))
    await wait_until_busy(model)
    rest = [asyncio.ensure_future(batcher(items)) for items in later]
    await asyncio.sleep(0)  # every later request is waiting before the model is released
    model.release.set()
    return await asyncio.wait_for(asyncio.gather(first, *rest), DEADLINE)


def test_a_lone_request_is_answered_at_once_and_alone() -> None:
    model = Model()
    assert asyncio.run(Batcher(model, limit=10)([3, 4])) == [6, 8]
    assert model.calls == [[3, 4]]


def test_requests_that_arrive_while_the_model_answers_are_answered_together_next() -> None:
    model = Model(hold_first=True)
    answers = asyncio.run(hold_then_send(model, Batcher(model, limit=10), [[2, 3], [4], [5, 6]]))
    assert answers == [[2], [4, 6], [8], [10, 12]]
    assert model.calls == [[1], [2, 3, 4, 5, 6]]


def test_a_call_takes_the_oldest_lists_that_fit_the_limit_and_a_longer_list_alone() -> None:
    model = Model(hold_first=True)
    answers = asyncio.run(hold_then_send(model, Batcher(model, limit=4), [[2, 3], [4, 5], [6], [7, 8, 9, 10, 11]]))
    assert answers == [[2], [4, 6], [8, 10], [12], [14, 16, 18, 20, 22]]
    assert model.calls == [[1], [2, 3, 4, 5], [6], [7, 8, 9, 10, 11]]


def test_a_failing_call_fails_its_own_requests_only() -> None:
    model = Model(hold_first=True)
    batcher = Batcher(model, limit=2)

    async def scenario() -> tuple[object, ...]:
        first = asyncio.ensure_future(batcher([1]))
        await wait_until_busy(model)
        broken = asyncio.ensure_future(batcher([-1, 5]))
        after = asyncio.ensure_future(batcher([7]))
        await asyncio.sleep(0)
        model.release.set()
        return tuple(await asyncio.wait_for(asyncio.gather(first, broken, after, return_exceptions=True), DEADLINE))

    first, broken, after = asyncio.run(scenario())
    assert first == [2]
    assert isinstance(broken, ValueError)
    assert after == [14]
    assert model.calls == [[1], [-1, 5], [7]]


def test_a_request_given_up_while_waiting_is_not_answered_and_the_others_are() -> None:
    model = Model(hold_first=True)
    batcher = Batcher(model, limit=10)

    async def scenario() -> tuple[list[int], list[int]]:
        first = asyncio.ensure_future(batcher([1]))
        await wait_until_busy(model)
        gone = asyncio.ensure_future(batcher([2]))
        kept = asyncio.ensure_future(batcher([3]))
        await asyncio.sleep(0)
        gone.cancel()  # its client went away
        model.release.set()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await asyncio.wait_for(first, DEADLINE), await asyncio.wait_for(kept, DEADLINE)

    assert asyncio.run(scenario()) == ([2], [6])
    assert model.calls == [[1], [3]]
