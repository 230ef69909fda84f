"""`mlci score` and `mlci shadow` around a build's answers: chunks, side files, whole files, agreement.

A toy stands in for a build's table scorer (`mlci_serving.batch.TableScorer`) here (a number `x` between 0 and 10
is required; the answer is `big` above 5): these tests are of the toolkit's reading, writing and comparing. The
runtime's own scorer is tested in `serving/tests`, and run in a real build by the slow tests.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlci.build.loaded import LoadedBuild
from mlci.cli import main
from mlci.core.config import Config
from mlci.core.project import Project
from mlci.core.repository import Repository
from mlci.monitoring.log import NothingToJudgeError
from mlci.monitoring.shadow import agreeing, replay
from mlci.scoring import local as scoring
from mlci.scoring import partition
from test_toolkit_config import VALID


def toy_scorer(classes: list[str]) -> types.SimpleNamespace:

    def answer_columns(classes: list[str]) -> list[str]:
        return ["prediction", *(f"probability_{label}" for label in classes), "model_version"]

    def judged(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        values = pd.to_numeric(table["x"], errors="coerce")
        refused = {i: "x: out of range" for i, value in enumerate(values) if np.isnan(value) or not 0 <= value <= 10}
        kept = [i for i in range(len(table)) if i not in refused]
        return pd.DataFrame({"x": values.iloc[kept]}), refused

    def predictions(model: Any, inputs: pd.DataFrame, version: str) -> pd.DataFrame:
        big = (inputs["x"] > 5).to_numpy()
        if not classes:
            return pd.DataFrame({"prediction": inputs["x"].to_numpy() * 2.0, "model_version": version})
        return pd.DataFrame(
            {
                "prediction": np.where(big, "big", "small"),
                "probability_big": big.astype(float),
                "probability_small": 1 - big.astype(float),
                "model_version": version,
            }
        )

    return types.SimpleNamespace(
        schema=types.SimpleNamespace(identifier="name"),
        required_columns=["x"],
        answer_columns=answer_columns,
        classes_of=lambda model: classes,
        judged=judged,
        predictions=predictions,
    )


CLASSES = ["big", "small"]


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mlci.toml").write_text(VALID)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    monkeypatch.chdir(tmp_path)
    build = LoadedBuild("v1.0.0", object(), toy_scorer(CLASSES))
    monkeypatch.setattr(scoring, "version_for", lambda repository, version, stage: version or "v1.0.0")
    monkeypatch.setattr(scoring, "stored_build", lambda repository, version: build)
    return tmp_path


def table(path: Path, values: list[object]) -> Path:
    pd.DataFrame({"name": [f"n{i}" for i in range(len(values))], "x": values}).to_csv(path, index=False)
    return path


def test_a_table_larger_than_a_chunk_is_scored_whole_and_refused_rows_named(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values: list[object] = [float(i % 11) for i in range(250)]
    values[7], values[130], values[249] = "seven", 11, ""  # not a number, out of range, missing
    table(repository / "in.csv", values)
    assert main(["score", "in.csv", "out/scored.csv", "--chunk-rows", "100"]) == 0
    said = capsys.readouterr()
    assert said.err.count("rows scored") == 3  # progress after each of three chunks
    assert "out/scored.csv: 247 rows scored by v1.0.0" in said.out
    scored = pd.read_csv(repository / "out" / "scored.csv", dtype={"x": str})
    assert len(scored) == 247
    answers = ["prediction", "probability_big", "probability_small", "model_version", "scored_at"]
    assert list(scored.columns) == ["row", "name", "x", *answers]
    assert set(scored["model_version"]) == {"v1.0.0"}
    assert scored["row"].tolist() == [row for row in range(1, 251) if row not in (8, 131, 250)]
    assert scored["scored_at"].nunique() == 1  # the moment the run began
    assert (scored["prediction"] == np.where(scored["x"].astype(float) > 5, "big", "small")).all()
    refused = pd.read_csv(repository / "out" / "scored.refused.csv", dtype=str, keep_default_na=False)
    assert refused["row"].tolist() == ["8", "131", "250"]  # the rows' numbers in the table, header not counted
    assert refused["name"].tolist() == ["n7", "n130", "n249"]
    assert refused["x"].tolist() == ["seven", "11", ""]
    assert set(refused["reason"]) == {"x: out of range"}


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        ("x", ["name", "x"]),  # the identifier, the record's id, is always kept
        ("none", ["name"]),
        ("x,name", ["name", "x"]),  # in the table's order
        ("all", ["name", "x", "note"]),
    ],
)
def test_the_scores_keep_the_columns_asked_for_and_the_side_file_every_one(
    repository: Path, keep: str, kept: list[str]
) -> None:
    frame = pd.DataFrame({"name": ["a", "b"], "x": [1.0, 99.0], "note": ["n", "m"]})
    frame.to_csv(repository / "in.csv", index=False)
    assert main(["score", "in.csv", "out.csv", "--keep", keep]) == 0
    scored = pd.read_csv(repository / "out.csv")
    assert list(scored.columns) == [
        "row",
        *kept,
        "prediction",
        "probability_big",
        "probability_small",
        "model_version",
        "scored_at",
    ]
    assert list(pd.read_csv(repository / "out.refused.csv").columns) == ["row", "name", "x", "note", "reason"]


def test_the_side_files_own_columns_never_hide_the_tables(repository: Path) -> None:
    pd.DataFrame({"row": [10, 11], "reason": ["a", "b"], "x": [1.0, 99.0]}).to_csv(repository / "in.csv", index=False)
    assert main(["score", "in.csv", "out.csv"]) == 0
    refused = pd.read_csv(repository / "out.refused.csv")
    assert list(refused.columns) == ["_row", "row", "reason", "x", "_reason"]
    assert refused.iloc[0].tolist() == [2, 11, "b", 99.0, "x: out of range"]


def test_parquet_in_and_out_keep_the_columns_and_rows(repository: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 9.0, 3.0], "note": [None, None, "c"]})
    frame.to_parquet(repository / "in.parquet")
    assert main(["score", "in.parquet", "scored.parquet", "--chunk-rows", "1"]) == 0
    scored = pd.read_parquet(repository / "scored.parquet")
    assert scored["prediction"].tolist() == ["small", "big", "small"]
    assert scored["note"].isna().tolist() == [True, True, False]  # empty in the first chunks, text in the last
    assert scored["note"].iloc[2] == "c"
    refused = pd.read_csv(repository / "scored.refused.csv")
    assert refused.empty
    assert list(refused.columns) == ["row", "x", "note", "reason"]


@pytest.mark.parametrize("listed", [False, True], ids=["written by Arrow", "a list column: written by pandas"])
def test_parquet_scored_into_csv_reads_back_with_awkward_names_and_values(repository: Path, listed: bool) -> None:
    frame = pd.DataFrame({"x": [1.0, 9.0, 99.0], 'a, "quoted" name': ["p,q", 'say "hi"', None]})
    if listed:
        frame["tags"] = [[1, 2], [], [3]]
    frame.to_parquet(repository / "in.parquet")
    assert main(["score", "in.parquet", "scored.csv", "--chunk-rows", "2"]) == 0
    scored = pd.read_csv(repository / "scored.csv")
    assert list(scored.columns[:3]) == ["row", "x", 'a, "quoted" name']
    assert scored["row"].tolist() == [1, 2]
    assert scored['a, "quoted" name'].tolist() == ["p,q", 'say "hi"']
    assert scored["prediction"].tolist() == ["small", "big"]
    refused = pd.read_csv(repository / "scored.refused.csv")
    assert refused["row"].tolist() == [3]
    assert refused['a, "quoted" name'].isna().all()
    if listed:
        assert scored["tags"].tolist() == ["[1 2]", "[]"]


def test_an_interrupted_run_leaves_the_previous_output_as_it_was(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table(repository / "in.csv", [1.0] * 30)
    (repository / "scored.csv").write_text("the previous scores\n")
    chunked = 0

    def failing(judged: partition.JudgedPart, *args: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        nonlocal chunked
        chunked += 1
        if chunked == 2:
            raise KeyboardInterrupt
        return original(judged, *args)

    original = partition.answered_part
    monkeypatch.setattr(scoring, "answered_part", failing)
    assert main(["score", "in.csv", "scored.csv", "--chunk-rows", "10", "--overwrite"]) == 130
    assert (repository / "scored.csv").read_text() == "the previous scores\n"
    assert not (repository / "scored.refused.csv").exists()
    assert sorted(path.name for path in repository.iterdir()) == sorted(
        ["mlci.toml", "pyproject.toml", "dvc.yaml", "in.csv", "scored.csv"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["in.txt", "out.csv"], "in.txt: name a .csv or .parquet file"),
        (["in.csv", "out.json"], "out.json: name a .csv or .parquet file"),
        (["in.csv", "in.csv"], "the output would overwrite the table scored"),
        (["missing.csv", "out.csv"], "missing.csv: no such table"),
        (["in.csv", "out.csv", "--chunk-rows", "0"], "--chunk-rows 0: give a number of rows of 1 or more"),
        (["wrong.csv", "out.csv"], "wrong.csv: no column 'x', which v1.0.0 needs (the table has: 'y')"),
        (["clash.csv", "out.csv"], "already has column(s) 'prediction', which scoring adds"),
        (["stamped.csv", "out.csv"], "already has column(s) 'scored_at', which scoring adds"),
        (["in.csv", "out.csv", "--keep", "x,nmae"], "--keep: in.csv has no column 'nmae' (it has: 'name', 'x')"),
        (["in.csv", "out.csv", "--keep", " , "], "--keep ' , ': name columns separated by commas"),
        (["in.csv", "there.csv"], "there.refused.csv: already there, from an earlier run: add --overwrite"),
        (["in.csv", "out.csv", "--master", "local[2]"], "--master local[2]: a Spark master, for --engine spark only"),
    ],
)
def test_a_table_that_cannot_be_scored_is_refused_and_nothing_written(
    repository: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    table(repository / "in.csv", [1.0])
    (repository / "in.txt").write_text("x\n1\n")
    (repository / "wrong.csv").write_text("y\n1\n")
    (repository / "clash.csv").write_text("x,prediction\n1,a\n")
    (repository / "stamped.csv").write_text("x,scored_at\n1,a\n")
    (repository / "there.refused.csv").write_text("an earlier run's refusals\n")
    assert main(["score", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (repository / "out.csv").exists()
    assert not (repository / "out.refused.csv").exists()


@pytest.mark.parametrize(
    ("served", "challenger", "agree"),
    [
        (10.0, 11.0, True),  # exactly the tolerance (10%) away
        (10.0, 11.0001, False),
        (-10.0, -9.0, True),
        (0.0, 0.0, True),
        (0.0, 1e-9, False),
    ],
)
def test_a_number_agrees_within_the_tolerance_of_the_answer_given(
    served: float, challenger: float, agree: bool
) -> None:
    assert agreeing(pd.Series([served]), pd.Series([challenger]), True, 0.1).tolist() == [agree]


def test_classes_agree_when_they_are_the_same(repository: Path) -> None:
    assert agreeing(pd.Series(["1", "b"]), pd.Series([1, "c"]), False, 0.1).tolist() == [True, False]


def test_a_replay_compares_the_same_requests_and_counts_refusals(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repository / "mlci.toml").write_text(VALID + '\n[kpi]\noutcomes = "outcomes.csv"\nmin_outcomes = 3\n')
    monkeypatch.setattr(Project, "outcome_columns", lambda self: ("id", "label"))
    accuracy = lambda actual, predicted: {"accuracy": float((actual == predicted).mean())}  # noqa: E731
    monkeypatch.setattr(Project, "outcome_scorer", lambda self: accuracy)
    entries = pd.DataFrame(
        {
            "version": ["v1"] * 5 + ["v0"],
            "id": ["a", "b", "c", "d", None, "z"],
            "inputs": [{"x": 9.0}, {"x": 1.0}, {"x": 9.0}, {"x": 42.0}, {"x": 2.0}, {"x": 9.0}],
            "prediction": ["big", "big", "big", "big", "small", "small"],  # v1 answered b wrongly
        }
    )
    pd.DataFrame({"id": ["a", "b", "c", "d", "z"], "label": ["big", "small", "small", "big", "big"]}).to_csv(
        repository / "outcomes.csv", index=False
    )
    config = Config.model_validate(
        {
            "store": {"url": "s"},
            "deploy": {"staging": {"port": 1}, "production": {"port": 2}},
            "kpi": {"outcomes": "outcomes.csv", "min_outcomes": 3},
        }
    )
    house = Repository(config, Project(repository, "toy", "toy", Path("m"), [], {}))
    found = replay(house, entries, "production", "v1", LoadedBuild("v2", object(), toy_scorer(CLASSES)))
    assert (found.requests, found.refused) == (5, 1)  # x = 42 breaks the challenger's contract
    assert (found.agreed, found.agreement) == (3, 0.75)  # b differs; the unlogged-id request agrees
    assert found.outcomes == 3  # a, b and c: d was refused, the last has no id, z was v0's
    assert found.served_metrics == {"accuracy": pytest.approx(1 / 3)}
    assert found.challenger_metrics == {"accuracy": pytest.approx(2 / 3)}
    with pytest.raises(NothingToJudgeError, match="no request answered by v3"):
        replay(house, entries, "production", "v3", LoadedBuild("v2", object(), toy_scorer(CLASSES)))
