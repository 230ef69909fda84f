"""Values a request brings that the training data never showed: a number past the range it showed, a category it
never had, a date outside its period. They are answered (the model imputes, ignores or reads them as it was
trained to) and counted here, per column and kind, for `/metrics`; drift judges them from the log.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from mlci_serving import dates
from mlci_serving.columns import Categorical, Date, Numeric
from mlci_serving.schema import Schema

if TYPE_CHECKING:
    import prometheus_client

KINDS = ("below_range", "above_range", "unseen_category", "before_period", "after_period")


@functools.cache
def counter() -> prometheus_client.Counter:
    """The counter, made once per process and only once the service runs (as the inference log's are)."""
    import prometheus_client

    return prometheus_client.Counter(
        "novel_values",
        "Request values the training data never showed, answered anyway: by column and kind (" + ", ".join(KINDS) + ")",
        ["column", "kind"],
    )


class Novelty:
    """What is new in rows of one schema's features."""

    def __init__(self, schema: Schema) -> None:
        self.numeric = [column for column in schema.features if isinstance(column, Numeric)]
        self.categorical = [
            (column, frozenset(column.categories)) for column in schema.features if isinstance(column, Categorical)
        ]
        self.dated = [
            (column.name, dates.moments([column.earliest])[0], dates.moments([column.latest])[0])
            for column in schema.features
            if isinstance(column, Date)
        ]

    def found(self, rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
        """How many values of each column are new, by kind."""
        found: Counter[tuple[str, str]] = Counter()
        for column in self.numeric:
            values = np.array([row.get(column.name) for row in rows], dtype=float)
            found[column.name, "below_range"] += int((values < column.minimum).sum())
            found[column.name, "above_range"] += int((values > column.maximum).sum())
        for categorical, known in self.categorical:
            found[categorical.name, "unseen_category"] += sum(
                1 for row in rows if (value := row.get(categorical.name)) is not None and value not in known
            )
        for name, earliest, latest in self.dated:
            given = [row[name] for row in rows if row.get(name) is not None]
            if given:
                when = dates.moments(given)
                found[name, "before_period"] += int((when < earliest).sum())
                found[name, "after_period"] += int((when > latest).sum())
        return +found  # the kinds that occurred

    def count(self, rows: list[dict[str, Any]]) -> None:
        """Add what is new in these rows to `/metrics`."""
        for (column, kind), number in self.found(rows).items():
            counter().labels(column=column, kind=kind).inc(number)
