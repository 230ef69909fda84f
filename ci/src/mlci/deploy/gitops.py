"""Desired state in git: write one file, commit it alone, and push it to `origin`, or change nothing at all."""

from __future__ import annotations

from pathlib import Path

from mlci.core.errors import RefusedError
from mlci.core.git import git, has_origin
from mlci.core.runner import CommandError


def branch_in_step(root: Path) -> str | None:
    """The checked-out branch, once it is known to match origin's (None without an origin): a deploy pushes one
    commit of its own, never a user's unpushed work, and never onto a stale branch."""
    branch = git(root, "branch", "--show-current")
    if not branch:
        raise RefusedError(
            "HEAD is detached: a kubernetes stage's desired state is committed to a branch, the one its controller "
            "watches. Check out that branch (e.g. `git switch main`) and run this again"
        )
    if not has_origin(root):
        return None
    try:
        git(root, "fetch", "--quiet", "origin", f"refs/heads/{branch}:refs/remotes/origin/{branch}")
    except CommandError as error:
        raise RefusedError(f"cannot fetch {branch} from origin, so nothing was changed:\n{error.output}") from None
    if git(root, "rev-parse", "HEAD") != git(root, "rev-parse", f"refs/remotes/origin/{branch}"):
        raise RefusedError(
            f"{branch} here differs from origin's: pull (and push your own commits) first, so that the deploy's "
            "commit is the only one it pushes. Nothing was changed"
        )
    return branch


def writable(root: Path, path: Path) -> str | None:
    """Refuse a file with changes of someone's, or a branch out of step; the branch to push to (None: no origin)."""
    relative = path.relative_to(root).as_posix()
    if git(root, "status", "--porcelain", "--", relative):
        raise RefusedError(
            f"{relative} has uncommitted changes; mlci writes it: restore it with `git restore {relative}`"
        )
    return branch_in_step(root)


def commit_file(root: Path, path: Path, text: str, message: str) -> bool:
    """Make `path` (inside `root`) hold `text` in a commit of its own, pushed; False when it held it already."""
    relative = path.relative_to(root).as_posix()
    branch = writable(root, path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    git(root, "add", "--", relative)
    git(root, "commit", "--quiet", "--no-verify", "--message", message, "--", relative)
    if branch is None:
        return True
    try:
        git(root, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    except CommandError as error:
        git(root, "reset", "--quiet", "--keep", "HEAD~1")
        raise RefusedError(
            f"origin refused the commit of {relative}, so it was undone here and nothing changed:\n{error.output}\n"
            "If someone pushed meanwhile, pull and run this again"
        ) from None
    return True
