"""The generated service with a model that costs nothing: what serving costs apart from the model.

Everything but the model is what the repository serves with: its service, the runtime's request contract,
batching, the answers built, the HTTP guard. The model is swapped, before BentoML starts the service, for one
that answers the first class (or the mean) for every record at once, without reading them (no frame, no
arrays). Serve it from the repository root, with this folder on PYTHONPATH: `bentoml serve bench_modelless:ModelLess`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import mlci_serving.service as runtime
import numpy as np
from mlci.core.config import load_config
from mlci.core.project import Project
from mlci_serving.answers import load_model

PACKAGE = Project.read(Path("."), load_config(Path("mlci.toml"))).package
service = importlib.import_module(f"{PACKAGE}.service")


class Constant:
    """A fitted model's classes (or none), answering the same for every row without reading it."""

    def __init__(self, model: Any) -> None:
        self.classes_ = getattr(model, "classes_", np.array([]))

    def predict(self, rows: list[Any]) -> np.ndarray:
        return np.zeros(len(rows))

    def predict_proba(self, rows: list[Any]) -> np.ndarray:
        scores = np.zeros((len(rows), len(self.classes_)))
        scores[:, 0] = 1.0
        return scores


# The whole model is swapped, with what it does to read the records (a frame for the trained model,
# arrays for the compiled one): the function the runtime's service calls when it starts.
runtime.served_model = lambda schema, model_file: Constant(load_model(model_file, ""))
ModelLess = service.Predictor
