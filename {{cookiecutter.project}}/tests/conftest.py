"""What the test modules share: a small model trained on the repository's own data, and a count
of the timers event loops still hold."""

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.data import labelled, read_csv
from {{ cookiecutter.package_name }}.schema import DATA
from {{ cookiecutter.package_name }}.train import fit

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="session")
def model() -> Pipeline:
    """A small model trained on the repository's data by the pipeline's own code: quick to fit."""
    params = {"n_estimators": 10, "max_depth": 4, "seed": 0}
    fitted: Pipeline = fit(labelled(read_csv(ROOT / DATA)), params)
    return fitted


def count_pending_timers() -> int:
    """Timers scheduled in any event loop and neither run nor cancelled."""
    return sum(
        1
        for found in gc.get_objects()
        if isinstance(found, asyncio.TimerHandle) and not found.cancelled()
    )


@pytest.fixture
def pending_timers() -> Callable[[], int]:
    """How many timers event loops hold, when called."""
    return count_pending_timers
