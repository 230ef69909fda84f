"""A kubernetes stage's desired state in git, fast: promotion, deploy, rollback and stop write the stage's overlay
and commit and push that file alone, beside the stage tag; a refusal changes no file. A git repository with a
bare `origin` made here, versions tagged as GTO tags them, builds with image digests in a local store."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import commit, run, store_and_seal
from mlci.build.image import check_reference, make_image
from mlci.core.config import load_config
from mlci.core.errors import BuildError, MlciError, RefusedError
from mlci.core.registry import Registry
from mlci.core.repository import Repository
from mlci.core.seals import image_seal, seal_image
from mlci.deploy.kind_proof import proof_image
from mlci.deploy.stages import deploy_stage, promote_stage, rollback_stage, stop_stage
from mlci.deploy.status import stages_table
from mlci.deploy.targets.kubernetes import Release, read_release, release_manifest

CONFIG = """\
[metrics]
f1 = "higher"
baseline_f1 = "higher"

[gates]
beat_baseline = {{f1 = 0.05}}

[store]
url = "{store}"

[deploy.staging]
target = "kubernetes"

[deploy.production]
target = "kubernetes"
overlay = "k8s/prod"
"""
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "t@e.com",
}
OVERLAYS = {"staging": "deploy/kubernetes/overlays/staging", "production": "k8s/prod"}


def digest_of(name: str) -> str:
    return f"ghcr.io/team/house@sha256:{(name.encode().hex() * 64)[:64]}"


def model_of(name: str) -> str:
    """The model checksum `store_and_seal` seals for a version."""
    return hashlib.sha256(f"the model of {name}".encode()).hexdigest()


def version(root: Path, name: str, f1: float, image: bool = True) -> None:
    """Commit metrics, tag the commit as GTO registers a version, store its build and seal it and (by default) its
    image in git, as `mlci build` and `mlci image` do."""
    (root / "reports" / "metrics.json").write_text(json.dumps({"f1": f1, "baseline_f1": 0.4}))
    commit(root, f"Metrics of {name}")
    run("git", "tag", "-a", f"model@{name}", "-m", f"Registering artifact model version {name}", cwd=root)
    run("git", "push", "--quiet", "origin", "HEAD", f"model@{name}", cwd=root)
    store_and_seal(root, root.parent / "store", "house", name)
    if image:
        seal_image(root, "house", name, digest_of(name))


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Repository, Path]:
    root, origin = tmp_path / "house", tmp_path / "origin.git"
    (root / "reports").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "house"\n')
    (root / "dvc.yaml").write_text(
        "artifacts:\n  model:\n    path: models/model.pkl\nmetrics: [reports/metrics.json]\n"
    )
    (root / "mlci.toml").write_text(CONFIG.format(store=tmp_path / "store"))
    for stage, overlay in OVERLAYS.items():
        (root / overlay).mkdir(parents=True)
        (root / overlay / "kustomization.yaml").write_text(f"namespace: house-{stage}\n")
        (root / overlay / "release.yaml").write_text(release_manifest("house", None, {}))
    for variable, value in IDENTITY.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # status asks no real cluster
    run("git", "init", "--quiet", "--initial-branch", "main", cwd=root)
    run("git", "init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    run("git", "remote", "add", "origin", str(origin), cwd=root)
    commit(root, "A house with two kubernetes stages")
    run("git", "push", "--quiet", "origin", "main", cwd=root)
    version(root, "v0.0.1", f1=0.8)
    return root, Repository.of(load_config(root / "mlci.toml"), root), origin


def declared(root: Path, stage: str, revision: str = "HEAD") -> Release | None:
    """The release a stage's overlay declares in a commit (of this clone, or of origin with `origin/main`)."""
    text = run("git", "show", f"{revision}:{OVERLAYS[stage]}/release.yaml", cwd=root).stdout
    (root.parent / "shown.yaml").write_text(text)
    return read_release(root.parent / "shown.yaml")


def on_origin(root: Path, stage: str) -> Release | None:
    run("git", "fetch", "--quiet", "origin", cwd=root)
    return declared(root, stage, "origin/main")


def head(root: Path) -> str:
    return run("git", "rev-parse", "HEAD", cwd=root).stdout.strip()


