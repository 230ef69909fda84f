"""The `prepare` stage: split the raw data, seeded (stratified for classes), into train and test;
rows of one group (`schema.GROUP`, one person's, say) all on one side."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlci_serving import Categorical, Date, Text
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, train_test_split

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.paths import TEST, TRAIN
from {{ cookiecutter.package_name }}.schema import (
    CATEGORICAL_FEATURES,
    COLUMNS,
    DATA,
    DATE_FEATURES,
    GROUP,
    NUMERIC_FEATURES,
    TARGET,
    TASK,
)

FEATURE_NAMES = [*NUMERIC_FEATURES, *DATE_FEATURES, *CATEGORICAL_FEATURES]  # the model's inputs
AS_TEXT = {column.name: str for column in COLUMNS if isinstance(column, Categorical | Date | Text)}


def read_csv(path: Path) -> pd.DataFrame:
    """A data file as a frame: categories, dates and text as text, whatever they look like."""
    return pd.read_csv(path, dtype=AS_TEXT)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows whose target is known: a row without one can neither teach nor test the model."""
    return frame[frame[TARGET.name].notna()]


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test sets of the labelled rows; for a classifier, with the same class shares."""
    rows = labelled(frame)
    if GROUP is not None:
        return group_split(rows, test_size, seed)
    stratify = rows[TARGET.name] if TASK == "classification" else None
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    return train, test


def group_split(
    rows: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each group wholly in train or in test; for a classifier, folds whose class shares are as near
    the data's as whole groups allow."""
    assert GROUP is not None
    named = rows[GROUP]
    groups = [  # a row without a group is a group of its own
        str(value) if pd.notna(value) else f"\0row {place}" for place, value in enumerate(named)
    ]
    if TASK == "classification":
        folds = StratifiedGroupKFold(max(2, round(1 / test_size)), shuffle=True, random_state=seed)
        train, test = next(folds.split(rows, rows[TARGET.name], groups))
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(rows, groups=groups))
    return rows.iloc[train], rows.iloc[test]


def main() -> None:
    params = load_params("prepare")
    train, test = split(read_csv(DATA), params["test_size"], params["seed"])
    TRAIN.parent.mkdir(parents=True, exist_ok=True)
    train.to_csv(TRAIN, index=False)
    test.to_csv(TEST, index=False)


if __name__ == "__main__":
    main()
