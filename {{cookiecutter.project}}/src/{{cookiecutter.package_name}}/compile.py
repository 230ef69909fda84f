"""Compile the trained model to ONNX for serving; keep it only if it answers as the model does.

`mlci build` runs `python -m {{ cookiecutter.package_name }}.compile OUTPUT`: it prints what it did as
JSON, `{"compiled": true, ...}` with the file written, or `{"compiled": false, "reason": ...}` with
nothing written, and the build then serves the scikit-learn model. The check: every row of the
prepared train and test tables (a sample of `MOST_ROWS` of a larger table), and each again with one
feature missing in turn, answered by both models; every probability (or predicted number, as a
share of its size) within `TOLERANCE`.
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from onnx import StringStringEntryProto
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.columns import Categorical
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, read_csv
from {{ cookiecutter.package_name }}.paths import MODEL, TEST, TRAIN
from {{ cookiecutter.package_name }}.schema import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, TASK
from {{ cookiecutter.package_name }}.serving.answers import frame_rows
from {{ cookiecutter.package_name }}.serving.compiled import (
    CLASSES_KEY,
    MISSING_CATEGORY,
    TOLERANCE,
    CompiledModel,
)

MOST_ROWS = 100_000  # of the prepared tables, checked as they are and again with a value missing


def parts(estimator: Any) -> Iterator[Any]:
    """The estimator and every fitted estimator inside it."""
    yield estimator
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            yield from parts(step)
    elif isinstance(estimator, ColumnTransformer):
        for _, transformer, _ in estimator.transformers_:
            yield from parts(transformer)


def compiled_bytes(model: Pipeline) -> bytes:
    """The model as ONNX: categories read as text, a missing one as `MISSING_CATEGORY`."""
    model = copy.deepcopy(model)
    for part in parts(model):
        fitted = getattr(part, "statistics_", None)  # a transformer of no columns is never fitted
        if isinstance(part, SimpleImputer) and fitted is not None and fitted.dtype == object:
            part.missing_values = MISSING_CATEGORY
    inputs = [(name, FloatTensorType([None, 1])) for name in NUMERIC_FEATURES] + [
        (name, StringTensorType([None, 1])) for name in CATEGORICAL_FEATURES
    ]
    options = {id(model.steps[-1][1]): {"zipmap": False}} if TASK == "classification" else None
    compiled = to_onnx(model, initial_types=inputs, options=options)
    # skl2onnx lists the operator sets in an order that follows Python's hash seed: sorted, the same
    # model compiles to the same bytes in every process.
    opsets = sorted((opset.domain, opset.version) for opset in compiled.opset_import)
    del compiled.opset_import[:]
    for domain, version in opsets:
        compiled.opset_import.add(domain=domain, version=version)
    classes = [str(label) for label in getattr(model, "classes_", [])]
    classes_entry = StringStringEntryProto(key=CLASSES_KEY, value=json.dumps(classes))
    compiled.metadata_props.append(classes_entry)
    data: bytes = compiled.SerializeToString()
    return data


def checked_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as they are, then again with one feature missing in turn."""
    blanked = frame.copy()
    for index, name in enumerate(FEATURE_NAMES):
        rows = blanked.index[index :: len(FEATURE_NAMES)]
        blanked.loc[rows, name] = np.nan
    return pd.concat([frame, blanked], ignore_index=True)


def largest_difference(model: Pipeline, compiled: CompiledModel, frame: pd.DataFrame) -> float:
    """The largest difference between the two models' answers over the frame's rows, each model
    reading them as it does when served."""
    rows = frame_rows(frame)
    if TASK == "classification":
        if [str(label) for label in model.classes_] != list(compiled.classes_):
            return float("inf")
        return float(np.abs(model.predict_proba(frame) - compiled.predict_proba(rows)).max())
    expected = model.predict(frame).astype(float)
    scale = np.maximum(1.0, np.abs(expected))
    return float((np.abs(expected - compiled.predict(rows)) / scale).max())


def compile_model(output: Path) -> dict[str, Any]:
    """Compile the model into `output` if it answers as the model does; what was done, and why."""
    tables = [read_csv(path)[FEATURE_NAMES] for path in (TRAIN, TEST) if path.is_file()]
    if not tables:
        return {"compiled": False, "reason": f"no {TRAIN} or {TEST} to check it on: `dvc pull`"}
    categories = [column.categories for column in FEATURES if isinstance(column, Categorical)]
    if any(MISSING_CATEGORY in labels for labels in categories):
        reason = f"a category is {MISSING_CATEGORY!r}, which the compiled model reads as missing"
        return {"compiled": False, "reason": reason}
    model = pickle.loads(MODEL.read_bytes())
    try:
        data = compiled_bytes(model)
        compiled = CompiledModel(data)
    except Exception as error:  # any converter's or runtime's refusal: the trained model serves
        return {"compiled": False, "reason": f"does not convert: {type(error).__name__}: {error}"}
    prepared = pd.concat(tables, ignore_index=True)
    if len(prepared) > MOST_ROWS:  # a large table: a seeded sample keeps the build's time bounded
        prepared = prepared.sample(MOST_ROWS, random_state=0, ignore_index=True)
    rows = checked_rows(prepared)
    difference = largest_difference(model, compiled, rows)
    report = {"rows_checked": len(rows), "largest_difference": difference, "tolerance": TOLERANCE}
    if not difference <= TOLERANCE:
        reason = f"answers differ from the model's by up to {difference:.3g} (at most {TOLERANCE})"
        return {"compiled": False, "reason": reason, **report}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    return {"compiled": True, **report}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.compile",
        description="Compile the model to ONNX; write it only if it answers as the model does.",
    )
    parser.add_argument("output", type=Path, metavar="OUTPUT", help="the compiled model's file")
    print(json.dumps(compile_model(parser.parse_args().output)))


if __name__ == "__main__":
    main()
