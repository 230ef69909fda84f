"""`mlci score`: a table scored with a stored build, in chunks, each row judged by the service's contract.

The table (CSV or Parquet, a local file or any fsspec URL) is read a chunk at a time, so it may be larger than
memory. Each row is checked as a request record by the build's own contract: a row it refuses goes to the side
file (`<output>.refused.csv`) with its row number and the reason, never dropped silently; the others get the
build's answers beside their own columns, with the version that gave them. Both files are written under a
temporary name and moved into place together at the end: an interrupted run leaves the previous output as it was.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pandas as pd
import pyarrow
import pyarrow.csv
import pyarrow.parquet

from mlci.build.loaded import LoadedBuild, stored_build, version_for
from mlci.core.repository import Repository
from mlci.core.scratch import scratch_folder
from mlci.core.storage import filesystem, reaching
from mlci.scoring.partition import (
    KEEP_ALL,
    JudgedPart,
    Layout,
    ScoreError,
    answered_part,
    as_arrow,
    judged_part,
    layout,
)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
REFUSED_SUFFIX = ".refused.csv"
T = TypeVar("T")
PANDAS_CSV = "pandas"  # a CSV writer of the columns Arrow cannot write
WITHOUT_HEADER = pyarrow.csv.WriteOptions(include_header=False)
INPUT_SETTING = "the table to score (INPUT)"
OUTPUT_SETTING = "the scored table (OUTPUT)"


@dataclass(frozen=True)
class ScoreRequest:
    """What to score, where the scores go, with which build, and which of the table's columns the scores keep."""

    table: str
    output: str
    version: str | None = None
    stage: str | None = None
    chunk_rows: int = 50_000
    keep: str = KEEP_ALL
    overwrite: bool = False  # replace outputs that exist, rather than refuse to


@dataclass(frozen=True)
class Scored:
    """A finished run: the build, the files written and the figures."""

    version: str
    output: str
    refused_file: str
    rows: int
    refused: int
    seconds: float
    retried: int = 0  # parts an engine ran again after a failure


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

    for batch in parquet_file(handle, url).iter_batches(batch_size=rows):
        yield batch.to_pandas()


def parquet_file(handle: Any, url: str) -> Any:
    """A Parquet file opened for reading, or a clear refusal."""
    import pyarrow.parquet

    try:
        return pyarrow.parquet.ParquetFile(handle)
    except pyarrow.ArrowException as error:
        raise ScoreError(f"{url}: not a Parquet file that can be read: {error}") from None


def column_types(url: str) -> dict[str, pyarrow.DataType]:
    """The table's column types: a Parquet file's own; none for a CSV, whose values are text as written."""
    if table_format(url) == "csv":
        return {}
    fs, path = filesystem(url)
    with reaching(url, INPUT_SETTING), fs.open(path, "rb") as handle:
        schema = parquet_file(handle, url).schema_arrow
    return {field.name: field.type for field in schema}


class TableWriter:
    """A table written a part at a time into a local file (to be moved or uploaded whole), in the run's types.

    Arrow writes both formats; a CSV's header is written as pandas writes it (quoted only where needed), and a
    table with columns Arrow cannot write as CSV (lists, structs, maps, kept from a Parquet input) is written by
    pandas instead."""

    def __init__(self, local: Path, kind: str, schema: pyarrow.Schema) -> None:
        self.path, self.kind, self.schema = local, kind, schema
        self.writer: Any = None
        self.handle: BinaryIO | None = None  # a CSV's file, which Arrow's writer appends to
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Add a part's rows."""
        if frame.empty:
            return
        self.rows += len(frame)
        if self.writer is None:
            self.writer = self.opened()
        if self.writer is PANDAS_CSV:
            frame.to_csv(self.path, mode="a", header=False, index=False)
        else:
            self.writer.write_table(as_arrow(frame, self.schema))

    def opened(self) -> Any:
        """The file's writer, the header written."""
        if self.kind == "parquet":
            return pyarrow.parquet.ParquetWriter(self.path, self.schema)
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(self.schema.names)
        self.path.write_text(header.getvalue(), encoding="utf-8")
        handle = self.path.open("ab")
        try:
            writer = pyarrow.csv.CSVWriter(handle, self.schema, write_options=WITHOUT_HEADER)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):  # a type it cannot write as text
            handle.close()
            return PANDAS_CSV
        self.handle = handle
        return writer

    def finish(self) -> None:
        """Close the file; an empty table still gets its header."""
        if self.writer is None:
            if self.kind == "parquet":
                pyarrow.parquet.write_table(self.schema.empty_table(), self.path)
                return
            self.writer = self.opened()
        if self.writer is not PANDAS_CSV:
            self.writer.close()
        if self.handle is not None:
            self.handle.close()


