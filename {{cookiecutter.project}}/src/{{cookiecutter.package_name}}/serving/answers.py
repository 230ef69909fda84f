"""The model's answers to records: what the service and batch scoring share."""

from __future__ import annotations

import hashlib
import pickle
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import ClassPrediction, Prediction, ValuePrediction
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES
from {{ cookiecutter.package_name }}.schema import IDENTIFIER, TASK


def load_model(path: Path, expected: str) -> Pipeline:
    """The model, once its bytes are the build's: unpickling runs code, other bytes are refused."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if expected and actual != expected:
        raise RuntimeError(f"{path}: sha256 {actual}, not the build's {expected}: not loaded")
    model: Pipeline = pickle.loads(data)
    return model


def as_rows(records: list[Any]) -> list[dict[str, Any]]:
    """The records' fields by column name, missing values as None: what the model and log read."""
    return [record.model_dump(by_alias=True) for record in records]


def record_ids(rows: list[dict[str, Any]]) -> list[str]:
    """Each row's id, taken out of the row: its identifier column's value, else one made up."""
    if IDENTIFIER is None:
        return [uuid.uuid4().hex for _ in rows]
    given = [row.pop(IDENTIFIER, None) for row in rows]
    return [uuid.uuid4().hex if value is None else str(value) for value in given]


def as_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as the frame training saw: the same columns, missing values as NaN."""
    return pd.DataFrame(rows, columns=FEATURE_NAMES).fillna(np.nan)


def answers(model: Pipeline, frame: pd.DataFrame, version: str, ids: list[str]) -> list[Prediction]:
    """Per row, the predicted number; or the predicted class and the probability of each class."""
    if TASK == "regression":
        return [
            ValuePrediction(id=name, prediction=float(value), model_version=version)
            for name, value in zip(ids, model.predict(frame), strict=True)
        ]
    classes = [str(label) for label in model.classes_]
    return [
        ClassPrediction(
            id=name,
            prediction=classes[int(np.argmax(row))],
            probabilities=dict(zip(classes, map(float, row), strict=True)),
            model_version=version,
        )
        for name, row in zip(ids, model.predict_proba(frame), strict=True)
    ]
