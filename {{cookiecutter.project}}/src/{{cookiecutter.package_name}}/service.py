"""The model as an HTTP service: `POST /predict` answers one record or a list of them.

The request contract is built from `schema.py`; batching, the request deadline, the size limit, the
corrected OpenAPI schema, quiet refusals, the inference log and the compiled model are the serving
runtime's (`mlci-serving`, a dependency with a version of its own). What may be changed here: the
limits and the timeout (`ServingSettings`) and the service's name (`[contract] service` follows it).
Serve the working tree with:

    uv run bentoml serve {{ cookiecutter.package_name }}.service:Predictor
"""

from mlci_serving.service import ServingSettings, model_service

from {{ cookiecutter.package_name }} import schema
from {{ cookiecutter.package_name }}.paths import MODEL

Predictor = model_service(schema, MODEL, settings=ServingSettings(timeout=10, max_records=1000))
