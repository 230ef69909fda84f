"""One container image per registered build, made from the stored bento (checked against git's seal) and the
Dockerfile BentoML writes into every bento, never from the working tree; its digest is sealed in git beside the
build (`seals`), where a kubernetes stage reads it."""

from __future__ import annotations

import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlci.core.errors import BuildError, RefusedError
from mlci.core.project import Project
from mlci.core.repository import Repository
from mlci.core.runner import run
from mlci.core.scratch import scratch_folder
from mlci.core.seals import build_seal, image_seal, seal_image
from mlci.core.store import Store

DOCKERFILE = "env/docker/Dockerfile"
ENTRYPOINT = "env/docker/entrypoint.sh"
SERVING_PORT = 3000  # BentoML's port in its images: the manifests' container port and probes
IMAGE_UID = 1034  # the user BentoML's Dockerfile creates (BENTO_USER_UID): the manifests run as it
IMAGE_BY_DIGEST = re.compile(r"^[a-z0-9]+(?:[._:/-][a-z0-9]+)*@sha256:[0-9a-f]{64}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$")
ENGINES = ("docker", "podman")


@dataclass(frozen=True)
class Image:
    """A version's image: its build context here, and its reference by digest once pushed or recorded."""

    version: str
    context: Path | None
    image: str | None
    made: bool  # False when git already seals an image: nothing was built


def context_problems(folder: Path, project: Project, version: str) -> list[str]:
    """What makes a bento's build context unfit for the manifests: its Dockerfile, entrypoint, user and port,
    and the service it serves."""
    dockerfile, entrypoint = folder / DOCKERFILE, folder / ENTRYPOINT
    if not dockerfile.is_file():
        return [f"no {DOCKERFILE}: BentoML writes one into every bento; was this bento built by BentoML 1.2 or later?"]
    text = dockerfile.read_text(encoding="utf-8")
    problems = []
    if not re.search(rf"^ENTRYPOINT \[ *\"[^\"]*/{re.escape(ENTRYPOINT)}\" *\]", text, re.MULTILINE):
        problems.append(f"the Dockerfile's ENTRYPOINT is not {ENTRYPOINT}")
    if not entrypoint.is_file() or "bentoml serve" not in entrypoint.read_text(encoding="utf-8"):
        problems.append(f"{ENTRYPOINT} does not run `bentoml serve`")
    if not re.search(rf"^EXPOSE {SERVING_PORT}$", text, re.MULTILINE):
        problems.append(f"the image does not serve on port {SERVING_PORT}, which the manifests' probes use")
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    if not users or users[-1] in ("root", "0"):
        problems.append("the image runs as root: the manifests require a non-root user")
    uid = re.search(r"^ARG BENTO_USER_UID=(\d+)$", text, re.MULTILINE)
    if not uid or int(uid.group(1)) != IMAGE_UID:
        found = uid.group(1) if uid else "none"
        problems.append(f"the image's user id is {found}, not {IMAGE_UID}, which the manifests' runAsUser names")
    bento = (
        yaml.safe_load((folder / "bento.yaml").read_text(encoding="utf-8")) if (folder / "bento.yaml").is_file() else {}
    )
    if bento.get("service") != project.service_path:
        problems.append(f"the bento serves {bento.get('service')!r}, not the contract's {project.service_path!r}")
    if bento.get("version") != version:
        problems.append(f"the bento is version {bento.get('version')!r}, not {version}")
    return problems