def test_promotions_and_a_rollback_declare_each_version_by_digest_in_git_and_on_origin(
    repository: tuple[Path, Repository, Path],
) -> None:
    root, house, origin = repository
    promotion = promote_stage(house, "v0.0.1", "staging")
    assert promotion.deployment is not None
    assert promotion.deployment.changed
    assert on_origin(root, "staging") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))
    assert "model#staging#1" in run("git", "tag", cwd=origin).stdout.split()
    assert declared(root, "production") is None
    promote_stage(house, "v0.0.1", "production")
    version(root, "v0.0.2", f1=0.9)
    promote_stage(house, "v0.0.2", "staging")
    promoted = promote_stage(house, "v0.0.2", "production")
    assert promoted.deployment is not None
    assert promoted.deployment.replaced == "v0.0.1"
    assert on_origin(root, "production") == Release("v0.0.2", digest_of("v0.0.2"), model_of("v0.0.2"))
    assignment, deployment = rollback_stage(house, "production")
    assert (assignment.version, deployment.replaced) == ("v0.0.1", "v0.0.2")
    assert (deployment.stage, deployment.serving.version) == ("production", "v0.0.1")
    subject = run("git", "log", "-1", "--format=%s", cwd=root).stdout.strip()
    assert subject == f"Deploy v0.0.1 to production ({digest_of('v0.0.1').rpartition('@')[2]})"
    assert on_origin(root, "production") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))
    assert on_origin(root, "staging") == Release("v0.0.2", digest_of("v0.0.2"), model_of("v0.0.2"))
    # each deploy is one commit of the overlay file alone: the file's history is the stage's deployment history
    history = run("git", "log", "--format=%s", "--", f"{OVERLAYS['production']}/release.yaml", cwd=root).stdout
    assert [line.split(" (")[0] for line in history.splitlines()] == [
        "Deploy v0.0.1 to production",
        "Deploy v0.0.2 to production",
        "Deploy v0.0.1 to production",
        "A house with two kubernetes stages",
    ]
    changed = run("git", "show", "--name-only", "--format=", "HEAD", cwd=root).stdout.split()
    assert changed == [f"{OVERLAYS['production']}/release.yaml"]
    table = stages_table(house, house.registry())
    assert "k8s/prod" in table
    assert "no kubectl context" in table
    assert table.count("in sync") == 2


