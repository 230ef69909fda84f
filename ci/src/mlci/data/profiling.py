"""Read a user's table and infer what `mlci adopt` writes: each column's kind, rule and role, and the task.

Every check that can refuse the table runs here, before anything is written. The rules for one column, in
order, other than the target: all missing or a single value is `metadata` (it cannot teach anything); dates and
timestamps (every value an ISO date) are date features, read by their parts; text unique to each row, or whole
numbers that count the rows (every value different, with no gap), identify records; a column named like an
identifier with more than MAX_CATEGORIES values, repeated, names groups of rows; other text with more
distinct values than MAX_CATEGORIES, or than half the rows, is free text; other text, and booleans, are
categorical features; other numbers are numeric features whose range is the observed one widened by
RANGE_MARGIN of its span on each side, and whose domain is bounded below at zero when no value was negative.
What the columns say together (recodings, counters, leakage, which identifier names records) is `roles`'.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from mlci_serving.contract import LARGEST_NUMBER
from mlci_serving.dates import is_date_column, moments

from mlci.core.errors import MlciError

Task = Literal["classification", "regression"]
Role = Literal["feature", "target", "metadata", "id", "group"]

MAX_CATEGORIES = 50  # distinct text values above this are free text, not categories
MAX_CLASSES = 50  # a classification target with more classes than this is refused
CLASSIFY_INTEGERS_UP_TO = 20  # a whole-number target with at most this many values is a class label
MIN_ROWS = 20  # labelled rows below this are too few to split into training and test sets
RANGE_MARGIN = 0.1  # a numeric range is the observed one widened by this share of its span on each side
MISSING_SLACK = 0.05  # a column may lose this much more of its values than the table shows before validation fails
UNIQUE_IDENTIFIER = "an identifier: a different value in every row"
ROW_NUMBER = "an identifier: it numbers the rows, a different whole number in every row"
IDENTIFIER_NAME = re.compile(
    r"(^|[^a-z])(id|ids|uuid|guid|key|index|code|no|number)$|^(id|uuid|guid)([^a-z]|$)", re.IGNORECASE
)


class AdoptError(MlciError):
    """A table `mlci adopt` cannot use; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class ColumnProfile:
    """One column as the schema will state it."""

    name: str
    kind: Literal["numeric", "categorical", "date", "text"]
    role: Role
    nullable: bool
    missing_share: float
    minimum: float | int | None = None
    maximum: float | int | None = None
    categories: tuple[str, ...] = ()
    reason: str = ""  # why a column is not a feature, or what adoption decided of a feature
    lower: float | int | None = None  # a number's domain bound, proposed: never below it
    earliest: str = ""  # a date column's first and last values
    latest: str = ""


@dataclass(frozen=True)
class TableProfile:
    """The table, its target and task, and every column in the file's order."""

    name: str
    source: Path
    rows: int
    labelled: int
    target: str
    task: Task
    columns: list[ColumnProfile]
    example: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[ColumnProfile]:
        return [column for column in self.columns if column.role == "feature"]


def dataset_name(path: Path) -> str:
    """A name for the data file, its suite and module, from the file's own name: lowercase, digits and `_`."""
    name = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")
    if not name:
        return "data"
    return name if name[0].isalpha() else f"data_{name}"


