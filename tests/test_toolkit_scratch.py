"""Scratch folders: gone when a command ends, when it is stopped by SIGTERM, and after it was killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlci.core.errors import MlciError
from mlci.core.scratch import scratch_folder, scratch_root

HOLDS_A_FOLDER = """
import sys, time
from mlci.cli import Terminated, unwinding_on_sigterm
from mlci.core.scratch import scratch_folder
try:
    with unwinding_on_sigterm(), scratch_folder("score") as scratch:
        print(scratch, flush=True)
        time.sleep(60)
except Terminated:
    sys.exit(143)
"""


@pytest.fixture(autouse=True)
def own_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again


def holding_a_folder(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDS_A_FOLDER], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert folder.is_dir(), "the process never made its scratch folder"
    assert folder.parent == tmp_path / f"mlci-{os.getuid()}"
    return process, folder


def test_a_command_stopped_by_sigterm_removes_its_folder(tmp_path: Path) -> None:
    process, folder = holding_a_folder(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 143
    assert not folder.exists()


def test_a_folder_left_by_a_killed_command_goes_with_the_next_one(tmp_path: Path) -> None:
    process, folder = holding_a_folder(tmp_path)
    alive, _ = holding_a_folder(tmp_path)
    try:
        process.kill()
        process.wait(timeout=30)
        assert folder.is_dir()  # SIGKILL: nothing could clean
        with scratch_folder("drift") as scratch:
            assert Path(scratch).is_dir()
            assert not folder.exists()
            assert sum(1 for _ in folder.parent.iterdir()) == 2  # its own, and the living process's
    finally:
        alive.kill()
        alive.wait(timeout=30)


def test_a_scratch_root_another_can_write_is_refused(tmp_path: Path) -> None:
    root = tmp_path / f"mlci-{os.getuid()}"
    root.mkdir(mode=0o777)
    root.chmod(0o777)
    with pytest.raises(MlciError, match="not a private folder of this user"):
        scratch_root()
