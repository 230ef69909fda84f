"""`mlci score`: a table scored with a stored build, in chunks, each row judged by the service's contract.

The table (CSV or Parquet, a local file or any fsspec URL) is read a chunk at a time, so it may be larger than
memory. Each row is checked as a request record by the build's own contract: a row it refuses goes to the side
file (`<output>.refused.csv`) with its row number and the reason, never dropped silently; the others get the
build's answers beside their own columns, with the version that gave them. Both files are written under a
temporary name and moved into place together at the end: an interrupted run leaves the previous output as it was.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlci.build.loaded import LoadedBuild, stored_build, version_for
from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.scratch import scratch_folder
from mlci.core.storage import filesystem, reaching

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
REFUSED_SUFFIX = ".refused.csv"
ROW_COLUMN, REASON_COLUMN = "row", "reason"  # the side file's own columns: the row's number in the table, and why
INPUT_SETTING = "the table to score (INPUT)"
OUTPUT_SETTING = "the scored table (OUTPUT)"


class ScoreError(MlciError):
    """A table that cannot be scored, or a place the scores cannot be written; nothing was written."""


@dataclass(frozen=True)
class ScoreRequest:
    """What to score, where the scores go, and with which build."""

    table: str
    output: str
    version: str | None = None
    stage: str | None = None
    chunk_rows: int = 50_000


@dataclass(frozen=True)
class Scored:
    """A finished run: the build, the files written and the figures."""

    version: str
    output: str
    refused_file: str
    rows: int
    refused: int
    seconds: float


def table_format(url: str) -> str:
    """csv or parquet, by the file's name."""
    suffix = Path(url.split("?", 1)[0]).suffix.lower()
    if suffix not in FORMATS:
        raise ScoreError(f"{url}: name a .csv or .parquet file (the format follows the name)")
    return FORMATS[suffix]


def refused_path(output: str) -> str:
    """Where the rows the contract refused go: beside the output."""
    stem = output[: -len(Path(output).suffix)] if Path(output).suffix else output
    return stem + REFUSED_SUFFIX


def chunks(url: str, rows: int) -> Iterator[pd.DataFrame]:
    """The table a chunk at a time; a CSV's values as text, as written, for the contract to judge."""
    fs, path = filesystem(url)
    with reaching(url, INPUT_SETTING):
        if not fs.exists(path):
            raise ScoreError(f"{url}: no such table")
        with fs.open(path, "rb") as handle:
            if table_format(url) == "csv":
                try:
                    yield from pd.read_csv(handle, dtype=str, chunksize=rows)
                except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
                    raise ScoreError(f"{url}: not a CSV table with a header row that can be read: {error}") from None
            else:
                yield from parquet_chunks(handle, url, rows)


