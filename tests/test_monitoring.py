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
    edited,
    register_and_build,
    run,
    serve_stages_on_free_ports,
    stop_stages,
)
from measures import accuracy, f1_macro
from mlci.deploy.targets.process import free_port
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


def send(staging: Staging, rows: pd.DataFrame) -> list[dict[str, Any]]:
    return post_records(f"http://127.0.0.1:{staging.port}", rows)


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
    # The contract is open: a category the training data lacks (a new island) is answered, logged and judged.
    start_a_new_window(staging)
    version = running(staging)
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
    assert re.search(rf"\| island \|.*\| Anvers \| {40 / len(rows):.0%} unseen \| drifted \|", report), report


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


# After deployment: answers measured against outcomes, a challenger replayed on the traffic, a table scored.


def held_out_rows(clone: Clone) -> pd.DataFrame:
    return pd.read_csv(clone.path / "data" / "prepared" / "test.csv", dtype={"species": str, "island": str, "sex": str})


# The working tree's model's classes for the rows of ../replayed.csv, read as training reads data.
PREDICT = """
import json, pickle
from penguin_species.data import read_csv
model = pickle.load(open("models/model.pkl", "rb"))
print(json.dumps([str(label) for label in model.predict(read_csv("../replayed.csv")[model.feature_names_in_])]))
"""


def answered_window(staging: Staging, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """A new window of staging's log holding exactly `rows`' requests, and no outcomes yet; the answers."""
    start_a_new_window(staging)
    shutil.rmtree(staging.clone.path.parent / "outcomes", ignore_errors=True)
    answers = send(staging, rows[FEATURES])
    logged(staging, len(rows))
    return answers


def write_outcomes(staging: Staging, ids: list[str], truths: list[str]) -> None:
    folder = staging.clone.path.parent / "outcomes"
    folder.mkdir(exist_ok=True)
    pd.DataFrame({"id": ids, "species": truths}).to_csv(folder / "week-1.csv", index=False)


def kpi_line(result: subprocess.CompletedProcess[str], version: str) -> str:
    found = re.search(rf"^{re.escape(version)}: .*$", result.stdout, re.MULTILINE)
    assert found, result.stdout + result.stderr
    return found[0]


def test_kpis_measure_logged_answers_against_their_outcomes(staging: Staging, first_release: str) -> None:
    rows = held_out_rows(staging.clone)
    answers = answered_window(staging, rows)
    served = running(staging)
    ids, predicted = [answer["id"] for answer in answers], [answer["prediction"] for answer in answers]
    assert len(set(ids)) == len(rows)
    truths = rows["species"].tolist()
    write_outcomes(staging, ids, truths)
    met = mlci(staging.clone, "kpi", "--stage", "staging")
    assert met.returncode == 0, met.stdout + met.stderr
    figures = f"accuracy {round(accuracy(truths, predicted), 4):g}"
    assert kpi_line(met, served).startswith(
        f"{served}: {len(rows)} logged answers, {len(rows)} with outcomes: {figures}"
    )
    # A tenth of the outcomes say another class than the one answered: past the largest drop allowed (0.05).
    wrong = [
        ("Adelie" if answer != "Adelie" else "Gentoo") if index % 10 == 0 else truth
        for index, (answer, truth) in enumerate(zip(predicted, truths, strict=True))
    ]
    write_outcomes(staging, ids, wrong)
    missed = mlci(staging.clone, "kpi", "--stage", "staging")
    assert missed.returncode == 1, missed.stdout + missed.stderr
    live, f1 = round(accuracy(wrong, predicted), 4), round(f1_macro(wrong, predicted), 4)
    assert kpi_line(missed, served).endswith(f"with outcomes: accuracy {live:g}; f1_macro {f1:g}")
    assert f"mlci: KPI missed: {served}: accuracy loss vs its test set <= 0.05" in missed.stderr
    report = (staging.clone.path / "reports" / "kpi.md").read_text()
    assert f"| accuracy loss vs its test set <= 0.05 | {live:g} |" in report
    assert json.loads((staging.clone.path / "reports" / "kpi.json").read_text())["verdict"] == "missed"
    write_outcomes(staging, ids[:29], truths[:29])  # one fewer than [kpi] min_outcomes
    too_few = mlci(staging.clone, "kpi", "--stage", "staging")
    assert too_few.returncode == 3, too_few.stdout + too_few.stderr
    assert f"{served}: 29 answers with outcomes: fewer than [kpi] min_outcomes = 30" in too_few.stderr


def test_a_challenger_replayed_on_staging_traffic_agrees_or_not(staging: Staging, first_release: str) -> None:
    rows = held_out_rows(staging.clone)
    answers = answered_window(staging, rows)
    served = running(staging)
    write_outcomes(staging, [answer["id"] for answer in answers], rows["species"].tolist())
    same = mlci(staging.clone, "shadow", served, "--stage", "staging")
    assert same.returncode == 0, same.stdout + same.stderr
    assert f"{served} on {len(rows)} requests staging answered with {served}: 100.0% agree" in same.stdout
    # A challenger of one shallow tree, built from the working tree under a name of its own and never registered.
    path, env = staging.clone.path, staging.clone.env
    try:
        with edited(path / "params.yaml", lambda text: text.replace("n_estimators: 100", "n_estimators: 1")):
            run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=path, env=env)
            run("uv", "run", "--no-sync", "mlci", "build", "shallow", cwd=path, env=env)
            rows[FEATURES].to_csv(path.parent / "replayed.csv", index=False)
            own = json.loads(run("uv", "run", "--no-sync", "python", "-c", PREDICT, cwd=path, env=env).stdout)
    finally:
        run("git", "checkout", "--", ".", cwd=path, env=env)  # dvc.lock, metrics and plots as committed
        run("uv", "run", "--no-sync", "dvc", "checkout", "--quiet", cwd=path, env=env)
    agreed = sum(mine == answer["prediction"] for mine, answer in zip(own, answers, strict=True))
    assert agreed < len(rows)
    other = mlci(staging.clone, "shadow", "shallow", "--stage", "staging")
    assert other.returncode == 0, other.stdout + other.stderr
    share = f"{agreed / len(rows):.1%} agree, 0 refused by its contract, {len(rows)} with outcomes"
    assert f"shallow on {len(rows)} requests staging answered with {served}: {share}" in other.stdout
    report = (path / "reports" / "shadow.md").read_text()
    assert f"({agreed} of {len(rows)})" in report
    assert f"| metric | {served} (answered) | shallow (challenger) |" in report


