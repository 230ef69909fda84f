"""The service's typed contract, derived from the schema: what `/predict` accepts and answers.

Each record is an object keyed by the data's own column names, whatever characters they hold:
a field's Python name is its position (`f0`, `f1`, ...) and its alias is the column's name, so
errors and answers name the column as the data does. A record may carry the schema's identifier
column, which its answer repeats as `id`; a record without one gets an id made up for it. A row of
the table itself is a record too: the columns the schema knows but the model does not read (the
target, metadata, a group) are accepted and ignored; a column the schema does not know is refused.

Types, required fields and the names are strict; values are held only to the domain's own bounds
(`lower`, `upper`, a closed set of categories). A value that is merely new (past the range the
training data showed, an unseen category, a later date) is answered, and counted (`novelty`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WrapValidator,
    create_model,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import TypedDict  # pydantic reads typing's own only from Python 3.12

from mlci_serving import dates
from mlci_serving.columns import Categorical, Column, Date, Numeric
from mlci_serving.schema import Schema

if TYPE_CHECKING:
    from pydantic.config import JsonDict

MAX_RECORDS = 1000  # per request, by default; larger batches get a 400 that names the limit
MAX_BODY_BYTES = 16 << 20  # a larger body gets 413 before it is read: ample for MAX_RECORDS records
LONGEST_ID = 256  # characters of a record's id
LONGEST_LABEL = 1000  # characters of a category: longer text is no category
ERRORS_SHOWN = 20  # of a refused request's problems, in its 400 and its log line: the rest are counted
MORE_ERRORS = "more_errors"  # the type of the problem that counts those not shown
LONGEST_NAME_SHOWN = 100  # characters of a field name a 400 repeats: an unknown name may be megabytes long
# The model computes in 32-bit floats: a number past this magnitude is no value it can read, whatever the domain.
LARGEST_NUMBER = float(np.finfo(np.float32).max)
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=LONGEST_ID)] | int


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


Prediction = ClassPrediction | ValuePrediction


def a_date(value: str) -> str:
    """A date or timestamp in an ISO form, as the schema's date columns hold them."""
    if not dates.is_date(value):
        raise ValueError("Input should be a date in an ISO form, such as 2024-05-31 or 2024-05-31T13:05:00Z")
    return value


def a_model_number(value: float) -> float:
    """A number a 32-bit float holds, as the model computes in them."""
    if abs(value) > LARGEST_NUMBER:
        raise ValueError(f"Input should be a number the model reads, at most {LARGEST_NUMBER:.4g} either way")
    return value


def value_type(column: Column) -> Any:
    """What a feature's value must be: its type, and the domain's own bounds when the schema states them."""
    if isinstance(column, Numeric):
        open_sides: JsonDict = {"minimum": -LARGEST_NUMBER} if column.lower is None else {}  # the model's bounds
        open_sides |= {"maximum": LARGEST_NUMBER} if column.upper is None else {}
        bounds = Field(ge=column.lower, le=column.upper, allow_inf_nan=False, json_schema_extra=open_sides)
        return Annotated[float, bounds, AfterValidator(a_model_number)]
    if isinstance(column, Categorical) and column.closed:
        return Literal[column.categories]
    if isinstance(column, Date):
        return Annotated[str, StringConstraints(max_length=dates.LONGEST), AfterValidator(a_date)]
    return Annotated[str, StringConstraints(max_length=LONGEST_LABEL)]


def field_for(column: Column) -> tuple[Any, Any]:
    """A field with the column's type and rule; optional where the schema allows missing values."""
    kind = value_type(column)
    if column.nullable:
        return kind | None, Field(None, alias=column.name)
    return kind, Field(..., alias=column.name)


def as_list(value: object) -> object:
    """One record is a batch of one."""
    return [value] if isinstance(value, dict) else value


def shown(place: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Where a problem is, each name cut to `LONGEST_NAME_SHOWN` characters."""
    return tuple(
        part[:LONGEST_NAME_SHOWN] + "…" if isinstance(part, str) and len(part) > LONGEST_NAME_SHOWN else part
        for part in place
    )


def capped_errors(value: object, validate: Any) -> Any:
    """The records validated; when refused, at most `ERRORS_SHOWN` of their problems, the rest counted."""
    try:
        return validate(value)
    except ValidationError as error:
        problems = error.errors()
        if len(problems) <= ERRORS_SHOWN and all(shown(problem["loc"]) == problem["loc"] for problem in problems):
            raise
        kept: list[InitErrorDetails] = []
        for problem in problems[:ERRORS_SHOWN]:
            details = InitErrorDetails(type=problem["type"], loc=shown(problem["loc"]), input=problem["input"])
            if "ctx" in problem:
                details["ctx"] = problem["ctx"]
            kept.append(details)
        if len(problems) > ERRORS_SHOWN:
            more = PydanticCustomError(
                MORE_ERRORS, "and {more} more, not shown", {"more": len(problems) - ERRORS_SHOWN}
            )
            kept.append({"type": more, "loc": (), "input": None})
        raise ValidationError.from_exception_data(error.title, kept) from None


class Contract:
    """The request and answer types of one schema's service."""

    def __init__(self, schema: Schema, max_records: int = MAX_RECORDS) -> None:
        self.schema = schema
        self.max_records = max_records
        fields: dict[str, Any] = {f"f{index}": field_for(column) for index, column in enumerate(schema.features)}
        if schema.identifier is not None:
            fields["record_id"] = (RecordId | None, Field(None, alias=schema.identifier))
        self.read = set(fields)  # what the model and the log read of a record: its features, and its id
        known = [column.name for column in schema.columns if column.role not in ("feature", "id")]
        fields |= {f"ignored{index}": (Any, Field(None, alias=name)) for index, name in enumerate(known)}
        self.fields = len(fields)  # the most keys a record may have
        config = ConfigDict(extra="forbid", strict=True)
        self.record: type[BaseModel] = create_model("Record", __config__=config, **fields)
        self.records: Any = Annotated[
            list[self.record],  # type: ignore[name-defined]  # built from the schema
            BeforeValidator(as_list),
            Field(min_length=1, max_length=max_records, examples=[[dict(schema.example)]]),
            WrapValidator(capped_errors),
        ]
        self.request: type[BaseModel] = create_model(
            "PredictRequest",
            __config__=ConfigDict(extra="forbid"),
            __doc__="The body of `/predict`: one record or a list of them under `records`, and nothing else.",
            records=(self.records, ...),  # type: ignore[arg-type]  # an Annotated type made at run time
        )
        # the one kind this model answers: what /predict promises, and the cheaper to check
        self.prediction: Any = ClassPrediction if schema.task == "classification" else ValuePrediction

    def rows(self, records: list[Any]) -> list[dict[str, Any]]:
        """The records' features (and id) by column name, missing values as None; what the schema knows but
        the model does not read is left out."""
        return [record.model_dump(by_alias=True, include=self.read) for record in records]
