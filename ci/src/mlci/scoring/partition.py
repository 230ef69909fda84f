"""One part of a table scored: the contract every engine keeps, a part in and a part out.

An engine (`local`, `spark`) cuts a table into parts and hands each to `score_part` with the number of its first
row. The rows the build's own request contract accepts come out with their number in the table, the columns
asked to be kept (the schema's identifier, the record's id, always among them), the build's answers and version,
and the moment the run began; the refused rows come out with their number, all their columns and the reason.
Every part of a run has the same columns of the same types, fixed by `Layout` from the table's header before
any row is scored, so that the parts of a table read back as one table, whichever engine wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow

from mlci.build.loaded import LoadedBuild
from mlci.core.errors import MlciError

ROW, REASON, SCORED_AT = "row", "reason", "scored_at"
KEEP_ALL, KEEP_NONE = "all", "none"


class ScoreError(MlciError):
    """A table that cannot be scored, or a place the scores cannot be written; nothing was written."""


def own_name(name: str, taken: Sequence[str]) -> str:
    """A column's name, `_` before it as often as the table's own columns need (a table may have a `row`)."""
    while name in taken:
        name = f"_{name}"
    return name


@dataclass(frozen=True)
class Layout:
    """The columns of a run's two outputs, and the types of the scored one."""

    columns: tuple[str, ...]  # the table's own, in order
    kept: tuple[str, ...]  # those the scored rows keep
    answers: tuple[str, ...]  # prediction, a classifier's probabilities, model_version
    prediction: pyarrow.DataType  # text for a classifier, a number for a regressor
    row: str  # the row number's column, in both outputs
    reason: str  # the refusal's column

    @property
    def scored(self) -> list[str]:
        return [self.row, *self.kept, *self.answers, SCORED_AT]

    @property
    def refused(self) -> list[str]:
        return [self.row, *self.columns, self.reason]

    def scored_schema(self, types: dict[str, pyarrow.DataType]) -> pyarrow.Schema:
        """The scored rows' types: the kept columns' as the table has them (`types`; text where it says none)."""
        fields = [pyarrow.field(self.row, pyarrow.int64())]
        fields += [pyarrow.field(name, known_type(types.get(name))) for name in self.kept]
        fields += [pyarrow.field(name, answer_type(name, self.prediction)) for name in self.answers]
        return pyarrow.schema([*fields, pyarrow.field(SCORED_AT, pyarrow.timestamp("us", tz="UTC"))])

    def refused_schema(self, types: dict[str, pyarrow.DataType]) -> pyarrow.Schema:
        fields = [pyarrow.field(name, known_type(types.get(name))) for name in self.columns]
        return pyarrow.schema([pyarrow.field(self.row, pyarrow.int64()), *fields, pyarrow.field(self.reason, "string")])


def known_type(found: pyarrow.DataType | None) -> pyarrow.DataType:
    """A column's type; text where the table gives none (a CSV's columns, a Parquet column of nothing but nulls)."""
    return pyarrow.string() if found is None or pyarrow.types.is_null(found) else found


def answer_type(name: str, prediction: pyarrow.DataType) -> pyarrow.DataType:
    if name == "prediction":
        return prediction
    return pyarrow.string() if name == "model_version" else pyarrow.float64()


def kept_columns(keep: str, columns: Sequence[str], identifier: str | None, url: str) -> tuple[str, ...]:
    """The columns the scored rows keep: `all`, `none`, or names separated by commas; the identifier always."""
    if keep == KEEP_ALL:
        return tuple(columns)
    named = [] if keep == KEEP_NONE else [name.strip() for name in keep.split(",") if name.strip()]
    if not named and keep != KEEP_NONE:
        raise ScoreError(f"--keep {keep!r}: name columns separated by commas, or 'all' or 'none'")
    unknown = [name for name in named if name not in columns]
    if unknown:
        raise ScoreError(
            f"--keep: {url} has no column {', '.join(map(repr, unknown))} (it has: {', '.join(map(repr, columns))})"
        )
    always = [identifier] if identifier in columns and identifier not in named else []
    return tuple(name for name in columns if name in {*named, *always})


def layout(columns: Sequence[str], build: LoadedBuild, keep: str, url: str) -> Layout:
    """The outputs' columns, once the table has every column the build needs and none of those scoring adds."""
    missing = [name for name in build.scorer.required_columns if name not in columns]
    if missing:
        raise ScoreError(
            f"{url}: no column {', '.join(map(repr, missing))}, which {build.version} needs "
            f"(the table has: {', '.join(map(repr, columns))})"
        )
    classes = build.scorer.classes_of(build.model)
    answers = tuple(build.scorer.answer_columns(classes))
    kept = kept_columns(keep, columns, build.scorer.schema.identifier, url)
    clashing = [name for name in (*answers, SCORED_AT) if name in kept]
    if clashing:
        raise ScoreError(
            f"{url}: the table already has column(s) {', '.join(map(repr, clashing))}, which scoring adds: "
            "rename or drop them first, or leave them out of --keep"
        )
    prediction = pyarrow.string() if classes else pyarrow.float64()
    return Layout(tuple(columns), kept, answers, prediction, own_name(ROW, columns), own_name(REASON, columns))


@dataclass(frozen=True)
class JudgedPart:
    """A part with the contract's verdict: the model's inputs of the rows it accepts, each refused row's reason."""

    part: pd.DataFrame
    first_row: int
    inputs: pd.DataFrame
    reasons: dict[int, str]


def judged_part(part: pd.DataFrame, first_row: int, build: LoadedBuild) -> JudgedPart:
    """A part judged by the build's own request contract, row by row as requests are."""
    inputs, reasons = build.scorer.judged(part)
    return JudgedPart(part, first_row, inputs, reasons)


def answered_part(
    judged: JudgedPart, build: LoadedBuild, shape: Layout, scored_at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A judged part's answered rows with their answers, and its refused rows with their numbers and reasons."""
    part, first_row, reasons = judged.part, judged.first_row, judged.reasons
    answerable = np.ones(len(part), dtype=bool)
    answerable[list(reasons)] = False
    kept = np.flatnonzero(answerable)
    answered = part.iloc[kept][list(shape.kept)].reset_index(drop=True)
    answered.insert(0, shape.row, first_row + kept)
    if len(kept):
        answers = build.scorer.predictions(build.model, judged.inputs, build.version).reset_index(drop=True)
        answered = pd.concat([answered, answers[list(shape.answers)]], axis=1)
    answered = answered.reindex(columns=shape.scored[:-1])  # a part all refused has no answers
    answered[SCORED_AT] = pd.Timestamp(scored_at)
    refused = part.iloc[list(reasons)].reset_index(drop=True)
    refused.insert(0, shape.row, [first_row + position for position in reasons])
    refused[shape.reason] = list(reasons.values())
    return answered, refused


def score_part(
    part: pd.DataFrame, first_row: int, build: LoadedBuild, shape: Layout, scored_at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A part's answered rows with their answers, and its refused rows with their numbers and reasons."""
    return answered_part(judged_part(part, first_row, build), build, shape, scored_at)


def as_arrow(frame: pd.DataFrame, schema: pyarrow.Schema) -> pyarrow.Table:
    """A part's rows in the run's types: every part of a run the same."""
    return pyarrow.Table.from_pandas(frame, schema=schema, preserve_index=False)
