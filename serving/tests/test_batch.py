"""Batch scoring's side of the contract: a table's rows judged as requests are, answered alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlci_serving import Categorical, Date, Numeric
from mlci_serving.answers import TrainedModel, answers, frame_rows
from mlci_serving.batch import TableScorer, arrow_text_as_numbers, as_numbers

from .cases import Case


def as_text(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a CSV read as text gives it: every value a string, missing ones NaN."""
    return {name: float("nan") if value is None else str(value) for name, value in record.items()}


def bad_values(case: Case) -> list[tuple[str, str]]:
    """Values of each feature kind that the contract refuses, with their column: text that is no number, past
    a domain bound, outside a closed set, no date."""
    found = []
    for column in case.schema.features:
        if isinstance(column, Numeric):
            found.append((column.name, "many"))
            found.append((column.name, "inf"))
            if column.upper is None:
                found.append((column.name, "3.5e+38"))
            if column.lower is not None:
                found.append((column.name, str(column.lower - 1)))
        elif isinstance(column, Categorical) and column.closed:
            found.append((column.name, "a category never seen"))
        elif isinstance(column, Date):
            found.append((column.name, "31/12/2022"))
    return found


def test_values_that_are_merely_new_are_answered(case: Case) -> None:
    """Past the range the data showed, an unseen category of an open set, a later date: judged as requests."""
    new = dict(as_text(case.example))
    for column in case.schema.features:
        if isinstance(column, Numeric) and column.upper is None:
            new[column.name] = str(column.maximum * 10 + 100)
        elif isinstance(column, Categorical) and not column.closed:
            new[column.name] = "never seen"
        elif isinstance(column, Date):
            new[column.name] = "2031-01-05"
    inputs, reasons = TableScorer(case.schema).judged(pd.DataFrame([new]))
    assert reasons == {}
    assert len(inputs) == 1


def test_text_rows_read_from_a_table_pass_as_the_example_does(case: Case) -> None:
    inputs, reasons = TableScorer(case.schema).judged(pd.DataFrame([as_text(case.example)] * 3))
    assert reasons == {}
    assert len(inputs) == 3


def test_a_row_breaking_the_contract_is_refused_naming_the_column(case: Case) -> None:
    scorer = TableScorer(case.schema)
    for column, value in bad_values(case):
        table = pd.DataFrame([as_text(case.example), {**as_text(case.example), column: value}])
        inputs, reasons = scorer.judged(table)
        assert list(reasons) == [1], (column, value)
        assert len(inputs) == 1
        assert reasons[1].startswith(f"{column}: ")
        assert repr(value) in reasons[1] or value in reasons[1]


def test_a_batch_is_answered_as_the_service_answers_each_record(case: Case) -> None:
    scorer = TableScorer(case.schema)
    rows = case.table.head(25)[scorer.required_columns]
    inputs, reasons = scorer.judged(rows)
    assert reasons == {}
    answered = scorer.predictions(case.model, inputs, "v9")
    assert list(answered.columns) == scorer.answer_columns(scorer.classes_of(case.model))
    assert set(answered["model_version"]) == {"v9"}
    records = frame_rows(rows)
    trained = TrainedModel(case.model, case.schema.feature_names)
    served = answers(trained, records, "v9", [str(n) for n in range(len(records))], case.schema.task)
    expected = [answer["prediction"] for answer in served]
    if scorer.classes_of(case.model):
        assert list(answered["prediction"]) == expected
    else:
        assert list(answered["prediction"]) == pytest.approx(expected)


def test_a_row_the_columns_doubt_is_judged_by_the_request_model(case: Case) -> None:
    """True or false where a number belongs, in a typed table."""
    numeric = next(column for column in case.schema.features if isinstance(column, Numeric))
    typed = pd.DataFrame([{**case.example, numeric.name: True}, case.example])
    inputs, reasons = TableScorer(case.schema).judged(typed)
    assert list(reasons) == [0]
    assert reasons[0].startswith(f"{numeric.name}: Input should be a valid number")
    assert len(inputs) == 1


def test_an_identifier_longer_than_the_contracts_is_refused(identified_case: Case) -> None:
    case, identifier = identified_case, identified_case.schema.identifier
    assert identifier is not None
    table = pd.DataFrame(
        [{**as_text(case.example), identifier: "x" * 256}, {**as_text(case.example), identifier: "x" * 257}]
    )
    _, reasons = TableScorer(case.schema).judged(table)
    assert list(reasons) == [1]
    assert reasons[1].startswith(identifier)


def test_true_and_false_are_never_read_as_numbers() -> None:
    mixed = pd.Series([True, 1.5, "2", None, "many", np.False_], dtype=object)
    expected = [np.nan, 1.5, 2.0, np.nan, np.nan, np.nan]
    assert as_numbers(mixed).tolist() == pytest.approx(expected, nan_ok=True)
    assert as_numbers(pd.Series([True, False])).isna().all()


AWKWARD_NUMBERS = [
    *["1", "1.5", "-1e5", "+2", ".5", "5.", "-0", "00012", "1E5", "1e400", "1e-400", "4.9e-324"],
    *["1.7976931348623157e308", "1.23456789012345678901234", "inf", "-inf", "+inf", "Infinity", "nan", "NaN"],
    *[" 1", "1 ", "\t1", "1\n", "1_000", "0x10", "0b1", "1,5", "1e", "e5", "--1", "1d5", "1.0f", "TRUE", "True"],
    *["", "  ", "\u0661\u0662", "\uff11\uff12", "many"],  # Arabic-Indic and full-width digits
]


def plain_numbers(count: int) -> list[str]:
    """Numbers written the many ways a table writes them: few digits and more than a float keeps, any exponent."""
    rng = np.random.default_rng(7)
    values = rng.standard_normal(count) * 10.0 ** rng.integers(-30, 30, count)
    return [f"{value:.{digits}g}" for value, digits in zip(values, rng.integers(1, 25, count), strict=True)]


@pytest.mark.parametrize("text", [*AWKWARD_NUMBERS, None])
def test_text_held_by_arrow_reads_as_the_same_number_as_pandas_reads_it(text: str | None) -> None:
    column = [*plain_numbers(1000), text]
    fast = as_numbers(pd.Series(column, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    judged_one_by_one = as_numbers(pd.Series(column, dtype=object))
    assert fast.tolist() == pytest.approx(judged_one_by_one.tolist(), nan_ok=True, rel=0, abs=0)


def test_arrow_parses_a_column_of_plain_numbers_in_one_pass_and_leaves_any_other_to_pandas() -> None:
    plain = plain_numbers(1000)
    assert arrow_text_as_numbers(pd.Series(plain, dtype=pd.StringDtype("pyarrow", na_value=np.nan))) is not None
    assert arrow_text_as_numbers(pd.Series([*plain, " 1"], dtype=pd.StringDtype("pyarrow", na_value=np.nan))) is None
    assert arrow_text_as_numbers(pd.Series(plain, dtype=object)) is None
