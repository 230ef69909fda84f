"""What the table must look like before anything trains on it: the schema, then its health.

`mlci validate` (and the pipeline's `validate` stage) runs every module of this folder:
each defines DATA, read(path) and expectations(). `mlci adopt` wrote this one from the table;
rules only this data obeys (a plausible mean, a relation between columns) go in `specific()`.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from {{ cookiecutter.package_name }}.columns import Categorical, Column, Numeric
from {{ cookiecutter.package_name }}.data import RAW as DATA
from {{ cookiecutter.package_name }}.data import read_csv as read
from {{ cookiecutter.package_name }}.schema import COLUMNS, TARGET

__all__ = ["DATA", "expectations", "read"]

NUMBER_TYPES = ["int64", "float64", "Int64", "Float64"]

# The table had 344 rows: far fewer means a truncated export.
ROWS = (172, 34400)
# The largest share of missing values per column: what the table had, plus a little.
MISSING_AT_MOST: dict[str, float] = {
    "bill_length_mm": 0.06,
    "bill_depth_mm": 0.06,
    "flipper_length_mm": 0.06,
    "body_mass_g": 0.06,
    "sex": 0.08,
}


def expectations() -> list[Expectation]:
    """Every expectation of this suite."""
    return [*from_schema(COLUMNS), *health(), *specific()]


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


def health() -> list[Expectation]:
    """Bounds derived from the table: its size, missing values, and every class present."""
    rules: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=ROWS[0], max_value=ROWS[1]),
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=round(1 - share, 4))
            for name, share in MISSING_AT_MOST.items()
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


def specific() -> list[Expectation]:
    """What we know of this data beyond the schema and its health: add its own rules here."""
    return []
