"""The `train` stage: fit the model; the same data and params give the same model bytes."""

from __future__ import annotations

import pickle
from typing import Any

import pandas as pd
from mlci_serving.dates import DateParts
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, read_csv
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.paths import MODEL, TRAIN
from {{ cookiecutter.package_name }}.schema import (
    CATEGORICAL_FEATURES,
    DATE_FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    TASK,
)


def build(params: dict[str, Any]) -> Pipeline:
    """Impute what is missing the same way at training and at serving, read each date as its parts
    (year, month, day of week, day of year, hour), encode categories, then fit a forest."""
    features = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(NUMERIC_FEATURES)),
            (
                "dates",
                make_pipeline(DateParts(), SimpleImputer(strategy="median")),
                list(DATE_FEATURES),
            ),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                list(CATEGORICAL_FEATURES),
            ),
        ]
    )
    forest = RandomForestClassifier if TASK == "classification" else RandomForestRegressor
    model = forest(
        n_estimators=params["n_estimators"],
        max_depth=params["max_depth"],
        random_state=params["seed"],
        n_jobs=1,  # the trees, and so the model bytes, do not depend on the number of cores
    )
    return Pipeline([("features", features), ("model", model)])


def fit(frame: pd.DataFrame, params: dict[str, Any]) -> Pipeline:
    """The fitted model."""
    return build(params).fit(frame[FEATURE_NAMES], frame[TARGET.name])


def main() -> None:
    model = fit(read_csv(TRAIN), load_params("train"))
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    MODEL.write_bytes(pickle.dumps(model, protocol=5))


if __name__ == "__main__":
    main()
