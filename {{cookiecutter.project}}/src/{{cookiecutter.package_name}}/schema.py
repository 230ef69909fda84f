"""The single source of truth for the data: every column, its type, allowed values, and its role.

Validation suites, the training pipeline, the service's request model and drift monitoring all
derive from these definitions; nothing else lists the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["feature", "target", "metadata"]


@dataclass(frozen=True)
class Numeric:
    """A number within [minimum, maximum]; missing values allowed when nullable."""

    name: str
    minimum: float
    maximum: float
    nullable: bool = True
    role: Role = "feature"


@dataclass(frozen=True)
class Categorical:
    """One of a fixed set of labels; missing values allowed when nullable."""

    name: str
    categories: tuple[str, ...]
    nullable: bool = True
    role: Role = "feature"


Column = Numeric | Categorical

# What the model predicts: a classifier's target is one of a fixed set of classes.
TARGET = Categorical("species", ("Adelie", "Chinstrap", "Gentoo"), nullable=False, role="target")

COLUMNS: tuple[Column, ...] = (
    TARGET,
    Categorical("island", ("Biscoe", "Dream", "Torgersen"), nullable=False),
    Numeric("bill_length_mm", 25.0, 70.0),
    Numeric("bill_depth_mm", 10.0, 25.0),
    Numeric("flipper_length_mm", 160.0, 240.0),
    Numeric("body_mass_g", 2500.0, 6500.0),
    Categorical("sex", ("female", "male")),
    Numeric("year", 2007, 2030, nullable=False, role="metadata"),
)

FEATURES = tuple(column for column in COLUMNS if column.role == "feature")
NUMERIC_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Numeric))
CATEGORICAL_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Categorical))
