"""A kubernetes stage's release file, as mlci writes and reads it: the exact text (a controller applies it, and
its history is the stage's), what changes it, and files it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlci.deploy.targets.kubernetes import Release, ReleaseFileError, namespace_of, read_release, release_manifest

IMAGE = "ghcr.io/t/house@sha256:" + "ab" * 32
RELEASE = Release("v1.2.3", IMAGE, "cd" * 32)
LOG = {"INFERENCE_LOG_URL": "s3://b/log/staging", "INFERENCE_LOG_SAMPLE": "0.5"}
HEADER = """\
# The release this stage runs, written by mlci: `mlci deploy`, `mlci promote` and `mlci rollback` change it and
# commit it alone; a controller (Argo CD, Flux) applies the overlay. Do not edit: git's history of this file is
# the stage's deployment history. Replicas and resources belong in the overlay's other files.
"""
RELEASED = (
    HEADER
    + """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: house
  labels:
    app.kubernetes.io/version: v1.2.3
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/version: v1.2.3
      annotations:
        mlci/inference-log: b34ffa445caa4a1f
    spec:
      containers:
      - name: server
        image: ghcr.io/t/house@sha256:abababababababababababababababababababababababababababababababab
        env:
        - name: MODEL_VERSION
          value: v1.2.3
        - name: MODEL_SHA256
          value: cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: house-inference-log
data:
  INFERENCE_LOG_URL: s3://b/log/staging
  INFERENCE_LOG_SAMPLE: '0.5'
"""
)
NOTHING = (
    HEADER
    + """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: house
  labels:
    app.kubernetes.io/version: none
spec:
  replicas: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/version: none
      annotations:
        mlci/inference-log: 44136fa355b3678a
    spec:
      containers:
      - name: server
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: house-inference-log
data: {}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: house
$patch: delete
"""
)


def test_a_release_is_written_exactly_so() -> None:
    assert release_manifest("house", RELEASE, LOG) == RELEASED


def test_no_release_runs_no_replica_and_deletes_the_autoscaler() -> None:
    assert release_manifest("house", None, {}) == NOTHING


def test_the_log_settings_annotation_changes_with_the_settings_only() -> None:
    def annotation(log: dict[str, str]) -> str:
        line = next(line for line in release_manifest("house", RELEASE, log).splitlines() if "inference-log:" in line)
        return line.split(": ")[1]

    reordered = dict(reversed(list(LOG.items())))
    assert annotation(reordered) == annotation(LOG)  # the same settings in another order: no restart
    assert annotation({**LOG, "INFERENCE_LOG_SAMPLE": "0.25"}) != annotation(LOG)
    assert len(annotation(LOG)) == 16


def test_what_is_written_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(release_manifest("house", RELEASE, LOG))
    assert read_release(path) == RELEASE
    path.write_text(release_manifest("house", None, LOG))
    assert read_release(path) is None
    assert read_release(tmp_path / "missing.yaml") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kind: Deployment\nmetadata: [broken\n", "ParserError"),
        ("kind: Deployment\nmetadata: {labels: {}}\n", "KeyError: 'app.kubernetes.io/version'"),
        (
            RELEASED.replace("value: v1.2.3", "value: v9.9.9"),
            "the version label v1.2.3 and MODEL_VERSION v9.9.9 differ",
        ),
        ("kind: ConfigMap\n", "declares no Deployment"),
    ],
)
def test_a_file_mlci_did_not_write_is_named_with_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(text)
    with pytest.raises(ReleaseFileError) as refused:
        read_release(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert problem in str(refused.value)
    assert "`mlci deploy` writes it afresh, or restore it from git" in str(refused.value)


@pytest.mark.parametrize(
    ("kustomization", "namespace"),
    [
        ("namespace: house-staging\nresources: [../../base]\n", "house-staging"),
        ("resources: [../../base]\n", "default"),
        ("- a list, not a kustomization\n", "default"),
        ("namespace: [broken\n", "default"),
        (None, "default"),
    ],
)
def test_the_stage_namespace_is_the_overlays(tmp_path: Path, kustomization: str | None, namespace: str) -> None:
    if kustomization is not None:
        (tmp_path / "kustomization.yaml").write_text(kustomization)
    assert namespace_of(tmp_path) == namespace