def parquet_chunks(handle: Any, url: str, rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.ParquetFile(handle)
    except pyarrow.ArrowException as error:
        raise ScoreError(f"{url}: not a Parquet file that can be read: {error}") from None
    for batch in table.iter_batches(batch_size=rows):
        yield batch.to_pandas()


class TableWriter:
    """A table written a chunk at a time into a local temporary file, then moved or uploaded whole."""

    def __init__(self, url: str, local: Path, kind: str) -> None:
        self.url, self.kind, self.path = url, kind, local
        self.writer: Any = None
        self.schema: Any = None
        self.columns: list[str] = []
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Add a chunk's rows; empty chunks only say which columns an empty table has."""
        self.columns = self.columns or list(frame.columns)
        if frame.empty:
            return
        self.rows += len(frame)
        if self.kind == "csv":
            frame.to_csv(self.path, mode="a", header=self.writer is None, index=False)
            self.writer = True
            return
        import pyarrow
        import pyarrow.parquet

        if self.writer is None:
            inferred = pyarrow.Schema.from_pandas(frame, preserve_index=False)
            # a column empty in the first chunk has no type yet: text, as a CSV's columns are read
            self.schema = pyarrow.schema(
                [pyarrow.field(f.name, pyarrow.string()) if pyarrow.types.is_null(f.type) else f for f in inferred]
            )
            self.writer = pyarrow.parquet.ParquetWriter(self.path, self.schema)
        self.writer.write_table(pyarrow.Table.from_pandas(frame, schema=self.schema, preserve_index=False))

    def finish(self) -> None:
        """Close the local file; an empty table still gets its header."""
        if self.writer is None:
            empty = pd.DataFrame(columns=self.columns)
            if self.kind == "csv":
                empty.to_csv(self.path, index=False)
            else:
                empty.to_parquet(self.path, index=False)
        elif self.kind == "parquet":
            self.writer.close()


def publish(writers: list[TableWriter]) -> None:
    """Put the whole files where they belong: on a local disk, each copied beside its place first and then all
    moved in at once, so that an output never stands beside a side file of another run; in a bucket, uploaded in
    turn (an object shows only once it is whole)."""
    moves = []
    for writer in writers:
        writer.finish()
        fs, path = filesystem(writer.url)
        with reaching(writer.url, OUTPUT_SETTING):
            if "file" in fs.protocol:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                fs.put_file(str(writer.path), f"{path}.partial")
                moves.append(path)
            else:
                fs.put_file(str(writer.path), path)
    for path in moves:
        os.replace(f"{path}.partial", path)


def check_columns(chunk: pd.DataFrame, build: LoadedBuild, url: str) -> list[str]:
    """The columns the scores add, once the table has what the contract needs and none of them."""
    missing = [name for name in build.scorer.required_columns if name not in chunk.columns]
    if missing:
        raise ScoreError(
            f"{url}: no column {', '.join(map(repr, missing))}, which {build.version} needs "
            f"(the table has: {', '.join(map(repr, chunk.columns))})"
        )
    added: list[str] = build.scorer.answer_columns(build.scorer.classes_of(build.model))
    clashing = [name for name in added if name in chunk.columns]
    if clashing:
        raise ScoreError(
            f"{url}: the table already has column(s) {', '.join(map(repr, clashing))}, which scoring adds: "
            "rename or drop them first"
        )
    return added


def own_name(name: str, taken: pd.Index) -> str:
    """A side-file column's name, `_` before it as often as the table's own columns need (a table may have a `row`)."""
    while name in taken:
        name = f"_{name}"
    return name


def score_chunk(chunk: pd.DataFrame, first_row: int, build: LoadedBuild) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's answered rows with their answers, and its refused rows with their numbers and reasons."""
    inputs, reasons = build.scorer.judged(chunk)
    kept = [position for position in range(len(chunk)) if position not in reasons]
    answered = chunk.iloc[kept].reset_index(drop=True)
    if kept:
        answers = build.scorer.predictions(build.model, inputs, build.version)
        answered = pd.concat([answered, answers], axis=1)
    refused = chunk.iloc[list(reasons)].reset_index(drop=True)
    refused.insert(0, own_name(ROW_COLUMN, chunk.columns), [first_row + position for position in reasons])
    refused[own_name(REASON_COLUMN, chunk.columns)] = list(reasons.values())
    return answered, refused


def score(repository: Repository, request: ScoreRequest) -> Scored:
    """Score a table with a stored build, writing the answers and the refused rows."""
    if request.chunk_rows < 1:
        raise ScoreError(f"--chunk-rows {request.chunk_rows}: give a number of rows of 1 or more")
    kind, side = table_format(request.output), refused_path(request.output)
    table_format(request.table)
    if request.table in (request.output, side):
        raise ScoreError(f"{request.output}: the output would overwrite the table scored; name another file")
    version = version_for(repository, request.version, request.stage)
    build = stored_build(repository, version)
    started, rows, refused = time.monotonic(), 0, 0
    with scratch_folder("score") as scratch:
        output = TableWriter(request.output, Path(scratch) / f"scored.{kind}", kind)
        refusals = TableWriter(side, Path(scratch) / "refused.csv", "csv")
        added: list[str] = []
        seen = False
        for chunk in chunks(request.table, request.chunk_rows):
            added, seen = added or check_columns(chunk, build, request.table), True
            answered, refused_rows = score_chunk(chunk, rows + 1, build)
            output.write(answered.reindex(columns=[*chunk.columns, *added]))  # a chunk all refused has no answers
            refusals.write(refused_rows)
            rows, refused = rows + len(chunk), refused + len(refused_rows)
            rate = rows / max(time.monotonic() - started, 1e-9)
            print(f"{request.table}: {rows:,} rows scored, {refused:,} refused ({rate:,.0f} rows/s)", file=sys.stderr)
        if not seen:
            raise ScoreError(f"{request.table}: the table has no header row: nothing to score")
        publish([output, refusals])
    return Scored(version, request.output, side, rows, refused, time.monotonic() - started)
