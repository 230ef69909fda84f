"""The registry in git, promotion through gates, deploy and rollback: one clone of the shared repository,
its own bare `origin`, real GTO tags, real bentos served on real ports.

The tests run in any order. Each version is a module fixture, made once (a commit, its pipeline, register,
build); a test that needs a stage held by a version makes it so first (`hold`), and asserts what its own
commands changed, not what the registry holds in all.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.error import URLError

import pytest
import yaml
from conftest import (
    RELEASE_IDENTITY,
    clone_with_origin,
    commit_and_push,
    edited,
    register_and_build,
    run,
    serve_stages_on_free_ports,
    set_params,
    stop_stages,
)
from mlci.core.registry import Registry
from mlci.core.tracked import locked_md5s
from mlci.deploy.targets.process import children
from served import request

pytestmark = pytest.mark.slow


class Workspace(NamedTuple):
    """A clone whose `origin` is a local bare repository, with its own state and cache folders."""

    path: Path
    origin: Path
    env: dict[str, str]
    staging_port: int
    production_port: int


@pytest.fixture(scope="module")
def workspace(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    clone = clone_with_origin(reproduced, tmp_path_factory.mktemp("registry"))
    staging, production = serve_stages_on_free_ports(clone, staging_workers=2)
    config = clone.path / "mlci.toml"  # absolute gates beside the relative defaults, for figures known in advance
    text = config.read_text().replace("limit = {}", "limit = {accuracy = 0.9}")
    config.write_text(text.replace("max_regression = {f1_macro = 0.02}", "max_regression = {accuracy = 0.01}"))
    commit_and_push(clone.path, clone.env, "Gate on accuracy")
    yield Workspace(clone.path, clone.origin, clone.env, staging, production)
    stop_stages(clone)


def mlci(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["uv", "run", "--no-sync", "mlci", *args], cwd=ws.path, env=ws.env, capture_output=True, text=True
    )


def remote_tags(ws: Workspace) -> set[str]:
    listing = run("git", "ls-remote", "--tags", str(ws.origin), cwd=ws.path).stdout
    return {line.split("refs/tags/")[1] for line in listing.splitlines() if not line.endswith("^{}")}


def local_tags(ws: Workspace) -> set[str]:
    return set(run("git", "tag", cwd=ws.path).stdout.split())


class Version(NamedTuple):
    """A registered and built version: its name and the commit it registers."""

    name: str
    commit: str


def new_version(ws: Workspace, message: str, params: dict[str, str] | None = None) -> Version:
    """Change params (or nothing), reproduce, push, commit, register and build; the new version."""
    if params:
        set_params(ws.path, **params)
        run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=ws.path, env=ws.env)
        run("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=ws.path, env=ws.env)
    run("git", "commit", "--quiet", "--all", "--allow-empty", "-m", message, cwd=ws.path, env=ws.env)
    run("git", "push", "--quiet", "origin", "HEAD", cwd=ws.path, env=ws.env)
    version = register_and_build(ws.path, ws.env)
    commit = run("git", "rev-parse", "HEAD", cwd=ws.path).stdout.strip()
    return Version(version, commit)


def holder(ws: Workspace, stage: str) -> str | None:
    return Registry.read(ws.path, "model").holder(stage)


def hold(ws: Workspace, version: str, stage: str) -> None:
    """Make `version` hold `stage`, promoting it through each stage before it that it does not hold."""
    stages = ["staging", "production"]
    for step in stages[: stages.index(stage) + 1]:
        if holder(ws, step) != version:
            promoted = mlci(ws, "promote", version, "--to", step)
            assert promoted.returncode == 0, f"{version} to {step}: {promoted.stdout}{promoted.stderr}"


def deployed(ws: Workspace, stage: str) -> subprocess.CompletedProcess[str]:
    result = mlci(ws, "deploy", stage)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def unregistered_head(ws: Workspace) -> None:
    """A commit that no version registers on top of HEAD, pushed (the model is unchanged)."""
    run("git", "commit", "--quiet", "--allow-empty", "-m", "Nothing registered here yet", cwd=ws.path, env=ws.env)
    run("git", "push", "--quiet", "origin", "HEAD", cwd=ws.path, env=ws.env)


class Staged(NamedTuple):
    """What the first promotion to staging and its deploys left, recorded as they happened."""

    promoted: str
    added_tags: set[str]
    answered: str
    workers: int
    again: str
    status: str


class First(NamedTuple):
    """The first version, and its promotion to staging, made before any other promotion."""

    name: str
    commit: str
    said: str
    staged: Staged


@pytest.fixture(scope="module")
def first(workspace: Workspace) -> First:
    """The reproduced commit registered and built (v0.0.1), promoted to staging and deployed there."""
    registered = mlci(workspace, "register")
    assert registered.returncode == 0, registered.stderr
    built = mlci(workspace, "build")
    assert built.returncode == 0, built.stderr
    commit = run("git", "rev-parse", "HEAD", cwd=workspace.path).stdout.strip()
    before = remote_tags(workspace)
    promoted = mlci(workspace, "promote", "v0.0.1", "--to", "staging")
    assert promoted.returncode == 0, promoted.stderr
    added = remote_tags(workspace) - before
    deployed(workspace, "staging")
    answered = answered_version(workspace, workspace.staging_port)
    count = len(workers(workspace, "staging"))
    again = deployed(workspace, "staging").stdout
    status = mlci(workspace, "status").stdout
    staged = Staged(promoted.stdout, added, answered, count, again, status)
    return First("v0.0.1", commit, registered.stdout, staged)


@pytest.fixture(scope="module")
def shallow(workspace: Workspace, first: First) -> Version:
    """Two one-level trees: a version that fails the accuracy gates."""
    return new_version(workspace, "Shallow trees", {"n_estimators": "2", "max_depth": "1"})


@pytest.fixture(scope="module")
def more(workspace: Workspace, first: First) -> Version:
    """120 trees: a version that passes every gate against the first."""
    return new_version(workspace, "More trees", {"n_estimators": "120", "max_depth": "8"})


@pytest.fixture(scope="module")
def broken(workspace: Workspace, first: First) -> Version:
    """A version whose service refuses every request (a body limit of 10 bytes: 413); the service is repaired in a
    commit after it."""
    service = workspace.path / "src" / "penguin_species" / "service.py"
    text = service.read_text()
    failing = text.replace("ServingSettings(timeout=10,", "ServingSettings(max_body_bytes=10, timeout=10,")
    assert failing != text
    service.write_text(failing)
    # The first version's params, whatever other versions left in params.yaml: the same model, the gates pass.
    version = new_version(workspace, "A service that fails", {"n_estimators": "100", "max_depth": "8"})
    service.write_text(text)
    commit_and_push(workspace.path, workspace.env, "Repair the service")
    return version


def answered_version(ws: Workspace, port: int) -> str:
    example = (ws.path / "examples" / "predict.json").read_bytes()
    status, body = request(f"http://127.0.0.1:{port}/predict", example)
    assert status == 200, body
    return str(json.loads(body)[0]["model_version"])


def workers(ws: Workspace, stage: str) -> list[int]:
    """The BentoML worker processes of a stage's server."""
    (record,) = (Path(ws.env["XDG_STATE_HOME"]) / "mlci").glob(f"penguin-species-*/{stage}.json")
    server = json.loads(record.read_text())["pid"]
    return [pid for pid in children(server) if b"_bentoml_impl.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_register_refuses_a_dirty_tree(workspace: Workspace) -> None:
    before = local_tags(workspace)
    with edited(workspace.path / "params.yaml", lambda text: text + "\n"):
        result = mlci(workspace, "register")
    assert result.returncode == 1
    assert "uncommitted changes" in result.stderr
    assert local_tags(workspace) == before


def test_register_refuses_a_model_not_in_the_dvc_remote(workspace: Workspace, tmp_path: Path) -> None:
    unregistered_head(workspace)
    before = local_tags(workspace)
    remote = run("uv", "run", "--no-sync", "dvc", "config", "remote.storage.url", cwd=workspace.path).stdout.strip()
    empty = tmp_path / "empty-remote"
    empty.mkdir()
    run("uv", "run", "--no-sync", "dvc", "config", "--local", "remote.storage.url", str(empty), cwd=workspace.path)
    try:
        result = mlci(workspace, "register")
    finally:
        run("uv", "run", "--no-sync", "dvc", "config", "--local", "--unset", "remote.storage.url", cwd=workspace.path)
    assert (
        run("uv", "run", "--no-sync", "dvc", "config", "remote.storage.url", cwd=workspace.path).stdout.strip()
        == remote
    )
    assert result.returncode == 1
    assert "models/model.pkl is not in the DVC remote" in result.stderr
    assert local_tags(workspace) == before


def test_register_without_a_git_identity_says_so(workspace: Workspace, tmp_path: Path) -> None:
    unregistered_head(workspace)
    before = local_tags(workspace)
    anonymous = {key: value for key, value in workspace.env.items() if key not in RELEASE_IDENTITY and key != "EMAIL"}
    anonymous |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    command = ["uv", "run", "--no-sync", "mlci", "register"]
    result = subprocess.run(command, cwd=workspace.path, env=anonymous, capture_output=True, text=True)
    assert result.returncode == 2
    assert "Git user name and email must be configured" in result.stderr
    assert local_tags(workspace) == before


def test_register_tags_the_commit_for_gto_and_pushes_the_tag(workspace: Workspace, first: First) -> None:
    assert "registered model@v0.0.1" in first.said
    assert "model@v0.0.1" in remote_tags(workspace)
    tagged = run("git", "rev-parse", "model@v0.0.1^{commit}", cwd=workspace.path).stdout.strip()
    assert tagged == first.commit
    shown = run("uv", "run", "--no-sync", "gto", "show", cwd=workspace.path).stdout
    assert "v0.0.1" in shown  # GTO itself reads the registry
    branch = run("git", "branch", "--show-current", cwd=workspace.path).stdout.strip()
    run("git", "checkout", "--quiet", "--detach", first.commit, cwd=workspace.path)
    try:
        again = mlci(workspace, "register")
    finally:
        run("git", "checkout", "--quiet", branch, cwd=workspace.path)
    assert again.returncode == 1
    assert "already registered as model@v0.0.1" in again.stderr


def test_promotion_refuses_a_version_with_no_stored_build(
    workspace: Workspace, first: First, more: Version, tmp_path: Path
) -> None:
    hold(workspace, more.name, "staging")  # so that the stage order lets the first version be promoted there
    before = local_tags(workspace)
    empty = tmp_path / "empty-store"
    with edited(workspace.path / "mlci.toml", lambda text: re.sub(r'(?m)^url = ".*"$', f'url = "{empty}"', text)):
        result = mlci(workspace, "promote", first.name, "--to", "staging")
    assert result.returncode == 2
    assert "no build of penguin-species v0.0.1" in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("v9.9.9", "--to", "staging"), 2, "model has no version 'v9.9.9'; registered versions: v0.0.1"),
        (("v0.0.1", "--to", "qa"), 2, "no stage 'qa': the stages are staging, production"),
        (("SHALLOW", "--to", "production"), 1, "a version reaches production only from staging"),
    ],
)
def test_promotion_refuses_unknown_versions_and_stages_and_skipped_stages(
    workspace: Workspace, shallow: Version, args: tuple[str, ...], code: int, message: str
) -> None:
    before = local_tags(workspace)
    result = mlci(workspace, "promote", *(shallow.name if arg == "SHALLOW" else arg for arg in args))
    assert result.returncode == code
    assert message in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == before


