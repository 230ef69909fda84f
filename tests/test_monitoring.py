"""Inference logging and drift, end to end: real traffic through a deployed build, its log, `mlci drift` on it.

One clone of the shared repository with its own `origin`; staging is deployed by `mlci deploy` with logging
on, as `[monitoring]` in mlci.toml sets it. The tests run in any order: the first release is a fixture,
made before any test changes the repository, and each test judges a window of its own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import (
    Clone,
    clone_with_origin,
    commit_and_push,
    register_and_build,
    run,
    serve_stages_on_free_ports,
    stop_stages,
)
from mlci.targets.process import free_port
from served import post_records, request, serving

pytestmark = pytest.mark.slow

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]


class Staging:
    """The clone, staging's port, and where staging logs."""

    def __init__(self, clone: Clone, port: int) -> None:
        self.clone, self.port = clone, port
        self.log = clone.path.parent / "inference-log" / "staging"


@pytest.fixture(scope="module")
def staging(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    clone = clone_with_origin(reproduced, tmp_path_factory.mktemp("monitoring"))
    port, _ = serve_stages_on_free_ports(clone)
    yield Staging(clone, port)
    stop_stages(clone)


def mlci(clone: Clone, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["uv", "run", "--no-sync", "mlci", *args], cwd=clone.path, env=clone.env, capture_output=True, text=True
    )


def release_to_staging(clone: Clone) -> str:
    """Register HEAD's model, build it, promote it to staging and deploy it; the version."""
    version = register_and_build(clone.path, clone.env)
    for step in (["promote", version, "--to", "staging"], ["deploy", "staging"]):
        result = mlci(clone, *step)
        assert result.returncode == 0, f"{step}: {result.stdout}{result.stderr}"
    return version


def training_rows(clone: Clone) -> pd.DataFrame:
    return pd.read_csv(clone.path / "data" / "prepared" / "train.csv")[FEATURES]


def send(staging: Staging, rows: pd.DataFrame) -> None:
    post_records(f"http://127.0.0.1:{staging.port}", rows)


def logged(staging: Staging, count: int, version: str | None = None) -> list[dict[str, Any]]:
    """The log's records, once it holds `count` of them (of `version`, when given); files come within a second."""
    deadline = time.monotonic() + 30
    while True:
        lines = [line for file in staging.log.glob("*.jsonl") for line in file.read_text().splitlines()]
        records = [json.loads(line) for line in lines]
        found = [record for record in records if version is None or record["model_version"] == version]
        if len(found) >= count:
            return records
        of = f" of {version}" if version else ""
        assert time.monotonic() < deadline, f"the log holds {len(found)} records{of} after 30 s, not {count}"
        time.sleep(0.2)


def start_a_new_window(staging: Staging, deployed: str | None = None) -> None:
    """Move what staging has logged aside, as an older window; after a deploy, once its smoke tests' records are in.

    A deploy's smoke test sends the example request twice, to the candidate and on the stage's port.
    """
    if deployed:
        example = json.loads((staging.clone.path / "examples" / "predict.json").read_text())
        logged(staging, 2 * len(example["records"]), deployed)
    if staging.log.exists():
        shutil.move(staging.log, staging.log.with_name(f"staging-before-{time.monotonic_ns()}"))


@pytest.fixture(scope="module")
def first_release(staging: Staging) -> str:
    """HEAD's model released to staging, once its deploy's smoke tests are in the log; its version."""
    version = release_to_staging(staging.clone)
    start_a_new_window(staging, deployed=version)
    return version


def running(staging: Staging) -> str:
    """The version staging's server runs, as `mlci status` says."""
    status = mlci(staging.clone, "status").stdout
    found = re.search(r"^staging\s+\S+\s+(v\d+\.\d+\.\d+) \(pid \d+\)", status, re.MULTILINE)
    assert found, status
    return found[1]


def test_the_training_data_sent_through_the_service_is_logged_and_passes(staging: Staging, first_release: str) -> None:
    start_a_new_window(staging)
    rows = training_rows(staging.clone)
    send(staging, rows)
    records = logged(staging, len(rows))
    assert len(records) == len(rows)
    assert {record["model_version"] for record in records} == {running(staging)}
    assert all(set(record["inputs"]) == set(FEATURES) for record in records)
    result = mlci(staging.clone, "drift", "--stage", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift past the thresholds" in result.stdout
    assert "**no drift**" in (staging.clone.path / "reports" / "drift.md").read_text()


def test_a_shifted_feature_and_a_new_category_fail_naming_exactly_those(staging: Staging, first_release: str) -> None:
    # The contract refuses a category its schema does not list (400), so a new category reaches the model
    # when the schema admits one the training data lacks: here a new island, before any penguin of it is in.
    schema = staging.clone.path / "src" / "penguin_species" / "schema.py"
    islands = '"Biscoe",\n            "Dream",\n            "Torgersen",'
    assert islands in schema.read_text()
    schema.write_text(schema.read_text().replace(islands, f'{islands}\n            "Anvers",'))
    run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=staging.clone.path, env=staging.clone.env)
    run("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=staging.clone.path, env=staging.clone.env)
    commit_and_push(staging.clone.path, staging.clone.env, "Admit penguins of Anvers island")
    version = release_to_staging(staging.clone)
    start_a_new_window(staging, deployed=version)
    rows = training_rows(staging.clone)
    assert "Anvers" not in set(rows["island"])
    bill = rows["bill_length_mm"]
    rows["bill_length_mm"] = (bill + 2 * bill.std()).clip(upper=63.0)  # the contract's maximum
    rows.loc[rows.index[:40], "island"] = "Anvers"
    send(staging, rows)
    logged(staging, len(rows))
    result = mlci(staging.clone, "drift", "--stage", "staging")
    assert result.returncode == 1, result.stdout + result.stderr
    named = re.search(rf"drift past the thresholds in {version}: (.*)", result.stderr)
    assert named, result.stderr
    assert set(named[1].split(", ")) == {"bill_length_mm", "island"}
    report = (staging.clone.path / "reports" / "drift.md").read_text()
    assert re.search(r"\| island \|.*\| Anvers \| drifted \|", report), report


def test_too_few_requests_in_the_window_are_not_judged(staging: Staging, first_release: str) -> None:
    start_a_new_window(staging)
    send(staging, training_rows(staging.clone).head(20))
    logged(staging, 20)
    result = mlci(staging.clone, "drift", "--stage", "staging")
    assert result.returncode == 3
    assert "20 logged requests, fewer than [drift] min_samples = 100" in result.stderr


def test_an_unwritable_log_leaves_answers_alone_and_shows_in_metrics(staging: Staging, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    port = free_port()
    command = ["uv", "run", "--no-sync", "bentoml", "serve", "penguin_species.service:Predictor", "--port", str(port)]
    env = {**staging.clone.env, "INFERENCE_LOG_URL": str(blocker / "log"), "INFERENCE_LOG_FLUSH_SECONDS": "0.1"}
    example = (staging.clone.path / "examples" / "predict.json").read_bytes()
    with serving(command, port, staging.clone.path, env) as url:
        for _ in range(5):
            assert request(f"{url}/predict", example)[0] == 200
        deadline = time.monotonic() + 20
        while True:
            metrics = request(f"{url}/metrics")[1]
            if 'inference_log_dropped_records_total{reason="write_failed"} 5.0' in metrics:
                break
            assert time.monotonic() < deadline, metrics
            time.sleep(0.2)
        assert "inference_log_failed_writes_total" in metrics
