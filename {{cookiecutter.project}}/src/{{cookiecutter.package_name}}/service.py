"""The model as an HTTP service: `POST /predict` answers one record or a list of them.

Serve the working tree with `uv run bentoml serve {{ cookiecutter.package_name }}.service:Predictor`.
"""

from __future__ import annotations

import gc
import os

import bentoml

from {{ cookiecutter.package_name }}.contract import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    Prediction,
    PredictRequest,
    Records,
)
from {{ cookiecutter.package_name }}.paths import MODEL
from {{ cookiecutter.package_name }}.serving import deadline, quiet_errors
from {{ cookiecutter.package_name }}.serving.answers import (
    Model,
    TrainedModel,
    answers,
    as_rows,
    load_model,
    record_ids,
)
from {{ cookiecutter.package_name }}.serving.batching import Batcher
from {{ cookiecutter.package_name }}.serving.compiled import COMPILED, load_compiled
from {{ cookiecutter.package_name }}.serving.http import guard
from {{ cookiecutter.package_name }}.serving.inference_log import from_environment
from {{ cookiecutter.package_name }}.serving.json_answers import JsonAnswers
from {{ cookiecutter.package_name }}.serving.openapi import describe

ROUTE = "/predict"
VERSION_VARIABLE = (
    "MODEL_VERSION"  # set by what serves a registered build; unset for the working tree
)
CHECKSUM_VARIABLE = "MODEL_SHA256"  # set with a registered build: the model must have this SHA-256
COMPILED_CHECKSUM_VARIABLE = "MODEL_ONNX_SHA256"  # set when the build has a compiled model: served


def served_model() -> Model:
    """The build's compiled model when it has one, else the scikit-learn model."""
    compiled = os.environ.get(COMPILED_CHECKSUM_VARIABLE, "")
    if compiled:
        return load_compiled(COMPILED, compiled)
    return TrainedModel(load_model(MODEL, os.environ.get(CHECKSUM_VARIABLE, "")))


# The request timeout (traffic) is served by serving/deadline.py, which leaves no timer behind.
# Per-request access logs cost about a sixth of the throughput; /metrics counts requests instead.
# BentoML records a trace span for every request, tracing configured or not: for /predict, that
# garbage cost a third of the throughput under load. To trace /predict, remove it from the list.
@bentoml.service(
    traffic={"timeout": 10},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [ROUTE]},
)
class Predictor:
    """The trained model behind `/predict`; ready once the model is loaded."""

    def __init__(self) -> None:
        self.model = served_model()
        self.version = os.environ.get(VERSION_VARIABLE, "working-tree")
        self.log = from_environment()  # a sample of requests for drift monitoring, when configured
        self.batcher = Batcher(self.answer, limit=2 * MAX_BATCH)
        # Python's full collections walked every object the imports and the model had made, pausing
        # all requests for 100 ms and more under load; frozen, those objects are never walked again.
        gc.freeze()

    @bentoml.api(  # type: ignore[untyped-decorator]  # bentoml loads its API lazily
        route=ROUTE, input_spec=PredictRequest, output_spec=JsonAnswers
    )
    async def predict(self, records: Records) -> list[Prediction]:
        """Predict each record's target: a number, or a class with every class's probability.

        Requests that arrive while the model answers others are answered together next.
        """
        return await self.batcher(records)

    def answer(self, records: Records) -> list[Prediction]:
        """The model's answers to these records, logged when the log is on."""
        rows = as_rows(records)
        ids = record_ids(rows)
        predictions = answers(self.model, rows, self.version, ids)
        if self.log:
            predicted = [answer["prediction"] for answer in predictions]
            self.log.record(self.version, ids, rows, predicted)
        return predictions

    @bentoml.on_shutdown  # type: ignore[untyped-decorator]  # as for bentoml.api
    def flush_log(self) -> None:
        """Write the inference log's last records before the worker exits."""
        if self.log:
            self.log.close()


guard(Predictor, ROUTE, MAX_BODY_BYTES)
describe(Predictor, ROUTE)
quiet_errors.install()
deadline.install()
