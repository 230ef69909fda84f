"""Git, as the toolkit calls it: one function that runs a command and reports a failure clearly."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlci.errors import MlciError


class GitError(MlciError):
    """A git command that failed; the message carries git's own words."""


def git(root: Path, *args: str) -> str:
    """The output of `git ARGS` run in `root`, stripped."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def is_clean(root: Path) -> bool:
    """Whether the tracked files match the last commit."""
    return not git(root, "status", "--porcelain", "--untracked-files=no")


def has_origin(root: Path) -> bool:
    """Whether the repository has a remote named `origin`."""
    return "origin" in git(root, "remote").split()
