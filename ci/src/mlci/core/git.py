"""Git, as the toolkit asks it questions: output stripped, a failure raised as the runner's CommandError."""

from __future__ import annotations

from pathlib import Path

from mlci.core.runner import run


def git(root: Path, *args: str) -> str:
    """The output of `git ARGS` run in `root`, stripped."""
    return run("git", *args, cwd=root).strip()


def is_clean(root: Path) -> bool:
    """Whether the tracked files match the last commit."""
    return not git(root, "status", "--porcelain", "--untracked-files=no")


def has_origin(root: Path) -> bool:
    """Whether the repository has a remote named `origin`."""
    return "origin" in git(root, "remote").split()
