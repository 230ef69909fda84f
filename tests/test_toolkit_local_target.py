"""A local stage's records: a candidate left by a deploy stopped part-way is shown, unless a deploy runs now."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlci.core.project import Project
from mlci.core.store import Store
from mlci.deploy.targets.local import LocalTarget, Running
from mlci.deploy.targets.process import Runtime

TAG = "house:v0.0.2"


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalTarget:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    project = Project(tmp_path, "house", "house", Path("models/model.pkl"), [], {})
    found = LocalTarget(project, "staging", Runtime(3001, 1), Store(str(tmp_path / "store")))
    found.state.mkdir(parents=True)
    return found


@pytest.fixture
def candidate(target: LocalTarget) -> Iterator[Running]:
    """A process that names the candidate's bento on its command line, as `bentoml serve` does, recorded."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "serve", TAG])
    deadline = time.monotonic() + 30
    while TAG.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes():  # exec'd, not yet ours
        assert time.monotonic() < deadline, "the stand-in candidate never showed its command line"
        time.sleep(0.01)
    recorded = Running("v0.0.2", process.pid, 41234, "0" * 64, TAG, "home", verified=False)
    target.write(target.candidate_path, recorded)
    yield recorded
    process.kill()
    process.wait(timeout=30)


def test_a_candidate_left_running_is_shown_with_its_process_and_address(
    target: LocalTarget, candidate: Running
) -> None:
    left = target.leftover()
    assert left is not None
    assert (left.version, left.url) == ("v0.0.2", "http://127.0.0.1:41234")
    assert left.detail.startswith(f"pid {candidate.pid}")


def test_a_candidate_of_a_deploy_under_way_is_not_a_leftover(target: LocalTarget, candidate: Running) -> None:
    with target.lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert target.leftover() is None
    assert target.leftover() is not None


def test_a_record_whose_process_is_gone_shows_nothing(target: LocalTarget) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass", "serve", TAG])
    assert ended.wait(timeout=30) == 0
    target.write(target.candidate_path, Running("v0.0.2", ended.pid, 41234, "0" * 64, TAG, "home", verified=False))
    assert target.leftover() is None
