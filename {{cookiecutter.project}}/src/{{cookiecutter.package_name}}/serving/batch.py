"""A table scored under the service's contract: each row checked as a request record, then answered.

`mlci score` reads a table in chunks and calls these functions of the build it scores with, so that
a table is judged by the same rules and the same model as a request to that build.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import Record
from {{ cookiecutter.package_name }}.schema import FEATURES, IDENTIFIER, NUMERIC_FEATURES, TASK
from {{ cookiecutter.package_name }}.serving.answers import as_frame

# A table without one of these cannot be scored; the identifier, if the schema has one, is checked.
REQUIRED_COLUMNS = [column.name for column in FEATURES]
CHECKED_COLUMNS = REQUIRED_COLUMNS + ([IDENTIFIER] if IDENTIFIER else [])


def answer_columns(classes: list[str]) -> list[str]:
    """The columns scoring adds to a table, for a model with these classes (a regressor: none)."""
    return ["prediction", *(f"probability_{label}" for label in classes), "model_version"]


def classes_of(model: Pipeline) -> list[str]:
    """A classifier's classes as text; none for a regressor."""
    return [str(label) for label in model.classes_] if TASK == "classification" else []


def as_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows as request records: numbers where the schema has numbers, text elsewhere,
    missing values as None. A value that is not a number stays as it is, for the contract to refuse.
    """
    present = [name for name in CHECKED_COLUMNS if name in table.columns]
    columns = {}
    for name in present:
        values = table[name]
        if name in NUMERIC_FEATURES:
            numbers = pd.to_numeric(values, errors="coerce")
            values = numbers.astype(object).where(numbers.notna(), values)
        elif values.dtype != object:
            values = values.astype(object).where(values.isna(), values.astype(str))
        columns[name] = values.astype(object).where(values.notna(), None)
    return [
        {str(name): value for name, value in record.items()}
        for record in pd.DataFrame(columns, index=table.index).to_dict("records")
    ]


def said(message: str, value: object) -> str:
    """A refusal's reason with the value refused; a missing value named as such."""
    if value is None:
        return "missing, which the schema does not allow for this column"
    return f"{message} (got {value!r})"


def refusals(records: list[dict[str, Any]]) -> dict[int, str]:
    """The position of each record the contract refuses, with the reason a request would get."""
    reasons = {}
    for position, record in enumerate(records):
        try:
            Record.model_validate(record)
        except ValidationError as error:
            reasons[position] = "; ".join(
                f"{'.'.join(map(str, problem['loc']))}: {said(problem['msg'], problem['input'])}"
                for problem in error.errors(include_url=False)
            )
    return reasons


def predictions(model: Pipeline, records: list[dict[str, Any]], version: str) -> pd.DataFrame:
    """What the service would answer for each record: the prediction, a classifier's probabilities,
    the model version."""
    frame = as_frame(records)
    classes = classes_of(model)
    if not classes:
        answered = pd.DataFrame({"prediction": model.predict(frame).astype(float)})
    else:
        scores = model.predict_proba(frame)
        answered = pd.DataFrame(
            {
                "prediction": np.asarray(classes, dtype=object)[np.argmax(scores, axis=1)],
                **{f"probability_{label}": scores[:, i] for i, label in enumerate(classes)},
            }
        )
    answered["model_version"] = version
    return answered
