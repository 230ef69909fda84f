"""The service of this repository's model, end to end: its rows answered as the model answers them,
its example in the published schema, a bad value refused naming the column, the toolkit's contract.

How the service is made (the contract, batching, the deadline, the log) is the serving runtime's,
tested with it; what is tested here is this repository's schema and model through it.
"""

import importlib
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlci_serving import Categorical, Date, Numeric
from mlci_serving.answers import frame_rows
from starlette.testclient import TestClient

from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, labelled, read_csv
from {{ cookiecutter.package_name }}.paths import MODEL
from {{ cookiecutter.package_name }}.schema import DATA, EXAMPLE, FEATURES, TASK
from {{ cookiecutter.package_name }}.service import Predictor

SERVICE: Any = Predictor  # a bentoml.Service, which BentoML's lazy imports hide from type checkers
ROOT = Path(__file__).parents[1]


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


def test_rows_of_the_data_are_answered_as_the_model_answers_them(
    client: TestClient, model: Any
) -> None:
    rows = labelled(read_csv(ROOT / DATA))
    sample = rows.sample(n=min(20, len(rows)), random_state=0)[FEATURE_NAMES]
    response = client.post("/predict", json={"records": frame_rows(sample)})
    assert response.status_code == 200, response.text
    answers = response.json()
    expected = model.predict(sample)
    assert [answer["model_version"] for answer in answers] == ["working-tree"] * len(sample)
    if TASK == "classification":
        assert [answer["prediction"] for answer in answers] == [str(label) for label in expected]
    else:
        assert [answer["prediction"] for answer in answers] == pytest.approx(list(expected))


def test_the_shipped_example_is_the_schemas_and_in_the_openapi_schema(client: TestClient) -> None:
    example = json.loads((ROOT / "examples" / "predict.json").read_text(encoding="utf-8"))
    assert example == {"records": [EXAMPLE]}
    assert [EXAMPLE] in examples(client.get("/docs.json").json())


def examples(node: Any) -> list[Any]:
    """Every `examples` entry anywhere in a JSON document."""
    if isinstance(node, dict):
        found = list(node["examples"]) if isinstance(node.get("examples"), list) else []
        return found + [item for value in node.values() for item in examples(value)]
    if isinstance(node, list):
        return [item for value in node for item in examples(value)]
    return []


def test_values_the_data_never_showed_are_answered(client: TestClient) -> None:
    """Past a number's range, an unseen category, a later date: answered, and counted."""
    new = dict(EXAMPLE)
    for column in FEATURES:
        if isinstance(column, Numeric) and column.upper is None:
            new[column.name] = column.maximum + abs(column.maximum) + 1
        elif isinstance(column, Categorical) and not column.closed:
            new[column.name] = "never seen in " + column.name
        elif isinstance(column, Date):
            new[column.name] = "2099-12-31"
    response = client.post("/predict", json={"records": [EXAMPLE, new]})
    assert response.status_code == 200, response.text
    assert len(response.json()) == 2


def breaking(column: Any) -> object:
    """A value of the wrong type for this column: refused (a value merely new is answered)."""
    if isinstance(column, Numeric):
        return "many"
    if isinstance(column, Date):
        return "31/12/2022"
    return 7


@pytest.mark.parametrize("column", FEATURES, ids=[column.name for column in FEATURES])
def test_a_value_the_schema_refuses_gets_400_naming_its_column(
    client: TestClient, column: Any
) -> None:
    response = client.post(
        "/predict", json={"records": [EXAMPLE, {**EXAMPLE, column.name: breaking(column)}]}
    )
    assert response.status_code == 400, response.text
    assert json.dumps(column.name, ensure_ascii=False)[1:-1] in response.text


def test_the_package_keeps_the_toolkits_contract() -> None:
    from mlci.core.config import load_config
    from mlci.core.project import Project

    repository = Project.read(ROOT, load_config(ROOT / "mlci.toml"))
    module_name, _, name = repository.service_path.partition(":")
    assert getattr(importlib.import_module(module_name), name) is Predictor
    assert callable(repository.scorer())
    assert callable(repository.outcome_scorer())
    assert json.loads(repository.example_request()) == {"records": [EXAMPLE]}
