"""The request contract, for schemas of every shape: records are answered, each schema rule refuses a
value that breaks it, and a refusal names the column as the data does."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from mlci_serving import Categorical, Date, Numeric
from mlci_serving.answers import frame_rows, record_ids
from mlci_serving.contract import LARGEST_NUMBER, MAX_RECORDS, Contract
from mlci_serving.novelty import Novelty

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
    rows = contract.rows(records)
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
    """Per rule of the contract, a record whose one value breaks it, and the name the 400 must give: types,
    required values, and the domain's own bounds where the schema states them."""
    example, cases = case.example, {}
    for column in case.schema.features:
        name = column.name
        if isinstance(column, Numeric):
            cases[f"{name} as text"] = ({**example, name: str(column.minimum)}, name)
            cases[f"{name} as boolean"] = ({**example, name: True}, name)
            if column.lower is not None:
                cases[f"{name} below its domain"] = ({**example, name: column.lower - 1}, name)
            if column.upper is not None:
                cases[f"{name} above its domain"] = ({**example, name: column.upper + 1}, name)
            else:
                cases[f"{name} past any 32-bit float"] = ({**example, name: LARGEST_NUMBER * 1.01}, name)
        elif isinstance(column, Categorical):
            cases[f"{name} as number"] = ({**example, name: 7}, name)
            if column.closed:
                cases[f"{name} outside its closed set"] = ({**example, name: "no such " + name}, name)
        elif isinstance(column, Date):
            cases[f"{name} not in an ISO form"] = ({**example, name: "31/12/2022"}, name)
            cases[f"{name} no such day"] = ({**example, name: "2022-02-30"}, name)
            cases[f"{name} as number"] = ({**example, name: 20220630}, name)
        if not column.nullable:
            cases[f"{name} null"] = ({**example, name: None}, name)
            cases[f"{name} left out"] = ({key: value for key, value in example.items() if key != name}, name)
    return cases


def test_every_rule_of_the_contract_refuses_a_value_that_breaks_it(client: TestClient, case: Case) -> None:
    breaking = breaking_values(case)
    assert breaking, "every case has a rule to break"
    for rule, (record, named) in breaking.items():
        response = predict(client, {"records": [case.example, record]})
        assert response.status_code == 400, f"{rule}: {response.text}"
        assert json.dumps(named, ensure_ascii=False)[1:-1] in response.text, rule  # as JSON writes the name


def merely_new(case: Case) -> dict[tuple[str, str], dict[str, Any]]:
    """Per feature, a record whose one value the training data never showed but the domain allows, by the
    column and the kind of novelty counted for it."""
    example, cases = case.example, {}
    for column in case.schema.features:
        name = column.name
        if isinstance(column, Numeric):
            span = column.maximum - column.minimum
            if column.upper is None:
                cases[name, "above_range"] = {**example, name: column.maximum + span + 1}
            if column.lower is None:
                cases[name, "below_range"] = {**example, name: column.minimum - span - 1}
        elif isinstance(column, Categorical) and not column.closed:
            cases[name, "unseen_category"] = {**example, name: "never seen " + name}
        elif isinstance(column, Date):
            cases[name, "after_period"] = {**example, name: "2031-01-05T10:00:00Z"}
    return cases


def counted(column: str, kind: str) -> float:
    return REGISTRY.get_sample_value("novel_values_total", {"column": column, "kind": kind}) or 0.0


def test_what_is_new_is_counted_by_column_and_kind(client: TestClient, case: Case) -> None:
    new = merely_new(case)
    before = {key: counted(*key) for key in new}
    assert predict(client, {"records": list(new.values())}).status_code == 200
    assert {key: counted(*key) - before[key] for key in new} == dict.fromkeys(new, 1.0)
    assert Novelty(case.schema).found(frame_rows(case.table[case.schema.feature_names])) == Counter()


def test_a_date_on_the_last_day_of_the_period_is_not_new_and_the_next_is(identified_case: Case) -> None:
    novelty = Novelty(identified_case.schema)
    (latest,) = (column.latest for column in identified_case.schema.features if isinstance(column, Date))
    day_after = (date.fromisoformat(latest) + timedelta(days=1)).isoformat()
    rows = [{**identified_case.example, "sold on": value} for value in (latest, day_after)]
    assert novelty.found(rows) == Counter({("sold on", "after_period"): 1})


def test_a_value_that_is_merely_new_is_answered(client: TestClient, case: Case) -> None:
    new = merely_new(case)
    assert new, "every case has a feature whose values may be new"
    response = predict(client, {"records": list(new.values())})
    assert response.status_code == 200, response.text
    for answer in response.json():
        check_answer(answer, case)


def test_the_largest_number_the_model_reads_is_answered(client: TestClient, case: Case) -> None:
    """The bound of a column without one of its own: the largest 32-bit float, and its negative."""
    numbers = [column for column in case.schema.features if isinstance(column, Numeric)]
    highest = {column.name: LARGEST_NUMBER for column in numbers if column.upper is None}
    lowest = {column.name: -LARGEST_NUMBER for column in numbers if column.lower is None}
    assert highest, "every case has a number the schema does not bound above"
    records = [{**case.example, **highest}, {**case.example, **lowest}]
    response = predict(client, {"records": records})
    assert response.status_code == 200, response.text


def test_a_row_of_the_table_itself_is_a_record(client: TestClient, case: Case) -> None:
    """Its target, metadata and id columns are known to the schema: accepted, and not read by the model."""
    rows = case.table.head(3)
    response = predict(client, {"records": frame_rows(rows)})
    assert response.status_code == 200, response.text
    alone = predict(client, {"records": frame_rows(rows[case.schema.feature_names])})
    given, expected = response.json(), alone.json()
    assert [answer["prediction"] for answer in given] == [answer["prediction"] for answer in expected]
    identifier = case.schema.identifier
    if identifier is not None:
        assert [answer["id"] for answer in given] == [str(value) for value in rows[identifier]]


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