def prepare(store: Store, project: Project, version: str, folder: Path) -> Path:
    """Unpack the stored build (checked against git's seal) into `folder` as a build context, and check it."""
    if folder.exists() and any(folder.iterdir()) and not (folder / "bento.yaml").is_file():
        raise BuildError(f"{folder}: not empty and not a build context of mlci's; name an empty folder")
    sealed = build_seal(project.root, project.name, version)
    with scratch_folder("image") as scratch:
        bento = store.fetch(project.name, version, Path(scratch), sealed.bento_sha256)
        unpacked = Path(scratch) / "context"
        try:
            with tarfile.open(bento) as archive:
                archive.extractall(unpacked, filter="data")  # refuses links and paths that leave the folder
        except tarfile.TarError as error:
            raise BuildError(
                f"the stored build of {project.name} {version} cannot be unpacked safely: {error}"
            ) from None
        problems = context_problems(unpacked, project, version)
        if problems:
            raise BuildError(f"the build context of {project.name} {version} is unfit: " + "; ".join(problems))
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(unpacked, folder)
    return folder


def engine() -> str:
    """The container engine on this machine."""
    for name in ENGINES:
        if shutil.which(name):
            return name
    raise BuildError(f"no container engine ({' or '.join(ENGINES)}) on this machine to build the image with")


def check_repository(repository: str) -> str:
    if not REPOSITORY.fullmatch(repository):
        raise BuildError(
            f"{repository!r} is not an image repository: give a lowercase one with its registry, such as "
            "ghcr.io/owner/name"
        )
    return repository


def build_and_push(folder: Path, repository: str, version: str) -> str:
    """Build the context with the engine, push it, and return the pushed image by digest."""
    program, reference = engine(), f"{repository}:{version}"
    run(program, "build", "--file", str(folder / DOCKERFILE), "--tag", reference, str(folder))
    run(program, "push", reference)
    digests = run(program, "image", "inspect", "--format", '{{join .RepoDigests "\\n"}}', reference).split()
    pushed = [digest for digest in digests if digest.startswith(f"{repository}@")]
    if not pushed:
        raise BuildError(f"{program} pushed {reference} but reports no digest for {repository}")
    return pushed[0]


def check_reference(image: str) -> str:
    if not IMAGE_BY_DIGEST.fullmatch(image):
        raise BuildError(
            f"{image!r} is not an image by digest: give REPOSITORY@sha256:<64 hex digits>, as a registry reports it"
        )
    return image


def make_image(
    repository: Repository, version: str, folder: Path, push: str | None = None, record: str | None = None
) -> Image:
    """Prepare the build context of a stored version; with `push`, build and push it once; with `record`, seal
    an image built elsewhere. A version keeps the first image sealed for it."""
    store, project = repository.store, repository.project
    build_seal(project.root, project.name, version)  # a build git records, or a refusal saying how to make one
    sealed = image_seal(project.root, project.name, version)
    if push is not None:
        check_repository(push)
    if record is not None:
        image = check_reference(record)
        if sealed not in (None, image):
            raise BuildError(
                f"{project.name} {version} already has the image {sealed} sealed in git, not {image}: a build keeps "
                "its first image; register a new version for another"
            )
        if sealed is None:
            seal_image(project.root, project.name, version, image)
        return Image(version, None, image, made=False)
    if push and sealed:
        return Image(version, None, sealed, made=False)
    context = prepare(store, project, version, folder)
    if push is None:
        return Image(version, context, sealed, made=False)
    image = check_reference(build_and_push(context, push, version))
    seal_image(project.root, project.name, version, image)
    return Image(version, context, image, made=True)


def require_image(root: Path, name: str, version: str, stage: str) -> str:
    """The image git seals for a build, which a kubernetes stage needs before it may hold the version."""
    image = image_seal(root, name, version)
    if image and not IMAGE_BY_DIGEST.fullmatch(image):
        raise RefusedError(
            f"{stage}: git's seal of {name} {version} names the image {image!r}, not an image by digest: "
            "the seal is not mlci's; nothing was changed"
        )
    if not image:
        raise RefusedError(
            f"{stage}: {name} {version} has no image sealed in git, so no cluster could run it; nothing was changed. "
            f"Build and push it with `nox -s image -- {version} --push REPOSITORY` (the release workflow does), "
            f"or record one built elsewhere with `mlci image {version} --record IMAGE@sha256:DIGEST`"
        )
    return str(image)
