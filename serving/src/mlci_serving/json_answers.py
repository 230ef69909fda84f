"""The answers as `/predict` writes them: checked against their type, written as JSON in one call.

BentoML writes a returned list by dumping it to Python objects twice and through `json.dumps`, and
looks up its JSON schema on every request to name its media type: with a thousand answers, several
milliseconds, more than the compiled model takes to answer them. This output type names its media
type once and has pydantic's compiled serializer write the JSON. It extends BentoML's own output
type for a list (which `bentoml` does not export: a private module, see README.md).
"""

from __future__ import annotations

from typing import Any

from _bentoml_sdk.io_models import IORootModel
from pydantic import TypeAdapter


def answers_output(prediction: Any) -> Any:
    """BentoML's output type for a list of `prediction` (a typed dict), written as JSON in one call."""
    adapter = TypeAdapter(list[prediction])

    class JsonAnswers(IORootModel[list[prediction]]):  # type: ignore[misc]  # BentoML's is untyped
        """A list of answers, written as JSON."""

        media_type = "application/json"

        def model_dump(self, **kwargs: Any) -> Any:
            """The answers as they are: plain dicts of text and numbers, checked when this was made."""
            return self.root

        def model_dump_json(self, **kwargs: Any) -> str:
            """The answers' JSON."""
            return adapter.dump_json(self.root).decode()

    return JsonAnswers
