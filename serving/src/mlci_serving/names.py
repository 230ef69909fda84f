"""The names the toolkit and the service share: one spelling, imported by both.

`mlci` starts a server of a registered build with these variables set, sends the smoke test to these
routes, and reads the inference log's records back by these fields.
"""

from __future__ import annotations

from pathlib import Path

PREDICT_ROUTE = "/predict"
READY_ROUTE = "/readyz"

MODEL_VERSION_VARIABLE = "MODEL_VERSION"  # the version served, which every answer and log record carries
MODEL_SHA256_VARIABLE = "MODEL_SHA256"  # the built model's checksum: other bytes are refused at start
COMPILED_SHA256_VARIABLE = "MODEL_ONNX_SHA256"  # the compiled model's, when the build has one: then served
WORKING_TREE_VERSION = "working-tree"  # what answers say when no version is set

LOG_URL_VARIABLE = "INFERENCE_LOG_URL"  # a folder or any fsspec URL; unset or empty: nothing is logged
LOG_SAMPLE_VARIABLE = "INFERENCE_LOG_SAMPLE"  # the share of records logged
LOG_SEGMENT_VARIABLE = "INFERENCE_LOG_SEGMENT_BYTES"  # a file is written when it reaches this size ...
LOG_FLUSH_VARIABLE = "INFERENCE_LOG_FLUSH_SECONDS"  # ... or this age
LOG_RECORD_FIELDS = ("timestamp", "model_version", "id", "inputs", "prediction")


def compiled_path(model: Path) -> Path:
    """Where a build keeps the compiled model: beside the trained one."""
    return model.with_suffix(".onnx")