def test_promotion_to_staging_tags_and_deploy_serves_it(first: First) -> None:
    staged = first.staged
    assert "accuracy >= 0.9" in staged.promoted
    assert len(staged.added_tags) == 1
    assert re.fullmatch(r"model#staging#\d+", staged.added_tags.pop())
    assert staged.answered == "v0.0.1"
    assert staged.workers == 2  # [deploy.staging] workers
    assert "already runs" in staged.again
    assert "nothing to do" in staged.again
    assert re.search(r"staging\s+v0\.0\.1\s+v0\.0\.1 \(pid \d+\)\s+port \d+\s+in sync", staged.status), staged.status


def test_deploy_refuses_a_port_another_program_holds(workspace: Workspace, first: First) -> None:
    hold(workspace, first.name, "production")
    assert mlci(workspace, "stop", "production").returncode == 0  # the deploy must start a server
    with socket.socket() as squatter:
        # Another program listening: SO_REUSEADDR lets it bind a port that a finished connection still lingers on
        # (TIME_WAIT), or that a client connection happens to use as its own, as a fresh server may.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", workspace.production_port))
        squatter.listen()
        result = mlci(workspace, "deploy", "production")
    assert result.returncode == 1
    assert f"port {workspace.production_port} is taken by another program" in result.stderr
    deployed(workspace, "production")
    assert answered_version(workspace, workspace.production_port) == first.name


