"""The inference log as the toolkit reads it back: JSON Lines, one request record per line with the fields of
`mlci_serving.names.LOG_RECORD_FIELDS`, in one file or any number of `*.jsonl` files under a folder or fsspec URL.

A line that is not a record (cut short by a crash, garbled, of another shape) is skipped and counted, with its
file and line named; the rest is judged. A log whose every line is unreadable is an error, never a quiet week.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from mlci_serving.names import LOG_RECORD_FIELDS

from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.storage import LOG_SETTING, Location, filesystem, reaching, require_bucket

REQUIRED_FIELDS = tuple(name for name in LOG_RECORD_FIELDS if name != "id")  # logs before ids had none
ENTRY_COLUMNS = ["version", "id", "inputs", "prediction"]
NAMED = 5  # unreadable lines named in a message: the first ones


class NothingToJudgeError(MlciError):
    """A log that is missing, empty or too small to judge."""

    exit_code = 3


class DamagedLogError(MlciError):
    """A log with lines but not one record that can be read."""


@dataclass(frozen=True)
class Logged:
    """The readable records of a log, and the lines that were not records."""

    entries: pd.DataFrame
    skipped: int = 0
    examples: list[str] = field(default_factory=list)  # the first unreadable lines: `file:line: why`

    @property
    def warning(self) -> str | None:
        """What to tell a user about the lines left out, if any."""
        if not self.skipped:
            return None
        return f"{self.skipped} line(s) of the log are not records and were left out: " + "; ".join(self.examples)


def stage_log(repository: Repository, stage: str) -> str:
    """Where a stage's servers log, or an error saying how to turn logging on."""
    log = repository.config.monitoring.url_for(stage, repository.root)
    if log is None:
        raise MlciError("no inference log: set [monitoring] log in mlci.toml so that deployed stages log requests")
    return log


def record_of(line: str, since: datetime | None) -> list[Any] | None:
    """A line's version, id, inputs and prediction (None when it was logged before `since`); ValueError when the
    line is no record."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise ValueError(f"no {', '.join(missing)}")
    timestamp, version, inputs = record["timestamp"], record["model_version"], record["inputs"]
    if not isinstance(timestamp, str) or not isinstance(version, str) or not isinstance(inputs, dict):
        raise ValueError("timestamp and model_version must be text, inputs an object")
    logged = datetime.fromisoformat(timestamp)  # a ValueError names what is wrong with it
    if since is not None and logged.replace(tzinfo=logged.tzinfo or UTC) < since:
        return None
    return [version, record.get("id"), inputs, record["prediction"]]


def read_log_entries(url: str, since: datetime | None) -> Logged:
    """The version, id, inputs and prediction of each request logged at `url` since `since`."""
    with reaching(url, LOG_SETTING):
        fs, root = filesystem(url)
        if not fs.exists(root):
            require_bucket(Location(url, LOG_SETTING))
            raise NothingToJudgeError(f"{url}: no inference log there: is the service logging, and to this place?")
        files = [root] if fs.isfile(root) else sorted(fs.glob(f"{root.rstrip('/')}/**/*.jsonl"))
        records: list[list[Any]] = []
        skipped, examples = 0, list[str]()
        for file in files:
            with fs.open(file, "rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    line = raw.decode("utf-8", errors="replace")
                    if not line.strip():
                        continue
                    try:
                        record = record_of(line, since)
                    except (ValueError, TypeError) as error:
                        skipped += 1
                        if len(examples) < NAMED:
                            examples.append(f"{file}:{number}: {error}")
                        continue
                    if record is not None:
                        records.append(record)
    if not records and skipped:
        raise DamagedLogError(
            f"{url}: none of the log's {skipped} line(s) is a record ({'; '.join(examples)}): the log is damaged, "
            "not quiet; look at the files named"
        )
    if not records:
        newer = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
        raise NothingToJudgeError(f"{url}: the inference log is empty{newer}: no request has been logged")
    return Logged(pd.DataFrame(records, columns=ENTRY_COLUMNS), skipped, examples)
