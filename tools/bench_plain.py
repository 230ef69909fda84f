"""A plain BentoML service of the repository's trained model, written as BentoML's own guide writes one: the
peer a user would pick instead of mlci's service, which `nox -s bench -- --parts peers` measures it against.
It answers the same records with the same fields (the prediction and a classifier's probabilities), with no
contract, no compiled model, no guards and no log. Serve it from the repository root, with this folder on
PYTHONPATH: `bentoml serve bench_plain:Plain`.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import bentoml
import pandas as pd
from mlci.core.config import load_config
from mlci.core.project import Project

MODEL = Project.read(Path("."), load_config(Path("mlci.toml"))).model


@bentoml.service
class Plain:
    def __init__(self) -> None:
        self.model = pickle.loads(MODEL.read_bytes())

    @bentoml.api  # type: ignore[untyped-decorator]  # BentoML's decorator, typed loosely
    def predict(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        frame = pd.DataFrame(records)
        labels = self.model.predict(frame)
        if not hasattr(self.model, "predict_proba"):
            return {"predictions": [{"prediction": float(label)} for label in labels]}
        scores = self.model.predict_proba(frame)
        classes = [str(label) for label in self.model.classes_]
        return {
            "predictions": [
                {"prediction": str(label), **dict(zip(classes, map(float, row), strict=True))}
                for label, row in zip(labels, scores, strict=True)
            ]
        }
