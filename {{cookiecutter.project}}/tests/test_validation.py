"""The validation suite follows the schema: a column added there is checked without another edit."""

from pathlib import Path

from mlci.data.suites import discover
from mlci_serving import Numeric

from {{ cookiecutter.package_name }}.schema import COLUMNS, DATA

(SUITE,) = (
    suite for suite in discover(Path(__file__).parents[1] / "validation") if suite.data == DATA
)


def test_every_column_of_the_schema_is_in_the_suite() -> None:
    (columns,) = (
        expectation.column_set
        for expectation in SUITE.expectations()
        if expectation.expectation_type == "expect_table_columns_to_match_set"
    )
    assert set(columns) == {column.name for column in COLUMNS}


def test_numeric_ranges_are_the_schemas() -> None:
    ranges = {
        expectation.column: (expectation.min_value, expectation.max_value)
        for expectation in SUITE.expectations()
        if expectation.expectation_type == "expect_column_values_to_be_between"
    }
    assert ranges == {
        column.name: (column.minimum, column.maximum)
        for column in COLUMNS
        if isinstance(column, Numeric)
    }
