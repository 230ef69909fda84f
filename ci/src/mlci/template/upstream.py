"""The template a repository was generated from: how far behind it the repository is, and taking its changes.

Generation records the template, its commit and the answers in `.cruft.json`. An update renders the answers at
the recorded commit and at the newest one (cruft), and applies the difference to the working tree with git's
three-way merge: files the user never touched follow the template; a file both changed keeps git's conflict
markers. Nothing is committed: the change is for a person to review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.core.errors import MlciError, RefusedError
from mlci.core.git import git, is_clean
from mlci.core.runner import CommandError, run
from mlci.core.scratch import scratch_folder

RECORD = ".cruft.json"


class UpstreamError(MlciError):
    """No record of the template, or a template that cannot be reached."""


@dataclass(frozen=True)
class Behind:
    """How the repository's template commit stands against the template's newest (or a given ref)."""

    template: str
    recorded: str
    latest: str
    commits: int  # template commits the repository has not taken


@dataclass(frozen=True)
class Updated:
    """What an update changed in the working tree; empty when the repository was current."""

    template: str
    recorded: str
    latest: str
    changed: list[str]


def recorded(root: Path) -> dict[str, Any]:
    """The repository's record of its template, checked."""
    path = root / RECORD
    if not path.is_file():
        raise UpstreamError(
            f"{RECORD}: no record of the template this repository was generated from; generations from the mlci "
            "template write one. Link an older repository with `uvx cruft link TEMPLATE_URL`"
        )
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UpstreamError(f"{RECORD}: not valid JSON ({error}); restore it from git") from None
    if not state.get("template") or not state.get("commit"):
        raise UpstreamError(
            f"{RECORD} names no template commit: the repository was generated from a folder that is not a git "
            "repository. Generate from a git checkout or URL of the template, or set `commit` to the one used"
        )
    return state


def behind(root: Path, ref: str | None = None) -> Behind:
    """How many template commits the repository lacks, against the template's HEAD or `ref`."""
    state = recorded(root)
    template, commit = state["template"], state["commit"]
    with scratch_folder("template") as scratch:
        clone = Path(scratch) / "template"
        try:
            git(Path(scratch), "clone", "--quiet", "--no-checkout", "--filter=blob:none", template, str(clone))
        except CommandError as error:
            raise UpstreamError(f"cannot reach the template at {template}: {error.output}") from None
        try:
            latest = git(clone, "rev-parse", "--verify", f"{ref or 'HEAD'}^{{commit}}")
        except CommandError:
            raise UpstreamError(f"the template at {template} has no ref {ref!r}") from None
        try:
            count = int(git(clone, "rev-list", "--count", f"{commit}..{latest}"))
        except CommandError:
            raise UpstreamError(
                f"the template at {template} does not hold the commit {commit[:12]} that {RECORD} records"
            ) from None
    return Behind(template, commit, latest, count)


def conflicts(root: Path) -> list[str]:
    """Files an update could not merge: unmerged paths, and rejected hunks (`*.rej`) where a merge was impossible."""
    unmerged = git(root, "diff", "--name-only", "--diff-filter=U").splitlines()
    rejected = git(root, "ls-files", "--others", "--exclude-standard", "--", "*.rej").splitlines()
    return sorted({*unmerged, *(path.removesuffix(".rej") for path in rejected)})


def update(root: Path, ref: str | None = None) -> Updated:
    """Bring the template's changes since the recorded commit into the working tree, for review."""
    state = recorded(root)
    if not is_clean(root):
        raise RefusedError("uncommitted changes: commit or stash them first, so the update is a change of its own")
    if git(root, "rev-parse", "--is-shallow-repository") == "true":
        raise MlciError(
            "this clone is shallow: a three-way merge needs the files as they were generated, from the history, "
            "or every change to a file edited since becomes a .rej file. Fetch the whole history first (`git "
            "fetch --unshallow`; in a workflow, actions/checkout with fetch-depth: 0)"
        )
    standing = behind(root, ref)
    if standing.commits == 0:
        return Updated(standing.template, standing.recorded, standing.latest, [])
    import cruft  # imports GitPython and typer: only this command pays for it

    if not cruft.update(project_dir=root, checkout=ref, skip_apply_ask=True, allow_untracked_files=True):
        raise UpstreamError(f"cruft update from {state['template']} stopped; its message above says why")
    clashes = conflicts(root)
    if clashes:
        raise RefusedError(
            f"the template and this repository both changed {', '.join(clashes)}: resolve git's conflict markers "
            "(or the .rej files) there, check the rest of the change, then commit it all"
        )
    changed = [line[3:] for line in run("git", "status", "--porcelain", "--untracked-files=all", cwd=root).splitlines()]
    return Updated(standing.template, standing.recorded, standing.latest, sorted(changed))
