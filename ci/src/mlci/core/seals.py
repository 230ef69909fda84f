"""What git vouches for of a build: its checksums and the manifest of every file in it (`mlci build`), and its
image (`mlci image`), each an annotated tag whose message is the record, pushed to origin beside the registry.

The artifact store holds the bytes but cannot vouch for them: whoever may write to the store could replace a
bento and rewrite its record alike. A seal is a tag in git, where the registry lives: replacing one takes write
access to the repository, and every command checks the bytes it fetches against the seal, never the store's
own record. `registry.sync` drops a seal origin lacks, as it drops registry tags: a build whose seal was never
pushed is not a build anyone else can check.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.core.errors import MlciError
from mlci.core.git import git
from mlci.core.registry import publish
from mlci.core.scratch import scratch_folder
from mlci.core.store import Store

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SealError(MlciError):
    """A build or image git holds no seal of, or a seal that is not a record mlci wrote."""


@dataclass(frozen=True)
class BuildSeal:
    """A build as git records it: the bento's checksum, its models', its runtime, and every file it unpacks to."""

    name: str
    version: str
    bento_sha256: str
    model_sha256: str
    runtime: str
    manifest: dict[str, str] = field(default_factory=dict)  # path in the unpacked bento: sha256
    compiled_sha256: str = ""  # the compiled model's, when the build serves one

    def record(self) -> dict[str, Any]:
        return asdict(self)


def tag_of(kind: str, name: str, version: str) -> str:
    return f"mlci-{kind}/{name}/{version}"


def tagged_message(root: Path, tag: str) -> str | None:
    """The message of an annotated tag here, or None when there is no such tag (or it is not annotated)."""
    listed = git(root, "for-each-ref", f"refs/tags/{tag}", "--format=%(objecttype)%00%(contents)")
    kind, _, message = listed.partition("\0")
    return message.strip() if kind == "tag" else None


def seal(root: Path, tag: str, commit: str, content: dict[str, Any]) -> None:
    """Tag `commit` with the content as the tag's message, and push the tag to origin (when there is one)."""
    if git(root, "tag", "--list", tag):
        raise SealError(f"{tag} already exists: a build or image is sealed once; register a new version for another")
    message = json.dumps(content, sort_keys=True, separators=(",", ":"))
    git(root, "tag", "--annotate", tag, "--message", message, commit)
    publish(root, tag)


def parsed(tag: str, message: str) -> dict[str, Any]:
    try:
        content = json.loads(message)
    except json.JSONDecodeError:
        content = None
    if not isinstance(content, dict):
        raise SealError(f"the tag {tag} is not a seal mlci wrote (its message is no record): delete it and build again")
    return content


def missing_build(name: str, version: str) -> str:
    return (
        f"git records no build of {name} {version} (no tag {tag_of('build', name, version)}): build it with "
        f"`mlci build {version}` from its commit; a build another machine made is sealed on origin "
        "(`git fetch --tags`), and one made before builds were sealed in git must be built again"
    )


def build_seal(root: Path, name: str, version: str) -> BuildSeal:
    """The build git records for a version; refused when git has none or the seal is malformed."""
    tag = tag_of("build", name, version)
    message = tagged_message(root, tag)
    if message is None:
        raise SealError(missing_build(name, version))
    content = parsed(tag, message)
    try:
        sealed = BuildSeal(**content)
    except TypeError:
        raise SealError(f"the tag {tag} is not a seal mlci wrote (its record has other fields)") from None
    checksums = [sealed.bento_sha256, sealed.model_sha256, *sealed.manifest.values()]
    if (sealed.name, sealed.version) != (name, version) or not all(SHA256.fullmatch(str(c)) for c in checksums):
        raise SealError(f"the tag {tag} does not seal {name} {version} with SHA-256 checksums: it was not mlci's")
    return sealed


def find_build_seal(root: Path, name: str, version: str) -> BuildSeal | None:
    """The build git records for a version, or None when git records none."""
    if tagged_message(root, tag_of("build", name, version)) is None:
        return None
    return build_seal(root, name, version)


def seal_build(root: Path, sealed: BuildSeal) -> None:
    """Seal a build made from HEAD."""
    seal(root, tag_of("build", sealed.name, sealed.version), "HEAD", sealed.record())


def image_seal(root: Path, name: str, version: str) -> str | None:
    """The image git records for a build, by digest, or None when it records none."""
    tag = tag_of("image", name, version)
    message = tagged_message(root, tag)
    if message is None:
        return None
    image = parsed(tag, message).get("image")
    if not isinstance(image, str):
        raise SealError(f"the tag {tag} is not a seal mlci wrote (it names no image)")
    return image


def seal_image(root: Path, name: str, version: str, image: str) -> None:
    """Seal a build's image, on the commit its build was sealed on."""
    commit = git(root, "rev-parse", f"refs/tags/{tag_of('build', name, version)}^{{commit}}")
    seal(root, tag_of("image", name, version), commit, {"image": image})


def verified_build(store: Store, root: Path, name: str, version: str) -> BuildSeal:
    """The sealed build of a version, once the store's bytes are proved to be it."""
    sealed = build_seal(root, name, version)
    with scratch_folder("check") as scratch:
        store.fetch(name, version, Path(scratch), sealed.bento_sha256)
    return sealed
