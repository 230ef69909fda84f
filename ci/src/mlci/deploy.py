"""Deploy a stage on this machine (the `local` target): its stored bento served by `bentoml serve` on its port.

A candidate is started beside whatever runs now, on a spare port, and smoke-tested there. Only a candidate that
passes replaces the running version on the stage's port, where it is smoke-tested again; if that fails, the
previous version is started again. What runs is recorded per stage under `$XDG_STATE_HOME/mlci/<project>/`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlci.errors import RefusedError
from mlci.locks import held
from mlci.serve import Installed

READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class Running:
    """A deployed version: its process, port and the bento it serves."""

    version: str
    pid: int
    port: int
    bento_sha256: str
    tag: str
    home: str


@dataclass(frozen=True)
class Runtime:
    """How a stage serves: its port and workers, and the variables of its inference log."""

    port: int
    workers: int
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Smoke:
    """The requests a smoke test sends: one the contract accepts, one it must refuse."""

    valid: bytes
    invalid: bytes
    source: str = "the example request"  # where the valid request comes from, named when it fails


def state_dir(project: str) -> Path:
    return Path(os.environ.get("XDG_STATE_HOME", "~/.local/state")).expanduser() / "mlci" / project


def running(project: str, stage: str) -> Running | None:
    """What runs for a stage: its record, if the process it names is alive and still `bentoml serve` of it."""
    record = state_dir(project) / f"{stage}.json"
    if not record.is_file():
        return None
    current = Running(**json.loads(record.read_text()))
    return current if serves(current.pid, current.tag) else None


def serves(pid: int, tag: str) -> bool:
    """Whether process `pid` is alive and serving `tag` (not a later process that reused the number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or tag.encode() in cmdline.read_bytes()


def port_in_use(port: int) -> bool:
    """Whether binding the port as a server would fail."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post(url: str, body: bytes | None = None) -> tuple[int, str]:
    """The status and body of one request (GET without a body); an HTTP error is an answer too."""
    headers = {"content-type": "application/json"} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start(installed: Installed, port: int, runtime: Runtime, log: Path) -> subprocess.Popen[bytes]:
    """Start `bentoml serve` of a build in its own session, so it outlives this command."""
    env = {**installed.env(port), **runtime.environment}
    env["BENTOML_CONFIG_OPTIONS"] = f"services.Predictor.workers={runtime.workers}"
    with log.open("ab") as output:
        return subprocess.Popen(
            installed.command(port), env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(pid: int) -> None:
    """Stop a served build: SIGTERM, on which BentoML stops its workers; SIGKILL for whatever lingers.

    BentoML starts each worker in a session of its own, so the workers are collected first, by parent.
    """
    workers = children(pid)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(alive(process) for process in [pid, *workers]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in [pid, *workers]:
        if alive(process):
            os.kill(process, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux's /proc; none elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our child
        if waited:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def smoke_test(process: subprocess.Popen[bytes], port: int, version: str, smoke: Smoke) -> list[str]:
    """What is wrong with a freshly started build: not ready, a valid request not answered, a bad one accepted."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready(url):
        if process.poll() is not None:
            return [f"the service exited with code {process.returncode} before it was ready"]
        if time.monotonic() > deadline:
            return [f"/readyz did not answer 200 within {READY_TIMEOUT_S} s"]
        time.sleep(0.3)
    problems = []
    status, body = post(f"{url}/predict", smoke.valid)
    if status != 200:
        problems.append(f"{smoke.source} got {status}, not 200; the service answered:\n{body}")
    elif any(answer.get("model_version") != version for answer in json.loads(body)):
        problems.append(f"{smoke.source} was answered by another model version:\n{body}")
    status, body = post(f"{url}/predict", smoke.invalid)
    if status != 400:
        problems.append(f"an invalid request got {status}, not 400; the service answered:\n{body}")
    return problems


def ready(url: str) -> bool:
    try:
        return post(f"{url}/readyz")[0] == 200
    except OSError:  # not listening yet
        return False


def record(project: str, stage: str, deployed: Running | None) -> None:
    """Write (or clear) a stage's record atomically."""
    path = state_dir(project) / f"{stage}.json"
    if deployed is None:
        path.unlink(missing_ok=True)
        return
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(deployed), indent=2))
    partial.replace(path)


def launch(installed: Installed, port: int, runtime: Runtime, log: Path, smoke: Smoke) -> tuple[int, list[str]]:
    """Start a build on a port and smoke-test it; its pid, and the problems found (the process is stopped if any)."""
    process = start(installed, port, runtime, log)
    problems = smoke_test(process, port, installed.version, smoke)
    if problems:
        stop(process.pid)
    return process.pid, problems


def deploy(project: str, stage: str, installed: Installed, runtime: Runtime, smoke: Smoke) -> str:
    """Make the stage serve this build, keeping what runs now unless the build passes its smoke test."""
    with held(state_dir(project) / f"{stage}.lock", f"another deploy of {stage} is running"):
        return switch(project, stage, installed, runtime, smoke)


def switch(project: str, stage: str, installed: Installed, runtime: Runtime, smoke: Smoke) -> str:
    current = running(project, stage)
    if current and current.bento_sha256 == installed.bento_sha256 and current.port == runtime.port:
        return f"{stage}: {installed.version} already runs on port {current.port} (pid {current.pid}); nothing to do"
    if port_in_use(runtime.port) and not (current and current.port == runtime.port):
        raise RefusedError(
            f"{stage}: port {runtime.port} is taken by another program, not by this stage's deployment; "
            f"stop that program or set another port in [deploy.{stage}] of mlci.toml. Nothing was changed."
        )
    log = state_dir(project) / f"{stage}.log"
    kept = f"{current.version} keeps running" if current else "nothing was running, and nothing runs now"
    candidate, problems = launch(installed, free_port(), runtime, log, smoke)
    if problems:
        raise RefusedError(
            f"{stage}: {installed.version} failed its smoke test ({'; '.join(problems)}); {kept}. Log: {log}"
        )
    stop(candidate)
    if current:
        stop(current.pid)
    pid, problems = launch(installed, runtime.port, runtime, log, smoke)
    if problems:
        if current:
            previous = Installed(current.tag, current.version, current.bento_sha256, Path(current.home))
            restored = start(previous, current.port, runtime, log)
            record(project, stage, Running(**{**asdict(current), "pid": restored.pid}))
        raise RefusedError(
            f"{stage}: {installed.version} failed on port {runtime.port} ({'; '.join(problems)}); {kept}"
        )
    deployed = Running(installed.version, pid, runtime.port, installed.bento_sha256, installed.tag, str(installed.home))
    record(project, stage, deployed)
    replaced = f", replacing {current.version}" if current else ""
    return f"{stage}: {installed.version} serves on http://127.0.0.1:{runtime.port} (pid {pid}){replaced}"


def undeploy(project: str, stage: str) -> str:
    """Stop what runs for a stage, and clear its record."""
    current = running(project, stage)
    record(project, stage, None)
    if current is None:
        return f"{stage}: nothing runs here"
    stop(current.pid)
    return f"{stage}: stopped {current.version} (pid {current.pid})"