def test_a_failing_gate_refuses_with_its_figures_and_creates_no_tag(
    workspace: Workspace, first: First, shallow: Version
) -> None:
    hold(workspace, first.name, "staging")  # the champion the loss is measured against
    before = remote_tags(workspace)
    result = mlci(workspace, "promote", shallow.name, "--to", "staging")
    assert result.returncode == 1
    shown = run("git", "show", f"{shallow.commit}:reports/metrics.json", cwd=workspace.path).stdout
    metrics = json.loads(shown)
    assert re.search(rf"accuracy >= 0\.9\s+{metrics['accuracy']:g}\s+0\.9\s+FAIL", result.stdout), result.stdout
    assert re.search(rf"accuracy loss vs v0\.0\.1 <= 0\.01\s+{metrics['accuracy']:g}\s+1\s+FAIL", result.stdout)
    assert f"gates: {shallow.name} fails" in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == before


def test_a_damaged_champion_stops_the_promotion_saying_what_to_repair(
    workspace: Workspace, first: First, more: Version
) -> None:
    """The champion's model damaged in the DVC cache and in the remote: never "not compared", never a pass."""
    hold(workspace, first.name, "staging")
    lock = yaml.safe_load(run("git", "show", f"{first.commit}:dvc.lock", cwd=workspace.path).stdout)
    (recorded,) = set(locked_md5s(lock, Path("models/model.pkl")))
    remote_url = re.search(r"url = (.+)", (workspace.path / ".dvc" / "config").read_text())
    assert remote_url, "the clone's DVC remote"
    remote = Path(remote_url[1].strip())
    where = Path("files", "md5", recorded[:2], recorded[2:])
    copies = {path: path.read_bytes() for path in (workspace.path / ".dvc" / "cache" / where, remote / where)}
    before = remote_tags(workspace)
    try:
        for path, data in copies.items():
            path.chmod(0o644)
            path.write_bytes(data + b"damaged")
        result = mlci(workspace, "promote", more.name, "--to", "staging")
    finally:
        for path, data in copies.items():
            path.write_bytes(data)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DVC served bytes other than those git records" in result.stderr
    assert f"delete files/md5/{recorded[:2]}/{recorded[2:]} from .dvc/cache and from the remote" in result.stderr
    assert "not compared" not in result.stdout + result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == before
    assert holder(workspace, "staging") == first.name


