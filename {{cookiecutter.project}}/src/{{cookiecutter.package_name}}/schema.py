"""The single source of truth for the data: its columns, their rules and roles.

`mlci adopt` wrote it from 344 rows; edit it freely (a range, a category, a role) and
`nox -s validate tests` tell whether the data and the code still agree. Validation suites, the
pipeline, the service's request model and drift monitoring all derive from it; nothing else
lists the columns. The ranges and categories are the data's (the validation suite holds the
training data to them; a request with a new value is answered and counted); `lower`, `upper`
and `closed=True` state the domain's own bounds, which a request may not pass.
"""

from __future__ import annotations

from pathlib import Path

from mlci_serving import Categorical, Column, Numeric, Task

DATA = Path("data/penguins.csv")  # the raw table, tracked by DVC
TASK: Task = "classification"

# What the model predicts: one of a fixed set of classes.
TARGET = Categorical(
    "species",
    (
        "Adelie",
        "Chinstrap",
        "Gentoo",
    ),
    nullable=False,
    role="target",
)

COLUMNS: tuple[Column, ...] = (
    TARGET,
    Categorical(
        "island",
        (
            "Biscoe",
            "Dream",
            "Torgersen",
        ),
        nullable=False,
    ),
    Numeric(
        "bill_length_mm",
        29.0,
        63.0,
        lower=0,
    ),  # never negative in the data: bounded below at 0
    Numeric(
        "bill_depth_mm",
        12.2,
        22.4,
        lower=0,
    ),  # never negative in the data: bounded below at 0
    Numeric(
        "flipper_length_mm",
        166,
        237,
        lower=0,
    ),  # never negative in the data: bounded below at 0
    Numeric(
        "body_mass_g",
        2340,
        6660,
        lower=0,
    ),  # never negative in the data: bounded below at 0
    Categorical(
        "sex",
        (
            "female",
            "male",
        ),
    ),
    Numeric(
        "year",
        2006,
        2010,
        nullable=False,
        lower=0,
    ),  # never negative in the data: bounded below at 0
)

# A real row of the table: the example request of the README, the OpenAPI schema and the smoke test.
EXAMPLE: dict[str, str | float | None] = {
    "island": "Torgersen",
    "bill_length_mm": 39.1,
    "bill_depth_mm": 18.7,
    "flipper_length_mm": 181,
    "body_mass_g": 3750,
    "sex": "male",
    "year": 2007,
}

FEATURES = tuple(column for column in COLUMNS if column.role == "feature")
NUMERIC_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Numeric))
CATEGORICAL_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Categorical))
DATE_FEATURES: tuple[str, ...] = ()  # the dates the model reads by their parts: none here
# The column naming each record, if any: answers and the inference log carry it (else a made-up id).
IDENTIFIER = next((column.name for column in COLUMNS if column.role == "id"), None)
# The column whose rows belong together, if any: the split keeps each group on one side.
GROUP = next((column.name for column in COLUMNS if column.role == "group"), None)
