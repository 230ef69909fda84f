"""Compile a trained model to ONNX for serving; keep it only if it answers as the model does.

`mlci build` runs `python -m mlci_serving.compile --schema PACKAGE.schema --model MODEL --check TABLE ...
OUTPUT` in the repository's environment: it prints what it did as JSON, `{"compiled": true, ...}` with
the file written, or `{"compiled": false, "reason": ...}` with nothing written, and the build then serves
the scikit-learn model. The check: every row of the tables (a sample of `MOST_ROWS` of larger ones), and
each again with one feature missing in turn, answered by both models, each reading the rows as a request
gives them; every probability (or predicted number, as a share of its size) within `TOLERANCE`.

Needs the `compile` extra (onnx, skl2onnx), which a bento never installs.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlci_serving.answers import frame_rows
from mlci_serving.columns import Numeric
from mlci_serving.compiled import CLASSES_KEY, MISSING_CATEGORY, TOLERANCE, CompiledModel
from mlci_serving.dates import DateParts, part_names
from mlci_serving.schema import Schema, SchemaError

MOST_ROWS = 100_000  # of the tables, checked as they are and again with a value missing


def parts(estimator: Any) -> Iterator[Any]:
    """The estimator and every fitted estimator inside it."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    yield estimator
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            yield from parts(step)
    elif isinstance(estimator, ColumnTransformer):
        for _, transformer, _ in estimator.transformers_:
            yield from parts(transformer)


def without_date_steps(model: Any) -> None:
    """Let the compiled model read each date's parts as numbers (computed before it runs, as `CompiledModel`
    does): a column transformer's date step (`DateParts`, alone or first in a pipeline) is replaced by what
    follows it, over the parts' columns. ONNX cannot read a date written as text."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    for part in parts(model):
        if not isinstance(part, ColumnTransformer):
            continue
        changed, entries = False, []
        for name, transformer, columns in part.transformers_:
            steps = transformer.steps if isinstance(transformer, Pipeline) else [(name, transformer)]
            if isinstance(steps[0][1], DateParts):
                rest = Pipeline(steps[1:]) if len(steps) > 1 else "passthrough"
                entries.append((name, rest, [each for column in columns for each in part_names(column)]))
                changed = True
            else:
                entries.append((name, transformer, columns))
        if changed:
            part.transformers_ = entries
            read = [column for _, _, columns in entries if isinstance(columns, list) for column in columns]
            part.feature_names_in_ = np.asarray(read, dtype=object)
            part.n_features_in_ = len(read)


def compiled_bytes(model: Any, schema: Schema) -> bytes:
    """The model as ONNX: categories read as text, a missing one as `MISSING_CATEGORY`; dates as their parts."""
    from onnx import StringStringEntryProto
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.impute import SimpleImputer

    model = copy.deepcopy(model)
    without_date_steps(model)
    for part in parts(model):
        fitted = getattr(part, "statistics_", None)  # a transformer of no columns is never fitted
        if isinstance(part, SimpleImputer) and fitted is not None and fitted.dtype == object:
            part.missing_values = MISSING_CATEGORY
    numbers = [*schema.numeric_features, *(each for name in schema.date_features for each in part_names(name))]
    inputs = [(name, FloatTensorType([None, 1])) for name in numbers] + [
        (name, StringTensorType([None, 1])) for name in schema.categorical_features
    ]
    options = {id(model.steps[-1][1]): {"zipmap": False}} if schema.task == "classification" else None
    compiled = to_onnx(model, initial_types=inputs, options=options)
    # skl2onnx lists the operator sets in an order that follows Python's hash seed: sorted, the same
    # model compiles to the same bytes in every process.
    opsets = sorted((opset.domain, opset.version) for opset in compiled.opset_import)
    del compiled.opset_import[:]
    for domain, version in opsets:
        compiled.opset_import.add(domain=domain, version=version)
    classes = [str(label) for label in getattr(model, "classes_", [])]
    compiled.metadata_props.append(StringStringEntryProto(key=CLASSES_KEY, value=json.dumps(classes)))
    data: bytes = compiled.SerializeToString()
    return data


def read_table(path: Path, schema: Schema) -> pd.DataFrame:
    """A table's features as requests give them: numbers as numbers, every other column as text."""
    as_text = {column.name: str for column in schema.columns if not isinstance(column, Numeric)}
    return pd.read_csv(path, dtype=as_text)[schema.feature_names]