def test_an_altered_build_is_refused(workspace: Workspace, first: First, more: Version, tmp_path: Path) -> None:
    hold(workspace, first.name, "staging")
    store = Path(tomllib.loads((workspace.path / "mlci.toml").read_text())["store"]["url"])
    bento = store / "penguin-species" / f"{more.name}.bento"
    assert bento.is_file(), bento
    shutil.copy2(bento, tmp_path / "original.bento")
    before = local_tags(workspace)
    with bento.open("ab") as file:
        file.write(b"tampered")
    try:
        result = mlci(workspace, "promote", more.name, "--to", "staging")
    finally:
        shutil.copy2(tmp_path / "original.bento", bento)
    assert result.returncode == 2
    assert f"the build of penguin-species {more.name} is not the one git seals" in result.stderr
    assert local_tags(workspace) == before
    promoted = mlci(workspace, "promote", more.name, "--to", "staging")
    assert promoted.returncode == 0, promoted.stderr
    assert "accuracy loss vs v0.0.1 <= 0.01" in promoted.stdout
    deployed(workspace, "staging")
    assert answered_version(workspace, workspace.staging_port) == more.name


def test_a_build_failing_its_smoke_test_leaves_the_previous_version_serving(
    workspace: Workspace, first: First, broken: Version
) -> None:
    hold(workspace, first.name, "staging")
    deployed(workspace, "staging")
    assert answered_version(workspace, workspace.staging_port) == first.name
    hold(workspace, broken.name, "staging")
    result = mlci(workspace, "deploy", "staging")
    assert result.returncode == 1
    assert f"{broken.name} failed its smoke test" in result.stderr
    assert "the example request examples/predict.json got 413, not 200" in result.stderr  # a body past 10 bytes
    assert f"{first.name} keeps running" in result.stderr
    assert answered_version(workspace, workspace.staging_port) == first.name
    status = mlci(workspace, "status").stdout
    assert re.search(rf"staging\s+{broken.name}\s+{first.name} \(pid \d+\).*out of date", status), status


