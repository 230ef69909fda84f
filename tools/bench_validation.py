"""Time a generated repository's validation suite on a synthetic 1,000,000-row frame, against plain pandas.

Runs inside the generated repository's own environment (`uv run python .../bench_validation.py ROWS`),
from its root, and prints one JSON object of figures.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from mlci.core.config import load_config
from mlci.core.project import Project
from mlci.data.suites import Suite, discover

Measure = dict[str, float]
Result = TypeVar("Result")


def synthetic(raw: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` rows drawn from the measured birds, measurements jittered so that every row is distinct."""
    generator = np.random.default_rng(seed)
    birds = raw.dropna(subset=["bill_length_mm"])  # the two birds with no measurement at all
    frame = birds.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for name in frame.select_dtypes("number").columns.drop("year"):
        frame[name] = frame[name] + generator.normal(0, 0.01, rows)
    return frame


def plain_pandas(frame: pd.DataFrame, schema: Any) -> list[str]:
    """The suite's checks written by hand in pandas: the names of those that fail."""
    failed = []
    names = [column.name for column in schema.COLUMNS]
    if set(frame.columns) != set(names):
        failed.append("columns")
    if not 300 <= len(frame) <= 100_000:
        failed.append("row count")
    for column in schema.COLUMNS:
        values = frame[column.name]
        if isinstance(column, schema.Numeric):
            if not pd.api.types.is_numeric_dtype(values):
                failed.append(f"{column.name} type")
            present = values.dropna()
            if not present.between(column.minimum, column.maximum).all():
                failed.append(f"{column.name} range")
        else:
            if not values.dropna().isin(column.categories).all():
                failed.append(f"{column.name} categories")
        missing = values.isna().mean()
        if missing > (0.05 if column.nullable else 0):
            failed.append(f"{column.name} missing")
    if set(frame[schema.TARGET.name].dropna().unique()) != set(schema.TARGET.categories):
        failed.append("target classes")
    if frame.duplicated().any():
        failed.append("duplicates")
    if not 3500 <= frame["body_mass_g"].mean() <= 5000:
        failed.append("body mass mean")
    return failed


def measured(work: Callable[[], Result]) -> tuple[Measure, Result]:
    """Wall time of one run, then peak memory allocated during a second run; and what the work returned."""
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mb": peak / 2**20}, result


def main() -> None:
    rows = int(sys.argv[1])
    start = time.perf_counter()
    from mlci.data import expectations  # imports Great Expectations

    import_seconds = time.perf_counter() - start
    (suite,) = discover(Path("validation"))
    schema = importlib.import_module(f"{Project.read(Path('.'), load_config(Path('mlci.toml'))).package}.schema")
    frame = synthetic(suite.read(suite.data), rows)
    in_memory = Suite(suite.name, Path("synthetic.csv"), lambda _: frame, suite.expectations)
    with tempfile.TemporaryDirectory() as docs:
        gx, (outcome,) = measured(lambda: expectations.run([in_memory], Path(docs)))
    pandas, pandas_failed = measured(lambda: plain_pandas(frame, schema))
    print(
        json.dumps(
            {
                "rows": rows,
                "import_seconds": import_seconds,
                "gx": gx,
                "pandas": pandas,
                "gx_failed": [f"{failure.column or 'table'}: {failure.expectation}" for failure in outcome.failures],
                "pandas_failed": pandas_failed,
            }
        )
    )


if __name__ == "__main__":
    main()
