"""The generated service under a real `bentoml serve`, over HTTP: its contract, health, metrics and load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import TEMPLATE
from mlci.deploy.targets.process import free_port
from served import request, serving

pytestmark = pytest.mark.slow

# The generated repository's example request (plain JSON in the template): one valid record.
RECORD = json.loads((TEMPLATE / "{{cookiecutter.project}}" / "examples" / "predict.json").read_text())["records"][0]
VERSION = "v-http-test"


@pytest.fixture(scope="module")
def server(reproduced: Path) -> Iterator[str]:
    """The reproduced repository's service on a free port, announcing a model version; its base URL."""
    port = free_port()
    command = ["uv", "run", "bentoml", "serve", "penguin_species.service:Predictor", "--port", str(port)]
    with serving(command, port, reproduced, {**os.environ, "MODEL_VERSION": VERSION}) as url:
        yield url


def predict(url: str, body: object) -> tuple[int, str]:
    return request(f"{url}/predict", json.dumps(body).encode())


def test_valid_records_are_answered_by_the_announced_version(server: str) -> None:
    status, body = predict(server, {"records": [RECORD, {"island": "Dream", "year": 2008}]})
    assert status == 200, body
    answers = json.loads(body)
    assert [answer["model_version"] for answer in answers] == [VERSION, VERSION]
    assert answers[0]["prediction"] == "Adelie"  # the example is the table's first row, an Adelie penguin


def test_values_the_data_never_had_are_answered_and_counted(server: str) -> None:
    """The contract is open: a new island and a mass past the data's range are answered, and /metrics counts them."""
    status, body = predict(server, {"records": [{**RECORD, "island": "Atlantis", "body_mass_g": 1e9}]})
    assert status == 200, body
    metrics = request(f"{server}/metrics")[1]
    assert re.search(r'novel_values_total\{column="island",kind="unseen_category"\} [1-9]', metrics), metrics[-2000:]
    assert re.search(r'novel_values_total\{column="body_mass_g",kind="above_range"\} [1-9]', metrics), metrics[-2000:]


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        (json.dumps({"records": {**RECORD, "island": 3}}).encode(), "application/json", "island"),
        (json.dumps({"records": {**RECORD, "body_mass_g": -1}}).encode(), "application/json", "body_mass_g"),
        (json.dumps({"records": []}).encode(), "application/json", "at least 1"),
        (b"{not json", "application/json", "Invalid JSON"),
        (json.dumps({"records": RECORD}).encode(), "text/plain", "Content-Type must be application/json"),
    ],
    ids=["wrong-type", "below-the-domain", "empty-list", "not-json", "wrong-content-type"],
)
def test_bad_requests_get_400_naming_the_problem(server: str, body: bytes, content_type: str, named: str) -> None:
    status, text = request(f"{server}/predict", body, content_type)
    assert status == 400
    assert named in text


def test_health_and_metrics(server: str) -> None:
    assert request(f"{server}/livez")[0] == 200
    assert request(f"{server}/readyz")[0] == 200
    status, metrics = request(f"{server}/metrics")
    assert status == 200
    assert "bentoml_service_request" in metrics


def test_32_concurrent_clients_get_no_errors(server: str) -> None:
    body = json.dumps({"records": [RECORD]}).encode()

    def client(_: int) -> list[int]:
        return [request(f"{server}/predict", body)[0] for _ in range(10)]

    with ThreadPoolExecutor(32) as pool:
        statuses = [status for statuses in pool.map(client, range(32)) for status in statuses]
    assert len(statuses) == 320
    assert set(statuses) == {200}


def test_a_thousand_generated_requests_get_no_5xx_and_answers_the_schema_describes(server: str, tmp_path: Path) -> None:
    """schemathesis generates requests from the served OpenAPI schema, valid and broken, and checks each answer
    against that schema: its status is documented, its body and content type are as described, none is a 5xx."""
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
    command = [str(Path(sys.executable).parent / "st"), "run", f"{server}/docs.json", "--include-path", "/predict"]
    command += ["--max-examples", "1000", "--checks", checks, "--seed", "20261124", "--no-color", "--workers", "1"]
    # Run elsewhere than the checkout: schemathesis keeps a cache folder where it runs.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counted, result.stdout[-2000:]
    assert int(counted[1]) == int(counted[2]) >= 1000