def test_rollback_reassigns_the_previous_version_with_a_new_tag(
    workspace: Workspace, first: First, more: Version
) -> None:
    hold(workspace, first.name, "staging")
    hold(workspace, more.name, "staging")
    deployed(workspace, "staging")
    before = {tag for tag in remote_tags(workspace) if tag.startswith("model#staging#")}
    result = mlci(workspace, "rollback", "staging")
    assert result.returncode == 0, result.stderr
    after = {tag for tag in remote_tags(workspace) if tag.startswith("model#staging#")}
    assert before < after
    assert len(after - before) == 1
    assert f"rolled staging back to {first.name}" in result.stdout
    assert answered_version(workspace, workspace.staging_port) == first.name
    assert holder(workspace, "staging") == first.name


def test_rollback_with_no_earlier_version_is_refused(workspace: Workspace, first: First) -> None:
    hold(workspace, first.name, "production")  # no other version is ever promoted to production here
    before = local_tags(workspace)
    result = mlci(workspace, "rollback", "production")
    assert result.returncode == 1
    assert "production has no earlier version to roll back to: only v0.0.1 has held it" in result.stderr
    assert local_tags(workspace) == before


def test_a_tag_the_remote_rejects_is_removed_here_too(workspace: Workspace, first: First, more: Version) -> None:
    hold(workspace, first.name, "staging")
    hook = workspace.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = local_tags(workspace)
    try:
        result = mlci(workspace, "promote", more.name, "--to", "staging")
    finally:
        hook.unlink()
    assert result.returncode == 1
    assert "origin refused the tag model#staging#" in result.stderr
    assert "tags are frozen" in result.stderr
    assert local_tags(workspace) == before == remote_tags(workspace)


def test_a_promotion_while_another_holds_the_registry_is_refused_and_the_registry_stays_consistent(
    workspace: Workspace, first: First, more: Version
) -> None:
    """Two promotions at once: the second finds the first holding the registry's lock. The test holds the lock
    itself, so the two always overlap (racing two processes depended on the machine's timing)."""
    hold(workspace, first.name, "staging")
    promote = ("promote", more.name, "--to", "staging")
    before = local_tags(workspace)
    lock = workspace.path / ".git" / "mlci-registry.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = mlci(workspace, *promote)
    assert second.returncode == 1
    assert "another mlci command is changing this repository's registry right now" in second.stderr
    assert local_tags(workspace) == before == remote_tags(workspace)
    after = mlci(workspace, *promote)  # the lock released: the next one proceeds
    assert after.returncode == 0, after.stderr
    added = local_tags(workspace) - before
    assert len(added) == 1, added
    assert added.pop().startswith("model#staging#")
    assert local_tags(workspace) == remote_tags(workspace)
    tagged = local_tags(workspace)
    again = mlci(workspace, *promote)  # the same promotion once more: it says so, and tags nothing
    assert again.returncode == 0, again.stderr
    assert f"{more.name} already holds staging" in again.stdout
    assert "promoted" not in again.stdout
    assert local_tags(workspace) == remote_tags(workspace) == tagged


