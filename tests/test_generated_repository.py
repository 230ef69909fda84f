"""A generated repository's own sessions pass, as a user runs them, and leave the tree as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checked_project(generated_project: Path) -> Path:
    """The shared repository after the checks every push runs: `nox -s lint tests`."""
    run("nox", "-s", "lint", "tests", cwd=generated_project)
    return generated_project


def test_checks_leave_only_the_lock_file(checked_project: Path) -> None:
    # The first run writes uv.lock, which the README asks the user to commit; nothing else changes.
    assert run("git", "status", "--porcelain", cwd=checked_project).stdout.splitlines() == ["?? uv.lock"]


def test_sessions_use_the_projects_own_environment(checked_project: Path) -> None:
    prefix = run("uv", "run", "python", "-c", "import sys; print(sys.prefix)", cwd=checked_project).stdout.strip()
    assert Path(prefix) == checked_project / ".venv"


def test_formatter_changes_nothing(checked_project: Path) -> None:
    run("uv", "run", "pre-commit", "run", "ruff-format", "--all-files", cwd=checked_project)
    assert run("git", "status", "--porcelain", cwd=checked_project).stdout.splitlines() == ["?? uv.lock"]


def test_toolkit_reads_the_shipped_config(checked_project: Path) -> None:
    assert run("uv", "run", "mlci", "--version", cwd=checked_project).stdout.startswith("mlci ")
    assert '"production"' in run("uv", "run", "mlci", "config", cwd=checked_project).stdout


def test_dvc_is_initialised_with_the_default_remote(checked_project: Path) -> None:
    assert run("uv", "run", "dvc", "config", "core.remote", cwd=checked_project).stdout.strip() == "storage"
    url = run("uv", "run", "dvc", "config", "remote.storage.url", cwd=checked_project).stdout.strip()
    assert url == f"{checked_project.parent / 'storage'}/dvc"
    run("uv", "run", "dvc", "status", cwd=checked_project)  # fails outside a DVC repository
