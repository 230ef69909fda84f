"""What the raw data must look like before anything trains on it: the schema's rules, then ours.

`mlci validate` (and the pipeline's `validate` stage) runs every module of this folder:
each defines DATA, read(path) and expectations().
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from {{ cookiecutter.package_name }}.data import RAW as DATA
from {{ cookiecutter.package_name }}.data import read_csv as read
from {{ cookiecutter.package_name }}.schema import COLUMNS, TARGET, Categorical, Column, Numeric

__all__ = ["DATA", "expectations", "read"]

NUMBER_TYPES = ["int64", "float64", "Int64", "Float64"]


def expectations() -> list[Expectation]:
    """Every expectation of this suite."""
    return [*from_schema(COLUMNS), *hand_written()]


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


def hand_written() -> list[Expectation]:
    """What we know of this data beyond the schema."""
    nullable = [column.name for column in COLUMNS if column.nullable]
    everything = [column.name for column in COLUMNS]
    return [
        # The 2007-2009 study counted 344 penguins: far fewer rows means a truncated export.
        gxe.ExpectTableRowCountToBeBetween(min_value=300, max_value=100_000),
        # A few birds lack a measurement or a sex; more than 5% missing means a broken export.
        *(gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=0.95) for name in nullable),
        # Every species must be present, or the model cannot learn it.
        gxe.ExpectColumnDistinctValuesToEqualSet(
            column=TARGET.name, value_set=[*TARGET.categories]
        ),
        # Each row is one bird: a repeated row is a duplicated record.
        gxe.ExpectCompoundColumnsToBeUnique(column_list=everything),
        # Adult penguins of these species weigh 3.5 to 5 kg on average.
        gxe.ExpectColumnMeanToBeBetween(column="body_mass_g", min_value=3500, max_value=5000),
    ]
