"""A table scored under the service's contract: each row checked as a request record, then answered.

`mlci score` and `mlci shadow` read tables in chunks and call a build's `TableScorer`, so that a table is
judged by the same rules and the same model as a request to that build. Rows the schema's rules surely
accept are checked as columns; any other row goes through the request model, one record at a time,
which refuses it with the reason a request would get, or accepts it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from mlci_serving import dates
from mlci_serving.columns import Categorical, Date, Numeric
from mlci_serving.contract import LARGEST_NUMBER, LONGEST_ID, LONGEST_LABEL, Contract
from mlci_serving.schema import Schema

NO_BOOLEANS = {"string", "floating", "integer", "mixed-integer-float", "decimal", "empty"}


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text a record holds, missing ones as NaN."""
    return values.astype(str).astype(object).where(values.notna(), np.nan)


def is_arrow_text(values: pd.Series) -> bool:
    """Whether pandas holds the values as Arrow text, as it reads a CSV's columns and Parquet's text."""
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def arrow_text_as_numbers(values: pd.Series) -> pd.Series | None:
    """Text that Arrow holds (a CSV's columns, as pandas reads them) parsed as numbers in one pass; None when
    the values are not Arrow text or one of them is not plainly a number, which `pd.to_numeric` then judges
    as it always has. Where Arrow parses every value, the two give the same floats (a test holds them to it)."""
    if not is_arrow_text(values):
        return None
    import pyarrow  # there, since pandas holds the text in it
    import pyarrow.compute

    try:
        parsed = pyarrow.compute.cast(pyarrow.array(values), pyarrow.float64())
    except pyarrow.ArrowInvalid:
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index)


def as_numbers(values: pd.Series) -> pd.Series:
    """Values as floats; NaN where missing or not a number (true and false are not numbers)."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index)
    parsed = arrow_text_as_numbers(values)
    if parsed is not None:
        return parsed
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in NO_BOOLEANS:
        booleans = values.map(lambda value: isinstance(value, bool | np.bool_)).to_numpy(dtype=bool)
        numbers[booleans] = np.nan
    return numbers


def said(message: str, value: object) -> str:
    """A refusal's reason with the value refused; a missing value named as such."""
    if value is None:
        return "missing, which the schema does not allow for this column"
    return f"{message} (got {value!r})"


def accepted(rows: int, refused: dict[int, str]) -> np.ndarray:
    """The places of a part's rows that were not refused, in order."""
    kept = np.ones(rows, dtype=bool)
    kept[list(refused)] = False
    return np.flatnonzero(kept)


class TableScorer:
    """A table's rows judged by one schema's contract, and answered by a model of it."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.contract = Contract(schema)
        # A table without one of these cannot be scored; the identifier, if the schema has one, is checked.
        self.required_columns = [column.name for column in schema.features]
        self.checked_columns = self.required_columns + ([schema.identifier] if schema.identifier else [])

    def classes_of(self, model: Any) -> list[str]:
        """A classifier's classes as text; none for a regressor."""
        return [str(label) for label in model.classes_] if self.schema.task == "classification" else []

    @staticmethod
    def answer_columns(classes: list[str]) -> list[str]:
        """The columns scoring adds to a table, for a model with these classes (a regressor: none)."""
        return ["prediction", *(f"probability_{label}" for label in classes), "model_version"]

    def model_inputs(self, table: pd.DataFrame) -> pd.DataFrame:
        """The table's features as the model reads a request's: numbers as floats, the rest as text."""
        numeric = set(self.schema.numeric_features)
        return pd.DataFrame(
            {
                name: as_numbers(table[name]) if name in numeric else as_text(table[name])
                for name in self.schema.feature_names
            },
            index=table.index,
        )

    def surely_valid(self, table: pd.DataFrame, inputs: pd.DataFrame) -> np.ndarray:
        """Per row, whether every checked value keeps the schema's rules, judged as columns."""
        valid = np.ones(len(table), dtype=bool)
        for column in self.schema.features:
            raw, value = table[column.name], inputs[column.name]
            present = raw.notna().to_numpy()
            if isinstance(column, Numeric):
                low = -LARGEST_NUMBER if column.lower is None else column.lower
                high = LARGEST_NUMBER if column.upper is None else column.upper
                kept = (value.notna() & value.between(low, high)).to_numpy()
            elif isinstance(column, Categorical) and column.closed:
                kept = value.isin(column.categories).to_numpy()
            elif isinstance(column, Date):
                kept = value.map(dates.is_date).to_numpy(dtype=bool)
            else:
                text = raw if is_arrow_text(raw) else value  # the same text; Arrow measures it in one pass
                kept = (text.str.len() <= LONGEST_LABEL).to_numpy(dtype=bool)
            valid &= (present & kept) | (~present & column.nullable)
        identifier = self.schema.identifier
        if identifier is not None and identifier in table.columns:
            names = as_text(table[identifier])
            lengths = names.str.len()
            valid &= (names.isna() | lengths.between(1, LONGEST_ID)).to_numpy()
        return valid

    def as_record(self, table: pd.DataFrame, position: int) -> dict[str, Any]:
        """One row as a request record: numbers where the schema has numbers, missing values as None,
        a value that is not a number as it is, for the contract to refuse."""
        numeric = set(self.schema.numeric_features)
        record: dict[str, Any] = {}
        for name in self.checked_columns:
            if name not in table.columns:
                continue
            value = table[name].iloc[position]
            if pd.isna(value):
                record[name] = None
            elif name in numeric and not isinstance(value, bool | np.bool_):
                number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
                record[name] = value if pd.isna(number) else float(number)
            elif name in numeric or name == self.schema.identifier:
                record[name] = value.item() if isinstance(value, np.generic) else value
            else:
                record[name] = str(value)
        return record

    def reason(self, record: dict[str, Any]) -> str | None:
        """Why the request model refuses a record, or None when it accepts it."""
        try:
            self.contract.record.model_validate(record)
        except ValidationError as error:
            return "; ".join(
                f"{'.'.join(map(str, problem['loc']))}: {said(problem['msg'], problem['input'])}"
                for problem in error.errors(include_url=False)
            )
        return None

    def judged(self, table: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        """The model's inputs of the rows the contract accepts; each refused row's place and reason."""
        inputs = self.model_inputs(table)
        reasons = {}
        for position in np.flatnonzero(~self.surely_valid(table, inputs)):
            refused = self.reason(self.as_record(table, int(position)))
            if refused is not None:
                reasons[int(position)] = refused
        return inputs.iloc[accepted(len(table), reasons)], reasons

    def predictions(self, model: Any, inputs: pd.DataFrame, version: str) -> pd.DataFrame:
        """What the service would answer for each row: the prediction, a classifier's probabilities,
        the model version."""
        classes = self.classes_of(model)
        if not classes:
            answered = pd.DataFrame({"prediction": model.predict(inputs).astype(float)})
        else:
            scores = model.predict_proba(inputs)
            answered = pd.DataFrame(
                {
                    "prediction": np.asarray(classes, dtype=object)[np.argmax(scores, axis=1)],
                    **{f"probability_{label}": scores[:, i] for i, label in enumerate(classes)},
                }
            )
        answered["model_version"] = version
        return answered
