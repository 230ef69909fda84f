"""A generated repository's own sessions pass, as a user runs them, and leave the tree as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CheckedProject, run

pytestmark = pytest.mark.slow


def test_checks_leave_only_the_lock_file(checked_project: CheckedProject) -> None:
    # The first run writes uv.lock, which the README asks the user to commit; nothing else changes.
    assert checked_project.status_after_checks == ["?? uv.lock"]


def test_sessions_use_the_projects_own_environment(checked_project: CheckedProject) -> None:
    project = checked_project.path
    prefix = run("uv", "run", "python", "-c", "import sys; print(sys.prefix)", cwd=project).stdout.strip()
    assert Path(prefix) == project / ".venv"


def test_formatter_changes_nothing(checked_project: CheckedProject) -> None:
    project = checked_project.path
    before = run("git", "status", "--porcelain", cwd=project).stdout + run("git", "diff", cwd=project).stdout
    run("uv", "run", "pre-commit", "run", "ruff-format", "--all-files", cwd=project)
    assert run("git", "status", "--porcelain", cwd=project).stdout + run("git", "diff", cwd=project).stdout == before


def test_toolkit_reads_the_shipped_config(checked_project: CheckedProject) -> None:
    project = checked_project.path
    assert run("uv", "run", "mlci", "--version", cwd=project).stdout.startswith("mlci ")
    assert '"production"' in run("uv", "run", "mlci", "config", cwd=project).stdout


def test_dvc_is_initialised_with_the_default_remote(checked_project: CheckedProject) -> None:
    project = checked_project.path
    assert run("uv", "run", "dvc", "config", "core.remote", cwd=project).stdout.strip() == "storage"
    url = run("uv", "run", "dvc", "config", "remote.storage.url", cwd=project).stdout.strip()
    assert url == f"{project.parent / 'storage'}/dvc"
    run("uv", "run", "dvc", "status", cwd=project)  # fails outside a DVC repository


def test_the_secret_scanner_refuses_a_credential(checked_project: CheckedProject) -> None:
    project = checked_project.path
    leaked = project / "settings.py"
    key = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key, assembled so this file holds none
    leaked.write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n')
    try:
        result = subprocess.run(
            ["uv", "run", "--no-sync", "pre-commit", "run", "detect-secrets", "--files", "settings.py"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        leaked.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AWS Access Key" in result.stdout
