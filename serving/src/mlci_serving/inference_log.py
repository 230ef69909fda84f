"""Sampled inference logging: requests and predictions as JSON Lines, written off the request path.

`mlci deploy` sets these variables (`mlci_serving.names`) from the `[monitoring]` table of `mlci.toml`;
unset, nothing is logged:
`INFERENCE_LOG_URL` (a folder or any fsspec URL), `INFERENCE_LOG_SAMPLE` (the share of records
logged), `INFERENCE_LOG_SEGMENT_BYTES` and `INFERENCE_LOG_FLUSH_SECONDS` (a file is written when
it reaches this size or age). A request only draws a random number and puts its records in a
bounded buffer; a thread of its own serializes and writes them. A full buffer or a failed write
drops records, counts them in `/metrics` and warns in the server's log: the caller never sees it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import fsspec

from mlci_serving.names import (
    LOG_FLUSH_VARIABLE,
    LOG_RECORD_FIELDS,
    LOG_SAMPLE_VARIABLE,
    LOG_SEGMENT_VARIABLE,
    LOG_URL_VARIABLE,
)

if TYPE_CHECKING:
    from prometheus_client import Counter

LOGGER = logging.getLogger("bentoml.inference_log")


@dataclass(frozen=True)
class Counters:
    """What the log reports in `/metrics`."""

    written: Counter
    dropped: Counter
    failed_writes: Counter


@functools.cache
def counters() -> Counters:
    """The log's counters, made once per process, and only once the service runs.

    A BentoML worker sets PROMETHEUS_MULTIPROC_DIR as it starts, after importing this module:
    prometheus_client read before then would keep the counters out of `/metrics`.
    """
    import prometheus_client

    return Counters(
        written=prometheus_client.Counter("inference_log_records", "Request records written to the inference log"),
        dropped=prometheus_client.Counter(
            "inference_log_dropped_records",
            "Sampled request records not logged, by reason: queue_full or write_failed",
            ["reason"],
        ),
        failed_writes=prometheus_client.Counter("inference_log_failed_writes", "Log files the sink refused"),
    )


class SettingsError(ValueError):
    """An inference-log variable with a value the logger cannot use."""


def number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """A variable as a number within [low, high], or a SettingsError that names it."""
    text = environ.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={text!r}: must be between {low:g} and {high:g}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where and how much to log."""

    url: str
    sample: float = 1.0
    segment_bytes: int = 8 << 20
    flush_seconds: float = 60.0
    capacity: int = 100_000  # records waiting to be written; more are dropped

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings | None:
        """The settings the variables give, or None when INFERENCE_LOG_URL is unset or empty."""
        url = environ.get(LOG_URL_VARIABLE, "")
        if not url:
            return None
        return cls(
            url=url,
            sample=number(environ, LOG_SAMPLE_VARIABLE, cls.sample, 0.0, 1.0),
            segment_bytes=int(number(environ, LOG_SEGMENT_VARIABLE, cls.segment_bytes, 1, 1 << 40)),
            flush_seconds=number(environ, LOG_FLUSH_VARIABLE, cls.flush_seconds, 0.01, 86400),
        )


def write_file(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Write a whole file; on a local disk under a temporary name first: readers never see half."""
    if "file" in fs.protocol:
        partial = f"{path}.part"
        fs.pipe_file(partial, data)
        fs.mv(partial, path)
    else:
        fs.pipe_file(path, data)  # an object store shows an object only once it is whole


Entry = tuple[float, str, str, dict[str, Any], str | float]  # time, version, id, inputs, prediction


class InferenceLog:
    """Records waiting in a bounded buffer, and the thread that writes them, one file per segment.

    The thread wakes a few times a second, not once per record: a thread woken per record makes
    the serving thread hand over the GIL each time, which cost a third of the throughput at 32
    clients (measured with a queue.Queue).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = settings.url if "://" in settings.url else os.path.expanduser(settings.url)
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.lock = threading.Lock()
        self.pending: list[Entry] = []
        self.overflowed = 0  # records refused since the writer last looked
        self.stopping = threading.Event()
        self.files = 0
        self.counters = counters()
        self.thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self.thread.start()

    def record(
        self,
        version: str,
        ids: Sequence[str],
        inputs: Sequence[dict[str, Any]],
        predictions: Sequence[str | float],
    ) -> None:
        """Keep a sample of one request's records for the writer; never blocks on the sink."""
        sample, timestamp = self.settings.sample, time.time()
        entries = [
            (timestamp, version, name, features, prediction)
            for name, features, prediction in zip(ids, inputs, predictions, strict=True)
            if sample >= 1.0 or random.random() < sample
        ]
        with self.lock:
            kept = entries[: max(0, self.settings.capacity - len(self.pending))]
            self.pending.extend(kept)
            self.overflowed += len(entries) - len(kept)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending and stop the thread."""
        self.stopping.set()
        self.thread.join(timeout)

    def _take(self) -> tuple[list[Entry], int]:
        with self.lock:
            taken, self.pending = self.pending, []
            overflowed, self.overflowed = self.overflowed, 0
        return taken, overflowed

    def _run(self) -> None:
        lines: list[bytes] = []
        size, deadline = 0, float("inf")
        wake = min(0.5, self.settings.flush_seconds)
        while True:
            stopping = self.stopping.wait(wake)
            taken, overflowed = self._take()
            if overflowed:
                self._drop("queue_full", overflowed, "the buffer is full")
            for entry in taken:
                if not lines:
                    deadline = time.monotonic() + self.settings.flush_seconds
                lines.append(serialize(entry))
                size += len(lines[-1])
                if size >= self.settings.segment_bytes:
                    self._write(lines)
                    lines, size = [], 0
            if lines and (stopping or time.monotonic() >= deadline):
                self._write(lines)
                lines, size = [], 0
            if stopping:
                return

    def _write(self, lines: list[bytes]) -> None:
        self.files += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{socket.gethostname()}-{os.getpid()}-{self.files:06d}.jsonl"
        path = f"{self.root.rstrip('/')}/{name}"
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            write_file(self.fs, path, b"".join(lines))
        except Exception as error:  # whatever the sink raises, the service goes on answering
            self.counters.failed_writes.inc()
            self._drop("write_failed", len(lines), f"cannot write {path}: {error}")
        else:
            self.counters.written.inc(len(lines))

    def _drop(self, reason: str, count: int, why: str) -> None:
        self.counters.dropped.labels(reason=reason).inc(count)
        LOGGER.warning("inference log: %d records dropped, %s", count, why)


def serialize(entry: Entry) -> bytes:
    """One buffered record as a JSON line."""
    timestamp, version, name, features, prediction = entry
    moment = datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
    record = dict(zip(LOG_RECORD_FIELDS, (moment, version, name, features, prediction), strict=True))
    return (json.dumps(record) + "\n").encode()


def from_environment() -> InferenceLog | None:
    """The logger the environment asks for, or None."""
    settings = Settings.from_environment(os.environ)
    return InferenceLog(settings) if settings else None
