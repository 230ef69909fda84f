"""The service's typed contract, derived from the schema: what `/predict` accepts and answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from {{ cookiecutter.package_name }}.schema import FEATURES, Column, Numeric

MAX_BATCH = 1000  # records per request; larger batches get a 400 that names the limit

EXAMPLE = {
    "island": "Biscoe",
    "bill_length_mm": 46.1,
    "bill_depth_mm": 13.2,
    "flipper_length_mm": 211.0,
    "body_mass_g": 4500.0,
    "sex": "female",
}


def field_for(column: Column) -> tuple[Any, Any]:
    """A field with the column's type and rule; optional where the schema allows missing values."""
    if isinstance(column, Numeric):
        kind: Any = Annotated[float, Field(ge=column.minimum, le=column.maximum)]
    else:
        kind = Literal[column.categories]
    return (kind | None, None) if column.nullable else (kind, ...)


FIELDS: dict[str, Any] = {column.name: field_for(column) for column in FEATURES}
Record = create_model("Record", __config__=ConfigDict(extra="forbid", strict=True), **FIELDS)


def as_list(value: object) -> object:
    """One record is a batch of one."""
    return [value] if isinstance(value, dict) else value


Records = Annotated[
    list[Record],  # type: ignore[valid-type]  # built from the schema at import
    BeforeValidator(as_list),
    Field(min_length=1, max_length=MAX_BATCH, examples=[[EXAMPLE]]),
]


class Prediction(BaseModel):
    """The answer for one record."""

    model_config = ConfigDict(protected_namespaces=())

    prediction: str
    probabilities: dict[str, float]
    model_version: str