def test_a_deploy_of_what_git_declares_already_commits_nothing(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    promote_stage(house, "v0.0.1", "staging")
    before = head(root)
    assert not deploy_stage(house, "staging").changed
    assert head(root) == before


@pytest.mark.parametrize("failure", ["gate", "no image"])
def test_a_refused_promotion_changes_no_file_and_creates_no_tag(
    repository: tuple[Path, Repository, Path], failure: str
) -> None:
    root, house, _ = repository
    if failure == "gate":
        version(root, "v0.0.2", f1=0.44)  # beats the dummy model by 0.04, under the 0.05 margin
        expected = "gates: v0.0.2 fails"
    else:
        version(root, "v0.0.2", f1=0.9, image=False)
        expected = "staging: house v0.0.2 has no image sealed in git, so no cluster could run it"
    before = head(root)
    with pytest.raises(RefusedError, match=expected):
        promote_stage(house, "v0.0.2", "staging")
    assert head(root) == before
    assert not run("git", "status", "--porcelain", cwd=root).stdout
    assert Registry.read(root, "model").holder("staging") is None


def test_a_deploy_refuses_a_branch_out_of_step_with_origin_or_a_detached_head(
    repository: tuple[Path, Repository, Path],
) -> None:
    root, house, _ = repository
    promote_stage(house, "v0.0.1", "staging")
    stop_stage(house, "staging")  # a change to deploy again
    (root / "notes.txt").write_text("mine, not pushed")
    run("git", "add", "notes.txt", cwd=root)
    commit(root, "A commit of my own")
    before = head(root)
    with pytest.raises(RefusedError) as refused:
        deploy_stage(house, "staging")
    assert str(refused.value) == (
        "main here differs from origin's: pull (and push your own commits) first, so that the deploy's commit is "
        "the only one it pushes. Nothing was changed"
    )
    assert head(root) == before
    run("git", "reset", "--quiet", "--hard", "origin/main", cwd=root)
    run("git", "checkout", "--quiet", "--detach", cwd=root)
    with pytest.raises(RefusedError) as detached:
        deploy_stage(house, "staging")
    assert str(detached.value) == (
        "HEAD is detached: a kubernetes stage's desired state is committed to a branch, the one its controller "
        "watches. Check out that branch (e.g. `git switch main`) and run this again"
    )


def test_a_push_origin_refuses_is_undone_here(repository: tuple[Path, Repository, Path]) -> None:
    root, house, origin = repository
    promote_stage(house, "v0.0.1", "staging")
    stop_stage(house, "staging")
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do case $ref in refs/heads/*) exit 1;; esac; done\n")
    hook.chmod(0o755)
    before = head(root)
    with pytest.raises(RefusedError) as refused:
        deploy_stage(house, "staging")
    message = str(refused.value)
    assert message.startswith(
        "origin refused the commit of deploy/kubernetes/overlays/staging/release.yaml, so it was undone here and "
        "nothing changed:\n"
    )
    assert message.endswith("\nIf someone pushed meanwhile, pull and run this again")
    assert head(root) == before
    assert not run("git", "status", "--porcelain", cwd=root).stdout
    assert declared(root, "staging") is None


def test_an_edited_release_file_is_refused_not_overwritten(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    release = root / OVERLAYS["staging"] / "release.yaml"
    release.write_text(release.read_text() + "# mine\n")
    with pytest.raises(RefusedError, match=r"release\.yaml has uncommitted changes; mlci writes it"):
        promote_stage(house, "v0.0.1", "staging")
    assert release.read_text().endswith("# mine\n")
    assert Registry.read(root, "model").holder("staging") is None  # refused before the tag


def test_stop_declares_no_replica_and_no_autoscaler(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    assert stop_stage(house, "staging") is None  # nothing declared: nothing to stop, no commit
    promote_stage(house, "v0.0.1", "staging")
    stopped = stop_stage(house, "staging")
    assert stopped is not None
    assert stopped.version == "v0.0.1"
    documents = list(yaml.safe_load_all((root / OVERLAYS["staging"] / "release.yaml").read_text()))
    assert documents[0]["spec"]["replicas"] == 0
    assert documents[-1] == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "house"},
        "$patch": "delete",
    }
    assert on_origin(root, "staging") is None


def test_an_image_is_sealed_once_per_build(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    folder = root.parent / "context"
    same = make_image(house, "v0.0.1", folder, record=digest_of("v0.0.1"))  # the same again: nothing to change
    assert same.image == digest_of("v0.0.1")
    with pytest.raises(BuildError, match=r"already has the image .* sealed in git, not .*: a build keeps its first"):
        make_image(house, "v0.0.1", folder, record=digest_of("another"))
    assert image_seal(root, "house", "v0.0.1") == digest_of("v0.0.1")


def test_an_image_the_stores_record_names_is_never_read(repository: tuple[Path, Repository, Path]) -> None:
    """Whoever may write to the store cannot choose the image a cluster runs: git's seal names it."""
    root, house, _ = repository
    record = root.parent / "store" / "house" / "v0.0.1.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "image": digest_of("an attacker's")}))
    promote_stage(house, "v0.0.1", "staging")
    assert on_origin(root, "staging") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))


def test_a_release_file_mlci_cannot_read_is_shown_as_such_and_written_afresh_by_a_deploy(
    repository: tuple[Path, Repository, Path],
) -> None:
    root, house, _ = repository
    release = root / OVERLAYS["staging"] / "release.yaml"
    release.write_text("kind: Deployment\nmetadata: [broken\n")
    commit(root, "A release file edited by hand")
    run("git", "push", "--quiet", "origin", "main", cwd=root)
    table = stages_table(house, house.registry())
    assert "not the release file mlci writes" in table
    assert re.search(r"^staging\s+-\s+\? \(", table, re.MULTILINE), table  # declared: unknown
    promote_stage(house, "v0.0.1", "staging")
    assert on_origin(root, "staging") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))


def test_a_sealed_image_that_is_not_by_digest_is_refused(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    run("git", "tag", "--delete", "mlci-image/house/v0.0.1", cwd=root)
    message = json.dumps({"image": "ghcr.io/team/house:latest"})
    run("git", "tag", "--annotate", "mlci-image/house/v0.0.1", "--message", message, cwd=root)
    run("git", "push", "--quiet", "--force", "origin", "refs/tags/mlci-image/house/v0.0.1", cwd=root)
    before = head(root)
    with pytest.raises(RefusedError, match=r"names the image 'ghcr\.io/team/house:latest', not an image by digest"):
        promote_stage(house, "v0.0.1", "staging")
    assert head(root) == before
    assert Registry.read(root, "model").holder("staging") is None


def test_a_deploy_commit_skips_the_repositorys_own_hooks(repository: tuple[Path, Repository, Path]) -> None:
    """A pre-commit hook may need an environment a deploy job lacks: the commit of mlci's own file skips it."""
    root, house, _ = repository
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hooks need the dev environment' >&2\nexit 1\n")
    hook.chmod(0o755)
    promote_stage(house, "v0.0.1", "staging")
    assert on_origin(root, "staging") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))


def test_without_an_origin_the_deploy_is_committed_here(repository: tuple[Path, Repository, Path]) -> None:
    root, house, _ = repository
    run("git", "remote", "remove", "origin", cwd=root)
    before = head(root)
    deployment = promote_stage(house, "v0.0.1", "staging").deployment
    assert deployment is not None
    assert deployment.changed
    assert run("git", "rev-parse", "HEAD~1", cwd=root).stdout.strip() == before
    assert declared(root, "staging") == Release("v0.0.1", digest_of("v0.0.1"), model_of("v0.0.1"))


def test_the_kind_proof_runs_the_sealed_image_pulled_by_its_digest(
    repository: tuple[Path, Repository, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof runs the bytes the cluster will pull: the image git seals, pulled by digest, not one built here."""
    _, house, _ = repository
    engine = tmp_path / "engine"
    engine.mkdir()
    shutil.copy(Path(__file__).parent / "fake-docker", engine / "docker")
    monkeypatch.setenv("PATH", f"{engine}:{os.environ['PATH']}")
    image, source = proof_image(house, "v0.0.1")
    assert image == "mlci.local/house:v0.0.1"
    assert source == f"the sealed image {digest_of('v0.0.1')}"
    calls = (engine / "docker.log").read_text().splitlines()
    assert calls == [f"pull {digest_of('v0.0.1')}", f"tag {digest_of('v0.0.1')} mlci.local/house:v0.0.1"]


def test_status_names_the_declared_digest_and_the_overlay(repository: tuple[Path, Repository, Path]) -> None:
    _, house, _ = repository
    promote_stage(house, "v0.0.1", "staging")
    current = stages_table(house, house.registry())
    digest = digest_of("v0.0.1").rpartition("@")[2]
    expected = (
        f"v0.0.1 (declared {digest[:19]}…; cluster: not asked (no kubectl context))  "
        "deploy/kubernetes/overlays/staging  in sync"
    )
    assert expected in current


@pytest.mark.parametrize(
    ("log", "data"),
    [
        ('log = "s3://bucket/inference-log"', {"INFERENCE_LOG_URL": "s3://bucket/inference-log/staging"}),
        ('log = "~/inference-log"', {}),  # a folder of one machine means nothing inside a pod
    ],
)
def test_the_inference_log_settings_reach_the_cluster_only_as_a_url(
    repository: tuple[Path, Repository, Path], log: str, data: dict[str, str]
) -> None:
    root, _, _ = repository
    config_file = root / "mlci.toml"
    config_file.write_text(config_file.read_text() + f"\n[monitoring]\n{log}\n")
    commit(root, "Log the requests")
    run("git", "push", "--quiet", "origin", "main", cwd=root)
    config = load_config(config_file)
    promote_stage(Repository.of(config, root), "v0.0.1", "staging")
    documents = list(yaml.safe_load_all((root / OVERLAYS["staging"] / "release.yaml").read_text()))
    (config_map,) = [document for document in documents if document["kind"] == "ConfigMap"]
    expected = (
        {
            **data,
            "INFERENCE_LOG_SAMPLE": "1",
            "INFERENCE_LOG_SEGMENT_BYTES": "8388608",
            "INFERENCE_LOG_FLUSH_SECONDS": "60",
        }
        if data
        else {}
    )
    assert config_map["data"] == expected


def test_a_promotion_to_a_stage_mlci_toml_lacks_is_refused_by_name(repository: tuple[Path, Repository, Path]) -> None:
    _, house, _ = repository
    with pytest.raises(MlciError, match=r"no stage 'qa': the stages are staging, production"):
        promote_stage(house, "v0.0.1", "qa")


@pytest.mark.parametrize("image", ["ghcr.io/team/house:latest", digest_of("v0.0.1") + "\n"])
def test_only_an_image_by_digest_and_nothing_after_it_is_recorded(image: str) -> None:
    with pytest.raises(BuildError, match="is not an image by digest"):
        check_reference(image)
