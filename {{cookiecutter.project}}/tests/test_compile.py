"""The compiled model (ONNX): kept only if it answers as the trained one does, then served instead.

Every assertion holds for any adopted table, whatever its columns, classes or task.
"""

import hashlib
import json
import pickle
from pathlib import Path
from typing import cast

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }} import compile as compiling
from {{ cookiecutter.package_name }} import service
from {{ cookiecutter.package_name }}.contract import ClassPrediction
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, read_csv, split
from {{ cookiecutter.package_name }}.paths import MODEL, TEST, TRAIN
from {{ cookiecutter.package_name }}.schema import DATA, TASK
from {{ cookiecutter.package_name }}.serving.answers import TrainedModel, answers, frame_rows
from {{ cookiecutter.package_name }}.serving.compiled import (
    COMPILED,
    TOLERANCE,
    CompiledModel,
    load_compiled,
)

ROOT = Path(__file__).parents[1]


@pytest.fixture
def workdir(model: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder laid out as the repository is, with the model and the prepared tables: worked in."""
    train, test = split(read_csv(ROOT / DATA), 0.25, seed=0)
    for path, table in ((TRAIN, train), (TEST, test)):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(tmp_path / path, index=False)
    (tmp_path / MODEL).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / MODEL).write_bytes(pickle.dumps(model))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def features() -> pd.DataFrame:
    """The repository's rows as the model reads them, again with one feature missing in turn."""
    return compiling.checked_rows(read_csv(ROOT / DATA)[FEATURE_NAMES])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_compiled_model_answers_as_the_trained_one_with_values_missing(
    workdir: Path, model: Pipeline
) -> None:
    report = compiling.compile_model(COMPILED)
    assert report["compiled"] is True, report
    assert report["largest_difference"] <= TOLERANCE
    compiled, frame = load_compiled(COMPILED, sha256(COMPILED)), features()
    assert frame[FEATURE_NAMES].isna().any().all()  # every feature is missing somewhere
    rows = frame_rows(frame)  # missing values as None, as requests give them
    if TASK == "classification":
        assert list(compiled.classes_) == [str(label) for label in model.classes_]
        difference = np.abs(compiled.predict_proba(rows) - model.predict_proba(frame))
        assert difference.max() <= TOLERANCE
    else:
        expected = model.predict(frame)
        share = np.abs(compiled.predict(rows) - expected) / np.maximum(1.0, np.abs(expected))
        assert share.max() <= TOLERANCE


def test_a_model_compiles_to_the_same_bytes_its_operator_sets_sorted(model: Pipeline) -> None:
    """skl2onnx lists the operator sets in an order that follows Python's hash seed; sorted, a
    model compiles to the same bytes in every process (the template's slow tests try two seeds)."""
    compiled = compiling.compiled_bytes(model)
    assert compiling.compiled_bytes(model) == compiled
    domains = [opset.domain for opset in onnx.load_from_string(compiled).opset_import]
    assert domains == sorted(domains)
    assert len(domains) > 1


def test_a_compiled_model_is_kept_only_within_the_tolerance(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    difference = compiling.compile_model(COMPILED)["largest_difference"]
    COMPILED.unlink()
    monkeypatch.setattr(compiling, "TOLERANCE", difference)
    assert compiling.compile_model(COMPILED)["compiled"] is True
    COMPILED.unlink()
    monkeypatch.setattr(compiling, "TOLERANCE", float(np.nextafter(difference, -1.0)))
    refused = compiling.compile_model(COMPILED)
    assert refused["compiled"] is False
    assert "answers differ from the model's" in refused["reason"]
    assert not COMPILED.exists()


def test_a_large_table_is_checked_on_a_sample_of_most_rows(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = len(read_csv(TRAIN)) + len(read_csv(TEST))
    monkeypatch.setattr(compiling, "MOST_ROWS", prepared)
    assert compiling.compile_model(COMPILED)["rows_checked"] == 2 * prepared
    monkeypatch.setattr(compiling, "MOST_ROWS", prepared - 1)
    assert compiling.compile_model(COMPILED)["rows_checked"] == 2 * (prepared - 1)


def test_a_model_that_does_not_convert_is_left_to_the_trained_one(
    workdir: Path,
    model: Pipeline,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    odd = Pipeline([*model.steps[:-1], ("odd", FunctionTransformer(np.abs)), model.steps[-1]])
    MODEL.write_bytes(pickle.dumps(odd))
    monkeypatch.setattr("sys.argv", ["compile", str(COMPILED)])
    compiling.main()
    said = json.loads(capsys.readouterr().out)
    assert said["compiled"] is False
    assert said["reason"].startswith("does not convert: ")
    assert not COMPILED.exists()


def test_asking_its_command_line_for_help_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(workdir.rglob("*"))
    monkeypatch.setattr("sys.argv", ["compile", "--help"])
    with pytest.raises(SystemExit) as exited:
        compiling.main()
    assert exited.value.code == 0
    assert "OUTPUT" in capsys.readouterr().out
    assert sorted(workdir.rglob("*")) == before


def test_nothing_is_compiled_without_the_prepared_tables(workdir: Path) -> None:
    TRAIN.unlink()
    TEST.unlink()
    said = compiling.compile_model(COMPILED)
    assert said == {"compiled": False, "reason": f"no {TRAIN} or {TEST} to check it on: `dvc pull`"}


def test_the_service_serves_the_compiled_model_when_told_its_checksum(
    workdir: Path, model: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(service.served_model(), TrainedModel)  # not told: the trained model
    assert compiling.compile_model(COMPILED)["compiled"] is True
    MODEL.unlink()  # serving the compiled model never reads (never unpickles) the trained one
    monkeypatch.setenv(service.COMPILED_CHECKSUM_VARIABLE, sha256(COMPILED))
    served = service.served_model()
    assert isinstance(served, CompiledModel)
    frame = read_csv(ROOT / DATA)[FEATURE_NAMES].head(200)
    records = frame_rows(frame)
    given = answers(served, records, "v1", [str(number) for number in range(len(records))])
    if TASK == "classification":
        classes = [str(label) for label in model.classes_]
        probabilities = [cast(ClassPrediction, answer)["probabilities"] for answer in given]
        scores = np.array([[each[label] for label in classes] for each in probabilities])
        assert np.abs(scores - model.predict_proba(frame)).max() <= TOLERANCE
        assert [answer["prediction"] for answer in given] == [
            classes[int(np.argmax(row))] for row in scores
        ]
    else:
        expected = model.predict(frame)
        values = np.array([answer["prediction"] for answer in given])
        assert (np.abs(values - expected) / np.maximum(1.0, np.abs(expected))).max() <= TOLERANCE


def test_a_compiled_model_other_than_the_builds_is_not_loaded(workdir: Path) -> None:
    assert compiling.compile_model(COMPILED)["compiled"] is True
    built = sha256(COMPILED)
    assert isinstance(load_compiled(COMPILED, built), CompiledModel)  # the build's bytes load
    COMPILED.write_bytes(COMPILED.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match=f"not the build's {built}: not loaded"):
        load_compiled(COMPILED, built)
