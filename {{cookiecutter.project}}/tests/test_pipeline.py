"""The pipeline's pure cores: the split, the model and its evaluation, on the shipped data."""

import pickle
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data import RAW, read_csv, split
from {{ cookiecutter.package_name }}.evaluate import evaluate, score
from {{ cookiecutter.package_name }}.schema import COLUMNS, TARGET
from {{ cookiecutter.package_name }}.train import fit

PARAMS = {"n_estimators": 10, "max_depth": 4, "seed": 0}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return read_csv(RAW)


def test_raw_data_has_the_schemas_columns(raw: pd.DataFrame) -> None:
    assert list(raw.columns) == [column.name for column in COLUMNS]


def test_split_is_seeded_and_stratified(raw: pd.DataFrame) -> None:
    train, test = split(raw, 0.25, seed=1)
    again, _ = split(raw, 0.25, seed=1)
    assert train.index.equals(again.index)
    assert len(test) == round(len(raw) * 0.25)
    shares = raw[TARGET.name].value_counts(normalize=True)
    assert (test[TARGET.name].value_counts(normalize=True) - shares).abs().max() < 0.02


def test_model_handles_missing_values_and_scores_well(raw: pd.DataFrame) -> None:
    train, test = split(raw, 0.25, seed=1)
    assert test.isna().any().any(), "the test set should exercise missing values"
    result = evaluate(fit(train, PARAMS), test)
    assert set(result.metrics) == {"accuracy", "f1_macro", "roc_auc_ovr"}
    assert result.metrics["accuracy"] > 0.9
    assert len(result.plots["confusion"]) == len(test)


def test_score_reads_a_stored_model_and_data_file_as_promotion_does(
    raw: pd.DataFrame, tmp_path: Path
) -> None:
    train, test = split(raw, 0.25, seed=1)
    model = fit(train, PARAMS)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    test.to_csv(tmp_path / "test.csv", index=False)
    expected = evaluate(model, test).metrics
    assert score(tmp_path / "model.pkl", tmp_path / "test.csv") == expected
