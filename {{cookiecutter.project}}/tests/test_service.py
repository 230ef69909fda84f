"""The service's contract: records are answered, each schema rule refuses bad values."""

import gc
import hashlib
import json
import math
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from {{ cookiecutter.package_name }} import service
from {{ cookiecutter.package_name }}.columns import Categorical, Numeric
from {{ cookiecutter.package_name }}.contract import MAX_BATCH, MAX_BODY_BYTES, Records
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, labelled, read_csv
from {{ cookiecutter.package_name }}.paths import MODEL
from {{ cookiecutter.package_name }}.schema import DATA, EXAMPLE, FEATURES, IDENTIFIER, TARGET, TASK
from {{ cookiecutter.package_name }}.service import Predictor
from {{ cookiecutter.package_name }}.serving.answers import (
    as_rows,
    frame_rows,
    load_model,
    record_ids,
)
from {{ cookiecutter.package_name }}.serving.compiled import COMPILED

SERVICE: Any = Predictor  # a bentoml.Service, which BentoML's lazy imports hide from type checkers
ROOT = Path(__file__).parents[1]
EXAMPLE_FILE = ROOT / "examples" / "predict.json"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return labelled(read_csv(ROOT / DATA))


@pytest.fixture(scope="module")
def client(model: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service over that model, in a folder of its own."""
    folder = tmp_path_factory.mktemp("serving")
    (folder / MODEL).parent.mkdir(parents=True)
    (folder / MODEL).write_bytes(pickle.dumps(model))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        with TestClient(SERVICE.to_asgi()) as test_client:
            yield test_client


def predict(client: TestClient, body: Any) -> Any:
    return client.post("/predict", json=body)


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the data as request records: features only, missing values as null."""
    return frame_rows(frame[FEATURE_NAMES])


def check_answer(answer: dict[str, Any]) -> None:
    """An answer of the task's shape, with the version that gave it."""
    assert answer["model_version"] == "working-tree"
    if TASK == "classification":
        assert isinstance(TARGET, Categorical)
        assert answer["prediction"] in TARGET.categories
        assert set(answer["probabilities"]) <= set(TARGET.categories)
        assert max(answer["probabilities"], key=answer["probabilities"].get) == answer["prediction"]
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
    else:
        assert isinstance(answer["prediction"], float)
        assert math.isfinite(answer["prediction"])


def test_the_example_is_answered(client: TestClient) -> None:
    response = predict(client, {"records": EXAMPLE})
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    check_answer(answer)


def test_real_rows_round_trip_in_order(client: TestClient, rows: pd.DataFrame, model: Any) -> None:
    sample = rows.sample(n=min(20, len(rows)), random_state=0)
    response = predict(client, {"records": as_records(sample)})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert len(answers) == len(sample)
    for answer in answers:
        check_answer(answer)
    expected = model.predict(sample[FEATURE_NAMES])  # the model's own answers, row by row
    if TASK == "classification":
        assert [answer["prediction"] for answer in answers] == [str(label) for label in expected]
    else:
        assert [answer["prediction"] for answer in answers] == pytest.approx(list(expected))
    alone = [
        predict(client, {"records": record}).json()[0] for record in as_records(sample.head(3))
    ]
    assert [answer["prediction"] for answer in answers[:3]] == [a["prediction"] for a in alone]


def test_each_answer_carries_its_records_id_or_one_made_up(client: TestClient) -> None:
    records: list[dict[str, Any]] = [dict(EXAMPLE), dict(EXAMPLE), dict(EXAMPLE)]
    if IDENTIFIER is not None:
        records[0][IDENTIFIER] = "record-1"
        records[1][IDENTIFIER] = 2
    response = predict(client, {"records": records})
    assert response.status_code == 200, response.text
    ids = [answer["id"] for answer in response.json()]
    assert len(set(ids)) == 3
    assert all(isinstance(name, str) and name for name in ids)
    if IDENTIFIER is not None:
        assert ids[:2] == ["record-1", "2"]


def test_values_the_schema_allows_to_be_missing_may_be_left_out(client: TestClient) -> None:
    required = {column.name: EXAMPLE[column.name] for column in FEATURES if not column.nullable}
    response = predict(client, {"records": required})
    assert response.status_code == 200, response.text
    check_answer(response.json()[0])


def test_the_model_and_the_log_read_each_record_by_the_datas_column_names() -> None:
    records = TypeAdapter(Records).validate_python([EXAMPLE])
    features = {column.name: EXAMPLE.get(column.name) for column in FEATURES}
    rows = as_rows(records)
    assert rows == [{**features, **({IDENTIFIER: None} if IDENTIFIER is not None else {})}]
    (made_up,) = record_ids(rows)
    assert rows == [features]  # the id is taken out: never the model's input, nor logged as one
    assert len(made_up) == 32


def test_the_shipped_example_is_the_schemas_and_in_the_openapi_schema(client: TestClient) -> None:
    example = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    assert example == {"records": [EXAMPLE]}
    assert [EXAMPLE] in find_examples(client.get("/docs.json").json())


def find_examples(node: Any) -> list[Any]:
    """Every `examples` entry anywhere in a JSON document."""
    if isinstance(node, dict):
        found = list(node.get("examples", [])) if isinstance(node.get("examples"), list) else []
        return found + [item for value in node.values() for item in find_examples(value)]
    if isinstance(node, list):
        return [item for value in node for item in find_examples(value)]
    return []


def breaking_values() -> dict[str, tuple[dict[str, Any], str]]:
    """Per schema rule, a record whose one value breaks it, and the name the 400 must give."""
    cases: dict[str, tuple[dict[str, Any], str]] = {}
    for column in FEATURES:
        name = column.name
        if isinstance(column, Numeric):
            span = column.maximum - column.minimum
            cases[f"{name} below range"] = ({**EXAMPLE, name: column.minimum - span / 2 - 1}, name)
            cases[f"{name} above range"] = ({**EXAMPLE, name: column.maximum + span / 2 + 1}, name)
            cases[f"{name} as text"] = ({**EXAMPLE, name: str(column.minimum)}, name)
            cases[f"{name} as boolean"] = ({**EXAMPLE, name: True}, name)
        elif isinstance(column, Categorical):
            cases[f"{name} unknown category"] = ({**EXAMPLE, name: "no such " + name}, name)
            cases[f"{name} as number"] = ({**EXAMPLE, name: 7}, name)
        if not column.nullable:
            cases[f"{name} null"] = ({**EXAMPLE, name: None}, name)
            cases[f"{name} left out"] = ({k: v for k, v in EXAMPLE.items() if k != name}, name)
    return cases


BREAKING = breaking_values()
BAD_REQUESTS = {
    "unknown field": ({"records": {**EXAMPLE, "no such column": 1}}, "no such column"),
    "empty list": ({"records": []}, "at least 1"),
    "batch over the limit": ({"records": [EXAMPLE] * (MAX_BATCH + 1)}, f"at most {MAX_BATCH}"),
    "no records key": ({"rows": [EXAMPLE]}, "records"),
    "body is a list": ([EXAMPLE], "object"),
    "record is a number": ({"records": 7}, "records"),
    "unknown top-level field": ({"records": [EXAMPLE], "extra": 1}, "extra"),
}


@pytest.mark.parametrize(("record", "named"), BREAKING.values(), ids=BREAKING.keys())
def test_every_schema_rule_refuses_a_value_that_breaks_it(
    client: TestClient, record: dict[str, Any], named: str
) -> None:
    response = predict(client, {"records": [EXAMPLE, record]})
    assert response.status_code == 400, response.text
    assert json.dumps(named, ensure_ascii=False)[1:-1] in response.text  # as JSON writes the name


@pytest.mark.parametrize(("body", "named"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_400_naming_why(client: TestClient, body: Any, named: str) -> None:
    response = predict(client, body)
    assert response.status_code == 400, response.text
    assert named in response.text


def test_body_that_is_not_json_gets_400(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Invalid JSON" in response.text


def test_wrong_content_type_gets_400_naming_it(client: TestClient) -> None:
    body = json.dumps({"records": EXAMPLE})
    response = client.post("/predict", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert "Content-Type must be application/json, got 'text/plain'" in response.text


@pytest.mark.parametrize(
    "path", ["/livez", "/readyz"]
)  # /metrics is the server's: tested over HTTP
def test_health_endpoints_answer(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_the_package_keeps_the_toolkits_contract() -> None:
    from mlci import project  # the toolkit's side of the contract
    from mlci.build.compiling import compiled_path
    from mlci.core.config import load_config

    assert service.VERSION_VARIABLE == project.MODEL_VERSION_VARIABLE
    assert service.CHECKSUM_VARIABLE == project.MODEL_SHA256_VARIABLE
    assert service.COMPILED_CHECKSUM_VARIABLE == project.COMPILED_SHA256_VARIABLE
    assert compiled_path(MODEL) == COMPILED
    assert service.ROUTE == project.PREDICT_ROUTE
    root = Path(__file__).parents[1]
    repository = project.Project.read(root, load_config(root / "mlci.toml"))
    assert getattr(service, repository.service_class) is Predictor
    assert callable(repository.scorer())
    assert repository.example_request()


def test_a_refused_request_is_logged_as_one_line_without_its_values(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    private = "a value no log may keep"
    name = next(iter(EXAMPLE))
    with caplog.at_level("INFO"):
        response = predict(client, {"records": [{**EXAMPLE, name: private}]})
    assert response.status_code == 400, response.text
    (refusal,) = [record for record in caplog.records if "refused a request" in record.getMessage()]
    assert refusal.levelname == "WARNING"
    assert refusal.exc_info is None  # no traceback
    assert name in refusal.getMessage()
    assert private not in caplog.text


def test_a_body_over_the_limit_gets_413_declared_or_chunked(client: TestClient) -> None:
    filler = " " * (MAX_BODY_BYTES + 1)  # valid JSON whitespace: only the size is wrong
    body = json.dumps({"records": EXAMPLE}) + filler
    declared = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert f"larger than {MAX_BODY_BYTES} bytes" in declared.text
    chunks = iter([body[:1000].encode(), body[1000:].encode()])  # no Content-Length: sent in chunks
    chunked = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert chunked.status_code == 413, chunked.text
    small = client.post(
        "/predict",
        content=iter([json.dumps({"records": EXAMPLE}).encode()]),
        headers={"content-type": "application/json"},
    )
    assert small.status_code == 200, small.text  # a chunked body under the limit is handed on whole


def test_predict_makes_no_trace_span_and_keeps_no_access_log() -> None:
    assert SERVICE.config["tracing"]["excluded_urls"] == [service.ROUTE]
    assert SERVICE.config["logging"]["access"]["enabled"] is False


def test_answered_requests_leave_no_timer_behind(
    client: TestClient, pending_timers: Callable[[], int]
) -> None:
    before = pending_timers()
    for _ in range(20):
        assert predict(client, {"records": EXAMPLE}).status_code == 200
    assert pending_timers() == before  # BentoML's own timeout left one per request, for 10 s


def test_what_the_service_made_at_start_is_never_collected_again(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    assert gc.get_freeze_count() > 0


def test_a_model_other_than_the_builds_is_not_loaded(tmp_path: Path, model: Any) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    built = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_model(path, built).predict  # the build's bytes load
    assert load_model(path, "").predict  # the working tree: nothing to compare with
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match=f"not the build's {built}: not loaded"):
        load_model(path, built)


def test_the_openapi_schema_describes_the_refusals_as_they_are_sent(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    detail = spec["components"]["schemas"]["InvalidArgument"]["properties"]["detail"]
    listed = next(option for option in detail["anyOf"] if option["type"] == "array")
    refused = predict(client, {"records": [{}]})
    assert refused.status_code == 400
    assert set(listed["items"]["required"]) <= set(refused.json()["detail"][0])
    too_large = spec["paths"]["/predict"]["post"]["responses"]["413"]["content"]
    assert too_large["application/json"]["schema"]["$ref"] == "#/components/schemas/TooLarge"
    assert spec["components"]["schemas"]["TooLarge"]["required"] == ["error"]
