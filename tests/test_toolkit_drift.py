"""`mlci drift` on logs and reference data made here: exit codes, named features, the report."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run
from mlci.cli import main
from test_toolkit_config import VALID

RNG = np.random.default_rng(1)
ROWS = 400


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The least a repository needs for `mlci drift`: config, project files, a git repository, training data."""
    (tmp_path / "mlci.toml").write_text(VALID)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    run("git", "init", "--quiet", cwd=tmp_path)
    training = pd.DataFrame(
        {
            "flipper": RNG.normal(200, 14, ROWS).round(1),
            "island": RNG.choice(["Biscoe", "Dream", "Torgersen"], ROWS),
            "species": "Adelie",
        }
    )
    training.to_csv(tmp_path / "train.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_log(
    path: Path, frame: pd.DataFrame, version: str = "v0.0.1", timestamp: str = "2026-11-23T12:00:00Z"
) -> Path:
    lines = [
        json.dumps({"timestamp": timestamp, "model_version": version, "inputs": row, "prediction": "Adelie"})
        for row in frame.to_dict(orient="records")
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def live(shift: float = 0.0, island: str | None = None) -> pd.DataFrame:
    frame = pd.read_csv("train.csv").drop(columns="species").sample(frac=1, random_state=2)
    frame["flipper"] = frame["flipper"] + shift * frame["flipper"].std()
    if island:
        frame.loc[frame.index[:40], "island"] = island
    return frame


def drift(*args: str) -> int:
    return main(["drift", "--reference", "train.csv", *args])


def test_logs_like_the_training_data_pass(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift("--log", str(write_log(repository / "log.jsonl", live()))) == 0
    out = capsys.readouterr().out
    assert f"v0.0.1: {ROWS} logged requests judged: no drift\n" in out  # which version, on how many requests
    assert "no drift past the thresholds" in out
    assert "**no drift**" in (repository / "reports" / "drift.md").read_text()


def test_a_shift_of_two_deviations_and_a_new_category_name_exactly_those_features(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = repository / "logs"
    logs.mkdir()
    write_log(logs / "part-1.jsonl", live(shift=2)[:200])
    write_log(logs / "part-2.jsonl", live(shift=2)[200:])
    assert drift("--log", str(logs)) == 1
    printed = capsys.readouterr()
    assert f"v0.0.1: {ROWS} logged requests judged: drift in flipper\n" in printed.out
    assert printed.err.strip().endswith("drift past the thresholds in v0.0.1: flipper")
    assert drift("--log", str(write_log(repository / "island.jsonl", live(island="Atlantis")))) == 1
    assert capsys.readouterr().err.strip().endswith("drift past the thresholds in v0.0.1: island")
    report = (repository / "reports" / "drift.md").read_text()
    assert re.search(r"^\| island \|.*\| Atlantis \| 10% unseen \| drifted \|$", report, re.MULTILINE), report
    assert not re.search(r"^\| flipper \|.*\| drifted \|$", report, re.MULTILINE), report


def test_column_names_that_are_not_python_names_are_judged_and_named(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {"flipper": 'flipper length (mm) "raw"', "island": "island.name"}
    logged = live(shift=2).rename(columns=names)
    pd.read_csv("train.csv").rename(columns=names).to_csv("train.csv", index=False)
    assert drift("--log", str(write_log(repository / "log.jsonl", logged))) == 1
    assert 'drift past the thresholds in v0.0.1: flipper length (mm) "raw"' in capsys.readouterr().err
    assert "| island.name |" in (repository / "reports" / "drift.md").read_text()


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 3, "no inference log there"),
        ("", 3, "the inference log is empty"),
        ("not json\n", 2, "none of the log's 1 line(s) is a record ("),
    ],
)
def test_a_missing_empty_or_broken_log_has_its_own_exit_code(
    repository: Path, capsys: pytest.CaptureFixture[str], content: str | None, code: int, message: str
) -> None:
    if content is not None:
        (repository / "log.jsonl").write_text(content)
    assert drift("--log", "log.jsonl") == code
    assert message in capsys.readouterr().err


def test_lines_that_are_not_records_are_counted_named_and_left_out(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line cut short by a crash, one of another shape: the rest of the stage's log is judged, never quiet."""
    log = write_log(repository / "log.jsonl", live())
    lines = log.read_text().splitlines()
    lines.insert(3, lines[3][: len(lines[3]) // 2])  # cut short
    lines.insert(
        10, '{"timestamp": "2026-01-01T00:00:00+00:00", "model_version": "v0.0.1", "inputs": [1], "prediction": 1}'
    )
    log.write_text("\n".join(lines) + "\n")
    assert drift("--log", str(log)) in (0, 1)  # judged
    said = capsys.readouterr().err
    assert "2 line(s) of the log are not records and were left out: " in said
    assert "log.jsonl:4: not JSON" in said
    assert "log.jsonl:11: timestamp and model_version must be text, inputs an object" in said
    assert "**Warning**: 2 line(s) of the log are not records" in (repository / "reports" / "drift.md").read_text()


def test_too_few_requests_are_not_judged(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift("--log", str(write_log(repository / "log.jsonl", live()[:20]))) == 3
    assert "20 logged requests, fewer than [drift] min_samples = 100" in capsys.readouterr().err


def test_a_version_the_registry_does_not_know_has_its_own_exit_code(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log(repository / "log.jsonl", live(), version="v9.9.9")
    assert main(["drift", "--log", "log.jsonl"]) == 4
    assert "served by 'v9.9.9', which the registry does not know" in capsys.readouterr().err


def test_a_window_keeps_only_the_requests_since_then(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write_log(repository / "old.jsonl", live(shift=2))  # logged on 2026-11-23 at noon
    assert drift("--log", str(old), "--since", "1h") == 3
    assert "the inference log is empty since" in capsys.readouterr().err
    (repository / "logs").mkdir()
    old.rename(repository / "logs" / "old.jsonl")
    write_log(repository / "logs" / "new.jsonl", live(), timestamp=datetime.now(UTC).isoformat())
    assert drift("--log", "logs", "--since", "1h") == 0  # the shifted old window is left out
    assert drift("--log", "logs") == 1  # and counts without a window


@pytest.mark.parametrize("age", ["7w", "d", "-1d", "soon"])
def test_an_age_that_is_not_one_is_a_usage_error(repository: Path, age: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        drift("--log", "log.jsonl", "--since", age)
    assert stopped.value.code == 2


def test_the_stage_log_comes_from_the_config(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift"]) == 2
    assert "no inference log to judge: pass --log URL, or set [monitoring] log" in capsys.readouterr().err
    config = repository / "mlci.toml"
    config.write_text(config.read_text() + '\n[monitoring]\nlog = "inference-log"\n')
    (repository / "inference-log" / "staging").mkdir(parents=True)
    write_log(repository / "inference-log" / "staging" / "part.jsonl", live())
    assert drift("--stage", "staging") == 0
    assert drift() == 3  # production, the last stage, has logged nothing
    assert f"{repository / 'inference-log' / 'production'}: no inference log there" in capsys.readouterr().err
    assert main(["drift", "--stage", "canary"]) == 2


def test_a_version_with_too_few_requests_is_set_aside_when_another_can_be_judged(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = repository / "logs"
    logs.mkdir()
    write_log(logs / "current.jsonl", live())
    write_log(logs / "smoke-test-of-an-earlier-deploy.jsonl", live()[:3], version="v0.0.0")
    assert drift("--log", str(logs)) == 0
    assert "v0.0.0: 3 logged requests, too few to judge; left out" in capsys.readouterr().out
    assert "Too few requests to judge (under 100): v0.0.0 (3)." in (repository / "reports" / "drift.md").read_text()


def test_the_report_says_per_version_what_drifted_with_every_figure(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = repository / "logs"
    log.mkdir()
    write_log(log / "old.jsonl", live().head(50), version="v0.0.1")  # under min_samples: set aside, named
    write_log(log / "new.jsonl", live(shift=2, island="Atlantis"), version="v0.0.2")
    assert main(["drift", "--reference", "train.csv", "--log", str(log), "--output", "out"]) == 1
    assert "v0.0.1: 50 logged requests, too few to judge; left out" in capsys.readouterr().out
    report = (repository / "out" / "drift.md").read_text()
    lines = report.splitlines()
    assert lines[0] == "## Drift of toy: logged inputs against the training data"
    assert "Too few requests to judge (under 100): v0.0.1 (50)." in lines
    assert "### v0.0.2: 400 logged requests" in lines
    assert "**drifted**: flipper, island (PSI above 0.2, or a category unseen in training)." in lines
    assert "| feature | training | logged | PSI | new categories | new values |  |" in lines
    flipper = next(line for line in lines if line.startswith("| flipper |"))
    cells = [cell.strip() for cell in flipper.strip("|").split("|")]
    (old_mean, old_sd), (new_mean, new_sd) = (re.findall(r"[\d.]+", cell) for cell in cells[1:3])
    assert cells[1] == f"mean {old_mean}, sd {old_sd}"
    assert 190 < float(old_mean) < 210  # the training data's
    assert float(new_mean) - float(old_mean) == pytest.approx(2 * float(old_sd), rel=0.01)  # two deviations up
    assert new_sd == old_sd  # a shift, not a spread
    assert float(cells[3]) > 0.2
    assert cells[4] == "-"
    assert cells[5].endswith("% past the range")  # shifted up by two deviations: some past the training maximum
    assert cells[6] == "drifted"
    island = next(line for line in lines if line.startswith("| island |"))
    assert re.search(r"\| Atlantis \| \d+% unseen \| drifted \|$", island), island
    assert "Predictions in the window:" in lines
    assert "| Adelie | 100.0% |" in lines
    assert (repository / "out" / "drift.html").read_text().startswith("<!DOCTYPE html>")


def verdict(repository: Path) -> dict[str, str]:
    found: dict[str, str] = json.loads((repository / "reports" / "drift.json").read_text())
    return found


def test_each_check_leaves_its_verdict_for_machines_beside_the_report(repository: Path) -> None:
    assert drift("--log", str(write_log(repository / "log.jsonl", live()))) == 0
    assert verdict(repository) == {"verdict": "no drift", "detail": "every feature within the thresholds"}
    assert drift("--log", str(write_log(repository / "log.jsonl", live(shift=2)))) == 1
    assert verdict(repository) == {"verdict": "drift", "detail": "v0.0.1: flipper"}
    assert drift("--log", str(write_log(repository / "log.jsonl", live()[:20]))) == 3
    judged = verdict(repository)
    assert judged["verdict"] == "nothing to judge"
    assert "fewer than [drift] min_samples = 100" in judged["detail"]
    write_log(repository / "log.jsonl", live(), version="v9.9.9")
    assert main(["drift", "--log", "log.jsonl"]) == 4
    assert not (repository / "reports" / "drift.json").exists()  # an error leaves no verdict, not the last one