class PlacedWriter(TableWriter):
    """A writer of one of a run's outputs, with the place it is published to."""

    def __init__(self, url: str, local: Path, kind: str, schema: pyarrow.Schema) -> None:
        super().__init__(local, kind, schema)
        self.url = url


def publish(writers: list[PlacedWriter]) -> None:
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


def checked_request(request: ScoreRequest) -> tuple[str, str]:
    """The output's format and its side file's place, once the request names formats and no overwriting."""
    if request.chunk_rows < 1:
        raise ScoreError(f"--chunk-rows {request.chunk_rows}: give a number of rows of 1 or more")
    kind, side = table_format(request.output), refused_path(request.output)
    table_format(request.table)
    if request.table in (request.output, side):
        raise ScoreError(f"{request.output}: the output would overwrite the table scored; name another file")
    if not request.overwrite:
        for url in (request.output, side):
            fs, path = filesystem(url)
            with reaching(url, OUTPUT_SETTING):
                if fs.exists(path):
                    raise ScoreError(f"{url}: already there, from an earlier run: add --overwrite to replace it")
    return kind, side


def score(repository: Repository, request: ScoreRequest) -> Scored:
    """Score a table with a stored build, writing the answers and the refused rows. The next chunk is read and
    judged, and the last one written, in threads while the model answers this one (which leaves the GIL)."""
    kind, side = checked_request(request)
    version = version_for(repository, request.version, request.stage)
    build = stored_build(repository, version)
    types = column_types(request.table)
    started, scored_at, rows, refused = time.monotonic(), datetime.now(UTC), 0, 0
    with scratch_folder("score") as scratch, ThreadPoolExecutor(max_workers=1) as writer:
        output: PlacedWriter | None = None
        refusals: PlacedWriter | None = None
        written: Future[None] | None = None
        for shape, judged in read_ahead(judged_chunks(request, build)):
            if output is None or refusals is None:
                here = Path(scratch)
                output = PlacedWriter(request.output, here / f"scored.{kind}", kind, shape.scored_schema(types))
                refusals = PlacedWriter(side, here / "refused.csv", "csv", shape.refused_schema(types))
            answered, refused_rows = answered_part(judged, build, shape, scored_at)
            if written is not None:
                written.result()  # one chunk's answers held at a time: memory stays bounded
            written = writer.submit(write_both, output, answered, refusals, refused_rows)
            rows, refused = rows + len(judged.part), refused + len(refused_rows)
            rate = rows / max(time.monotonic() - started, 1e-9)
            print(f"{request.table}: {rows:,} rows scored, {refused:,} refused ({rate:,.0f} rows/s)", file=sys.stderr)
        if output is None or refusals is None:
            raise ScoreError(f"{request.table}: the table has no header row: nothing to score")
        if written is not None:
            written.result()
        publish([output, refusals])
    return Scored(version, request.output, side, rows, refused, time.monotonic() - started)


def judged_chunks(request: ScoreRequest, build: LoadedBuild) -> Iterator[tuple[Layout, JudgedPart]]:
    """The table's chunks judged by the build's contract, with the outputs' layout, which the first one fixes
    (and which refuses a table without a column the build needs before any row is judged)."""
    shape: Layout | None = None
    first_row = 1
    for chunk in chunks(request.table, request.chunk_rows):
        shape = shape or layout(list(chunk.columns), build, request.keep, request.table)
        yield shape, judged_part(chunk, first_row, build)
        first_row += len(chunk)


def write_both(output: TableWriter, answered: pd.DataFrame, refusals: TableWriter, refused: pd.DataFrame) -> None:
    """A chunk's answered rows and refused rows, each into its file."""
    output.write(answered)
    refusals.write(refused)


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of an iterator, the next one made in a thread while the caller works on this one."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = reader.submit(next, items, None)
            yield item
