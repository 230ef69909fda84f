"""The generated Kubernetes manifests, rendered by `kubectl kustomize` as Argo CD renders them, validated against
the Kubernetes schemas, and held to the rules a production cluster expects: probes on the service's real routes
and port, the image by digest, a non-root read-only container with every capability dropped, requests and limits,
an autoscaler and a disruption budget aimed at the Deployment, and no secret in git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from conftest import generate
from mlci.build.image import IMAGE_UID, SERVING_PORT
from mlci.cli import main
from mlci.core.config import load_config
from mlci.core.project import Project
from mlci.deploy.kind_proof import render_with
from mlci.deploy.targets.kubernetes import Release, release_manifest
from mlci_serving.names import READY_ROUTE

KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")  # the oldest and newest the manifests are validated against
STAGES = ("staging", "production")
DIGEST = "ghcr.io/team/penguin-species@sha256:" + "ab" * 32
Objects = list[dict[str, Any]]


def render(project: Path, stage: str) -> Objects:
    overlay = project / "deploy" / "kubernetes" / "overlays" / stage
    result = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def release(project: Path, stage: str, log: dict[str, str] | None = None) -> None:
    """Declare a release in a stage's overlay, as `mlci deploy` writes it."""
    path = project / "deploy" / "kubernetes" / "overlays" / stage / "release.yaml"
    path.write_text(release_manifest(project.name, Release("v1.2.3", DIGEST, "c0" * 32), log or {}))


def one(objects: Objects, kind: str) -> dict[str, Any]:
    found = [item for item in objects if item["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("kubernetes"))


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated repository whose stages declare a release, the inference log on for production."""
    root = generate(tmp_path_factory.mktemp("released"))
    release(root, "staging")
    release(root, "production", {"INFERENCE_LOG_URL": "s3://bucket/log/production"})
    return root


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(
    project: Path, released: Path, stage: str, version: str
) -> None:
    for root in (project, released):
        for item in render(root, stage):
            kubernetes_validate.validate(item, version, strict=True)  # raises, naming the field, when invalid


def test_the_generated_release_files_are_what_mlci_writes_for_no_release(project: Path) -> None:
    for stage in STAGES:
        path = project / "deploy" / "kubernetes" / "overlays" / stage / "release.yaml"
        assert path.read_text() == release_manifest(project.name, None, {})


def test_a_stage_with_no_release_runs_no_replica_and_has_no_autoscaler(project: Path) -> None:
    for stage in STAGES:
        objects = render(project, stage)
        assert one(objects, "Deployment")["spec"]["replicas"] == 0
        assert not [item for item in objects if item["kind"] == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_released_stage_runs_the_image_by_digest_with_its_version_and_checksum(released: Path, stage: str) -> None:
    objects = render(released, stage)
    deployment = one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]  # the autoscaler decides
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == DIGEST
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["MODEL_VERSION"] == "v1.2.3"
    assert env["MODEL_SHA256"] == "c0" * 32
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.2.3"
    assert {item["metadata"]["namespace"] for item in objects} == {f"{released.name}-{stage}"}


def test_probes_name_the_services_routes_on_the_port_the_image_serves(released: Path) -> None:
    container = one(render(released, "production"), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": SERVING_PORT}
    assert container["readinessProbe"]["httpGet"] == {"path": READY_ROUTE, "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/livez", "port": "http"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_container_is_locked_down_and_sized(released: Path, stage: str) -> None:
    pod = one(render(released, stage), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID  # the user the bento's Dockerfile creates
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]) == {"requests", "limits"}
        assert set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts["/tmp"] in {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        home = {item["name"]: item["value"] for item in container["env"]}["BENTOML_HOME"]
        assert home.startswith("/tmp/")  # BentoML writes its files there: the only writable place


@pytest.mark.parametrize("stage", STAGES)
def test_the_autoscaler_budget_and_service_aim_at_the_deployments_pods(released: Path, stage: str) -> None:
    objects = render(released, stage)
    deployment = one(objects, "Deployment")
    pods = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pods.items()
    target = one(objects, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    budget = one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert budget.items() <= pods.items()
    service = one(objects, "Service")["spec"]
    assert service["selector"].items() <= pods.items()
    assert [port["targetPort"] for port in service["ports"]] == ["http"]


def test_the_inference_log_comes_from_a_config_map_and_credentials_from_a_secret_never_written(
    released: Path,
) -> None:
    objects = render(released, "production")
    assert not [item for item in objects if item["kind"] == "Secret"]
    config = one(objects, "ConfigMap")
    assert config["data"] == {"INFERENCE_LOG_URL": "s3://bucket/log/production"}
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    sources = container["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    assert [source["secretRef"]["optional"] for source in sources if "secretRef" in source] == [True]


def test_each_argo_cd_application_syncs_its_stages_overlay_into_its_namespace(project: Path) -> None:
    for stage in STAGES:
        application = yaml.safe_load((project / "deploy" / "argocd" / f"{stage}.yaml").read_text())
        source, destination = application["spec"]["source"], application["spec"]["destination"]
        assert (project / source["path"]).is_dir()
        namespaces = {item["metadata"]["namespace"] for item in render(project, stage)}
        assert namespaces == {destination["namespace"]}
        assert application["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_the_longest_project_name_allowed_renders_valid_names(tmp_path: Path) -> None:
    root = generate(tmp_path, project_name="x", project="p" * 48, package_name="p")
    release(root, "production")
    for item in render(root, "production"):
        kubernetes_validate.validate(item, KUBERNETES_VERSIONS[-1], strict=True)
        assert len(item["metadata"]["name"]) <= 63
        assert len(item["metadata"]["namespace"]) <= 63


def test_the_kind_proof_applies_the_stage_overlay_with_the_local_image_on_one_replica(
    project: Path, tmp_path: Path
) -> None:
    config = load_config(project / "mlci.toml")
    overlay = project / "deploy" / "kubernetes" / "overlays" / "staging"
    before = (overlay / "release.yaml").read_text()
    local = Release("v1.2.3", "mlci.local/penguin-species:v1.2.3", "c0" * 32)
    text = render_with(Project.read(project, config), overlay, local, tmp_path / "kind")
    objects = [item for item in yaml.safe_load_all(text) if item]
    for item in objects:
        kubernetes_validate.validate(item, KUBERNETES_VERSIONS[-1], strict=True)
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1  # the stage declares none yet: the proof runs one anyway
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == local.image
    assert {item["metadata"]["namespace"] for item in objects} == {"penguin-species-staging"}
    assert (overlay / "release.yaml").read_text() == before  # the overlay itself is never changed


def test_the_kind_proof_refuses_before_doing_anything_without_its_tools(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, kind or kubectl
    monkeypatch.chdir(project)
    assert main(["kind-proof", "v0.0.1"]) == 2
    said = capsys.readouterr().err
    assert "this proof needs docker (not on PATH), kind (not on PATH), kubectl (not on PATH)" in said
    assert not (project / "build").exists()
