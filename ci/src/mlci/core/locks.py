"""An exclusive lock that refuses at once instead of waiting: the second of two racing commands changes nothing."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlci.core.errors import RefusedError


@contextmanager
def held(lock: Path, busy: str) -> Iterator[None]:
    """Hold the lock file `lock`, or raise RefusedError saying `busy` when another process holds it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefusedError(f"{busy}; nothing was changed: run this again when it has finished") from None
        yield


def is_held(lock: Path) -> bool:
    """Whether another process holds the lock file `lock` now."""
    if not lock.is_file():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
