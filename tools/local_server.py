"""Run a server on a free local port for as long as a `with` block needs it (the demo's and the benchmark's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port: int = free.getsockname()[1]
        return port


@contextmanager
def local_server(command: list[str], probe: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `command` ("{port}" in it becomes a free port), wait until `probe` answers 200; its base URL.

    `env` adds variables to this process's environment for the server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full = [part.replace("{port}", str(port)) for part in command]
    environment = {**os.environ, **(env or {})}
    with subprocess.Popen(
        full, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as server:
        try:
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None:
                    sys.exit(f"{' '.join(command)} stopped with exit code {server.returncode}")
                if time.monotonic() > deadline:
                    sys.exit(f"{' '.join(command)} did not answer {probe} in 3 minutes")
                try:
                    urllib.request.urlopen(f"{url}{probe}", timeout=5).close()
                    break
                except OSError:  # not listening, or not ready yet
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
