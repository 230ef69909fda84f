"""The compiled model (ONNX): kept only if it answers as the trained one does, then served instead.

Every assertion holds for schemas of every shape: numbers and categories, numbers only, a regression.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlci_serving import compile as compiling
from mlci_serving.answers import TrainedModel, answers, frame_rows
from mlci_serving.batch import TableScorer
from mlci_serving.compiled import TOLERANCE, CompiledModel, load_compiled
from mlci_serving.contract import ClassPrediction
from mlci_serving.names import COMPILED_SHA256_VARIABLE, compiled_path
from mlci_serving.service import served_model

from .cases import MODEL, Case

COMPILED = compiled_path(MODEL)
TRAIN, TEST = Path("prepared/train.csv"), Path("prepared/test.csv")


@pytest.fixture
def workdir(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder laid out as a repository is, with the model and two prepared tables: worked in."""
    half = len(case.table) // 2
    for path, table in ((TRAIN, case.table.iloc[:half]), (TEST, case.table.iloc[half:])):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(tmp_path / path, index=False)
    (tmp_path / MODEL).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / MODEL).write_bytes(pickle.dumps(case.model))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def compile_here(case: Case) -> dict[str, Any]:
    return compiling.compile_model(case.schema, MODEL, [TRAIN, TEST], COMPILED)


def features(case: Case) -> pd.DataFrame:
    """The case's rows as a request gives them, again with one feature missing in turn."""
    return compiling.checked_rows(case.table[case.schema.feature_names])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_compiled_model_answers_as_the_trained_one_with_values_missing(workdir: Path, case: Case) -> None:
    report = compile_here(case)
    assert report["compiled"] is True, report
    assert report["largest_difference"] <= TOLERANCE
    compiled, frame = load_compiled(COMPILED, sha256(COMPILED), case.schema), features(case)
    assert frame.isna().any().all()  # every feature is missing somewhere
    rows = frame_rows(frame)  # missing values as None, as requests give them
    if case.schema.task == "classification":
        assert list(compiled.classes_) == [str(label) for label in case.model.classes_]
        assert np.abs(compiled.predict_proba(rows) - case.model.predict_proba(frame)).max() <= TOLERANCE
    else:
        expected = case.model.predict(frame)
        share = np.abs(compiled.predict(rows) - expected) / np.maximum(1.0, np.abs(expected))
        assert share.max() <= TOLERANCE


def test_the_compiled_model_reads_a_tables_columns_as_it_reads_records(workdir: Path, case: Case) -> None:
    """`mlci score` hands the compiled model a frame of features (as `TableScorer` reads a table): its answers
    are exactly those it gives the same rows sent as records, missing values included."""
    assert compile_here(case)["compiled"] is True
    compiled, frame = load_compiled(COMPILED, sha256(COMPILED), case.schema), features(case)
    columns = TableScorer(case.schema).model_inputs(frame)
    if case.schema.task == "classification":
        assert np.array_equal(compiled.predict_proba(columns), compiled.predict_proba(frame_rows(frame)))
    assert np.array_equal(compiled.predict(columns), compiled.predict(frame_rows(frame)))


def test_a_model_compiles_to_the_same_bytes_its_operator_sets_sorted(case: Case) -> None:
    """skl2onnx lists the operator sets in an order that follows Python's hash seed; sorted, a model
    compiles to the same bytes in every process (the template's slow tests try two seeds)."""
    compiled = compiling.compiled_bytes(case.model, case.schema)
    assert compiling.compiled_bytes(case.model, case.schema) == compiled
    domains = [opset.domain for opset in onnx.load_from_string(compiled).opset_import]
    assert domains == sorted(domains)
    assert len(domains) > 1