def test_a_dvc_stage_scores_a_table_with_the_build_a_stage_runs(staging: Staging, first_release: str) -> None:
    path, env = staging.clone.path, staging.clone.env
    served = running(staging)
    table = pd.read_csv(path / "data" / "penguins.csv", dtype=str).head(130)
    table.loc[3, "flipper_length_mm"] = "-5"  # below the domain's bound
    table.loc[64, "bill_length_mm"] = "long"
    table.loc[129, "year"] = None
    table.to_csv(path / "data" / "to-score.csv", index=False)
    command = "mlci score data/to-score.csv reports/scored.csv --stage staging --chunk-rows 50"
    stage = ["dvc", "stage", "add", "--name", "score", "--deps", "data/to-score.csv"]
    stage += ["--outs", "reports/scored.csv", "--outs", "reports/scored.refused.csv", command]
    try:
        with edited(path / "dvc.yaml", lambda text: text), edited(path / "dvc.lock", lambda text: text):
            run("uv", "run", "--no-sync", *stage, cwd=path, env=env)
            run("uv", "run", "--no-sync", "dvc", "repro", "score", cwd=path, env=env)
        scored = pd.read_csv(path / "reports" / "scored.csv", dtype={"island": str, "sex": str, "species": str})
        refused = pd.read_csv(path / "reports" / "scored.refused.csv", dtype=str)
    finally:
        run("git", "checkout", "--", ".", cwd=path, env=env)
        run("git", "clean", "--quiet", "--force", "--", "data/to-score.csv", "reports", cwd=path, env=env)
    assert refused["row"].tolist() == ["4", "65", "130"]
    assert refused["reason"].str.split(":").str[0].tolist() == ["flipper_length_mm", "bill_length_mm", "year"]
    assert len(scored) == 127
    assert set(scored["model_version"]) == {served}
    answers = send(staging, scored[FEATURES].head(60))  # the service's answers to the same rows
    assert scored["prediction"].head(60).tolist() == [answer["prediction"] for answer in answers]
    for label in answers[0]["probabilities"]:
        expected = [answer["probabilities"][label] for answer in answers]
        assert scored[f"probability_{label}"].head(60).tolist() == pytest.approx(expected)
