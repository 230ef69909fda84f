"""The service's typed contract, derived from the schema: what `/predict` accepts and answers.

Each record is an object keyed by the data's own column names, whatever characters they hold:
a field's Python name is its position (`f0`, `f1`, ...) and its alias is the column's name, so
errors and answers name the column as the data does. A record may carry the schema's identifier
column, which its answer repeats as `id`; a record without one gets an id made up for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model
from typing_extensions import TypedDict  # pydantic reads typing's own only from Python 3.12

from {{ cookiecutter.package_name }}.columns import Column, Numeric
from {{ cookiecutter.package_name }}.schema import EXAMPLE, FEATURES, IDENTIFIER, TASK

MAX_BATCH = 1000  # records per request; larger batches get a 400 that names the limit
MAX_BODY_BYTES = 16 << 20  # a larger body gets 413 before it is read: ample for MAX_BATCH records
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=256)] | int


def field_for(column: Column) -> tuple[Any, Any]:
    """A field with the column's type and rule; optional where the schema allows missing values."""
    if isinstance(column, Numeric):
        kind: Any = Annotated[float, Field(ge=column.minimum, le=column.maximum)]
    else:
        kind = Literal[getattr(column, "categories", ())]
    if column.nullable:
        return kind | None, Field(None, alias=column.name)
    return kind, Field(..., alias=column.name)


FIELDS: dict[str, Any] = {f"f{index}": field_for(column) for index, column in enumerate(FEATURES)}
if IDENTIFIER is not None:
    FIELDS["record_id"] = (RecordId | None, Field(None, alias=IDENTIFIER))
Record = create_model("Record", __config__=ConfigDict(extra="forbid", strict=True), **FIELDS)


def as_list(value: object) -> object:
    """One record is a batch of one."""
    return [value] if isinstance(value, dict) else value


Records = Annotated[
    list[Record],  # type: ignore[valid-type]  # built from the schema at import
    BeforeValidator(as_list),
    Field(min_length=1, max_length=MAX_BATCH, examples=[[EXAMPLE]]),
]


class PredictRequest(BaseModel):
    """The body of `/predict`: one record or a list of them under `records`, and nothing else."""

    model_config = ConfigDict(extra="forbid")

    records: Records


# Answers are typed dicts: the service builds them as plain dicts, and BentoML checks them against
# these types in pydantic's compiled core, where a thousand model objects would cost milliseconds.
class ClassPrediction(TypedDict):
    """A classifier's answer for one record: the class, and the probability of each class."""

    id: str
    prediction: str
    probabilities: dict[str, float]
    model_version: str


class ValuePrediction(TypedDict):
    """A regressor's answer for one record: the predicted number."""

    id: str
    prediction: float
    model_version: str


if TYPE_CHECKING:
    Prediction = ClassPrediction | ValuePrediction
else:  # the one kind this model answers: what /predict promises, and the cheaper to check
    Prediction = ClassPrediction if TASK == "classification" else ValuePrediction
