"""The service's contract, in process: records are answered, bad requests get a 400 naming why."""

import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from {{ cookiecutter.package_name }}.contract import EXAMPLE, MAX_BATCH
from {{ cookiecutter.package_name }}.data import RAW, read_csv
from {{ cookiecutter.package_name }}.schema import TARGET
from {{ cookiecutter.package_name }}.service import SERVICE
from {{ cookiecutter.package_name }}.train import FEATURE_NAMES, MODEL, fit

ROOT = Path(__file__).parents[1]
EXAMPLE_FILE = ROOT / "examples" / "predict.json"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service over a small model trained on the shipped data, in a folder of its own."""
    raw = read_csv(ROOT / RAW)
    folder = tmp_path_factory.mktemp("serving")
    (folder / MODEL).parent.mkdir(parents=True)
    model = fit(raw, {"n_estimators": 10, "max_depth": 4, "seed": 0})
    (folder / MODEL).write_bytes(pickle.dumps(model))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        with TestClient(SERVICE.to_asgi()) as test_client:
            yield test_client


def predict(client: TestClient, body: Any) -> Any:
    return client.post("/predict", json=body)


def test_one_record_is_answered_with_class_probabilities_and_version(client: TestClient) -> None:
    response = predict(client, {"records": EXAMPLE})
    assert response.status_code == 200
    (answer,) = response.json()
    assert answer["prediction"] in TARGET.categories
    assert set(answer["probabilities"]) == set(TARGET.categories)
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
    assert answer["model_version"] == "working-tree"


def test_a_batch_is_answered_in_order(client: TestClient) -> None:
    rows = read_csv(ROOT / RAW).head(20)
    records = [
        {name: (None if pd.isna(value) else value) for name, value in row.items()}
        for row in rows[FEATURE_NAMES].to_dict("records")
    ]
    answers = predict(client, {"records": records}).json()
    assert len(answers) == 20
    assert [answer["prediction"] for answer in answers[:3]] == ["Adelie"] * 3


def test_missing_values_the_schema_allows_are_imputed(client: TestClient) -> None:
    response = predict(client, {"records": {"island": "Dream"}})
    assert response.status_code == 200
    assert response.json()[0]["prediction"] in TARGET.categories


def test_the_shipped_example_is_valid_and_in_the_openapi_schema(client: TestClient) -> None:
    example = json.loads(EXAMPLE_FILE.read_text())
    assert example == {"records": [EXAMPLE]}
    assert predict(client, example).status_code == 200
    assert [EXAMPLE] in find_examples(client.get("/docs.json").json())


def find_examples(node: Any) -> list[Any]:
    """Every `examples` entry anywhere in a JSON document."""
    if isinstance(node, dict):
        found = list(node.get("examples", [])) if isinstance(node.get("examples"), list) else []
        return found + [item for value in node.values() for item in find_examples(value)]
    if isinstance(node, list):
        return [item for value in node for item in find_examples(value)]
    return []


BAD_REQUESTS = {
    "missing field": ({"records": {"bill_length_mm": 40.0}}, "island"),
    "wrong type": ({"records": {**EXAMPLE, "body_mass_g": "heavy"}}, "body_mass_g"),
    "string number": ({"records": {**EXAMPLE, "body_mass_g": "4500"}}, "body_mass_g"),
    "below range": ({"records": {**EXAMPLE, "flipper_length_mm": 10.0}}, "flipper_length_mm"),
    "above range": ({"records": {**EXAMPLE, "bill_depth_mm": 99.0}}, "bill_depth_mm"),
    "unknown category": ({"records": {**EXAMPLE, "island": "Atlantis"}}, "island"),
    "unknown field": ({"records": {**EXAMPLE, "colour": "blue"}}, "colour"),
    "null where not allowed": ({"records": {**EXAMPLE, "island": None}}, "island"),
    "empty list": ({"records": []}, "at least 1"),
    "batch over the limit": ({"records": [EXAMPLE] * (MAX_BATCH + 1)}, f"at most {MAX_BATCH}"),
    "no records key": ({"rows": [EXAMPLE]}, "records"),
    "body is a list": ([EXAMPLE], "object"),
    "record is a number": ({"records": 7}, "records"),
    "one bad record in a batch": ({"records": [EXAMPLE, {**EXAMPLE, "sex": "x"}]}, "sex"),
    "boolean as number": ({"records": {**EXAMPLE, "body_mass_g": True}}, "body_mass_g"),
}


@pytest.mark.parametrize(("body", "named"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_400_naming_the_field(client: TestClient, body: Any, named: str) -> None:
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
