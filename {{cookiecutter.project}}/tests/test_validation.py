"""The validation suite follows the schema: a column added there is checked without another edit."""

from pathlib import Path

from mlci.suites import load

from {{ cookiecutter.package_name }}.schema import COLUMNS, Numeric

SUITE = load(Path(__file__).parents[1] / "validation" / "penguins.py")


def test_every_column_of_the_schema_is_checked() -> None:
    checked = {
        expectation.column for expectation in SUITE.expectations() if hasattr(expectation, "column")
    }
    assert checked == {column.name for column in COLUMNS}


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
