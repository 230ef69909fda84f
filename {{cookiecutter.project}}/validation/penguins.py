"""What the table must look like before anything trains on it: the schema, then its health.

`mlci validate` (and the pipeline's `validate` stage) runs every module of this folder:
each defines DATA, read(path) and expectations(). `mlci adopt` wrote this one from the table;
rules only this data obeys (a plausible mean, a relation between columns) go in `specific()`.
"""

from __future__ import annotations

from great_expectations.expectations import Expectation
from mlci.data.checks import from_schema, health

from {{ cookiecutter.package_name }}.data import read_csv as read
from {{ cookiecutter.package_name }}.schema import COLUMNS, DATA, TARGET

__all__ = ["DATA", "expectations", "read"]

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
    return [*from_schema(COLUMNS), *health(ROWS, MISSING_AT_MOST, TARGET), *specific()]


def specific() -> list[Expectation]:
    """What we know of this data beyond the schema and its health: add its own rules here."""
    return []
