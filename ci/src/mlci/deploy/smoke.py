"""The smoke test of a served build: the example request answered by the right version, a bad one refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from mlci_serving.names import PREDICT_ROUTE, READY_ROUTE

from mlci.core.project import EMPTY_REQUEST, Project


@dataclass(frozen=True)
class Smoke:
    """The requests a smoke test sends: one the contract accepts, one it must refuse."""

    valid: bytes
    invalid: bytes
    source: str = "the example request"  # where the valid request comes from, named when it fails


def smoke_for(project: Project) -> Smoke:
    """The smoke test of a repository's builds: its example request, and a request with no records."""
    return Smoke(project.example_request(), EMPTY_REQUEST, f"the example request {project.example}")


def post(url: str, body: bytes | None = None) -> tuple[int, str]:
    """The status and body of one request (GET without a body); an HTTP error is an answer too."""
    headers = {"content-type": "application/json"} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def ready(url: str) -> bool:
    """Whether the server at `url` answers its readiness route with 200."""
    try:
        return post(f"{url}{READY_ROUTE}")[0] == 200
    except OSError:  # not listening yet
        return False


def answer_problems(url: str, version: str | None, smoke: Smoke) -> list[str]:
    """What is wrong with the answers of a ready server; `version` None accepts any served version."""
    problems = []
    status, body = post(f"{url}{PREDICT_ROUTE}", smoke.valid)
    if status != 200:
        problems.append(f"{smoke.source} got {status}, not 200; the service answered:\n{body}")
    elif version is not None and any(answer.get("model_version") != version for answer in json.loads(body)):
        problems.append(f"{smoke.source} was answered by another model version:\n{body}")
    status, body = post(f"{url}{PREDICT_ROUTE}", smoke.invalid)
    if status != 400:
        problems.append(f"an invalid request got {status}, not 400; the service answered:\n{body}")
    return problems
