"""The registry in git, promotion through gates, deploy and rollback: one clone of the shared repository,
its own bare `origin`, real GTO tags, real bentos served on real ports.

The tests run in file order and each builds on the state the ones before left, as a team's history would.
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
from conftest import (
    RELEASE_IDENTITY,
    clone_with_origin,
    commit_and_push,
    edited,
    run,
    serve_stages_on_free_ports,
    set_params,
    stop_stages,
)
from mlci.targets.process import children
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


def new_version(ws: Workspace, message: str, params: dict[str, str] | None = None) -> str:
    """Change params (or nothing), reproduce, push, commit, register and build; the new version."""
    if params:
        set_params(ws.path, **params)
        run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=ws.path, env=ws.env)
        run("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=ws.path, env=ws.env)
    commit_and_push(ws.path, ws.env, message)
    registered = mlci(ws, "register")
    assert registered.returncode == 0, registered.stderr
    version = re.search(r"model@(v\d+\.\d+\.\d+)", registered.stdout)
    assert version, registered.stdout
    built = mlci(ws, "build")
    assert built.returncode == 0, built.stderr
    return version[1]


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
    with edited(workspace.path / "params.yaml", lambda text: text + "\n"):
        result = mlci(workspace, "register")
    assert result.returncode == 1
    assert "uncommitted changes" in result.stderr
    assert not local_tags(workspace)


def test_register_refuses_a_model_not_in_the_dvc_remote(workspace: Workspace, tmp_path: Path) -> None:
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
    assert not local_tags(workspace)


def test_register_without_a_git_identity_says_so(workspace: Workspace, tmp_path: Path) -> None:
    anonymous = {key: value for key, value in workspace.env.items() if key not in RELEASE_IDENTITY and key != "EMAIL"}
    anonymous |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    command = ["uv", "run", "--no-sync", "mlci", "register"]
    result = subprocess.run(command, cwd=workspace.path, env=anonymous, capture_output=True, text=True)
    assert result.returncode == 2
    assert "Git user name and email must be configured" in result.stderr
    assert not local_tags(workspace)


def test_register_tags_the_commit_for_gto_and_pushes_the_tag(workspace: Workspace) -> None:
    result = mlci(workspace, "register")
    assert result.returncode == 0, result.stderr
    assert "registered model@v0.0.1" in result.stdout
    assert remote_tags(workspace) == {"model@v0.0.1"}
    tagged = run("git", "rev-parse", "model@v0.0.1^{commit}", cwd=workspace.path).stdout.strip()
    assert tagged == run("git", "rev-parse", "HEAD", cwd=workspace.path).stdout.strip()
    shown = run("uv", "run", "--no-sync", "gto", "show", cwd=workspace.path).stdout
    assert "v0.0.1" in shown  # GTO itself reads the registry
    again = mlci(workspace, "register")
    assert again.returncode == 1
    assert "already registered as model@v0.0.1" in again.stderr


def test_promotion_refuses_a_version_with_no_stored_build(workspace: Workspace) -> None:
    result = mlci(workspace, "promote", "v0.0.1", "--to", "staging")
    assert result.returncode == 2
    assert "no build of penguin-species v0.0.1" in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == {"model@v0.0.1"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("v9.9.9", "--to", "staging"), 2, "model has no version 'v9.9.9'; registered versions: v0.0.1"),
        (("v0.0.1", "--to", "qa"), 2, "no stage 'qa': the stages are staging, production"),
        (("v0.0.1", "--to", "production"), 1, "a version reaches production only from staging"),
    ],
)
def test_promotion_refuses_unknown_versions_and_stages_and_skipped_stages(
    workspace: Workspace, args: tuple[str, ...], code: int, message: str
) -> None:
    assert mlci(workspace, "build").returncode == 0
    result = mlci(workspace, "promote", *args)
    assert result.returncode == code
    assert message in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == {"model@v0.0.1"}


def test_promotion_to_staging_tags_and_deploy_serves_it(workspace: Workspace) -> None:
    promoted = mlci(workspace, "promote", "v0.0.1", "--to", "staging")
    assert promoted.returncode == 0, promoted.stderr
    assert "accuracy >= 0.9" in promoted.stdout
    assert "model#staging#1" in remote_tags(workspace)
    deployed = mlci(workspace, "deploy", "staging")
    assert deployed.returncode == 0, deployed.stderr
    assert answered_version(workspace, workspace.staging_port) == "v0.0.1"
    assert len(workers(workspace, "staging")) == 2  # [deploy.staging] workers
    again = mlci(workspace, "deploy", "staging")
    assert again.returncode == 0, again.stderr
    assert "already runs" in again.stdout
    assert "nothing to do" in again.stdout
    status = mlci(workspace, "status").stdout
    assert re.search(r"staging\s+v0\.0\.1\s+v0\.0\.1 \(pid \d+\)\s+port \d+\s+in sync", status), status


def test_deploy_refuses_a_port_another_program_holds(workspace: Workspace) -> None:
    assert mlci(workspace, "promote", "v0.0.1", "--to", "production").returncode == 0
    with socket.socket() as squatter:
        # Another program listening: SO_REUSEADDR lets it bind a port that a finished connection still lingers on
        # (TIME_WAIT), or that a client connection happens to use as its own, as a fresh server may.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", workspace.production_port))
        squatter.listen()
        result = mlci(workspace, "deploy", "production")
    assert result.returncode == 1
    assert f"port {workspace.production_port} is taken by another program" in result.stderr
    deployed = mlci(workspace, "deploy", "production")
    assert deployed.returncode == 0, deployed.stderr
    assert answered_version(workspace, workspace.production_port) == "v0.0.1"


def test_a_failing_gate_refuses_with_its_figures_and_creates_no_tag(workspace: Workspace) -> None:
    version = new_version(workspace, "Shallow trees", {"n_estimators": "2", "max_depth": "1"})
    before = remote_tags(workspace)
    result = mlci(workspace, "promote", version, "--to", "staging")
    assert result.returncode == 1
    metrics = json.loads((workspace.path / "reports" / "metrics.json").read_text())
    assert re.search(rf"accuracy >= 0\.9\s+{metrics['accuracy']:g}\s+0\.9\s+FAIL", result.stdout), result.stdout
    assert re.search(rf"accuracy loss vs v0\.0\.1 <= 0\.01\s+{metrics['accuracy']:g}\s+1\s+FAIL", result.stdout)
    assert f"gates: {version} fails" in result.stderr
    assert remote_tags(workspace) == local_tags(workspace) == before


def test_an_altered_build_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    version = new_version(workspace, "More trees", {"n_estimators": "120", "max_depth": "8"})
    store = Path(tomllib.loads((workspace.path / "mlci.toml").read_text())["store"]["url"])
    bento = store / "penguin-species" / f"{version}.bento"
    assert bento.is_file(), bento
    shutil.copy2(bento, tmp_path / "original.bento")
    before = local_tags(workspace)
    with bento.open("ab") as file:
        file.write(b"tampered")
    try:
        result = mlci(workspace, "promote", version, "--to", "staging")
    finally:
        shutil.copy2(tmp_path / "original.bento", bento)
    assert result.returncode == 2
    assert "does not match its checksum" in result.stderr
    assert local_tags(workspace) == before
    promoted = mlci(workspace, "promote", version, "--to", "staging")
    assert promoted.returncode == 0, promoted.stderr
    assert "accuracy loss vs v0.0.1 <= 0.01" in promoted.stdout
    assert mlci(workspace, "deploy", "staging").returncode == 0
    assert answered_version(workspace, workspace.staging_port) == version


def test_a_build_failing_its_smoke_test_leaves_the_previous_version_serving(workspace: Workspace) -> None:
    running = answered_version(workspace, workspace.staging_port)
    service = workspace.path / "src" / "penguin_species" / "service.py"
    text = service.read_text()
    broken = text.replace(
        "        predictions = answers(self.model, as_frame(rows), self.version)",
        '        raise RuntimeError("broken on purpose")',
    )
    assert broken != text
    service.write_text(broken)
    version = new_version(workspace, "A service that fails")  # same model: the gates pass
    assert mlci(workspace, "promote", version, "--to", "staging").returncode == 0
    result = mlci(workspace, "deploy", "staging")
    assert result.returncode == 1
    assert f"{version} failed its smoke test" in result.stderr
    assert "the example request examples/predict.json got 500" in result.stderr
    assert f"{running} keeps running" in result.stderr
    assert answered_version(workspace, workspace.staging_port) == running
    status = mlci(workspace, "status").stdout
    assert re.search(rf"staging\s+{version}\s+{running} \(pid \d+\).*out of date", status), status


def test_rollback_reassigns_the_previous_version_with_a_new_tag(workspace: Workspace) -> None:
    broken = run("git", "describe", "--tags", "--match", "model@*", "HEAD", cwd=workspace.path).stdout.strip()
    before = {tag for tag in remote_tags(workspace) if tag.startswith("model#staging#")}
    result = mlci(workspace, "rollback", "staging")
    assert result.returncode == 0, result.stderr
    after = {tag for tag in remote_tags(workspace) if tag.startswith("model#staging#")}
    assert before < after
    assert len(after - before) == 1
    running = answered_version(workspace, workspace.staging_port)
    assert f"rolled staging back to {running}" in result.stdout
    assert running != broken.removeprefix("model@")
    assert "already runs" in result.stdout  # the previous version never stopped


def test_rollback_with_no_earlier_version_is_refused(workspace: Workspace) -> None:
    result = mlci(workspace, "rollback", "production")
    assert result.returncode == 1
    assert "production has no earlier version to roll back to: only v0.0.1 has held it" in result.stderr


def test_a_tag_the_remote_rejects_is_removed_here_too(workspace: Workspace) -> None:
    hook = workspace.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = local_tags(workspace)
    version = run("git", "describe", "--tags", "--match", "model@*", "--abbrev=0", "HEAD~1", cwd=workspace.path)
    try:
        result = mlci(workspace, "promote", version.stdout.strip().removeprefix("model@"), "--to", "production")
    finally:
        hook.unlink()
    assert result.returncode == 1
    assert "origin refused the tag model#production#" in result.stderr
    assert "tags are frozen" in result.stderr
    assert local_tags(workspace) == before == remote_tags(workspace)


def test_a_promotion_while_another_holds_the_registry_is_refused_and_the_registry_stays_consistent(
    workspace: Workspace,
) -> None:
    """Two promotions at once: the second finds the first holding the registry's lock. The test holds the lock
    itself, so the two always overlap (racing two processes depended on the machine's timing)."""
    version = run("git", "describe", "--tags", "--match", "model@*", "--abbrev=0", "HEAD~1", cwd=workspace.path)
    promote = ("promote", version.stdout.strip().removeprefix("model@"), "--to", "production")
    before = local_tags(workspace)
    lock = workspace.path / ".git" / "mlci-registry.lock"
    with lock.open("w") as first:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = mlci(workspace, *promote)
    assert second.returncode == 1
    assert "another mlci command is changing this repository's registry right now" in second.stderr
    assert local_tags(workspace) == before == remote_tags(workspace)
    after = mlci(workspace, *promote)  # the lock released: the next one proceeds
    assert after.returncode == 0, after.stderr
    added = local_tags(workspace) - before
    assert len(added) == 1, added
    assert added.pop().startswith("model#production#")
    assert local_tags(workspace) == remote_tags(workspace)


def test_stop_ends_a_stage_server_and_keeps_its_assignment(workspace: Workspace) -> None:
    assigned = mlci(workspace, "status").stdout
    result = mlci(workspace, "stop", "staging")
    assert result.returncode == 0, result.stderr
    assert "staging: stopped" in result.stdout
    with pytest.raises(URLError, match="Connection refused"):  # nothing listens any more
        request(f"http://127.0.0.1:{workspace.staging_port}/readyz")
    status = mlci(workspace, "status").stdout
    assert re.search(r"staging\s+v\d+\.\d+\.\d+\s+-\s+port \d+\s+not running", status), status
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


def test_a_deploy_killed_during_the_candidates_smoke_test_leaves_nothing_stop_cannot_find(workspace: Workspace) -> None:
    ws = workspace
    candidate = deploy_killed_when(ws, "staging.candidate.json", "its candidate was smoke-tested")
    assert Path(f"/proc/{candidate['pid']}").exists(), "the candidate should outlive the killed deploy"
    stopped = mlci(ws, "stop", "staging")
    assert stopped.returncode == 0, stopped.stderr
    assert gone(candidate["pid"]), "stop left the killed deploy's candidate running"
    deployed = mlci(ws, "deploy", "staging")
    assert deployed.returncode == 0, deployed.stderr


def test_a_deploy_killed_on_the_stage_port_converges_on_the_next_deploy(workspace: Workspace) -> None:
    ws = workspace
    assert mlci(ws, "stop", "staging").returncode == 0
    server = deploy_killed_when(ws, "staging.json", "its server on the stage port was smoke-tested")
    status = mlci(ws, "status").stdout
    assert re.search(rf"staging\s+v\d+\.\d+\.\d+\s+{server['version']} \(pid {server['pid']}, not smoke-tested", status)
    deployed = mlci(ws, "deploy", "staging")
    assert deployed.returncode == 0, deployed.stderr
    assert "serves on" in deployed.stdout  # switched: a server never smoke-tested is not kept
    assert gone(server["pid"])
    assert answered_version(ws, ws.staging_port) == server["version"]
    assert "not smoke-tested" not in mlci(ws, "status").stdout
