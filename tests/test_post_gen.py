"""The first commit is made for any user: with or without a git identity, in a path with spaces."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import generate, run


def author_of_head(project: Path) -> str:
    return run("git", "log", "-1", "--format=%an <%ae> / %cn <%ce>", cwd=project).stdout.strip()


@pytest.mark.usefixtures("no_git_identity")
def test_no_git_identity_commits_as_the_answers_author(tmp_path: Path) -> None:
    project = generate(tmp_path, author_name="Data Team", author_email="data@example.org")
    assert author_of_head(project) == "Data Team <data@example.org> / Data Team <data@example.org>"
    # ... for that commit only: the repository's own config stays without an identity.
    assert "user." not in run("git", "config", "--local", "--list", cwd=project).stdout


@pytest.mark.usefixtures("no_git_identity")
def test_own_git_identity_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Own Name\n\temail = own@example.net\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    project = generate(tmp_path, author_name="Data Team")
    assert author_of_head(project) == "Own Name <own@example.net> / Own Name <own@example.net>"


def test_path_with_spaces(tmp_path: Path) -> None:
    project = generate(tmp_path / "my projects" / "with spaces")
    assert project.parent.name == "with spaces"
    assert run("git", "rev-list", "--count", "HEAD", cwd=project).stdout.strip() == "1"
    assert run("git", "status", "--porcelain", cwd=project).stdout == ""


def test_generation_needs_no_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Generate as a user whose cookiecutter has no DVC beside it and none on PATH, only git:
    # DVC's files come from the template, and the generated repository installs DVC itself.
    assert importlib.util.find_spec("dvc") is None
    only_git = tmp_path / "bin"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git") or "git")
    monkeypatch.setenv("PATH", str(only_git))
    project = generate(tmp_path)
    config = (project / ".dvc" / "config").read_text()
    assert "remote = storage" in config
    assert f"url = {tmp_path / 'storage'}/dvc" in config
    assert (project / ".dvc" / ".gitignore").read_text().split() == ["/config.local", "/tmp", "/cache"]
