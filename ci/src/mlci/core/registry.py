"""The model registry, kept in git as GTO tags: `model@v1.2.0` registers a commit's model,
`model#staging#3` assigns a stage (GTO numbers the model's assignments in order).

Tags are written with GTO and read here from git directly: a stage is held by the version of its
highest-numbered assignment tag, because GTO's own reading orders tags by their one-second timestamps,
which tie when promotions follow each other quickly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlci.core.errors import MlciError, RefusedError
from mlci.core.git import git, has_origin, is_clean
from mlci.core.locks import held
from mlci.core.runner import CommandError, run

SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
BUMPS = ("patch", "minor", "major")


class RegistryError(MlciError):
    """A version or stage the registry does not know, or a registry that cannot be read or written."""


@dataclass(frozen=True)
class Version:
    """A registered version of the model and the commit whose `dvc.lock` records it."""

    name: str
    commit: str
    created: str


@dataclass(frozen=True)
class Assignment:
    """One assignment of a version to a stage; `number` orders the assignments."""

    stage: str
    number: int
    version: str
    tag: str


def semver_key(version: str) -> tuple[int, ...]:
    match = SEMVER.match(version)
    assert match, version
    return tuple(int(part) for part in match.groups())


def next_version(latest: str | None, bump: str) -> str:
    """The version a registration gets: v0.0.1 first, then the latest raised by `bump`, the parts below reset."""
    if latest is None:
        return "v0.0.1"
    major, minor, patch = semver_key(latest)
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


@dataclass(frozen=True)
class Registry:
    """What the tags of one model say: its versions, and the assignments of each stage in order."""

    model: str
    versions: dict[str, Version]
    assignments: list[Assignment]

    @classmethod
    def read(cls, root: Path, model: str) -> Registry:
        listing = git(
            root,
            "for-each-ref",
            "refs/tags",
            "--format=%(refname:strip=2)\t%(*objectname)\t%(objectname)\t%(creatordate:iso-strict)",
        )
        registered = re.compile(rf"^{re.escape(model)}@(v\d+\.\d+\.\d+)$")
        assigned = re.compile(rf"^{re.escape(model)}#([a-z][a-z0-9-]*)#(\d+)$")
        tags = [line.split("\t") for line in listing.splitlines() if line]
        versions: dict[str, Version] = {}
        for name, peeled, target, created in tags:
            if match := registered.match(name):
                versions[match[1]] = Version(match[1], peeled or target, created)
        by_commit = {version.commit: version.name for version in versions.values()}
        assignments = [
            Assignment(match[1], int(match[2]), by_commit[peeled or target], name)
            for name, peeled, target, _ in tags
            if (match := assigned.match(name)) and (peeled or target) in by_commit
        ]
        ordered = dict(sorted(versions.items(), key=lambda item: semver_key(item[0])))
        return cls(model, ordered, sorted(assignments, key=lambda a: (a.stage, a.number)))

    def version(self, name: str) -> Version:
        """A registered version, named with or without its `v`."""
        wanted = name if name.startswith("v") else f"v{name}"
        if wanted not in self.versions:
            known = ", ".join(self.versions) or "none yet (register one with `mlci register`)"
            raise RegistryError(f"{self.model} has no version {name!r}; registered versions: {known}")
        return self.versions[wanted]

    def at_commit(self, commit: str) -> str | None:
        """The version registered at a commit, if any."""
        return next((version.name for version in self.versions.values() if version.commit == commit), None)

    def history(self, stage: str) -> list[Assignment]:
        """The assignments of a stage, oldest first."""
        return [assignment for assignment in self.assignments if assignment.stage == stage]

    def holder(self, stage: str) -> str | None:
        """The version a stage holds now: the one its latest assignment names."""
        history = self.history(stage)
        return history[-1].version if history else None

    def previous(self, stage: str) -> str | None:
        """The version that held a stage before the one holding it now."""
        current = self.holder(stage)
        return next((a.version for a in reversed(self.history(stage)) if a.version != current), None)

    def stages_of(self, version: str) -> list[str]:
        """The stages a version holds now."""
        return sorted({a.stage for a in self.assignments if self.holder(a.stage) == version})


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold this repository's registry lock, or refuse at once when another mlci command holds it."""
    lock = Path(git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / "mlci-registry.lock"
    with held(lock, "another mlci command is changing this repository's registry right now"):
        yield


# a registration, an assignment, or a build's or image's seal (`seals`)
REGISTRY_TAG = re.compile(r".+@v\d+\.\d+\.\d+|.+#[a-z][a-z0-9-]*#\d+|mlci-(?:build|image)/[^/]+/[^/]+")


def sync(root: Path) -> list[str]:
    """Make the registry here origin's, when there is one: fetch its tags, and drop the registry tags origin
    lacks, left by a command stopped between its tag and its push (a deploy must not honour an assignment
    nobody else sees). The tags dropped. Call it holding the registry lock (`exclusive`)."""
    if not has_origin(root):
        return []
    try:
        git(root, "fetch", "--tags", "origin")  # not --quiet: a refusal's reason is in what it says
    except CommandError as error:
        if "would clobber existing tag" not in error.output:
            raise
        raise RegistryError(
            "origin and this clone hold different tags of one name, and mlci never rewrites a tag: one was "
            f"rewritten by hand. Find out who changed it before trusting either:\n{error.output}"
        ) from None
    listed = git(root, "ls-remote", "--tags", "origin").splitlines()
    published = {line.partition("refs/tags/")[2].removesuffix("^{}") for line in listed}
    unpublished = [tag for tag in git(root, "tag", "--list").split() if REGISTRY_TAG.fullmatch(tag)]
    dropped = [tag for tag in unpublished if tag not in published]
    if dropped:
        git(root, "tag", "--delete", *dropped)
    return dropped


def try_sync(root: Path) -> str | None:
    """Sync the registry for a command that only reads it; a warning when origin's could not be had, or when
    tags were dropped."""
    try:
        with exclusive(root):
            dropped = sync(root)
    except (CommandError, RefusedError) as error:
        return f"this registry is the local one only: {error}"
    if dropped:
        return f"dropped {', '.join(dropped)}: tagged here, never pushed to origin (a command stopped before its push)"
    return None


def publish(root: Path, tag: str) -> None:
    """Push a new tag to `origin`; if the remote refuses it, delete it here too so both registries agree. A tag
    origin already holds, the very same object, was made by an identical command in the same second on another
    machine: that one did the work, and this one says so rather than claim it."""
    if not has_origin(root):
        return
    try:
        pushed = git(root, "push", "--porcelain", "origin", f"refs/tags/{tag}")
    except CommandError as refused:
        git(root, "tag", "--delete", tag)
        raise RefusedError(
            f"origin refused the tag {tag}, so it was removed here as well and the registry is unchanged:\n"
            f"{refused.output}\n"
            "If another promotion got there first, run `mlci status` and decide again."
        ) from None
    if any(line.startswith("=\t") for line in pushed.splitlines()):
        raise RefusedError(
            f"origin already held the tag {tag}, made at the same moment by the same command elsewhere: that "
            "command did the work, and this one changed nothing"
        )


def require_pushed_model(root: Path, model_path: Path) -> None:
    """Refuse a model whose bytes the DVC remote does not hold: a registered version must be fetchable anywhere."""
    status = run("dvc", "status", "--cloud", "--json", model_path.as_posix(), cwd=root)
    if '"new"' in status or '"missing"' in status:
        raise RefusedError(
            f"{model_path} is not in the DVC remote, so no other machine could fetch this version: "
            "push it with `dvc push` (`nox -s repro` pushes), then register"
        )


def gto_errors() -> tuple[type[Exception], ...]:
    """What GTO raises for a refusal: its own errors and its git layer's (no git identity to sign a tag)."""
    from gto.exceptions import GTOException  # imported with GTO, in about two seconds: only writers pay
    from scmrepo.exceptions import SCMError

    return GTOException, SCMError


def register(root: Path, model: str, model_path: Path, bump: str) -> str:
    """Register the model of the clean HEAD commit as the next version; the new version."""
    from gto import api

    if not is_clean(root):
        raise RefusedError("uncommitted changes: a version registers a commit, so commit (and push) them first")
    with exclusive(root):
        sync(root)
        head = git(root, "rev-parse", "HEAD")
        before = Registry.read(root, model)
        existing = before.at_commit(head)
        if existing:
            raise RefusedError(
                f"this commit is already registered as {model}@{existing}: commit a change to register another version"
            )
        require_pushed_model(root, model_path)
        version = next_version(next(reversed(before.versions), None), bump)
        try:
            api.register(str(root), model, "HEAD", version=version)
        except gto_errors() as error:
            raise RegistryError(f"gto register failed: {error}") from None
        publish(root, f"{model}@{version}")
        return version


def assign(root: Path, model: str, version: str, stage: str) -> Assignment:
    """Assign a stage to a version with a new tag (history is kept), pushed to `origin`; the call holds the lock."""
    from gto import api

    try:
        api.assign(str(root), model, stage, version=version, force=True)
    except gto_errors() as error:
        raise RegistryError(f"gto assign failed: {error}") from None
    assignment = Registry.read(root, model).history(stage)[-1]
    publish(root, assignment.tag)
    return assignment
