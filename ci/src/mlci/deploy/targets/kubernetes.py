"""The `kubernetes` target: a stage's desired state is a file in git, and a controller (Argo CD, Flux) applies it.

Each stage's kustomize overlay holds `release.yaml`, which mlci alone writes: the image of the version the stage
runs, by digest, the version as a label, the model's checksum the service checks at start, and the inference
log's settings. Deploy, rollback and stop write that file and commit it alone, pushed to the branch the controller
watches; the file's history is the stage's deployment history. Nothing is started here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlci_serving.names import COMPILED_SHA256_VARIABLE, MODEL_SHA256_VARIABLE, MODEL_VERSION_VARIABLE

from mlci.build.image import require_image
from mlci.core.errors import MlciError, RefusedError
from mlci.core.project import Project, server_environment
from mlci.core.registry import exclusive
from mlci.core.seals import verified_build
from mlci.core.store import Store
from mlci.deploy.gitops import commit_file, writable
from mlci.deploy.targets.base import Deployment, Serving
from mlci.deploy.targets.cluster import observed

RELEASE_FILE = "release.yaml"
VERSION_LABEL = "app.kubernetes.io/version"
CONTAINER = "server"
NOT_RELEASED = "none"  # the version label of a stage that runs nothing
HEADER = """\
# The release this stage runs, written by mlci: `mlci deploy`, `mlci promote` and `mlci rollback` change it and
# commit it alone; a controller (Argo CD, Flux) applies the overlay. Do not edit: git's history of this file is
# the stage's deployment history. Replicas and resources belong in the overlay's other files.
"""


@dataclass(frozen=True)
class Release:
    """A version as a stage declares it: its image by digest and the checksums of its models."""

    version: str
    image: str
    model_sha256: str
    compiled_sha256: str = ""  # the compiled model's, when the build has one


def log_config_name(name: str) -> str:
    return f"{name}-inference-log"


def release_manifest(name: str, release: Release | None, log: dict[str, str]) -> str:
    """`release.yaml` for a stage: patches on the base's Deployment and inference-log ConfigMap; with no release,
    no replica runs and the autoscaler is removed (it would scale the Deployment up again)."""
    log_digest = hashlib.sha256(json.dumps(log, sort_keys=True).encode()).hexdigest()[:16]
    version = release.version if release else NOT_RELEASED
    container: dict[str, Any] = {"name": CONTAINER}
    spec: dict[str, Any] = {}
    if release:
        environment = server_environment(release.version, release.model_sha256, release.compiled_sha256)
        container |= {"image": release.image, "env": [{"name": k, "value": v} for k, v in environment.items()]}
    else:
        spec["replicas"] = 0
    spec["template"] = {
        # a new log setting restarts the pods: they read the ConfigMap at start
        "metadata": {"labels": {VERSION_LABEL: version}, "annotations": {"mlci/inference-log": log_digest}},
        "spec": {"containers": [container]},
    }
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": {VERSION_LABEL: version}},
            "spec": spec,
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": log_config_name(name)}, "data": log},
    ]
    if release is None:
        documents.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name},
                "$patch": "delete",
            }
        )
    body = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return HEADER + body


class ReleaseFileError(MlciError):
    """A stage's release file that mlci did not write, or that was changed by hand."""


def read_release(path: Path) -> Release | None:
    """The release a stage's file declares, or None when it declares none (or the file is missing)."""
    if not path.is_file():
        return None
    try:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "Deployment":
                version = document["metadata"]["labels"][VERSION_LABEL]
                if version == NOT_RELEASED:
                    return None
                container = document["spec"]["template"]["spec"]["containers"][0]
                env = {item["name"]: item["value"] for item in container.get("env", [])}
                if env[MODEL_VERSION_VARIABLE] != version:
                    raise ValueError(
                        f"the version label {version} and MODEL_VERSION {env[MODEL_VERSION_VARIABLE]} differ"
                    )
                compiled = env.get(COMPILED_SHA256_VARIABLE, "")
                return Release(version, container["image"], env[MODEL_SHA256_VARIABLE], compiled)
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as error:
        raise ReleaseFileError(
            f"{path}: not the release file mlci writes ({type(error).__name__}: {error}); `mlci deploy` writes it "
            "afresh, or restore it from git"
        ) from None
    raise ReleaseFileError(f"{path}: declares no Deployment; `mlci deploy` writes it afresh, or restore it from git")


def namespace_of(overlay: Path) -> str:
    """The namespace an overlay's kustomization puts the stage in ("default" when it names none)."""
    kustomization = overlay / "kustomization.yaml"
    try:
        settings = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "default"  # kubectl kustomize names what is wrong with it
    return str(settings.get("namespace", "default")) if isinstance(settings, dict) else "default"


class KubernetesTarget:
    """A stage on Kubernetes, declared in its overlay and applied by a controller."""

    declarative = True

    def __init__(self, project: Project, stage: str, overlay: str, store: Store, log: dict[str, str]) -> None:
        self.project = project
        self.stage = stage
        self.overlay = project.root / overlay
        self.where = overlay
        self.store = store
        self.log = log
        self.path = self.overlay / RELEASE_FILE
        self.location = f"git:{self.path.relative_to(project.root).as_posix()}"  # where the release is declared

    def checked_release(self, version: str) -> Release:
        """The release of a stored build, once its bytes match git's seal and git seals its image by digest."""
        name, root = self.project.name, self.project.root
        sealed = verified_build(self.store, root, name, version)
        return Release(
            version, require_image(root, name, version, self.stage), sealed.model_sha256, sealed.compiled_sha256
        )

    def require_overlay(self) -> None:
        if not self.overlay.is_dir():
            raise RefusedError(
                f"{self.where}: no such overlay for {self.stage} ([deploy.{self.stage}] overlay in mlci.toml); "
                "the generated repository keeps one per stage under deploy/kubernetes/overlays"
            )

    def preflight(self) -> None:
        """Refuse a missing overlay, an edited release file, or a branch a commit cannot be pushed from."""
        self.require_overlay()
        writable(self.project.root, self.path)

    def declare(self, release: Release | None, message: str) -> bool:
        self.require_overlay()  # commit_file makes the rest of the preflight's checks, once
        text = release_manifest(self.project.name, release, self.log)
        with exclusive(self.project.root):
            return commit_file(self.project.root, self.path, text, message)

    def declared(self) -> Release | None:
        """What the stage's file declares now; a file mlci cannot read counts as none, and is written afresh."""
        try:
            return read_release(self.path)
        except ReleaseFileError:
            return None

    def deploy(self, version: str) -> Deployment:
        release = self.checked_release(version)
        before = self.declared()
        changed = self.declare(release, f"Deploy {version} to {self.stage} ({release.image.rpartition('@')[2]})")
        replaced = before.version if changed and before and before.version != version else None
        return Deployment(self.stage, self.serving(release), replaced, changed)

    def stop(self) -> Serving | None:
        before = self.declared()
        if before is None:
            return None
        self.declare(None, f"Stop {self.stage} (was {before.version})")
        return self.serving(before)

    def current(self) -> Serving | None:
        try:
            release = read_release(self.path)
        except ReleaseFileError as error:
            return Serving("?", self.location, str(error))
        return self.serving(release) if release else None

    def leftover(self) -> Serving | None:
        return None  # nothing starts here: the cluster applies what git declares

    def serving(self, release: Release) -> Serving:
        digest = release.image.rpartition("@")[2]
        cluster = observed(self.project.name, namespace_of(self.overlay), CONTAINER, VERSION_LABEL)
        return Serving(release.version, self.location, f"declared {digest[:19]}…; cluster: {cluster}")
