"""The model's answers to records: what the service and batch scoring share."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from mlci_serving.columns import Task
from mlci_serving.contract import ClassPrediction, Prediction, ValuePrediction

Rows = list[dict[str, Any]]  # records' fields by column name, missing values as None


class Model(Protocol):
    """What answers read of a model: `TrainedModel` and the compiled model both have it."""

    classes_: Any

    def predict(self, rows: Rows) -> np.ndarray: ...

    def predict_proba(self, rows: Rows) -> np.ndarray: ...


class TrainedModel:
    """The scikit-learn pipeline, reading rows as the frame training saw."""

    def __init__(self, pipeline: Any, feature_names: list[str]) -> None:
        self.pipeline = pipeline
        self.feature_names = feature_names
        self.classes_ = getattr(pipeline, "classes_", None)

    def predict(self, rows: Rows) -> np.ndarray:
        predicted: np.ndarray = self.pipeline.predict(as_frame(rows, self.feature_names))
        return predicted

    def predict_proba(self, rows: Rows) -> np.ndarray:
        scores: np.ndarray = self.pipeline.predict_proba(as_frame(rows, self.feature_names))
        return scores


def load_model(path: Path, expected: str) -> Any:
    """The model, once its bytes are the build's: unpickling runs code, other bytes are refused."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if expected and actual != expected:
        raise RuntimeError(f"{path}: sha256 {actual}, not the build's {expected}: not loaded")
    return pickle.loads(data)


def record_ids(rows: Rows, identifier: str | None) -> list[str]:
    """Each row's id, taken out of the row: its identifier column's value, else one made up."""
    made = made_up_ids(len(rows))
    if identifier is None:
        return made
    given = [row.pop(identifier, None) for row in rows]
    return [new if value is None else str(value) for value, new in zip(given, made, strict=True)]


def made_up_ids(count: int) -> list[str]:
    """Random ids of 32 hex digits, as many as asked, drawn at once (one draw each costs more)."""
    digits = os.urandom(16 * count).hex()
    return [digits[start : start + 32] for start in range(0, 32 * count, 32)]


def as_frame(rows: Rows, feature_names: list[str]) -> pd.DataFrame:
    """Records as the frame training saw: the same columns, missing values as NaN."""
    return pd.DataFrame(rows, columns=feature_names).fillna(np.nan)


def frame_rows(frame: pd.DataFrame) -> Rows:
    """A frame's rows as records arrive: each column by name, missing values as None."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return cast(Rows, rows)  # pandas types the keys as any label; a table's columns are names


def answers(model: Model, rows: Rows, version: str, ids: list[str], task: Task) -> list[Prediction]:
    """Per row, the predicted number; or the predicted class and the probability of each class."""
    if task == "regression":
        values = model.predict(rows).astype(float).tolist()
        return [
            ValuePrediction(id=name, prediction=value, model_version=version)
            for name, value in zip(ids, values, strict=True)
        ]
    classes = [str(label) for label in model.classes_]
    scores = model.predict_proba(rows)
    best = np.asarray(classes, dtype=object)[np.argmax(scores, axis=1)].tolist()
    return [
        ClassPrediction(
            id=name,
            prediction=label,
            probabilities=dict(zip(classes, row, strict=True)),
            model_version=version,
        )
        for name, label, row in zip(ids, best, scores.astype(float).tolist(), strict=True)
    ]
