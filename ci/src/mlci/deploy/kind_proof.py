"""A proof on a throwaway kind cluster: a stored version's image runs through a stage's overlay as the
cluster's controller would apply it, and answers the smoke test through a port-forward.

The image is the one git seals for the version (`mlci image --push`), pulled by its digest, which docker checks:
the very bytes the cluster will pull. Only a version with no image sealed yet is proved with one built here from
its bento, and the proof says so.

It needs docker with a running engine, kind and kubectl, as GitHub's hosted runners have; the generated
`cluster.yml` runs it there. Where they are missing it refuses before doing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlci.build.image import DOCKERFILE, prepare
from mlci.core.errors import MlciError, RefusedError
from mlci.core.project import Project
from mlci.core.repository import Repository
from mlci.core.runner import attempt, run
from mlci.core.scratch import scratch_folder
from mlci.core.seals import build_seal, image_seal
from mlci.deploy.smoke import answer_problems, ready, smoke_for
from mlci.deploy.targets.kubernetes import Release, namespace_of, release_manifest
from mlci.deploy.targets.process import free_port

CLUSTER = "mlci-proof"
ROLLOUT_TIMEOUT_S = 300
FORWARD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Proof:
    """What the proof ran: the version, its image's local name and where the image came from, the stage's
    namespace, and the smoke test's URL."""

    version: str
    image: str
    source: str
    namespace: str
    url: str


def missing_tools() -> list[str]:
    """The tools this proof needs that this machine lacks, each with why."""
    missing = [f"{tool} (not on PATH)" for tool in ("docker", "kind", "kubectl") if shutil.which(tool) is None]
    if shutil.which("docker") and attempt("docker", "info").returncode != 0:
        missing.append("a running container engine (`docker info` fails)")
    return missing


def render_with(project: Project, overlay: Path, release: Release, workdir: Path) -> str:
    """A stage's overlay rendered as its controller would apply it, running `release` on one replica at least.

    The overlay is taken as it is in the working tree, as a base of a temporary kustomization that patches in
    the release: the overlay itself is never changed."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "release.yaml").write_text(release_manifest(project.name, release, {}))
    (workdir / "replicas.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": project.name}, "spec": {"replicas": 1}}
        )
    )
    base = Path(os.path.relpath(overlay, workdir))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base.as_posix()],
        "patches": [{"path": "release.yaml"}, {"path": "replicas.yaml"}],
    }
    (workdir / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return run("kubectl", "kustomize", str(workdir))


def prove(repository: Repository, version: str, stage: str) -> Proof:
    """Pull (or build) the image, start a kind cluster, apply the stage's overlay with it, wait for the rollout, and
    smoke-test it through a port-forward; the cluster is deleted whatever happens."""
    config, project = repository.config, repository.project
    config.check_stage(stage)
    missing = missing_tools()
    if missing:
        raise MlciError(
            f"this proof needs {', '.join(missing)}: it runs on GitHub's hosted runners (cluster.yml). "
            "Here, `mlci image VERSION` checks the build context and `mlci smoke URL` a running server"
        )
    overlay = project.root / config.deploy[stage].overlay_for(stage)
    sealed = build_seal(project.root, project.name, version)
    image, source = proof_image(repository, version)
    namespace = namespace_of(overlay)
    attempt("kind", "delete", "cluster", "--name", CLUSTER)  # a cluster a killed proof left behind
    run("kind", "create", "cluster", "--name", CLUSTER, "--wait", "180s")
    try:
        run("kind", "load", "docker-image", image, "--name", CLUSTER)
        with scratch_folder("kind") as scratch:
            manifests = Path(scratch) / "rendered.yaml"
            release = Release(version, image, sealed.model_sha256, sealed.compiled_sha256)
            manifests.write_text(render_with(project, overlay, release, project.root / "build" / "kind"))
            run("kubectl", "create", "namespace", namespace)
            run("kubectl", "apply", "--filename", str(manifests))
        run(
            "kubectl",
            "rollout",
            "status",
            f"deployment/{project.name}",
            "--namespace",
            namespace,
            f"--timeout={ROLLOUT_TIMEOUT_S}s",
        )
        url = smoke_through_port_forward(project, namespace, version)
    finally:
        attempt("kind", "delete", "cluster", "--name", CLUSTER)
    return Proof(version, image, source, namespace, url)


def proof_image(repository: Repository, version: str) -> tuple[str, str]:
    """The image to load into kind under a local name, and where it came from: the sealed image pulled by its
    digest, or, with none sealed, one built here from the stored bento (checked against its seal)."""
    project = repository.project
    image = f"mlci.local/{project.name}:{version}"
    sealed = image_seal(project.root, project.name, version)
    if sealed:
        run("docker", "pull", sealed)  # docker refuses content that does not match the digest
        run("docker", "tag", sealed, image)
        return image, f"the sealed image {sealed}"
    context = prepare(repository.store, project, version, project.root / "build" / "image" / version)
    run("docker", "build", "--file", str(context / DOCKERFILE), "--tag", image, str(context))
    return image, f"an image built here from the stored bento: no image of {version} is sealed yet"


def smoke_through_port_forward(project: Project, namespace: str, version: str) -> str:
    """Forward a local port to the stage's Service and send the smoke test; the URL it used."""
    port = free_port()
    command = ["kubectl", "port-forward", "--namespace", namespace, f"service/{project.name}", f"{port}:80"]
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as forward:
        try:
            deadline = time.monotonic() + FORWARD_TIMEOUT_S
            while not ready(url):
                if forward.poll() is not None or time.monotonic() > deadline:
                    said = forward.stderr.read() if forward.stderr and forward.poll() is not None else ""
                    raise RefusedError(
                        f"the Service did not answer through a port-forward in {FORWARD_TIMEOUT_S} s {said}"
                    )
                time.sleep(1)
            problems = answer_problems(url, version, smoke_for(project))
        finally:
            forward.terminate()
    if problems:
        raise RefusedError(f"{version} on the cluster failed its smoke test: " + "; ".join(problems))
    return url
