"""Start a service in a subprocess on a free port, wait until it is ready, and talk to it over HTTP."""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


def request(url: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, str]:
    """The status and body of one request; an HTTP error is an answer too."""
    headers = {"content-type": content_type} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post_records(url: str, rows: pd.DataFrame, per_request: int = 50) -> list[dict[str, Any]]:
    """Post a frame's rows to `url`/predict as records, a missing value as null; every request must get 200.
    The answers, in the rows' order."""
    records = [
        {name: (None if isinstance(value, float) and math.isnan(value) else value) for name, value in row.items()}
        for row in rows.to_dict("records")
    ]
    answers: list[dict[str, Any]] = []
    for start in range(0, len(records), per_request):
        body = json.dumps({"records": records[start : start + per_request]}).encode()
        status, answer = request(f"{url}/predict", body)
        assert status == 200, answer
        answers += json.loads(answer)
    return answers


def ready(url: str) -> bool:
    try:
        return request(f"{url}/readyz")[0] == 200
    except OSError:  # not listening yet
        return False


@contextmanager
def serving(command: list[str], port: int, cwd: Path, env: dict[str, str], log: Path | None = None) -> Iterator[str]:
    """The base URL of `command`'s service once `/readyz` answers 200; stopped on exit.

    The server's output goes to a file (`log`, when given), never a pipe: a pipe nobody reads fills up (a
    thousand refused requests log a thousand lines) and the server then blocks on its next log line,
    answering nothing."""
    url = f"http://127.0.0.1:{port}"
    with (
        log.open("w+b") if log else tempfile.TemporaryFile() as output,
        subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT) as process,
    ):
        try:
            deadline = time.monotonic() + 120
            while not ready(url):
                if process.poll() is not None:
                    output.seek(0)
                    raise AssertionError(f"the service ended before it was ready:\n{output.read().decode()}")
                assert time.monotonic() < deadline, "the service did not become ready in 120 s"
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
