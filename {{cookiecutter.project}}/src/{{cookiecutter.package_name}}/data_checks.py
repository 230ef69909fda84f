"""The Great Expectations rules every validation suite shares: the schema's, and a table's health.

A suite in `validation/` calls them with its own bounds; only the suites import this module (and
Great Expectations), never the pipeline or the service.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from {{ cookiecutter.package_name }}.columns import Categorical, Column, Numeric
from {{ cookiecutter.package_name }}.schema import TARGET

NUMBER_TYPES = ["int64", "float64", "Int64", "Float64"]


def from_schema(columns: tuple[Column, ...]) -> list[Expectation]:
    """The rules the schema states: the columns, their types, ranges, categories and nullability."""
    names = [column.name for column in columns]
    rules: list[Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True)
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
            allowed = list(column.categories)
            rules.append(gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=allowed))
        if not column.nullable:
            rules.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
    return rules


def health(rows: tuple[int, int], missing_at_most: dict[str, float]) -> list[Expectation]:
    """A table's size, each column's share of missing values, and every class present."""
    rules: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=rows[0], max_value=rows[1]),
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=round(1 - share, 4))
            for name, share in missing_at_most.items()
            if share < 1
        ),
    ]
    if isinstance(TARGET, Categorical):  # the model cannot learn a class the data lacks
        rules.append(
            gxe.ExpectColumnDistinctValuesToContainSet(
                column=TARGET.name, value_set=list(TARGET.categories)
            )
        )
    return rules
