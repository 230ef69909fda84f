"""The runtime's fixtures: each case of `cases` made once, its service served in process, and the timers event
loops hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from mlci_serving.service import model_service

from .cases import MAKERS, MODEL, Case, count_pending_timers, made, model_folder, served


@pytest.fixture(scope="session", params=list(MAKERS))
def case(request: pytest.FixtureRequest) -> Case:
    return made(request.param)


@pytest.fixture(scope="session")
def penguin_case() -> Case:
    return made("penguins")


@pytest.fixture(scope="session")
def identified_case() -> Case:
    """The case whose schema has an identifier column."""
    return made("awkward regression")


@pytest.fixture(scope="session")
def client(case: Case, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The case's service over its model, in process, in a folder of its own."""
    folder = model_folder(case, tmp_path_factory.mktemp("serving"))
    yield from served(model_service(case.module, MODEL), folder)


@pytest.fixture
def pending_timers() -> Callable[[], int]:
    """How many timers event loops hold, when called."""
    return count_pending_timers
