"""A repository's schema as the runtime reads it: the columns, the target, the task and an example.

A generated repository states its schema as a module (`<package>/schema.py`: `TASK`, `TARGET`,
`COLUMNS`, `EXAMPLE`); `Schema.of(module)` reads it once, and everything the runtime derives from it
(the features in the model's order, the identifier) is derived here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from mlci_serving.columns import Categorical, Column, Date, Numeric, Task, Text

STATED = ("TASK", "TARGET", "COLUMNS", "EXAMPLE")  # what a schema module must define
KINDS = (Numeric, Categorical, Date, Text)


class SchemaError(ValueError):
    """A schema module that does not state what the runtime needs; the message names what is missing."""


@dataclass(frozen=True)
class Schema:
    """The columns of the data, which one the model predicts, and a real record to show."""

    task: Task
    target: Column
    columns: tuple[Column, ...]
    example: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, module: ModuleType) -> Schema:
        """The schema a module states."""
        missing = [name for name in STATED if not hasattr(module, name)]
        if missing:
            raise SchemaError(f"{module.__name__} defines no {', '.join(missing)}: a schema states {', '.join(STATED)}")
        foreign = [column for column in (module.TARGET, *module.COLUMNS) if not isinstance(column, KINDS)]
        if foreign:
            kind = type(foreign[0])
            raise SchemaError(
                f"{module.__name__}: {foreign[0]!r} is a {kind.__module__}.{kind.__qualname__}, not one of "
                "mlci_serving's column kinds (Numeric, Categorical, Date, Text): a schema written before the serving "
                "runtime; take the template update (`nox -s template-update`)"
            )
        return cls(module.TASK, module.TARGET, tuple(module.COLUMNS), dict(module.EXAMPLE))

    @property
    def features(self) -> tuple[Column, ...]:
        """The columns the model reads, as the schema lists them."""
        return tuple(column for column in self.columns if column.role == "feature")

    @property
    def numeric_features(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.features if isinstance(column, Numeric))

    @property
    def categorical_features(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.features if isinstance(column, Categorical))

    @property
    def date_features(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.features if isinstance(column, Date))

    @property
    def feature_names(self) -> list[str]:
        """The model's inputs, in the order the compiled model takes them: numbers, dates, then categories."""
        return [*self.numeric_features, *self.date_features, *self.categorical_features]

    @property
    def group(self) -> str | None:
        """The column whose rows belong together (one person's, say), if any: the split keeps them together."""
        return next((column.name for column in self.columns if column.role == "group"), None)

    @property
    def identifier(self) -> str | None:
        """The column naming each record, if any: answers and the inference log carry it."""
        return next((column.name for column in self.columns if column.role == "id"), None)

    @property
    def classes(self) -> tuple[str, ...]:
        """A classifier's classes, as the schema lists them; none for a regressor."""
        return self.target.categories if isinstance(self.target, Categorical) else ()
