"""A repository's model as a BentoML service: `POST /predict` answers one record or a list of them.

A generated repository's `service.py` is one call, `Predictor = model_service(schema, MODEL)`; what it
returns is the class-based BentoML service `bentoml serve` and `bentoml build` take. The request contract
comes from the schema; batching, the request deadline, the body-size guard, the corrected OpenAPI
schema, quiet refusals and the inference log are this package's, set by `ServingSettings` and by the
variables `mlci` gives a server (`mlci_serving.names`).
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import bentoml

from mlci_serving import deadline, known_routes, quiet_errors
from mlci_serving.answers import Model, TrainedModel, answers, load_model, record_ids
from mlci_serving.batching import Batcher
from mlci_serving.compiled import load_compiled
from mlci_serving.contract import MAX_BODY_BYTES, MAX_RECORDS, Contract, Prediction
from mlci_serving.guard import guard
from mlci_serving.inference_log import from_environment
from mlci_serving.json_answers import answers_output
from mlci_serving.names import (
    COMPILED_SHA256_VARIABLE,
    MODEL_SHA256_VARIABLE,
    MODEL_VERSION_VARIABLE,
    PREDICT_ROUTE,
    WORKING_TREE_VERSION,
    compiled_path,
)
from mlci_serving.novelty import Novelty
from mlci_serving.openapi import describe
from mlci_serving.schema import Schema
from mlci_serving.shape import BodyShape


@dataclass(frozen=True)
class ServingSettings:
    """What a repository may change of its service; each has the default every test ran with."""

    timeout: float = 10  # seconds an answer may take to start: later, 504 (BentoML's `traffic.timeout`)
    max_records: int = MAX_RECORDS  # per request: more get a 400 that names the limit
    max_body_bytes: int = MAX_BODY_BYTES  # a larger body gets 413 before it is read
    trace_predict: bool = False  # BentoML's trace span per /predict request: its garbage cost a third of the speed


def served_model(schema: Schema, model_file: Path) -> Model:
    """The build's compiled model when the server is told its checksum, else the scikit-learn model
    (checked against the build's checksum when the server is told one)."""
    compiled = os.environ.get(COMPILED_SHA256_VARIABLE, "")
    if compiled:
        return load_compiled(compiled_path(model_file), compiled, schema)
    pipeline = load_model(model_file, os.environ.get(MODEL_SHA256_VARIABLE, ""))
    return TrainedModel(pipeline, schema.feature_names)


def model_service(
    schema_module: ModuleType,
    model_file: Path,
    *,
    name: str = "Predictor",
    settings: ServingSettings = ServingSettings(),  # frozen: one shared default is safe
) -> Any:
    """The BentoML service of the model in `model_file`, whose data `schema_module` describes.

    Typed Any: `@bentoml.service` turns a class into a bentoml.Service, which BentoML's lazy imports
    hide from type checkers.
    """
    schema = Schema.of(schema_module)
    contract = Contract(schema, settings.max_records)
    novelty = Novelty(schema)

    class Service:
        """The trained model behind `/predict`; ready once the model is loaded."""

        def __init__(self) -> None:
            self.model = served_model(schema, model_file)
            self.version = os.environ.get(MODEL_VERSION_VARIABLE, WORKING_TREE_VERSION)
            self.log = from_environment()  # a sample of requests for drift monitoring, when configured
            self.batcher = Batcher(self.answer, limit=2 * settings.max_records)
            # Python's full collections walked every object the imports and the model had made, pausing
            # all requests for 100 ms and more under load; frozen, those objects are never walked again.
            gc.freeze()

        @bentoml.api(  # type: ignore[untyped-decorator]  # bentoml loads its API lazily
            route=PREDICT_ROUTE, input_spec=contract.request, output_spec=answers_output(contract.prediction)
        )
        async def predict(self, records: Any) -> Any:
            """Predict each record's target: a number, or a class with every class's probability.

            Requests that arrive while the model answers others are answered together next.
            """
            return await self.batcher(records)

        def answer(self, records: list[Any]) -> list[Prediction]:
            """The model's answers to these records, what is new in them counted, logged when the log is on."""
            rows = contract.rows(records)
            ids = record_ids(rows, schema.identifier)
            predictions = answers(self.model, rows, self.version, ids, schema.task)
            novelty.count(rows)
            if self.log:
                self.log.record(self.version, ids, rows, [answer["prediction"] for answer in predictions])
            return predictions

        @bentoml.on_shutdown  # type: ignore[untyped-decorator]  # as for bentoml.api
        def flush_log(self) -> None:
            """Write the inference log's last records before the worker exits."""
            if self.log:
                self.log.close()

    Service.__name__ = Service.__qualname__ = name
    # The request timeout is served by `deadline`, which leaves no timer behind. Per-request access logs
    # cost about a sixth of the throughput; /metrics counts requests instead. BentoML records a trace span
    # for every request, tracing configured or not: for /predict, that garbage cost a third of the
    # throughput under load, so it is traced only when the settings ask for it.
    service = bentoml.service(
        traffic={"timeout": settings.timeout},
        logging={"access": {"enabled": False}},
        tracing={"excluded_urls": [] if settings.trace_predict else [PREDICT_ROUTE]},
    )(Service)
    guard(service, PREDICT_ROUTE, settings.max_body_bytes, BodyShape(settings.max_records, contract.fields))
    describe(service, PREDICT_ROUTE)
    quiet_errors.install()
    deadline.install()
    known_routes.install()
    return service