def test_a_compiled_model_is_kept_only_within_the_tolerance(
    workdir: Path, penguin_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = penguin_case
    (workdir / MODEL).write_bytes(pickle.dumps(case.model))
    for path, table in ((TRAIN, case.table), (TEST, case.table)):
        table.to_csv(path, index=False)
    difference = compile_here(case)["largest_difference"]
    COMPILED.unlink()
    monkeypatch.setattr(compiling, "TOLERANCE", difference)
    assert compile_here(case)["compiled"] is True
    COMPILED.unlink()
    monkeypatch.setattr(compiling, "TOLERANCE", float(np.nextafter(difference, -1.0)))
    refused = compile_here(case)
    assert refused["compiled"] is False
    assert "answers differ from the model's" in refused["reason"]
    assert not COMPILED.exists()


def test_a_large_table_is_checked_on_a_sample_of_most_rows(
    workdir: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = len(case.table)
    monkeypatch.setattr(compiling, "MOST_ROWS", prepared)
    assert compile_here(case)["rows_checked"] == 2 * prepared
    monkeypatch.setattr(compiling, "MOST_ROWS", prepared - 1)
    assert compile_here(case)["rows_checked"] == 2 * (prepared - 1)


@pytest.fixture
def importable(case: Case, monkeypatch: pytest.MonkeyPatch) -> str:
    """The case's schema module, importable by a name: what `--schema` takes."""
    monkeypatch.setitem(sys.modules, "case_schema", case.module)
    return "case_schema"


def test_a_model_that_does_not_convert_is_left_to_the_trained_one(
    workdir: Path, case: Case, importable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = case.model
    odd = Pipeline([*model.steps[:-1], ("odd", FunctionTransformer(np.abs)), model.steps[-1]])
    MODEL.write_bytes(pickle.dumps(odd))
    compiling.main([str(COMPILED), "--schema", importable, "--model", str(MODEL), "--check", str(TRAIN)])
    said = json.loads(capsys.readouterr().out)
    assert said["compiled"] is False
    assert said["reason"].startswith("does not convert: ")
    assert not COMPILED.exists()


def test_its_command_line_reads_the_schema_module_and_writes_the_file(
    workdir: Path, case: Case, importable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    compiling.main([str(COMPILED), "--schema", importable, "--model", str(MODEL), "--check", str(TRAIN)])
    said = json.loads(capsys.readouterr().out)
    assert said["compiled"] is True, said
    assert said["rows_checked"] == 2 * len(pd.read_csv(TRAIN))
    assert COMPILED.is_file()


def test_a_module_that_states_no_schema_is_refused_naming_it(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        compiling.main([str(COMPILED), "--schema", "json", "--model", str(MODEL)])
    assert exited.value.code == 2
    assert "--schema json: json defines no TASK, TARGET, COLUMNS, EXAMPLE: a schema states" in capsys.readouterr().err
    assert not COMPILED.exists()


def test_asking_its_command_line_for_help_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(workdir.rglob("*"))
    with pytest.raises(SystemExit) as exited:
        compiling.main(["--help"])
    assert exited.value.code == 0
    assert "OUTPUT" in capsys.readouterr().out
    assert sorted(workdir.rglob("*")) == before


def test_nothing_is_compiled_without_the_tables(workdir: Path, case: Case) -> None:
    TRAIN.unlink()
    TEST.unlink()
    said = compile_here(case)
    assert said == {"compiled": False, "reason": f"no {TRAIN} or {TEST} to check it on: `dvc pull`"}


def test_the_service_serves_the_compiled_model_when_told_its_checksum(
    workdir: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(served_model(case.schema, MODEL), TrainedModel)  # not told: the trained model
    assert compile_here(case)["compiled"] is True
    MODEL.unlink()  # serving the compiled model never reads (never unpickles) the trained one
    monkeypatch.setenv(COMPILED_SHA256_VARIABLE, sha256(COMPILED))
    served = served_model(case.schema, MODEL)
    assert isinstance(served, CompiledModel)
    frame = case.table[case.schema.feature_names].head(200)
    records = frame_rows(frame)
    given = answers(served, records, "v1", [str(number) for number in range(len(records))], case.schema.task)
    if case.schema.task == "classification":
        classes = [str(label) for label in case.model.classes_]
        probabilities = [cast(ClassPrediction, answer)["probabilities"] for answer in given]
        scores = np.array([[each[label] for label in classes] for each in probabilities])
        assert np.abs(scores - case.model.predict_proba(frame)).max() <= TOLERANCE
        assert [answer["prediction"] for answer in given] == [classes[int(np.argmax(row))] for row in scores]
    else:
        expected = case.model.predict(frame)
        values = np.array([answer["prediction"] for answer in given])
        assert (np.abs(values - expected) / np.maximum(1.0, np.abs(expected))).max() <= TOLERANCE


def test_a_compiled_model_other_than_the_builds_is_not_loaded(workdir: Path, case: Case) -> None:
    assert compile_here(case)["compiled"] is True
    built = sha256(COMPILED)
    assert isinstance(load_compiled(COMPILED, built, case.schema), CompiledModel)  # the build's bytes load
    COMPILED.write_bytes(COMPILED.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match=f"not the build's {built}: not loaded"):
        load_compiled(COMPILED, built, case.schema)