def checked_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as they are, then again with one feature missing in turn."""
    blanked = frame.copy()
    for index, name in enumerate(frame.columns):
        rows = blanked.index[index :: len(frame.columns)]
        blanked.loc[rows, name] = np.nan
    return pd.concat([frame, blanked], ignore_index=True)


def largest_difference(model: Any, compiled: CompiledModel, frame: pd.DataFrame, schema: Schema) -> float:
    """The largest difference between the two models' answers over the frame's rows, each model
    reading them as it does when served."""
    rows = frame_rows(frame)
    if schema.task == "classification":
        if [str(label) for label in model.classes_] != list(compiled.classes_):
            return float("inf")
        return float(np.abs(model.predict_proba(frame) - compiled.predict_proba(rows)).max())
    expected = model.predict(frame).astype(float)
    scale = np.maximum(1.0, np.abs(expected))
    return float((np.abs(expected - compiled.predict(rows)) / scale).max())


def compile_model(schema: Schema, model_file: Path, tables: Sequence[Path], output: Path) -> dict[str, Any]:
    """Compile the model into `output` if it answers as the model does; what was done, and why."""
    found = [read_table(path, schema) for path in tables if path.is_file()]
    if not found:
        named = " or ".join(map(str, tables)) or "no table"
        return {"compiled": False, "reason": f"no {named} to check it on: `dvc pull`"}
    categories = [getattr(column, "categories", ()) for column in schema.features]
    if any(MISSING_CATEGORY in labels for labels in categories):
        reason = f"a category is {MISSING_CATEGORY!r}, which the compiled model reads as missing"
        return {"compiled": False, "reason": reason}
    model = pickle.loads(model_file.read_bytes())
    try:
        data = compiled_bytes(model, schema)
        compiled = CompiledModel(data, schema)
    except Exception as error:  # any converter's or runtime's refusal: the trained model serves
        return {"compiled": False, "reason": f"does not convert: {type(error).__name__}: {error}"}
    prepared = pd.concat(found, ignore_index=True)
    if len(prepared) > MOST_ROWS:  # a large table: a seeded sample keeps the build's time bounded
        prepared = prepared.sample(MOST_ROWS, random_state=0, ignore_index=True)
    rows = checked_rows(prepared)
    difference = largest_difference(model, compiled, rows, schema)
    report = {"rows_checked": len(rows), "largest_difference": difference, "tolerance": TOLERANCE}
    if not difference <= TOLERANCE:
        reason = f"answers differ from the model's by up to {difference:.3g} (at most {TOLERANCE})"
        return {"compiled": False, "reason": reason, **report}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    return {"compiled": True, **report}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mlci_serving.compile",
        description="Compile a model to ONNX; write it only if it answers as the model does.",
    )
    parser.add_argument("output", type=Path, metavar="OUTPUT", help="the compiled model's file")
    parser.add_argument("--schema", required=True, metavar="MODULE", help="the schema's module, e.g. pkg.schema")
    parser.add_argument("--model", required=True, type=Path, help="the trained model's pickle")
    parser.add_argument(
        "--check", action="append", default=[], type=Path, metavar="CSV", help="a table to check it on (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        schema = Schema.of(importlib.import_module(args.schema))
    except (ImportError, SchemaError) as error:
        parser.error(f"--schema {args.schema}: {error}")
    print(json.dumps(compile_model(schema, args.model, args.check, args.output)))


if __name__ == "__main__":
    main()
