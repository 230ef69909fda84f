"""The service around the contract: the HTTP guard, health, quiet refusals, the deadline, the OpenAPI
schema as it answers, and the checks a model's bytes pass before they are loaded."""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mlci_serving.answers import TrainedModel, load_model
from mlci_serving.contract import MAX_BODY_BYTES
from mlci_serving.names import PREDICT_ROUTE
from mlci_serving.service import ServingSettings, model_service

from .cases import MODEL, Case, model_folder, served


@pytest.fixture(scope="module")
def service(penguin_case: Case) -> Any:
    return model_service(penguin_case.module, MODEL)


@pytest.fixture(scope="module")
def client(service: Any, penguin_case: Case, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from served(service, model_folder(penguin_case, tmp_path_factory.mktemp("serving")))


@pytest.fixture
def example(penguin_case: Case) -> dict[str, Any]:
    return penguin_case.example


def test_a_body_that_is_not_json_gets_400(client: TestClient) -> None:
    response = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "Invalid JSON" in response.text


def test_a_wrong_content_type_gets_400_naming_it(client: TestClient, example: dict[str, Any]) -> None:
    response = client.post("/predict", content=json.dumps({"records": example}), headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert "Content-Type must be application/json, got 'text/plain'" in response.text


@pytest.mark.parametrize("path", ["/livez", "/readyz"])  # /metrics is the server's: tested over HTTP
def test_health_endpoints_answer(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_a_refused_request_is_logged_as_one_line_without_its_values(
    client: TestClient, example: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    private = "a value no log may keep"
    name = "bill_length_mm"  # a number: text there is refused
    with caplog.at_level("INFO"):
        response = client.post("/predict", json={"records": [{**example, name: private}]})
    assert response.status_code == 400, response.text
    (refusal,) = [record for record in caplog.records if "refused a request" in record.getMessage()]
    assert refusal.levelname == "WARNING"
    assert refusal.exc_info is None  # no traceback
    assert name in refusal.getMessage()
    assert private not in caplog.text


def test_a_body_over_the_limit_gets_413_declared_or_chunked(client: TestClient, example: dict[str, Any]) -> None:
    body = json.dumps({"records": example}) + " " * (MAX_BODY_BYTES + 1)  # valid JSON: only the size is wrong
    declared = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert f"larger than {MAX_BODY_BYTES} bytes" in declared.text
    chunks = iter([body[:1000].encode(), body[1000:].encode()])  # no Content-Length: sent in chunks
    chunked = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert chunked.status_code == 413, chunked.text
    small = client.post(
        "/predict",
        content=iter([json.dumps({"records": example}).encode()]),
        headers={"content-type": "application/json"},
    )
    assert small.status_code == 200, small.text  # a chunked body under the limit is handed on whole


def test_the_limits_are_settings(penguin_case: Case, tmp_path: Path) -> None:
    settings = ServingSettings(max_records=2, max_body_bytes=2000)
    service = model_service(penguin_case.module, MODEL, name="Small", settings=settings)
    assert service.name == "Small"
    for small in served(service, model_folder(penguin_case, tmp_path)):
        assert small.post("/predict", json={"records": [penguin_case.example] * 2}).status_code == 200
        over = small.post("/predict", json={"records": [penguin_case.example] * 3})
        assert over.status_code == 400
        assert "at most 2" in over.text
        too_large = small.post("/predict", json={"records": penguin_case.example, "pad": " " * 2000})
        assert too_large.status_code == 413


def test_predict_makes_no_trace_span_and_keeps_no_access_log(service: Any, penguin_case: Case) -> None:
    assert service.config["tracing"]["excluded_urls"] == [PREDICT_ROUTE]
    assert service.config["logging"]["access"]["enabled"] is False
    traced = model_service(penguin_case.module, MODEL, name="Traced", settings=ServingSettings(trace_predict=True))
    assert traced.config["tracing"]["excluded_urls"] == []


def test_answered_requests_leave_no_timer_behind(
    client: TestClient, example: dict[str, Any], pending_timers: Callable[[], int]
) -> None:
    before = pending_timers()
    for _ in range(20):
        assert client.post("/predict", json={"records": example}).status_code == 200
    assert pending_timers() == before  # BentoML's own timeout left one per request, for 10 s


def test_what_the_service_made_at_start_is_never_collected_again(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    assert gc.get_freeze_count() > 0


def test_a_model_other_than_the_builds_is_not_loaded(tmp_path: Path, penguin_case: Case) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(penguin_case.model))
    built = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_model(path, built).predict  # the build's bytes load
    assert load_model(path, "").predict  # the working tree: nothing to compare with
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match=f"not the build's {built}: not loaded"):
        load_model(path, built)


def test_a_server_told_another_checksum_refuses_to_start(
    penguin_case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_SHA256", "0" * 64)
    service = model_service(penguin_case.module, MODEL)
    with pytest.raises(RuntimeError, match="not loaded"):
        next(served(service, model_folder(penguin_case, tmp_path)))


def test_the_working_tree_serves_the_trained_model(
    penguin_case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlci_serving.service import served_model

    monkeypatch.chdir(model_folder(penguin_case, tmp_path))
    assert isinstance(served_model(penguin_case.schema, MODEL), TrainedModel)


def test_the_openapi_schema_describes_the_refusals_as_they_are_sent(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    detail = spec["components"]["schemas"]["InvalidArgument"]["properties"]["detail"]
    listed = next(option for option in detail["anyOf"] if option["type"] == "array")
    refused = client.post("/predict", json={"records": [{}]})
    assert refused.status_code == 400
    assert set(listed["items"]["required"]) <= set(refused.json()["detail"][0])
    too_large = spec["paths"]["/predict"]["post"]["responses"]["413"]["content"]
    assert too_large["application/json"]["schema"]["$ref"] == "#/components/schemas/TooLarge"
    assert spec["components"]["schemas"]["TooLarge"]["required"] == ["error"]
