"""Dates and timestamps: how a column of them is recognised, how a value is checked, and the numbers a model
reads of it. One rule, used by adoption (is this column a date?), the request contract (is this value one?),
the model's inputs (its parts) and drift (how many requests fall outside the training period).

Recognised: ISO 8601 dates (`2024-05-31`), with a time (`2024-05-31T13:05`, `2024-05-31 13:05:09.5`) and a zone
(`Z`, `+02:00`) or none; a zone is read as UTC, a date without one as it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?")
LONGEST = 40  # characters of the longest ISO form above
PARTS = ("year", "month", "day_of_week", "day_of_year", "hour")  # what a model reads of a date


def is_date(value: object) -> bool:
    """Whether a value is a real date or timestamp written in an ISO form (not 2024-02-30)."""
    if not isinstance(value, str) or len(value) > LONGEST or not ISO.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace(",", ".").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_date_column(values: pd.Series) -> bool:
    """Whether a column holds dates: it has values, and every one present is a date (a sample is looked at
    first, so that a column of something else is told quickly)."""
    present = values.dropna()
    if present.empty or not all(is_date(value) for value in present.head(100)):
        return False
    return all(is_date(value) for value in present.unique())


def moments(values: Iterable[Any]) -> pd.Series:
    """The values as moments in UTC (a date without a zone as written); NaT where missing or not a date."""
    text = pd.Series([value if is_date(value) else None for value in values], dtype=object)
    if text.isna().all():
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(text.str.replace(",", ".", regex=False), errors="coerce", utc=True, format="ISO8601")


def parts(values: Iterable[Any]) -> np.ndarray:
    """Per value, the numbers a model reads of it (`PARTS`, in that order); NaN where missing."""
    when = moments(values)
    columns = [when.dt.year, when.dt.month, when.dt.day_of_week, when.dt.day_of_year, when.dt.hour]
    return np.column_stack([column.to_numpy(dtype=float, na_value=np.nan) for column in columns])


def part_names(column: str) -> list[str]:
    """The names of a date column's parts, as the model's inputs are named."""
    return [f"{column}:{part}" for part in PARTS]


class DateParts(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn is untyped
    """A pipeline step: each date column becomes its parts (year, month, day of week, day of year, hour).

    It learns nothing, so a date never seen in training is read like any other; a missing or unreadable one
    gives NaN parts, for an imputer after it.
    """

    def fit(self, frame: Any, target: Any = None) -> DateParts:
        self.feature_names_in_ = np.asarray(getattr(frame, "columns", []), dtype=object)
        return self

    def transform(self, frame: Any) -> np.ndarray:
        table = pd.DataFrame(frame)
        if table.shape[1] == 0:
            return np.empty((len(table), 0))
        return np.hstack([parts(table.iloc[:, index]) for index in range(table.shape[1])])

    def get_feature_names_out(self, names: Sequence[str] | None = None) -> np.ndarray:
        columns = list(names) if names is not None else [str(name) for name in self.feature_names_in_]
        return np.asarray([name for column in columns for name in part_names(column)], dtype=object)
