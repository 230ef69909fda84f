"""Tables this project does not ship, adopted one after another in one clone: each one's own tests, validation
and pipeline pass, and adopting it again changes nothing. A regression table then runs the rest of the life cycle:
register, build, promote through the relative gates, deploy, answer a number, and review with its plots.

One table comes inside scikit-learn (breast cancer: numbers only; its diabetes table, a regression of numbers only,
goes through the whole life cycle in `nox -s demo` instead); two are made here with awkward features:
identifiers, a constant, an empty column, names that are not Python names, missing targets, a class of three rows,
class labels that look like numbers, a feature that leaks the target, a numeric target written as quoted text, dates,
and a seller's id repeated over the seller's rows (a group the split keeps together).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from conftest import (
    Clone,
    clone_with_origin,
    commit_and_push,
    run,
    serve_stages_on_free_ports,
    stop_stages,
)
from measures import value_metrics
from served import post_records

pytestmark = pytest.mark.slow

RNG = np.random.default_rng(7)
SKLEARN = "from sklearn import datasets; datasets.load_{name}(as_frame=True).frame.to_csv({path!r}, index=False)"


def awkward_classes(path: Path) -> None:
    """Identifiers, a constant, names with spaces and dots, missing targets, a class of three rows, and the label
    again as words: known only with the answer, it leaks it."""
    rows = 160
    length = RNG.normal(45, 6, rows).round(1)
    label = np.where(length + RNG.normal(0, 2, rows) < 42, "1", "2").astype(object)  # length tells, mostly
    label[:3] = "3"  # a class with few rows
    length[:3] = 70.0 + RNG.normal(0, 1, 3).round(1)
    label[3:8] = None  # rows nobody labelled
    reading = RNG.integers(0, 9, rows).astype(float)
    reading[RNG.random(rows) < 0.1] = np.nan
    pd.DataFrame(
        {
            "customer id": [f"C{index:05d}" for index in range(rows)],
            "bill length (mm)": length,
            "2nd_reading": reading,
            "a.b": RNG.choice(["north", "south"], rows),
            "country": "NZ",
            "label in words": pd.Series(label).map({"1": "one", "2": "two", "3": "three"}),
            "label": label,
        }
    ).to_csv(path, index=False)


def awkward_numbers(path: Path) -> None:
    """A numeric target written as quoted text, an empty column, a row number, a category, the date of each sale
    (prices rise by the year), and the id of its seller, repeated over the seller's rows."""
    rows = 150
    x = RNG.uniform(0, 10, rows)
    kind = RNG.choice(["small", "large"], rows)
    sold = pd.date_range("2021-01-01", "2023-12-31", periods=rows).strftime("%Y-%m-%d")
    years = np.array([int(day[:4]) - 2021 for day in sold])
    price = 3 * x + np.where(kind == "large", 5, 0) + 2 * years + RNG.normal(0, 1, rows)
    sellers = [f"S{index % 60:03d}" for index in RNG.permutation(rows)]  # 60 sellers, most with several sales
    lines = ['"row","x value","size.class","sold on","seller id","empty","price"']
    lines += [
        f'{index + 1},{x[index]:.3f},{kind[index]},{sold[index]},{sellers[index]},,"{price[index]:.2f}"'
        for index in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


TABLES = {  # file name: (target, expected task)
    "breast_cancer.csv": ("target", "classification"),
    "survey answers.csv": ("label", "classification"),
    "prices.csv": ("price", "regression"),
}


class Start(NamedTuple):
    """The clone, and the shipped table adopted again before any test adopted another."""

    clone: Clone
    shipped_said: str
    status_after: str


@pytest.fixture(scope="module")
def start(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    made = clone_with_origin(reproduced, tmp_path_factory.mktemp("adoption"))
    said = mlci(made, "adopt", "data/penguins.csv", "--target", "species")
    yield Start(made, said, run("git", "status", "--porcelain", cwd=made.path).stdout)
    stop_stages(made)


@pytest.fixture(scope="module")
def clone(start: Start) -> Clone:
    return start.clone


@pytest.fixture(scope="module")
def tables(clone: Clone) -> Path:
    """The three tables, written outside the repository as a user's files would be."""
    folder = clone.path.parent / "tables"
    folder.mkdir()
    for name in ("breast_cancer",):
        code = SKLEARN.format(name=name, path=str(folder / f"{name}.csv"))
        run("uv", "run", "--no-sync", "python", "-c", code, cwd=clone.path, env=clone.env)
    awkward_classes(folder / "survey answers.csv")
    awkward_numbers(folder / "prices.csv")
    return folder


def mlci(clone: Clone, *args: str) -> str:
    return run("uv", "run", "--no-sync", "mlci", *args, cwd=clone.path, env=clone.env).stdout


timings: dict[str, float] = {}


def test_the_shipped_files_are_what_adoption_writes_for_the_shipped_table(start: Start) -> None:
    assert "nothing changed: the repository already holds this table" in start.shipped_said
    assert start.status_after == ""


@pytest.mark.parametrize("name", TABLES)
def test_an_adopted_table_passes_its_tests_validation_and_pipeline(clone: Clone, tables: Path, name: str) -> None:
    target, task = TABLES[name]
    started = time.monotonic()
    adopted = mlci(clone, "adopt", str(tables / name), "--target", target)
    data = f"data/{Path(name).stem.replace(' ', '_')}.csv"
    assert f"as {data}:" in adopted
    assert f"{task} of {target!r}" in adopted
    decided = {line.split("'")[1]: line for line in adopted.splitlines() if line.startswith("'")}  # the table
    if name == "survey answers.csv":
        assert "leakage: alone it predicts 'label' (accuracy 1.000" in decided["label in words"]
        assert decided["bill length (mm)"].split()[3:5] == ["numeric", "feature"]  # telling, not leaking
    if name == "prices.csv":
        assert decided["seller id"].split()[2:4] == ["text", "group"]
        assert decided["sold on"].split()[2:4] == ["date", "feature"]
        assert decided["row"].split()[1:3] == ["text", "id"]
    assert "nothing changed" in mlci(clone, "adopt", str(tables / name), "--target", target)
    assert json.loads((clone.path / "examples" / "predict.json").read_text())["records"][0]
    penguins = [path for path in ("data/penguins.csv.dvc", "validation/penguins.py") if (clone.path / path).exists()]
    assert penguins == [], "the previous dataset's files go away"
    run("uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", cwd=clone.path, env=clone.env)
    # `validate` is the pipeline's first stage
    run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=clone.path, env=clone.env)
    metrics = json.loads((clone.path / "reports" / "metrics.json").read_text())
    gated = "f1_macro" if task == "classification" else "r2"
    assert metrics[gated] >= metrics[f"baseline_{gated}"] + 0.05, metrics  # promotable under the default gates
    timings[name] = time.monotonic() - started
    if name in ("survey answers.csv", "prices.csv"):  # names that are not Python names, formatted and typed
        lint_env = {**clone.env, "PRE_COMMIT_HOME": str(Path.home() / ".cache" / "pre-commit")}
        run("git", "add", "--all", cwd=clone.path, env=clone.env)
        run("uv", "run", "--no-sync", "pre-commit", "run", "--all-files", cwd=clone.path, env=lint_env)
        run("uv", "run", "--no-sync", "mypy", cwd=clone.path, env=clone.env)


def test_a_regression_table_runs_the_life_cycle(clone: Clone, tables: Path) -> None:
    """The last adopted table, prices: committed, registered, built, promoted, deployed, reviewed."""
    mlci(clone, "adopt", str(tables / "prices.csv"), "--target", "price")
    run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=clone.path, env=clone.env)
    run("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=clone.path, env=clone.env)
    commit_and_push_all(clone, "Adopt the prices table")
    review = mlci(clone, "review", "--base", "HEAD~1")
    text = (clone.path / "reports" / "review.md").read_text()
    assert "mean predicted by actual, in bins of actual" in text
    assert "| rmse | lower |" in review + text
    _, production = serve_stages_on_free_ports(clone)
    version = mlci(clone, "register").split("@")[1].split()[0]
    mlci(clone, "build")
    promoted = mlci(clone, "promote", version, "--to", "staging")
    assert "r2 beats baseline by >= 0.05" in promoted
    mlci(clone, "promote", version, "--to", "production")
    mlci(clone, "deploy", "production")
    example = (clone.path / "examples" / "predict.json").read_bytes()
    request = urllib.request.Request(
        f"http://127.0.0.1:{production}/predict", data=example, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (answer,) = json.loads(response.read())
    assert isinstance(answer["prediction"], float)
    assert answer["model_version"] == version
    url = f"http://127.0.0.1:{production}"
    after_deployment(clone, tables / "prices.csv", version, url)
    new_values_are_answered_and_counted(clone, url)
    print("adoption timings (s):", {name: round(seconds, 1) for name, seconds in timings.items()}, file=sys.stderr)


def new_values_are_answered_and_counted(clone: Clone, url: str) -> None:
    """A sale after the training period, an x far past its range and a size class never seen: answered, counted
    in /metrics by column and kind, and shown by drift."""
    record = {"row": 9999, "x value": 1000.0, "size.class": "enormous", "sold on": "2031-06-30"}
    request = urllib.request.Request(
        f"{url}/predict", data=json.dumps({"records": record}).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (answer,) = json.loads(response.read())
    assert answer["id"] == "9999"
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        metrics = response.read().decode()
    for column, kind in (("x value", "above_range"), ("size.class", "unseen_category"), ("sold on", "after_period")):
        assert f'novel_values_total{{column="{column}",kind="{kind}"}} 1.0' in metrics, metrics
    log = clone.path.parent / "inference-log" / "production"
    deadline = time.monotonic() + 30
    while not any("2031-06-30" in file.read_text() for file in log.glob("*.jsonl")):
        assert time.monotonic() < deadline, f"the new request is not in {log} after 30 s"
        time.sleep(0.2)
    subprocess.run(["uv", "run", "--no-sync", "mlci", "drift", "--stage", "production"], cwd=clone.path, env=clone.env)
    report = (clone.path / "reports" / "drift.md").read_text()
    # the training half's period (the split keeps sellers whole, so its ends vary), then about 150 requests: the new
    # one, and any sale of the test half later than the training half's last
    sold = re.search(
        r"^\| sold on \| 202\d-\d\d-\d\d to 2023-\d\d-\d\d \| .* \| - \| - \| (\d+)% after the period \|", report, re.M
    )
    assert sold, report
    assert int(sold[1]) >= 1


def after_deployment(clone: Clone, table: Path, version: str, url: str) -> None:
    """Production's answers to the table's own rows (target, group and all: what the schema knows is accepted),
    each carrying its row's id, measured against outcomes; replayed; a table scored."""
    prices = pd.read_csv(table)
    answers = post_records(url, prices)
    assert [answer["id"] for answer in answers] == [str(row) for row in prices["row"]]
    predicted = [answer["prediction"] for answer in answers]
    outcomes = clone.path.parent / "outcomes"
    outcomes.mkdir()
    log = clone.path.parent / "inference-log" / "production"
    deadline = time.monotonic() + 30
    while sum(len(file.read_text().splitlines()) for file in log.glob("*.jsonl")) < len(prices):
        assert time.monotonic() < deadline, f"{log} holds fewer than {len(prices)} records after 30 s"
        time.sleep(0.2)
    for truths, code in ((prices["price"], 0), (prices["price"] + RNG.normal(0, 8, len(prices)), 1)):
        pd.DataFrame({"row": prices["row"], "price": truths}).to_csv(outcomes / "prices.csv", index=False)
        result = subprocess.run(
            ["uv", "run", "--no-sync", "mlci", "kpi"], cwd=clone.path, env=clone.env, capture_output=True, text=True
        )
        assert result.returncode == code, result.stdout + result.stderr
        figures = [round(figure, 4) for figure in value_metrics(truths.tolist(), predicted)]
        expected = "rmse {:g}; mae {:g}; r2 {:g}".format(*figures)
        assert f"{len(prices)} with outcomes: {expected}" in result.stdout, result.stdout
    assert "r2 loss vs its test set <= 0.1" in result.stderr  # the noisy outcomes miss the KPI
    replayed = mlci(clone, "shadow", version)
    assert f"{version} on " in replayed
    assert "100.0% agree, 0 refused by its contract" in replayed
    awkward = prices.drop(columns="price").astype(object)
    awkward.loc[5, "x value"] = "many"  # not "n/a", which a CSV reader takes for a missing value, as training does
    awkward.to_csv(clone.path.parent / "to-score.csv", index=False)
    mlci(clone, "score", str(clone.path.parent / "to-score.csv"), str(clone.path.parent / "scored.parquet"))
    scored = pd.read_parquet(clone.path.parent / "scored.parquet")
    refused = pd.read_csv(clone.path.parent / "scored.refused.csv")
    assert refused["_row"].tolist() == [6]  # the row's number in the table: `row` is the table's own id column
    assert refused["row"].tolist() == [6]
    assert refused["reason"].tolist() == ["x value: Input should be a valid number (got 'many')"]
    assert len(scored) == len(prices) - 1
    assert set(scored["model_version"]) == {version}
    kept = [prediction for index, prediction in enumerate(predicted) if index != 5]
    # production answered with the compiled model, scoring with the trained one: within the build's tolerance
    assert scored["prediction"].tolist() == pytest.approx(kept, rel=1e-5, abs=1e-5)


def commit_and_push_all(clone: Clone, message: str) -> None:
    run("git", "add", "--all", cwd=clone.path, env=clone.env)
    commit_and_push(clone.path, clone.env, message)
