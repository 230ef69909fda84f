"""Batch scoring's side of the contract: a table's rows judged as requests are, answered alike."""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.columns import Categorical, Numeric
from {{ cookiecutter.package_name }}.data import labelled, read_csv
from {{ cookiecutter.package_name }}.schema import DATA, EXAMPLE, FEATURES
from {{ cookiecutter.package_name }}.serving.answers import TrainedModel, answers, frame_rows
from {{ cookiecutter.package_name }}.serving.batch import (
    REQUIRED_COLUMNS,
    answer_columns,
    as_numbers,
    classes_of,
    judged,
    predictions,
)

ROOT = Path(__file__).parents[1]


def as_text(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a CSV read as text gives it: every value a string, missing ones NaN."""
    return {name: float("nan") if value is None else str(value) for name, value in record.items()}


def bad_values() -> list[tuple[str, str]]:
    """One value per feature kind that the contract refuses, with its column."""
    found = []
    for column in FEATURES:
        if isinstance(column, Numeric):
            too_large = str(column.maximum + abs(column.maximum) + 1)
            found += [(column.name, too_large), (column.name, "many")]
        elif isinstance(column, Categorical):
            found.append((column.name, "a category never seen"))
    return found


def test_text_rows_read_from_a_table_pass_as_the_example_does() -> None:
    inputs, reasons = judged(pd.DataFrame([as_text(EXAMPLE)] * 3))
    assert reasons == {}
    assert len(inputs) == 3


@pytest.mark.parametrize(("column", "value"), bad_values())
def test_a_row_breaking_the_contract_is_refused_naming_the_column(column: str, value: str) -> None:
    table = pd.DataFrame([as_text(EXAMPLE), {**as_text(EXAMPLE), column: value}])
    inputs, reasons = judged(table)
    assert list(reasons) == [1]
    assert len(inputs) == 1
    assert reasons[1].startswith(f"{column}: ")
    assert repr(value) in reasons[1] or value in reasons[1]


def test_a_batch_is_answered_as_the_service_answers_each_record(model: Any) -> None:
    rows = labelled(read_csv(ROOT / DATA)).head(25)[REQUIRED_COLUMNS]
    inputs, reasons = judged(rows)
    assert reasons == {}
    answered = predictions(model, inputs, "v9")
    assert list(answered.columns) == answer_columns(classes_of(model))
    assert set(answered["model_version"]) == {"v9"}
    records = frame_rows(rows)
    served = answers(TrainedModel(model), records, "v9", [str(n) for n in range(len(records))])
    expected = [answer["prediction"] for answer in served]
    if classes_of(model):
        assert list(answered["prediction"]) == expected
    else:
        assert list(answered["prediction"]) == pytest.approx(expected)


def test_a_row_the_columns_doubt_is_judged_by_the_request_model() -> None:
    """A whole number in a numeric column of a typed table, true/false where a number belongs."""
    numeric = next(column for column in FEATURES if isinstance(column, Numeric))
    typed = pd.DataFrame([{**EXAMPLE, numeric.name: True}, dict(EXAMPLE)])
    inputs, reasons = judged(typed)
    assert list(reasons) == [0]
    assert reasons[0].startswith(f"{numeric.name}: Input should be a valid number")
    assert len(inputs) == 1


def test_true_and_false_are_never_read_as_numbers() -> None:
    mixed = pd.Series([True, 1.5, "2", None, "many", np.False_], dtype=object)
    expected = [np.nan, 1.5, 2.0, np.nan, np.nan, np.nan]
    assert as_numbers(mixed).tolist() == pytest.approx(expected, nan_ok=True)
    assert as_numbers(pd.Series([True, False])).isna().all()
