"""The cases the runtime's tests run on: schemas of several shapes, a table of each, a model fitted on it by the
pipeline a generated repository trains, and that model served in process.

The shapes: the template's own penguins (its shipped schema module and data: numbers and categories, some
missing, a category and a year that may not be missing); a regression whose column names are not Python
names, with quotes in its categories and an identifier column; and a classifier of numbers only.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.util
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from starlette.testclient import TestClient

from mlci_serving import Categorical, Date, Numeric, Text
from mlci_serving.dates import DateParts
from mlci_serving.schema import Schema

TEMPLATE_PROJECT = Path(__file__).resolve().parents[2] / "{{cookiecutter.project}}"
SHIPPED_SCHEMA = next((TEMPLATE_PROJECT / "src").glob("*/schema.py"))
MODEL = Path("models/model.pkl")  # where a service of these tests finds its model, from its folder


def shipped_schema() -> ModuleType:
    """The template's own schema module, as a generated repository imports it."""
    spec = importlib.util.spec_from_file_location("shipped_schema", SHIPPED_SCHEMA)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schema_module(name: str, **stated: Any) -> ModuleType:
    """A schema module stating what a generated one does."""
    module = ModuleType(name)
    vars(module).update(stated)
    return module


def awkward_regression() -> tuple[ModuleType, pd.DataFrame]:
    """Prices of things whose column names hold spaces, dots and non-ASCII, with an id column, a sale date, a
    size that is never negative (a domain bound), a closed set of kinds and a note that is no feature."""
    rng = np.random.default_rng(3)
    rows = 240
    size = rng.uniform(10, 90, rows)
    kind = rng.choice(['say "hi"', "a,b", "émoji ✓"], rows)
    sold = pd.Series(pd.date_range("2021-01-01", "2023-12-31", periods=rows)).dt.strftime("%Y-%m-%d")
    year = pd.to_datetime(sold).dt.year.to_numpy()
    price = 3 * size + np.where(kind == "a,b", 40, 0) + 10 * (year - 2021) + rng.normal(0, 2, rows)
    table = pd.DataFrame(
        {
            "row id": [f"r-{n}" for n in range(rows)],
            "size (m²)": size,
            "kind.of": kind,
            "sold on": sold,
            "note": "as measured",
            "price": price,
        }
    )
    table.loc[::7, "size (m²)"] = np.nan
    table.loc[::11, "sold on"] = np.nan
    target = Numeric("price", 0.0, 400.0, nullable=False, role="target")
    columns = (
        Text("row id", nullable=False, role="id"),
        Numeric("size (m²)", 0.0, 100.0, lower=0.0),
        Categorical("kind.of", ('say "hi"', "a,b", "émoji ✓"), nullable=False, closed=True),
        Date("sold on", "2021-01-01", "2023-12-31"),
        Text("note"),
        target,
    )
    example = {"size (m²)": 42.0, "kind.of": "a,b", "sold on": "2022-06-30"}
    return schema_module("prices", TASK="regression", TARGET=target, COLUMNS=columns, EXAMPLE=example), table


def numbers_only() -> tuple[ModuleType, pd.DataFrame]:
    """Three classes told apart by two measurements, one of which may not be missing."""
    rng = np.random.default_rng(5)
    rows = 180
    label = rng.choice(["1", "2", "3"], rows)
    first = label.astype(float) * 10 + rng.normal(0, 1, rows)
    table = pd.DataFrame({"width": first, "height": rng.uniform(0, 5, rows), "grade": label})
    target = Categorical("grade", ("1", "2", "3"), nullable=False, role="target")
    columns = (Numeric("width", 0.0, 50.0, nullable=False), Numeric("height", -1.0, 6.0), target)
    example = {"width": 21.0, "height": 2.5}
    return schema_module("grades", TASK="classification", TARGET=target, COLUMNS=columns, EXAMPLE=example), table


def penguins() -> tuple[ModuleType, pd.DataFrame]:
    module = shipped_schema()
    text = {column.name: str for column in module.COLUMNS if not isinstance(column, Numeric)}
    table = pd.read_csv(TEMPLATE_PROJECT / module.DATA, dtype=text)
    return module, table[table[module.TARGET.name].notna()].reset_index(drop=True)


def fit(schema: Schema, table: pd.DataFrame, trees: int = 10) -> Pipeline:
    """The pipeline of a generated repository's `train.py`, small: imputed, encoded, a forest."""
    features = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(schema.numeric_features)),
            ("dates", make_pipeline(DateParts(), SimpleImputer(strategy="median")), list(schema.date_features)),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                list(schema.categorical_features),
            ),
        ]
    )
    forest = RandomForestClassifier if schema.task == "classification" else RandomForestRegressor
    model = Pipeline([("features", features), ("model", forest(n_estimators=trees, max_depth=4, random_state=0))])
    return model.fit(table[schema.feature_names], table[schema.target.name])


@dataclass(frozen=True)
class Case:
    """One schema's module, its view, a table of it and a model fitted on that table."""

    name: str
    module: ModuleType
    schema: Schema
    table: pd.DataFrame
    model: Pipeline

    @property
    def example(self) -> dict[str, Any]:
        return dict(self.schema.example)


MAKERS: dict[str, Callable[[], tuple[ModuleType, pd.DataFrame]]] = {
    "penguins": penguins,
    "awkward regression": awkward_regression,
    "numbers only": numbers_only,
}


@functools.cache
def made(name: str) -> Case:
    """The case of that name, made once."""
    module, table = MAKERS[name]()
    schema = Schema.of(module)
    return Case(name, module, schema, table, fit(schema, table))


def model_folder(case: Case, folder: Path) -> Path:
    """A folder holding the case's model where its service looks for it."""
    (folder / MODEL).parent.mkdir(parents=True, exist_ok=True)
    (folder / MODEL).write_bytes(pickle.dumps(case.model))
    return folder


def served(service: Any, folder: Path) -> Iterator[TestClient]:
    """A client of the service's app, started in `folder`.

    Each app BentoML makes registers its request metrics in the process's one Prometheus registry, and a
    second app's would clash with the first's: the metrics of apps made before are forgotten first.
    """
    import prometheus_client

    registry = prometheus_client.REGISTRY
    for collector, names in list(registry._collector_to_names.items()):  # the registry lists them nowhere else
        if any(name.startswith("bentoml_") for name in names):
            registry.unregister(collector)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        with TestClient(service.to_asgi()) as test_client:
            yield test_client


def count_pending_timers() -> int:
    """Timers scheduled in any event loop and neither run nor cancelled."""
    return sum(1 for found in gc.get_objects() if isinstance(found, asyncio.TimerHandle) and not found.cancelled())
