"""The request contract, for schemas of every shape: records are answered, each schema rule refuses a
value that breaks it, and a refusal names the column as the data does."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from mlci_serving import Categorical, Numeric
from mlci_serving.answers import as_rows, frame_rows, record_ids
from mlci_serving.contract import MAX_RECORDS, Contract

from .cases import Case


def predict(client: TestClient, body: Any) -> Any:
    return client.post("/predict", json=body)


def check_answer(answer: dict[str, Any], case: Case) -> None:
    """An answer of the task's shape, with the version that gave it."""
    assert answer["model_version"] == "working-tree"
    if case.schema.task == "classification":
        classes = case.schema.classes
        assert answer["prediction"] in classes
        assert set(answer["probabilities"]) <= set(classes)
        assert max(answer["probabilities"], key=answer["probabilities"].get) == answer["prediction"]
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
    else:
        assert isinstance(answer["prediction"], float)
        assert math.isfinite(answer["prediction"])


def test_the_example_is_answered(client: TestClient, case: Case) -> None:
    response = predict(client, {"records": case.example})
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    check_answer(answer, case)


def test_real_rows_round_trip_in_order_as_the_model_answers_them(client: TestClient, case: Case) -> None:
    sample = case.table.sample(n=20, random_state=0)[case.schema.feature_names]
    response = predict(client, {"records": frame_rows(sample)})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert len(answers) == len(sample)
    for answer in answers:
        check_answer(answer, case)
    expected = case.model.predict(sample)
    if case.schema.task == "classification":
        assert [answer["prediction"] for answer in answers] == [str(label) for label in expected]
    else:
        assert [answer["prediction"] for answer in answers] == pytest.approx(list(expected))
    alone = [predict(client, {"records": record}).json()[0] for record in frame_rows(sample.head(3))]
    assert [answer["prediction"] for answer in answers[:3]] == [answer["prediction"] for answer in alone]


def test_each_answer_carries_its_records_id_or_one_made_up(client: TestClient, case: Case) -> None:
    records = [case.example, case.example, case.example]
    identifier = case.schema.identifier
    if identifier is not None:
        records = [{**case.example, identifier: "record-1"}, {**case.example, identifier: 2}, case.example]
    response = predict(client, {"records": records})
    assert response.status_code == 200, response.text
    ids = [answer["id"] for answer in response.json()]
    assert len(set(ids)) == 3
    assert all(isinstance(name, str) and name for name in ids)
    if identifier is not None:
        assert ids[:2] == ["record-1", "2"]


def test_values_the_schema_allows_to_be_missing_may_be_left_out(client: TestClient, case: Case) -> None:
    required = {column.name: case.example[column.name] for column in case.schema.features if not column.nullable}
    response = predict(client, {"records": required})
    assert response.status_code == 200, response.text
    check_answer(response.json()[0], case)


def test_the_model_and_the_log_read_each_record_by_the_datas_column_names(case: Case) -> None:
    contract = Contract(case.schema)
    records = TypeAdapter(contract.records).validate_python([case.example])
    features = {column.name: case.example.get(column.name) for column in case.schema.features}
    identifier = case.schema.identifier
    rows = as_rows(records)
    assert rows == [{**features, **({identifier: None} if identifier is not None else {})}]
    (made_up,) = record_ids(rows, identifier)
    assert rows == [features]  # the id is taken out: never the model's input, nor logged as one
    assert len(made_up) == 32


def test_the_example_is_in_the_openapi_schema(client: TestClient, case: Case) -> None:
    assert [case.example] in find_examples(client.get("/docs.json").json())


def find_examples(node: Any) -> list[Any]:
    """Every `examples` entry anywhere in a JSON document."""
    if isinstance(node, dict):
        found = list(node.get("examples", [])) if isinstance(node.get("examples"), list) else []
        return found + [item for value in node.values() for item in find_examples(value)]
    if isinstance(node, list):
        return [item for value in node for item in find_examples(value)]
    return []


def breaking_values(case: Case) -> dict[str, tuple[dict[str, Any], str]]:
    """Per schema rule, a record whose one value breaks it, and the name the 400 must give."""
    example, cases = case.example, {}
    for column in case.schema.features:
        name = column.name
        if isinstance(column, Numeric):
            span = column.maximum - column.minimum
            cases[f"{name} below range"] = ({**example, name: column.minimum - span / 2 - 1}, name)
            cases[f"{name} above range"] = ({**example, name: column.maximum + span / 2 + 1}, name)
            cases[f"{name} as text"] = ({**example, name: str(column.minimum)}, name)
            cases[f"{name} as boolean"] = ({**example, name: True}, name)
        elif isinstance(column, Categorical):
            cases[f"{name} unknown category"] = ({**example, name: "no such " + name}, name)
            cases[f"{name} as number"] = ({**example, name: 7}, name)
        if not column.nullable:
            cases[f"{name} null"] = ({**example, name: None}, name)
            cases[f"{name} left out"] = ({key: value for key, value in example.items() if key != name}, name)
    return cases


def test_every_schema_rule_refuses_a_value_that_breaks_it(client: TestClient, case: Case) -> None:
    breaking = breaking_values(case)
    assert breaking, "every case has a rule to break"
    for rule, (record, named) in breaking.items():
        response = predict(client, {"records": [case.example, record]})
        assert response.status_code == 400, f"{rule}: {response.text}"
        assert json.dumps(named, ensure_ascii=False)[1:-1] in response.text, rule  # as JSON writes the name


def bad_requests(example: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    return {
        "unknown field": ({"records": {**example, "no such column": 1}}, "no such column"),
        "empty list": ({"records": []}, "at least 1"),
        "batch over the limit": ({"records": [example] * (MAX_RECORDS + 1)}, f"at most {MAX_RECORDS}"),
        "no records key": ({"rows": [example]}, "records"),
        "body is a list": ([example], "object"),
        "record is a number": ({"records": 7}, "records"),
        "unknown top-level field": ({"records": [example], "extra": 1}, "extra"),
    }


def test_a_bad_request_gets_400_naming_why(client: TestClient, case: Case) -> None:
    for kind, (body, named) in bad_requests(case.example).items():
        response = predict(client, body)
        assert response.status_code == 400, f"{kind}: {response.text}"
        assert named in response.text, kind
