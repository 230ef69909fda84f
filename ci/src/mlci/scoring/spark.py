"""`mlci score --engine spark`: a table scored by Spark tasks, each a split of it, with the same build and contract.

The driver checks the build (fetched, checksums, loaded) and the table's header before a task starts, cuts the
table into splits (`splits`), and runs one task per split (`parts`): each executor loads the build from the
artifact store and writes its split's scored and refused rows as part files. The parts go into folders beside
the outputs (`<output>.partial`) and are moved into place when every task is done, with Spark's `_SUCCESS`
marker: a failed or interrupted job leaves no output, and the previous one only where overwriting was not asked.
Spark retries a task whose worker died (its part is written again, whole), never one that refused its data.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from mlci.build.loaded import ticket_for, ticketed_build, version_for
from mlci.core.repository import Repository
from mlci.core.storage import filesystem, reaching
from mlci.scoring.local import (
    INPUT_SETTING,
    OUTPUT_SETTING,
    Scored,
    ScoreRequest,
    checked_request,
    column_types,
    table_format,
)
from mlci.scoring.partition import ScoreError, layout
from mlci.scoring.parts import PartJob, counted_task, scored_task
from mlci.scoring.splits import Split, csv_splits, cut_inside_quotes, numbered, parquet_splits

PARTIAL_SUFFIX = ".partial"
DONE_MARKER = "_SUCCESS"  # Spark's own: a folder of parts is whole once it is there
TASK_ATTEMPTS = 4  # a task whose worker died runs again, up to this many times in all
SPLITS_PER_CORE = 2


def local_master() -> str:
    """Spark in this process, one task slot per core, a task tried up to `TASK_ATTEMPTS` times."""
    return f"local[{os.cpu_count() or 1},{TASK_ATTEMPTS}]"


@contextmanager
def spark_session(master: str | None) -> Iterator[Any]:
    """A Spark session: on `master`, or, with none, the one `spark-submit` gives; stopped at the end."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ScoreError(
            "--engine spark needs pyspark beside mlci: `nox -s score -- ... --engine spark` adds it for the run "
            "(as `uv run --with 'pyspark>=4.0,<5' python -m mlci score ...` does), or install mlci[spark]"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the executors' Python: this environment's
    builder = SparkSession.builder.appName("mlci score")
    if master:
        builder = builder.master(master).config("spark.driver.host", "127.0.0.1")
    settings = {
        "spark.ui.enabled": "false",
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: no Java, or one Spark cannot run on
        raise ScoreError(
            f"Spark did not start ({str(error).splitlines()[0]}): it needs a full Java runtime of version 17 or "
            "later, as `java` on PATH or in JAVA_HOME (on Debian or Ubuntu: apt-get install openjdk-17-jre-headless)"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def csv_header(url: str) -> tuple[tuple[str, ...], int, int]:
    """A CSV's column names as the local engine reads them, the byte after its header, and its quotes."""
    import io

    import pandas as pd

    fs, path = filesystem(url)
    with reaching(url, INPUT_SETTING):
        if not fs.exists(path):
            raise ScoreError(f"{url}: no such table")
        with fs.open(path, "rb") as handle:
            line = handle.readline()
            header_end = handle.tell()
    try:
        columns = tuple(pd.read_csv(io.BytesIO(line), dtype=str, nrows=0).columns)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError):
        raise ScoreError(f"{url}: the table has no header row: nothing to score") from None
    return columns, header_end, line.count(b'"')


def parquet_header(url: str) -> tuple[tuple[str, ...], Any]:
    from mlci.scoring.local import parquet_file

    fs, path = filesystem(url)
    with reaching(url, INPUT_SETTING):
        if not fs.exists(path):
            raise ScoreError(f"{url}: no such table")
        with fs.open(path, "rb") as handle:
            metadata = parquet_file(handle, url).metadata
    return tuple(metadata.schema.to_arrow_schema().names), metadata


def run_tasks(session: Any, task: Any, job: PartJob, splits: list[Split]) -> list[Any]:
    """One Spark task per split; a refusal any task reports stops the run with its message."""
    reports = session.sparkContext.parallelize([(job, split) for split in splits], len(splits)).map(task).collect()
    for report in reports:
        if isinstance(report, str):
            raise ScoreError(report)
    return sorted(reports, key=lambda report: report.index)


def clear(url: str) -> None:
    fs, path = filesystem(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def commit(staging: str, final: str) -> None:
    """Move a folder of parts into place, then mark it whole."""
    fs, staged = filesystem(staging)
    _, path = filesystem(final)
    with reaching(final, OUTPUT_SETTING):
        clear(final)
        if "file" in fs.protocol:
            fs.touch(f"{staged}/{DONE_MARKER}")
            os.replace(staged, path)
        else:  # a bucket has no folders to rename: each part is copied, then the marker written, then the staging gone
            fs.invalidate_cache()  # the executors wrote the parts, not this process: its listings are stale
            for part in fs.find(staged):
                fs.copy(part, path + part[len(staged) :])
            fs.touch(f"{path}/{DONE_MARKER}")
            fs.rm(staged, recursive=True)


def score_on_spark(repository: Repository, request: ScoreRequest, master: str | None) -> Scored:
    """Score a table with a stored build on Spark, writing folders of parts for the scores and the refusals."""
    kind, side = checked_request(request)
    started = time.monotonic()
    version = version_for(repository, request.version, request.stage)
    ticket = ticket_for(repository, version)
    build = ticketed_build(ticket)  # a missing or altered build is refused before Spark starts
    if table_format(request.table) == "csv":
        columns, header_end, header_quotes = csv_header(request.table)
        metadata = None
    else:
        columns, metadata = parquet_header(request.table)
    shape = layout(list(columns), build, request.keep, request.table)
    types = column_types(request.table)
    scored_folder, refused_folder = request.output + PARTIAL_SUFFIX, side + PARTIAL_SUFFIX
    job = PartJob(
        request.table,
        table_format(request.table),
        columns,
        ticket,
        shape,
        shape.scored_schema(types),
        shape.refused_schema(types),
        kind,
        scored_folder,
        refused_folder,
        datetime.now(UTC),
        request.chunk_rows,
    )
    with spark_session(master) as session:
        cores = session.sparkContext.defaultParallelism
        with reaching(request.output, OUTPUT_SETTING):
            for folder in (scored_folder, refused_folder):
                clear(folder)
                fs, path = filesystem(folder)
                fs.makedirs(path, exist_ok=True)
        try:
            if metadata is not None:
                per_split = max(request.chunk_rows, math.ceil(metadata.num_rows / (SPLITS_PER_CORE * cores)))
                splits = parquet_splits(metadata, per_split)
            else:
                fs, path = filesystem(request.table)
                splits = csv_splits(header_end, fs.size(path), SPLITS_PER_CORE * cores)
                counts = run_tasks(session, counted_task, job, splits)
                cut = cut_inside_quotes(header_quotes, [count.quotes for count in counts])
                if cut is not None:
                    raise ScoreError(
                        f"{request.table}: a quoted field holds a line break near byte {splits[cut].offset}, where "
                        "Spark's split of the file would cut it: score it with the local engine, or as Parquet"
                    )
                for count in counts:
                    if count.error:
                        raise ScoreError(count.error)
                splits = numbered(splits, [count.rows for count in counts])
            done = run_tasks(session, scored_task, job, splits or [Split(0, 1)])  # an empty table: empty parts
            commit(scored_folder, request.output)
            commit(refused_folder, side)
        except BaseException:
            for folder in (scored_folder, refused_folder):
                clear(folder)
            raise
    rows, refused = sum(part.rows for part in done), sum(part.refused for part in done)
    retried = sum(1 for part in done if part.attempt > 0)
    return Scored(version, request.output, side, rows, refused, time.monotonic() - started, retried)
