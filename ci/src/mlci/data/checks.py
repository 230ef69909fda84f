"""The Great Expectations rules every validation suite shares: the schema's, and a table's health.

A suite in a repository's `validation/` folder calls them with its own schema and bounds; `mlci validate` runs
the suites, so only that command imports this module (and Great Expectations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation
from mlci_serving.columns import Categorical, Column, Date, Numeric
from mlci_serving.dates import ISO

NUMBER_TYPES = ["int64", "float64", "Int64", "Float64"]


def from_schema(columns: Iterable[Column]) -> list[Expectation]:
    """The rules the schema states for training data: the columns, their types, the ranges and categories the data
    showed, dates written as dates, and nullability."""
    columns = list(columns)
    rules: list[Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=[column.name for column in columns], exact_match=True)
    ]
    for column in columns:
        if isinstance(column, Numeric):
            rules += [
                gxe.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=NUMBER_TYPES),
                gxe.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=column.minimum, max_value=column.maximum
                ),
            ]
        elif isinstance(column, Categorical):
            rules.append(gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.categories)))
        elif isinstance(column, Date):  # later dates than the schema's are the point of new data: not a rule
            rules.append(gxe.ExpectColumnValuesToMatchRegex(column=column.name, regex=f"^{ISO.pattern}$"))
        if not column.nullable:
            rules.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
    return rules


def health(rows: tuple[int, int], missing_at_most: Mapping[str, float], target: Column) -> list[Expectation]:
    """A table's size, each column's share of missing values, and every class of the target present."""
    rules: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=rows[0], max_value=rows[1]),
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=round(1 - share, 4))
            for name, share in missing_at_most.items()
            if share < 1
        ),
    ]
    if isinstance(target, Categorical):  # the model cannot learn a class the data lacks
        rules.append(gxe.ExpectColumnDistinctValuesToContainSet(column=target.name, value_set=list(target.categories)))
    return rules
