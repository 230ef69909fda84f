"""The pipeline's pure cores on the repository's own table: the split, the model and its evaluation.

Every assertion holds for any adopted table, whatever its columns, classes or task.
"""

import math
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import paths
from {{ cookiecutter.package_name }}.data import (
    FEATURE_NAMES,
    labelled,
    read_csv,
    split,
)
from {{ cookiecutter.package_name }}.evaluate import evaluate, score
from {{ cookiecutter.package_name }}.params import (
    ParamsError,
    load_params,
    read,
)
from {{ cookiecutter.package_name }}.schema import (
    COLUMNS,
    DATA,
    FEATURES,
    GROUP,
    TARGET,
    TASK,
)
from {{ cookiecutter.package_name }}.train import fit

ROOT = Path(__file__).parents[1]
# The metric each task's default gate compares with the dummy baseline.
GATED = {"classification": "f1_macro", "regression": "r2"}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return read_csv(ROOT / DATA)


@pytest.fixture(scope="module")
def halves(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(raw, 0.25, seed=1)


def test_raw_data_has_the_schemas_columns_in_any_order(raw: pd.DataFrame) -> None:
    assert set(raw.columns) == {column.name for column in COLUMNS}
    assert FEATURES, "the model needs at least one feature"


def test_split_is_seeded_stratified_and_its_sizes_are_scikit_learns(
    raw: pd.DataFrame, halves: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, test = halves
    again, _ = split(raw, 0.25, seed=1)
    assert train.index.equals(again.index)
    rows = len(labelled(raw))
    assert len(train) + len(test) == rows
    assert test[TARGET.name].notna().all()
    if GROUP is not None:  # a group all on one side: sizes as near a quarter as groups allow
        assert not set(train[GROUP].dropna()) & set(test[GROUP].dropna())
        assert 0 < len(test) < len(train)
        return
    assert len(test) == math.ceil(rows * 0.25)  # scikit-learn rounds the test set up
    if TASK == "classification":  # stratified: each class's share as in the data, to one row
        shares = labelled(raw)[TARGET.name].value_counts(normalize=True)
        found = test[TARGET.name].value_counts(normalize=True).reindex(shares.index, fill_value=0)
        assert (found - shares).abs().max() <= 1 / len(test) + 1e-9


def test_the_model_beats_the_dummy_baseline(halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = halves
    result = evaluate(fit(train, load_params("train", ROOT / "params.yaml")), test, train)
    metric = GATED[TASK]
    assert result.metrics[metric] > result.metrics[f"baseline_{metric}"], result.metrics


def test_metrics_and_plots_are_the_tasks(halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = halves
    result = evaluate(fit(train, {"n_estimators": 5, "max_depth": 3, "seed": 0}), test, train)
    names = (
        {"accuracy", "f1_macro", "roc_auc_ovr"}
        if TASK == "classification"
        else {"rmse", "mae", "r2"}
    )
    assert set(result.metrics) == names | {f"baseline_{name}" for name in names}
    plots = {"confusion", "roc", "pr"} if TASK == "classification" else {"predictions", "residuals"}
    assert set(result.plots) == plots
    first = result.plots["confusion" if TASK == "classification" else "predictions"]
    assert len(first) == len(test)


def test_missing_values_in_any_feature_are_imputed(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = halves
    model = fit(train, {"n_estimators": 5, "max_depth": 3, "seed": 0})
    holes = test[FEATURE_NAMES].head(len(FEATURE_NAMES)).copy()
    for row, name in enumerate(FEATURE_NAMES[: len(holes)]):
        holes.loc[holes.index[row], name] = np.nan
    assert len(model.predict(holes)) == len(holes)


def test_score_reads_a_stored_model_and_data_file_as_promotion_does(
    halves: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    train, test = halves
    model = fit(train, {"n_estimators": 5, "max_depth": 3, "seed": 0})
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    test.to_csv(tmp_path / "test.csv", index=False)
    expected = evaluate(model, test, train).metrics
    assert score(tmp_path / "model.pkl", tmp_path / "test.csv") == {
        name: value for name, value in expected.items() if not name.startswith("baseline_")
    }


def test_the_stages_read_and_write_the_files_paths_names() -> None:
    stages = yaml.safe_load(Path("dvc.yaml").read_text(encoding="utf-8"))["stages"]
    listed = {
        Path(next(iter(entry)) if isinstance(entry, dict) else entry)
        for stage in stages.values()
        for entry in [*stage.get("deps", []), *stage.get("outs", [])]
    }
    named = {value for value in vars(paths).values() if isinstance(value, Path)}
    assert named - {paths.PARAMS} <= listed, "a path of paths.py that no stage of dvc.yaml lists"
    assert DATA in listed


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (("prepare", "test_size", 1.0), "prepare.test_size: Input should be less than 1"),
        (
            ("train", "n_estimators", 0),
            "train.n_estimators: Input should be greater than or equal to 1",
        ),
        (("train", "max_depth", "deep"), "train.max_depth"),
        (("train", "learning_rate", 0.1), "train.learning_rate: Extra inputs are not permitted"),
    ],
)
def test_a_bad_param_is_refused_naming_its_key(
    tmp_path: Path, edit: tuple[str, str, object], named: str
) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    section, key, value = edit
    params[section][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=re.escape(named)):
        read(path)
    assert read(ROOT / "params.yaml")  # the shipped file is valid
