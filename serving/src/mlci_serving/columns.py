"""The kinds of column a schema states: what a value is, what the data showed, what the domain allows, and the
column's role.

Roles: a `feature` the model reads, the `target` it predicts, `metadata` kept with the data only, at most one
`id` (the identifier of each record, which answers and the inference log carry so that outcomes known later can
be joined with the predictions), and at most one `group` (rows that belong together, such as one person's
answers: a group is kept on one side of the train/test split).

A request is held to a column's type and to the domain's own bounds (`lower`, `upper`; a closed set of
categories); a value that is merely new (past the range the training data showed, an unseen category, a date
after the training period) is answered, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["feature", "target", "metadata", "id", "group"]
Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Numeric:
    """A number. The data showed it within [minimum, maximum]; the domain allows [lower, upper] (None: no
    bound); missing values allowed when nullable."""

    name: str
    minimum: float
    maximum: float
    nullable: bool = True
    role: Role = "feature"
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Categorical:
    """A label, read as text. The data showed these categories; `closed` when no other is possible (a request
    with another is refused), else another is answered as unseen. Missing values allowed when nullable."""

    name: str
    categories: tuple[str, ...]
    nullable: bool = True
    role: Role = "feature"
    closed: bool = False


@dataclass(frozen=True)
class Date:
    """A date or timestamp in an ISO form; the data showed it from `earliest` to `latest` (ISO too). The model
    reads its parts (`mlci_serving.dates`), so a date after the training period is answered like any other."""

    name: str
    earliest: str
    latest: str
    nullable: bool = True
    role: Role = "feature"


@dataclass(frozen=True)
class Text:
    """Any text, kept with the data but never a feature: an identifier, a note, a group."""

    name: str
    nullable: bool = True
    role: Role = "metadata"


Column = Numeric | Categorical | Date | Text
