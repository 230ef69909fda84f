"""The `prepare` stage: split the raw data, seeded (stratified for classes), into train and test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlci_serving import Categorical, Text
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.paths import TEST, TRAIN
from {{ cookiecutter.package_name }}.schema import (
    CATEGORICAL_FEATURES,
    COLUMNS,
    DATA,
    NUMERIC_FEATURES,
    TARGET,
    TASK,
)

FEATURE_NAMES = [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]  # the model's inputs, in this order
AS_TEXT = {column.name: str for column in COLUMNS if isinstance(column, Categorical | Text)}


def read_csv(path: Path) -> pd.DataFrame:
    """A data file as a frame: categories and text as text, whatever they look like."""
    return pd.read_csv(path, dtype=AS_TEXT)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows whose target is known: a row without one can neither teach nor test the model."""
    return frame[frame[TARGET.name].notna()]


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test sets of the labelled rows; for a classifier, with the same class shares."""
    rows = labelled(frame)
    stratify = rows[TARGET.name] if TASK == "classification" else None
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    return train, test


def main() -> None:
    params = load_params("prepare")
    train, test = split(read_csv(DATA), params["test_size"], params["seed"])
    TRAIN.parent.mkdir(parents=True, exist_ok=True)
    train.to_csv(TRAIN, index=False)
    test.to_csv(TEST, index=False)


if __name__ == "__main__":
    main()
