"""Local server processes: start one in a session of its own, find it again, and stop it with its workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlci.build.installed import Installed

STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class Runtime:
    """How a stage serves: its port and workers, the service class they apply to, and its extra variables."""

    port: int
    workers: int
    service_class: str = "Predictor"
    host: str = "127.0.0.1"
    environment: Mapping[str, str] = field(default_factory=dict)


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


def reachable(host: str) -> str:
    """The address a client on this machine reaches a server listening on `host` at."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(installed: Installed, port: int, runtime: Runtime, log: Path) -> subprocess.Popen[bytes]:
    """Start `bentoml serve` of a build in its own session, so it outlives this command."""
    env = {**installed.env(port), **runtime.environment}
    env["BENTOML_CONFIG_OPTIONS"] = f"services.{runtime.service_class}.workers={runtime.workers}"
    with log.open("ab") as output:
        return subprocess.Popen(
            installed.command(port, runtime.host),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
