"""The inference log: what it writes, how it rotates and samples, how it fails without failing."""

import json
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from mlci_serving import inference_log
from mlci_serving.inference_log import InferenceLog, Settings, SettingsError
from mlci_serving.names import LOG_RECORD_FIELDS

EXAMPLE = {"a number": 39.1, "a category": "Torgersen", "a column": 1.0}


def counted(name: str, **labels: str) -> float:
    """A counter's value in this process (0 before its first increment)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def logged(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for file in sorted(folder.glob("*.jsonl")) for line in file.read_text().splitlines()]


def test_records_are_written_as_json_lines_with_version_time_and_prediction(tmp_path: Path) -> None:
    log = InferenceLog(Settings(url=str(tmp_path / "log")))
    log.record("v1.2.3", ["r1", "r2"], [EXAMPLE, {**EXAMPLE, "a column": None}], ["class a", "class b"])
    log.close()
    first, second = logged(tmp_path / "log")
    assert first["model_version"] == "v1.2.3"
    assert [first["id"], second["id"]] == ["r1", "r2"]
    assert first["inputs"] == EXAMPLE
    assert first["prediction"] == "class a"
    assert first["timestamp"].endswith("+00:00")
    assert second["inputs"]["a column"] is None
    assert not list((tmp_path / "log").glob("*.part"))


def test_a_file_is_written_once_it_reaches_the_segment_size(tmp_path: Path) -> None:
    line_bytes = len(inference_log.serialize((0.0, "v1", "r", EXAMPLE, "class a")))
    log = InferenceLog(Settings(url=str(tmp_path), segment_bytes=10 * line_bytes))
    log.record("v1", ["r"] * 95, [EXAMPLE] * 95, ["class a"] * 95)
    log.close()
    files = sorted(tmp_path.glob("*.jsonl"))
    assert [len(file.read_text().splitlines()) for file in files] == [10] * 9 + [5]


def test_a_file_is_written_once_it_reaches_its_age(tmp_path: Path) -> None:
    log = InferenceLog(Settings(url=str(tmp_path), flush_seconds=0.05))
    log.record("v1", ["r"], [EXAMPLE], ["class a"])
    deadline = time.monotonic() + 5
    while not logged(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.thread.is_alive()  # not closed: only the age can have written the file
    assert len(logged(tmp_path)) == 1
    log.close()


def test_a_share_of_records_is_sampled(tmp_path: Path) -> None:
    random.seed(7)  # the draws are the sampler's own; seeded, the test gives the same count every run
    log = InferenceLog(Settings(url=str(tmp_path), sample=0.25))
    log.record("v1", ["r"] * 4000, [EXAMPLE] * 4000, ["class a"] * 4000)
    log.close()
    assert 900 < len(logged(tmp_path)) < 1100  # 1000 expected


def test_a_full_buffer_drops_records_and_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    write = inference_log.write_file

    def slow_sink(*args: Any) -> None:
        release.wait(timeout=10)
        write(*args)

    monkeypatch.setattr(inference_log, "write_file", slow_sink)
    before = counted("inference_log_dropped_records_total", reason="queue_full")
    log = InferenceLog(Settings(url=str(tmp_path), segment_bytes=1, capacity=5))
    log.record("v1", ["r"], [EXAMPLE], ["class a"])
    deadline = time.monotonic() + 10
    while log.files == 0:  # then the writer waits in its first write
        assert time.monotonic() < deadline, "the writer did not start its first write within 10 s"
        time.sleep(0.01)
    log.record("v1", ["r"] * 12, [EXAMPLE] * 12, ["class a"] * 12)  # five fit in the buffer
    release.set()
    log.close()
    assert len(logged(tmp_path)) == 6
    assert counted("inference_log_dropped_records_total", reason="queue_full") - before == 7
    assert "7 records dropped, the buffer is full" in caplog.text


def test_an_unwritable_sink_is_counted_and_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    before = counted("inference_log_failed_writes_total")
    log = InferenceLog(Settings(url=str(blocker / "log")))
    with caplog.at_level(logging.WARNING):
        log.record("v1", ["r"] * 3, [EXAMPLE] * 3, ["class a"] * 3)
        log.close()
    assert counted("inference_log_failed_writes_total") - before == 1
    assert "3 records dropped, cannot write" in caplog.text


def test_settings_come_from_the_environment() -> None:
    assert Settings.from_environment({}) is None
    settings = Settings.from_environment({"INFERENCE_LOG_URL": "s3://bucket/log", "INFERENCE_LOG_SAMPLE": "0.1"})
    assert settings == Settings(url="s3://bucket/log", sample=0.1)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INFERENCE_LOG_SAMPLE", "1.5", "must be between 0 and 1"),
        ("INFERENCE_LOG_SAMPLE", "all", "not a number"),
        ("INFERENCE_LOG_FLUSH_SECONDS", "0", "must be between"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}='{value}': {message}"):
        Settings.from_environment({"INFERENCE_LOG_URL": "log", name: value})


def test_a_line_holds_the_fields_the_toolkit_reads_back() -> None:
    line = json.loads(inference_log.serialize((0.0, "v1", "r", EXAMPLE, "class a")))
    assert tuple(line) == LOG_RECORD_FIELDS
