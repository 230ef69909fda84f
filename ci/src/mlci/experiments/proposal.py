"""`mlci experiment propose`: one experiment made a branch, its data and model pushed, and the review written, so
that a pull request takes it through the same review and, after its merge, the same gates as any change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlci.core.errors import MlciError
from mlci.core.git import git, has_origin, is_clean
from mlci.core.repository import Repository
from mlci.core.runner import CommandError, attempt, run
from mlci.experiments.records import experiments
from mlci.review.report import Written, review


@dataclass(frozen=True)
class Proposal:
    """The branch made, what it was made from, whether origin has it, and the review of it against its base."""

    branch: str
    base: str
    pushed: bool
    review: Written


def current_branch(root: Path) -> str:
    try:
        return git(root, "symbolic-ref", "--short", "HEAD")
    except CommandError:
        raise MlciError("HEAD is detached: switch to the branch the experiments were run on, then propose") from None


def propose(repository: Repository, name: str, branch: str | None, output: Path) -> Proposal:
    """Make `branch` (default `experiment/<name>`) of a successful experiment, switch to it, push it with its data
    and model, and review it against the branch it came from."""
    root = repository.root
    if not is_clean(root):
        raise MlciError("uncommitted changes: commit or stash them first; proposing switches to the new branch")
    records = experiments(root, repository.project.model)
    found = {e.name: e for e in records if e.experiment}
    if name not in found:
        known = ", ".join(sorted(found)) or "none (run a sweep, or `mlci experiment pull`)"
        raise MlciError(f"no experiment {name!r} of HEAD's commit; its experiments: {known}")
    if found[name].state != "success":
        raise MlciError(f"{name} {found[name].state}: only an experiment that ran to the end can be proposed")
    base = current_branch(root)
    branch = branch or f"experiment/{name}"
    if git(root, "branch", "--list", branch):
        raise MlciError(f"a branch {branch} exists already: name another with --branch")
    run("dvc", "exp", "branch", name, branch, cwd=root)
    git(root, "switch", "--quiet", branch)
    baseline = next(e for e in records if not e.experiment)
    changed = " ".join(f"{k}={v}" for k, v in found[name].params.items() if baseline.params.get(k) != v)
    message = f"Experiment {name}: {changed or 'the parameters of its baseline'}"
    attempt("git", "commit", "--amend", "--quiet", "--message", message, cwd=root)  # else DVC's own message stays
    run("dvc", "checkout", "--quiet", cwd=root)
    pushed = has_origin(root)
    if pushed:
        run("dvc", "push", "--quiet", cwd=root)  # the model and reports the branch's dvc.lock names
        git(root, "push", "--quiet", "--set-upstream", "origin", branch)
    base_ref = f"origin/{base}" if pushed else base
    return Proposal(branch, base, pushed, review(repository, base_ref, output))