def test_stop_ends_a_stage_server_and_keeps_its_assignment(workspace: Workspace, first: First) -> None:
    hold(workspace, first.name, "staging")
    deployed(workspace, "staging")
    assigned = mlci(workspace, "status").stdout
    result = mlci(workspace, "stop", "staging")
    assert result.returncode == 0, result.stderr
    assert "staging: stopped" in result.stdout
    with pytest.raises(URLError, match="Connection refused"):  # nothing listens any more
        request(f"http://127.0.0.1:{workspace.staging_port}/readyz")
    status = mlci(workspace, "status").stdout
    assert re.search(rf"staging\s+{first.name}\s+-\s+port \d+\s+not running", status), status
    assert assigned.split("stage ")[0] == status.split("stage ")[0]  # the versions table is unchanged


def deploy_killed_when(ws: Workspace, record: str, moment: str) -> dict[str, Any]:
    """Start `mlci deploy staging` and SIGKILL it once the state file `record` names a server not yet smoke-tested;
    that record. The servers it started run in sessions of their own and outlive it, as after a real crash."""
    state = Path(ws.env["XDG_STATE_HOME"]) / "mlci"
    command = ["uv", "run", "--no-sync", "mlci", "deploy", "staging"]
    process = subprocess.Popen(
        command, cwd=ws.path, env=ws.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 180
    try:
        while True:
            found: list[dict[str, Any]] = [json.loads(p.read_text()) for p in state.glob(f"penguin-species-*/{record}")]
            if found and not found[0]["verified"]:
                return found[0]
            assert process.poll() is None, f"the deploy ended before {moment}"
            assert time.monotonic() < deadline, f"no {record} naming a server in its smoke test within 180 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def gone(pid: int) -> bool:
    """Whether a process has ended, waiting up to 60 s."""
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and b"bentoml" in Path(f"/proc/{pid}/cmdline").read_bytes():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_deploy_killed_during_the_candidates_smoke_test_leaves_nothing_stop_cannot_find(
    workspace: Workspace, first: First, more: Version
) -> None:
    ws = workspace
    hold(ws, first.name, "staging")
    deployed(ws, "staging")
    hold(ws, more.name, "staging")  # a server runs on the stage port: the new version is tried beside it first
    candidate = deploy_killed_when(ws, "staging.candidate.json", "its candidate was smoke-tested")
    assert candidate["version"] == more.name
    assert Path(f"/proc/{candidate['pid']}").exists(), "the candidate should outlive the killed deploy"
    shown = mlci(ws, "status").stdout
    left = f"staging: a candidate of {more.name} (pid {candidate['pid']}) still runs at http://127.0.0.1:"
    assert left in shown, shown
    assert "`mlci stop staging` or the next `mlci deploy staging` stops it" in shown
    stopped = mlci(ws, "stop", "staging")
    assert stopped.returncode == 0, stopped.stderr
    assert gone(candidate["pid"]), "stop left the killed deploy's candidate running"
    assert "a candidate of" not in mlci(ws, "status").stdout
    deployed(ws, "staging")
    assert answered_version(ws, ws.staging_port) == more.name


def test_a_deploy_killed_on_the_stage_port_converges_on_the_next_deploy(workspace: Workspace, first: First) -> None:
    ws = workspace
    hold(ws, first.name, "staging")
    assert mlci(ws, "stop", "staging").returncode == 0
    server = deploy_killed_when(ws, "staging.json", "its server on the stage port was smoke-tested")
    status = mlci(ws, "status").stdout
    assert re.search(rf"staging\s+{first.name}\s+{server['version']} \(pid {server['pid']}, not smoke-tested", status)
    result = deployed(ws, "staging")
    assert "serves on" in result.stdout  # switched: a server never smoke-tested is not kept
    assert gone(server["pid"])
    assert answered_version(ws, ws.staging_port) == first.name
    assert "not smoke-tested" not in mlci(ws, "status").stdout
