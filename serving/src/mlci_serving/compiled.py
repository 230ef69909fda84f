"""The model compiled to ONNX, run by ONNX Runtime: what a registered build serves when it has one.

One record costs ONNX Runtime a fraction of a millisecond where the scikit-learn pipeline spends
several, and loading an ONNX file runs no code where unpickling a model can. `mlci build` compiles
the model (`python -m mlci_serving.compile`) and keeps the file only when it answers as the
scikit-learn model does, to within `TOLERANCE`, on the prepared data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd

from mlci_serving import dates
from mlci_serving.answers import Rows
from mlci_serving.schema import Schema

# A missing category, as the compiled model's imputers read it: ONNX text holds no NaN, and ONNX
# Runtime cuts text at a NUL. The compile step refuses a schema with this very category.
MISSING_CATEGORY = "\u2400 missing"
TOLERANCE = 1e-5  # the largest difference from the trained model: a probability, or a value's share
CLASSES_KEY = "classes"  # the metadata entry listing the classes, in the probabilities' order


class CompiledModel:
    """The ONNX model behind the trained model's `classes_`, `predict` and `predict_proba`."""

    def __init__(self, model: bytes, schema: Schema) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # concurrent requests use the other cores
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.task = schema.task
        self.numeric, self.dated = schema.numeric_features, schema.date_features
        self.categorical = schema.categorical_features
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.classes_ = np.asarray(json.loads(metadata.get(CLASSES_KEY, "[]")), dtype=object)
        # One input per feature, in this order; ONNX names them after the columns, as Python names.
        self.input_names = [each.name for each in self.session.get_inputs()]
        expected = len(self.numeric) + len(dates.PARTS) * len(self.dated) + len(self.categorical)
        if len(self.input_names) != expected:
            raise ValueError(f"inputs {self.input_names}, not one per feature (a date: one per part) of the schema")

    def inputs(self, rows: Rows | pd.DataFrame) -> dict[str, np.ndarray]:
        """Each feature as a column: numbers as 32-bit floats, a date as its parts, categories as text.

        Read from the rows directly: making a pandas frame of one record, and reading it back, cost
        fifteen times the model's own run. A missing value is None. A table's rows (a frame of the
        features, numbers as floats and the rest as text, as `mlci score` reads them) are read by column.
        """
        if isinstance(rows, pd.DataFrame):
            return self.frame_inputs(rows)
        columns = [np.array([row.get(name) for row in rows], dtype=np.float32).reshape(-1, 1) for name in self.numeric]
        for name in self.dated:
            found = dates.parts([row.get(name) for row in rows]).astype(np.float32)
            columns += [found[:, index : index + 1] for index in range(found.shape[1])]
        for name in self.categorical:
            values = np.array([row.get(name) for row in rows], dtype=object).reshape(-1, 1)
            values[pd.isna(values)] = MISSING_CATEGORY
            columns.append(values)
        return dict(zip(self.input_names, columns, strict=True))

    def frame_inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The inputs of a frame's rows, column by column; a missing value is NaN."""
        columns = [frame[name].to_numpy(dtype=np.float32).reshape(-1, 1) for name in self.numeric]
        for name in self.dated:
            found = dates.parts(frame[name].tolist()).astype(np.float32)
            columns += [found[:, index : index + 1] for index in range(found.shape[1])]
        for name in self.categorical:
            values = frame[name].to_numpy(dtype=object, copy=True).reshape(-1, 1)
            values[pd.isna(values)] = MISSING_CATEGORY
            columns.append(values)
        return dict(zip(self.input_names, columns, strict=True))

    def predict_proba(self, rows: Rows | pd.DataFrame) -> np.ndarray:
        """Each row's probability of each class, in the order of `classes_`."""
        probabilities: np.ndarray = self.session.run(None, self.inputs(rows))[1]
        return probabilities.astype(float)

    def predict(self, rows: Rows | pd.DataFrame) -> np.ndarray:
        """Each row's class, or its predicted number."""
        if self.task == "classification":
            return np.asarray(self.classes_[np.argmax(self.predict_proba(rows), axis=1)])
        values: np.ndarray = self.session.run(None, self.inputs(rows))[0]
        return values.ravel().astype(float)


def load_compiled(path: Path, expected: str, schema: Schema) -> CompiledModel:
    """The compiled model, once its bytes are the build's."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RuntimeError(f"{path}: sha256 {actual}, not the build's {expected}: not loaded")
    return CompiledModel(data, schema)
