"""The kinds of column a schema states: whether it may be missing, its role.

Roles: a `feature` the model reads, the `target` it predicts, `metadata` kept with the data only,
and at most one `id`: the identifier of each record, which answers and the inference log carry so
that outcomes known later can be joined with the predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["feature", "target", "metadata", "id"]
Task = Literal["classification", "regression"]


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
    """One of a fixed set of labels, read as text; missing values allowed when nullable."""

    name: str
    categories: tuple[str, ...]
    nullable: bool = True
    role: Role = "feature"


@dataclass(frozen=True)
class Text:
    """Any text, kept with the data but never a feature: an identifier, a note, a date."""

    name: str
    nullable: bool = True
    role: Role = "metadata"


Column = Numeric | Categorical | Text