def read_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The file twice, with pandas' types and as text (as the pipeline reads categories), once it is a CSV table."""
    if not path.is_file():
        raise AdoptError(f"{path}: no such file: give the path of a CSV file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AdoptError(
            f"{path}: not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}): "
            "save it as UTF-8 CSV, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text))
        as_text = pd.read_csv(io.StringIO(text), dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise AdoptError(f"{path}: not a CSV table pandas can read: {str(error).strip()}") from None
    names = next(csv.reader(io.StringIO(text, newline="")), [])  # as csv reads files: any line ending
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AdoptError(
            f"{path}: column names repeat ({', '.join(map(repr, repeated))}): give each column its own name"
        )
    if frame.shape[1] < 2:
        raise AdoptError(f"{path}: {frame.shape[1]} column(s): a table needs a target and at least one feature")
    check_magnitudes(path, frame)
    return frame, as_text


def check_magnitudes(path: Path, frame: pd.DataFrame) -> None:
    """Refuse numbers no model here can read: infinities, and magnitudes past a 32-bit float (the trees and the
    compiled model compute in them, so such a value would become infinity there too)."""
    for name in frame.columns:
        values = frame[name]
        if not pd.api.types.is_float_dtype(values):
            continue
        past = values.notna() & ~(values.abs() <= LARGEST_NUMBER)
        if past.any():
            lines = ", ".join(str(line) for line in (np.flatnonzero(past.to_numpy())[:3] + 2))
            raise AdoptError(
                f"{path}: column {str(name)!r} holds {float(values[past].iloc[0])!r} (lines {lines}, of "
                f"{int(past.sum())} such values): past {LARGEST_NUMBER:.4g}, no model here can read it. Replace "
                "each with a value, or leave it empty for a missing one"
            )


def infer_task(target: pd.Series, name: str) -> Task:
    """Regression for a numeric target with many values or fractions; classification otherwise."""
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    whole = bool((values == values.round()).all())
    return "classification" if whole and values.nunique() <= CLASSIFY_INTEGERS_UP_TO else "regression"


def check_target(frame: pd.DataFrame, target: str, task: Task, test_size: float) -> pd.Series:
    """The labelled target values, once the target can be learned for the task."""
    if target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise AdoptError(
            f"no column {target!r} to predict{hint} The columns are: {', '.join(map(repr, frame.columns))}"
        )
    labelled = frame[target].dropna()
    if len(labelled) < MIN_ROWS:
        raise AdoptError(
            f"{len(labelled)} rows have a {target!r} value: too few to split into training and test sets "
            f"(at least {MIN_ROWS} are needed)"
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(labelled) or pd.api.types.is_bool_dtype(labelled):
            numbers = pd.to_numeric(labelled, errors="coerce")
            bad = labelled[numbers.isna()].astype(str).head(3).tolist()
            raise AdoptError(
                f"target {target!r} is not numeric, so it cannot be regressed (e.g. {', '.join(map(repr, bad))}): "
                "clean those values in the file, or use --task classification"
            )
        if labelled.nunique() < 2:
            raise AdoptError(f"target {target!r} has a single value: there is nothing to predict")
        return labelled
    classes = labelled.astype(str).value_counts()
    if len(classes) < 2:
        raise AdoptError(
            f"target {target!r} has a single class ({classes.index[0]!r}): a classifier needs at least two"
        )
    if len(classes) > MAX_CLASSES:
        raise AdoptError(
            f"target {target!r} has {len(classes)} classes, more than {MAX_CLASSES}: "
            "use --task regression for a number, or group the classes"
        )
    lonely = classes[classes < 2]
    if len(lonely):
        raise AdoptError(
            f"target {target!r}: class(es) {', '.join(map(repr, lonely.index))} have a single row; a stratified "
            "split needs two of each: drop those rows or merge the class with another"
        )
    test_rows = math.ceil(len(labelled) * test_size)
    if test_rows < len(classes) or len(labelled) - test_rows < len(classes):
        raise AdoptError(
            f"{len(labelled)} labelled rows cannot hold every one of {len(classes)} classes in both the training "
            f"and the test set: add rows, or group the classes"
        )
    return labelled


def nice_bounds(low: float, high: float, whole: bool) -> tuple[float | int, float | int]:
    """The observed range widened by RANGE_MARGIN of its span, rounded outward to two significant digits of the span."""
    span = high - low
    margin = span * RANGE_MARGIN if span > 0 else max(abs(low), 1.0) * RANGE_MARGIN
    lower, upper = low - margin, high + margin
    if low >= 0:
        lower = max(lower, 0.0)
    if whole:
        return math.floor(lower), math.ceil(upper)
    digits = 1 - math.floor(math.log10(span if span > 0 else max(abs(low), 1.0)))
    step = 10.0**-digits
    nudge = 1e-9  # 1.9 / 0.1 is 18.999999999999996 in floating point
    rounded_lower = round(math.floor(lower / step + nudge) * step, max(digits, 0))
    rounded_upper = round(math.ceil(upper / step - nudge) * step, max(digits, 0))
    return float(rounded_lower), float(rounded_upper)


def groups_reason(distinct: int) -> str:
    return f"names groups of rows by its name: {distinct} values, repeated (kept on one side of the split)"


def metadata_reason(name: str, values: pd.Series, text: pd.Series, rows: int) -> str:
    """Why a column cannot be a feature, or "" when it can."""
    present = values.dropna()
    if present.empty:
        return "every value is missing"
    distinct = present.nunique()
    if distinct == 1:
        return "a single value: it cannot tell rows apart"
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if not numeric and is_date_column(text):
        return ""
    whole = numeric and bool((present == present.round()).all())
    unique = distinct == len(present) == rows
    named = bool(IDENTIFIER_NAME.search(name))
    if unique and not numeric:
        return UNIQUE_IDENTIFIER
    if unique and whole and (named or float(present.max()) - float(present.min()) + 1 == rows):
        return UNIQUE_IDENTIFIER if named else ROW_NUMBER  # a measurement differs in every row too: not by itself
    if named and (not numeric or whole) and (distinct > MAX_CATEGORIES or distinct > rows / 2):
        return groups_reason(distinct) if present.duplicated().any() else UNIQUE_IDENTIFIER
    if not numeric and not pd.api.types.is_bool_dtype(present) and (distinct > MAX_CATEGORIES or distinct > rows / 2):
        return f"free text: {distinct} different values are too many for categories"
    return ""


def profile_column(name: str, values: pd.Series, text: pd.Series, role: Role, rows: int) -> ColumnProfile:
    """The column's kind and rule from its values (and as text); `role` is "target" for the target."""
    missing = round(float(values.isna().mean()), 4)
    nullable = missing > 0
    reason = "" if role == "target" else metadata_reason(name, values, text, rows)
    if reason.startswith("names groups"):
        return ColumnProfile(name, "text", "group", nullable, missing, reason=reason)
    if reason:
        return ColumnProfile(name, "text", "metadata", nullable, missing, reason=reason)
    return kind_profile(name, values, text, role)


def kind_profile(name: str, values: pd.Series, text: pd.Series, role: Role) -> ColumnProfile:
    """A feature's or the target's kind and rule, whatever adoption would say of its role."""
    missing = round(float(values.isna().mean()), 4)
    nullable = missing > 0
    present = values.dropna()
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if role != "target" and not numeric and is_date_column(text):
        written = text.dropna()
        when = moments(written)
        first, last = written.iloc[int(when.argmin())], written.iloc[int(when.argmax())]
        return ColumnProfile(name, "date", "feature", nullable, missing, earliest=first, latest=last)
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        whole = bool((present == present.round()).all())
        low, high = nice_bounds(float(present.min()), float(present.max()), whole)
        lower = 0 if role == "feature" and float(present.min()) >= 0 else None
        note = "never negative in the data: bounded below at 0" if lower is not None else ""
        return ColumnProfile(
            name,
            "numeric",
            role,
            nullable,
            missing,
            minimum=low,
            maximum=high,
            lower=lower,
            reason=note,
        )
    categories = tuple(sorted(str(value) for value in text.dropna().unique()))
    return ColumnProfile(name, "categorical", role, nullable, missing, categories=categories)
