"""The `prepare` stage: split the raw data, seeded and stratified, into train and test sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.schema import TARGET

RAW = Path("data/penguins.csv")
TRAIN = Path("data/prepared/train.csv")
TEST = Path("data/prepared/test.csv")


def read_csv(path: Path) -> pd.DataFrame:
    """A data file as a frame, with the raw data's `NA` read as missing."""
    return pd.read_csv(path, na_values=["NA"])


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test sets with the target's classes in the same proportions."""
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[TARGET.name]
    )
    return train, test


def main() -> None:
    params = load_params("prepare")
    train, test = split(read_csv(RAW), params["test_size"], params["seed"])
    TRAIN.parent.mkdir(parents=True, exist_ok=True)
    train.to_csv(TRAIN, index=False)
    test.to_csv(TEST, index=False)


if __name__ == "__main__":
    main()
