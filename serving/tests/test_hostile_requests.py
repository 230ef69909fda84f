"""Requests made to hurt: the work each may cause is bounded before it is done, and what they write to the log
and to `/metrics` is bounded too. Each test sits at the boundary of its rule."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from mlci_serving import Numeric
from mlci_serving.contract import ERRORS_SHOWN, LONGEST_NAME_SHOWN, MAX_RECORDS, Contract
from mlci_serving.guard import GuardedBody
from mlci_serving.service import ServingSettings, model_service
from mlci_serving.shape import BodyShape

from .cases import MODEL, Case, model_folder, served

SMALL = 3  # records a request of the small service may hold


@pytest.fixture(scope="module")
def small(penguin_case: Case, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The penguins' service taking at most `SMALL` records a request."""
    service = model_service(penguin_case.module, MODEL, name="Guarded", settings=ServingSettings(max_records=SMALL))
    yield from served(service, model_folder(penguin_case, tmp_path_factory.mktemp("guarded")))


def post(client: TestClient, body: str | bytes) -> Any:
    return client.post("/predict", content=body, headers={"content-type": "application/json"})


def fields(case: Case) -> int:
    return Contract(case.schema, SMALL).fields


def test_one_record_more_than_the_limit_is_refused_before_it_is_parsed(small: TestClient) -> None:
    at_limit = post(small, json.dumps({"records": [{}] * SMALL}))
    assert at_limit.status_code == 400
    assert "validation error" in at_limit.json()["error"]  # parsed, and each empty record refused by the contract
    over = post(small, json.dumps({"records": [{}] * (SMALL + 1)}))
    assert over.status_code == 400
    assert over.json() == {
        "error": f"a request holds at most {SMALL} records, and this body holds more objects than that"
    }


def test_a_million_empty_records_get_the_same_one_line_answer(client: TestClient) -> None:
    response = post(client, '{"records": [' + ",".join(["{}"] * 1_000_000) + "]}")  # 2.9 MiB
    assert response.status_code == 400
    assert f"at most {MAX_RECORDS} records" in response.json()["error"]


def test_more_values_than_the_records_fields_can_hold_are_refused(small: TestClient, penguin_case: Case) -> None:
    most = BodyShape(SMALL, fields(penguin_case)).most_separators
    unknown = {f"k{index}": 0 for index in range(most)}  # one record: `most` colons and `most - 1` commas
    response = post(small, json.dumps({"records": [unknown]}))
    assert response.status_code == 400
    assert f"at most {SMALL} records of {fields(penguin_case)} fields each" in response.json()["error"]


def test_punctuation_inside_text_is_not_counted(small: TestClient, penguin_case: Case) -> None:
    """Braces and commas in a value are text: a body whose strings hold more of them than the bounds is read."""
    braces = '"{,:[' * 160  # 800 characters, within a category's longest; the quotes escaped in JSON
    records = [{**penguin_case.example, "island": braces}] * SMALL
    response = post(small, json.dumps({"records": records}))
    assert response.status_code == 200, response.text


def test_more_strings_than_punctuation_allows_are_refused_at_the_bound() -> None:
    """Valid JSON has punctuation between two strings: strings past that bound are values too many, and the
    walk stops there rather than at the body's end."""
    shape = BodyShape(max_records=2, fields=3)
    text = b'"' + b"," * (shape.most_separators + 1) + b'"'  # punctuation only inside a string: over the quick count
    at_bound = b"[" + text + b'""' * (shape.most_strings - 1) + b"]"
    assert shape.problem(at_bound) is None
    over = b"[" + text + b'""' * shape.most_strings + b"]"
    assert shape.problem(over) == shape.too_many_values()


def wrong_values(case: Case, count: int) -> list[dict[str, Any]]:
    """Records of the example with `count` values of the wrong type in all: `count` problems."""
    features = {column.name: "text" if isinstance(column, Numeric) else 7 for column in case.schema.features}
    records = []
    while count > 0:
        wrong = list(features)[: min(count, len(features))]
        records.append({**case.example, **{name: features[name] for name in wrong}})
        count -= len(wrong)
    return records


@pytest.mark.parametrize("problems", [ERRORS_SHOWN, ERRORS_SHOWN + 1])
def test_a_refusal_shows_at_most_its_first_problems_and_counts_the_rest(
    small: TestClient, penguin_case: Case, problems: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO"):
        response = post(small, json.dumps({"records": wrong_values(penguin_case, problems)}))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert all(problem["type"].endswith("_type") for problem in detail[:ERRORS_SHOWN]), detail
    if problems > ERRORS_SHOWN:
        assert len(detail) == ERRORS_SHOWN + 1
        assert detail[-1]["msg"] == f"and {problems - ERRORS_SHOWN} more, not shown"
    else:
        assert len(detail) == problems
    (line,) = [record.getMessage() for record in caplog.records if "refused a request" in record.getMessage()]
    assert line.startswith(f"refused a request: {problems} invalid field(s): ")
    assert line.endswith(", …") == (problems > ERRORS_SHOWN)


def test_a_long_unknown_name_is_cut_short_in_the_answer_and_the_log(
    small: TestClient, penguin_case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    name = "n" * (LONGEST_NAME_SHOWN + 1)
    with caplog.at_level("INFO"):
        response = post(
            small,
            json.dumps(
                {"records": [{**penguin_case.example, name: 1}, {**penguin_case.example, "n" * LONGEST_NAME_SHOWN: 1}]}
            ),
        )
    assert response.status_code == 400
    places = [problem["loc"][-1] for problem in response.json()["detail"]]
    assert places == ["n" * LONGEST_NAME_SHOWN + "…", "n" * LONGEST_NAME_SHOWN]
    assert name not in caplog.text


def test_a_name_with_a_newline_or_an_escape_code_cannot_forge_a_log_line(
    small: TestClient, penguin_case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "x\nERROR forged line \x1b[31m\u202e"
    with caplog.at_level("INFO"):
        response = post(small, json.dumps({"records": [{**penguin_case.example, forged: 1}]}))
    assert response.status_code == 400
    (line,) = [record.getMessage() for record in caplog.records if "refused a request" in record.getMessage()]
    assert "\n" not in line
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert "x\\nERROR forged line \\x1b[31m\\u202e" in line  # escaped as Python writes it


class Disconnecting:
    """An ASGI client that sends part of its body and goes away."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.parts: list[Message] = [
            {"type": "http.request", "body": b'{"records": [', "more_body": True},
            {"type": "http.disconnect"},
        ]

    async def receive(self) -> Message:
        return self.parts.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def test_a_client_gone_mid_body_is_one_line_and_no_answer(caplog: pytest.LogCaptureFixture) -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    guarded = GuardedBody(app, "/predict", 1 << 20, BodyShape(SMALL, 8))
    client = Disconnecting()
    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": [(b"content-type", b"application/json")]}
    with caplog.at_level("INFO"):
        asyncio.run(guarded(scope, client.receive, client.send))
    assert reached == []
    assert client.sent == []
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "a client went away before sending its whole request (13 bytes read)"
    assert record.exc_info is None


def test_unknown_paths_are_answered_but_never_counted_in_metrics(small: TestClient, penguin_case: Case) -> None:
    for index in range(30):
        assert small.get(f"/no-such-path-{index}").status_code == 404
    assert small.post("/predict", json={"records": penguin_case.example}).status_code == 200
    from prometheus_client import REGISTRY, generate_latest

    exposed = generate_latest(REGISTRY).decode()
    assert "no-such-path" not in exposed
    assert 'endpoint="/predict"' in exposed  # the service's own route still is
