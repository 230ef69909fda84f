"""What one Spark task does: read its split of the table, score it a batch at a time, write its two part files.

A task is a plain function of a plain `PartJob`, so that Spark can ship it to any executor: the executor loads
the build from the artifact store itself (once per Python worker and build, checked as every load is), reads
and writes through the same storage (fsspec, the repository's endpoint) as the local engine, and writes each
part file whole, under a name of its split's: a task run again after a failure writes the same file again, so
that the committed output has each row once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from mlci.build.loaded import BuildTicket, LoadedBuild, ticketed_build
from mlci.core.errors import MlciError
from mlci.core.scratch import scratch_folder
from mlci.core.storage import filesystem
from mlci.scoring.local import TableWriter, parquet_file
from mlci.scoring.partition import Layout, ScoreError, score_part
from mlci.scoring.splits import Split, owned_lines

LOADED: dict[str, LoadedBuild] = {}  # per Python worker: a build is loaded once, by its bento's checksum


@dataclass(frozen=True)
class PartJob:
    """Everything a task needs besides its split: the table, the build, the outputs' layout and places."""

    table: str
    kind: str  # of the table: csv or parquet
    columns: tuple[str, ...]  # a CSV's header, as the driver read it
    ticket: BuildTicket
    layout: Layout
    scored_schema: pyarrow.Schema
    refused_schema: pyarrow.Schema
    output_kind: str
    scored_folder: str  # where the parts go until the job is done
    refused_folder: str
    scored_at: datetime
    chunk_rows: int


@dataclass(frozen=True)
class PartDone:
    """A task's report: its split, its rows, how many were refused, and which attempt it was."""

    index: int
    rows: int
    refused: int
    attempt: int


def part_name(index: int, kind: str) -> str:
    return f"part-{index:05d}.{kind}"


def loaded(ticket: BuildTicket) -> LoadedBuild:
    key = ticket.sealed.bento_sha256
    if key not in LOADED:
        LOADED[key] = ticketed_build(ticket)
    return LOADED[key]


def csv_frame(data: bytes, columns: tuple[str, ...], table: str) -> pd.DataFrame:
    """A CSV split's lines as the local engine reads a chunk: every value as text, as written."""
    if not data:
        return pd.DataFrame(columns=list(columns), dtype=object)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, header=None, names=list(columns))
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ScoreError(f"{table}: not a CSV table that can be read: {error}") from None
    return frame


def csv_lines(job: PartJob, split: Split) -> bytes:
    fs, path = filesystem(job.table)
    with fs.open(path, "rb") as handle:
        return owned_lines(handle, split.offset, split.end)


@dataclass(frozen=True)
class PartCount:
    """A CSV split's rows and quote characters: the driver numbers the rows and checks the cuts from them."""

    index: int
    rows: int
    quotes: int
    error: str = ""  # why its lines could not be read: reported after the cuts are checked, which may say why


def counted(job: PartJob, split: Split) -> PartCount:
    data = csv_lines(job, split)
    try:
        return PartCount(split.index, len(csv_frame(data, job.columns, job.table)), data.count(b'"'))
    except ScoreError as error:
        return PartCount(split.index, 0, data.count(b'"'), str(error))


def batches(job: PartJob, split: Split) -> Any:
    """The split's rows, `chunk_rows` at a time, as frames."""
    if job.kind == "csv":
        frame = csv_frame(csv_lines(job, split), job.columns, job.table)
        for start in range(0, len(frame), job.chunk_rows):
            yield frame.iloc[start : start + job.chunk_rows].reset_index(drop=True)
        return
    if split.row_group < 0:
        return  # a table of no rows
    fs, path = filesystem(job.table)
    with fs.open(path, "rb") as handle:
        group = parquet_file(handle, job.table).read_row_group(split.row_group)
    rows = group.slice(split.start, split.stop - split.start)
    for batch in rows.to_batches(max_chunksize=job.chunk_rows):
        yield batch.to_pandas()


def put(writer: TableWriter, folder: str) -> None:
    """A part file, whole, into its folder: a retried task's replaces the failed attempt's."""
    writer.finish()
    fs, path = filesystem(folder)
    fs.put_file(str(writer.path), f"{path.rstrip('/')}/{writer.path.name}")


def score_split(job: PartJob, split: Split, attempt: int) -> PartDone:
    """Score one split into its two part files."""
    build = loaded(job.ticket)
    rows = refused = 0
    with scratch_folder("part") as scratch:
        here = Path(scratch)
        scored = TableWriter(here / part_name(split.index, job.output_kind), job.output_kind, job.scored_schema)
        refusals = TableWriter(here / part_name(split.index, "csv"), "csv", job.refused_schema)
        for frame in batches(job, split):
            answered, refused_rows = score_part(frame, split.first_row + rows, build, job.layout, job.scored_at)
            scored.write(answered)
            refusals.write(refused_rows)
            rows, refused = rows + len(frame), refused + len(refused_rows)
        put(scored, job.scored_folder)
        put(refusals, job.refused_folder)
    return PartDone(split.index, rows, refused, attempt)


def reported(work: Any, pair: tuple[PartJob, Split]) -> Any:
    """A task's report, or the message of mlci's refusal as text: a refusal is the data's, and would be again,
    so it is reported rather than raised (Spark would run the task again)."""
    try:
        return work(*pair)
    except MlciError as error:
        return str(error)


def counted_task(pair: tuple[PartJob, Split]) -> PartCount | str:
    return reported(counted, pair)  # type: ignore[no-any-return]


def scored_task(pair: tuple[PartJob, Split]) -> PartDone | str:
    from pyspark import TaskContext

    context = TaskContext.get()
    attempt = context.attemptNumber() if context is not None else 0
    return reported(lambda job, split: score_split(job, split, attempt), pair)  # type: ignore[no-any-return]
