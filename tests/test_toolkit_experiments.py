"""The rules of experiments, fast: the grid an override spans and its bound, the keys it may name, and the log's
filters and order; and DVC's record of experiments read as `dvc exp show --json` writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlci.core.errors import MlciError
from mlci.experiments.grid import MOST_EXPERIMENTS, Override, OverrideError, applied, check_keys, expand
from mlci.experiments.log import Row, condition, sorted_rows
from mlci.experiments.records import Experiment, record, setup_failure

PARAMS: dict[str, Any] = {
    "prepare": {"test_size": 0.25, "seed": 42},
    "train": {"n_estimators": 150, "max_depth": 8, "seed": 42},
}


def test_a_sweep_is_every_combination_once_in_the_order_given() -> None:
    overrides = [Override.parse("train.n_estimators=100,200,100"), Override.parse("train.max_depth=8,null")]
    assert expand(overrides) == [
        {"train.n_estimators": "100", "train.max_depth": "8"},
        {"train.n_estimators": "100", "train.max_depth": "null"},
        {"train.n_estimators": "200", "train.max_depth": "8"},
        {"train.n_estimators": "200", "train.max_depth": "null"},
    ]


def test_a_sweep_holds_at_most_the_bound() -> None:
    values = ",".join(str(n) for n in range(1, MOST_EXPERIMENTS // 2 + 1))
    assert len(expand([Override.parse(f"train.n_estimators={values}"), Override.parse("train.seed=1,2")])) == 64
    with pytest.raises(OverrideError, match=r"make 66 experiments, more than 64"):
        expand([Override.parse(f"train.n_estimators={values},999"), Override.parse("train.seed=1,2")])


def test_values_are_read_as_yaml_and_commas_in_brackets_or_quotes_stay_in_the_value() -> None:
    assert Override.parse("train.max_depth=[1, 2],'a,b',null").values == ("[1, 2]", "'a,b'", "null")
    changed = applied(PARAMS, {"train.max_depth": "null", "prepare.seed": "'7'"})
    assert changed["train"]["max_depth"] is None
    assert changed["prepare"]["seed"] == "7"  # quoted: text, as YAML reads it
    assert PARAMS["train"]["max_depth"] == 8  # the params themselves unchanged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train.n_estimators", "write KEY=VALUE"),
        ("=5", "write KEY=VALUE"),
        ("train.n_estimators=", "write KEY=VALUE"),
        ("train.n_estimators=5,,6", "an empty value"),
        ("other.yaml:train.seed=1", "only params.yaml"),
        ("train.seed=[1", "not a value YAML can read"),
    ],
)
def test_an_override_that_cannot_be_read_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(OverrideError, match=message):
        Override.parse(text)


def test_an_override_names_a_key_params_yaml_has_and_names_it_once() -> None:
    check_keys([Override.parse("params.yaml:train.n_estimators=5")], PARAMS)  # the file's name may be given
    with pytest.raises(OverrideError, match=r"train.n_estimator: params.yaml has no such key; did you mean train.n_e"):
        check_keys([Override.parse("train.n_estimator=5")], PARAMS)
    with pytest.raises(OverrideError, match=r"train: params.yaml has no such key"):  # a section is not a value
        check_keys([Override.parse("train=5")], PARAMS)
    with pytest.raises(OverrideError, match=r"train.seed: given twice"):
        check_keys([Override.parse("train.seed=1"), Override.parse("train.seed=2")], PARAMS)


def experiment(name: str, state: str = "success", **figures: Any) -> Experiment:
    metrics = {k: v for k, v in figures.items() if not k.startswith("p_")}
    params = {k.removeprefix("p_").replace("_", ".", 1): v for k, v in figures.items() if k.startswith("p_")}
    return Experiment(name, name, "base", state, params, metrics)


ROWS = [
    Row(experiment("a", accuracy=0.90, rmse=3.0, p_train_depth=8), "pass"),
    Row(experiment("b", accuracy=0.95, rmse=2.0, p_train_depth=16), "pass"),
    Row(experiment("c", state="failed", p_train_depth=4), "failed"),
    Row(experiment("d", accuracy=0.80, rmse=1.0, p_train_depth=2), "pass"),
]
COLUMNS = {"name", "state", "accuracy", "rmse", "train.depth"}


def names(rows: list[Row]) -> list[str]:
    return [row.experiment.name for row in rows]


def test_the_log_sorts_best_first_by_each_metrics_direction_and_unfinished_rows_last() -> None:
    directions = {"accuracy": "higher", "rmse": "lower"}
    assert names(sorted_rows(ROWS, "accuracy", directions, COLUMNS)) == ["b", "a", "d", "c"]
    assert names(sorted_rows(ROWS, "rmse", directions, COLUMNS)) == ["d", "b", "a", "c"]
    assert names(sorted_rows(ROWS, "train.depth", directions, COLUMNS)) == ["d", "c", "a", "b"]  # ascending
    assert names(sorted_rows(ROWS, None, directions, COLUMNS)) == ["a", "b", "c", "d"]  # DVC's order
    with pytest.raises(MlciError, match=r"--sort acuracy: no such column"):
        sorted_rows(ROWS, "acuracy", directions, COLUMNS)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("accuracy>=0.9", ["a", "b"]),
        ("accuracy>0.9", ["b"]),
        ("accuracy<=0.9", ["a", "d"]),
        ("accuracy<0.9", ["d"]),
        ("train.depth=8", ["a"]),
        ("train.depth==8", ["a"]),
        ("train.depth!=8", ["b", "c", "d"]),
        ("state=failed", ["c"]),
        ("name = b", ["b"]),
    ],
)
def test_the_log_keeps_the_rows_a_condition_holds_for_at_its_boundary(text: str, kept: list[str]) -> None:
    test = condition(text, COLUMNS)
    assert [row.experiment.name for row in ROWS if test(row.experiment)] == kept


def test_a_condition_on_an_unknown_column_or_in_another_form_is_refused() -> None:
    with pytest.raises(MlciError, match=r"no column 'acc'; the columns are accuracy, name"):
        condition("acc>1", COLUMNS)
    with pytest.raises(MlciError, match=r"write COLUMN OP VALUE"):
        condition("accuracy", COLUMNS)


def test_an_experiment_dvc_could_not_set_up_says_what_its_worker_said(tmp_path: Path) -> None:
    celery = tmp_path / ".dvc" / "tmp" / "exps" / "celery"
    celery.mkdir(parents=True)
    (celery / "dvc-exp-worker-1.out").write_text(
        "[...] Task run_exp[7c31] received\n[...] Task run_exp[7c31] raised unexpected: DuplicateError('line 14.')\n"
    )
    assert setup_failure(tmp_path) == "DVC could not set it up: DuplicateError('line 14.')"
    assert setup_failure(tmp_path / "elsewhere") == "its output is gone (the queue was cleared)"
    failed = record({"rev": "ab" * 20, "data": None}, "base", Path("m"), {"state": "failed"}, setup_failure(tmp_path))
    assert failed.reason == "DVC could not set it up: DuplicateError('line 14.')"


def test_a_record_of_dvc_is_read_with_its_params_metrics_model_and_state(tmp_path: Path) -> None:
    log = tmp_path / "task.out"
    log.write_text(
        "Queued\nRunning stage 'validate':\n\nFAIL penguins: 1 failed\n  - species: 'Emperor' (1x)\n"
        "ERROR: failed to reproduce 'validate'\nERROR: failed to reproduce 'validate'\n"  # DVC says it twice
    )
    revision = {
        "rev": "de766fa92b6e6f8b648c417667531939f87ba339",
        "name": "jural-cart",
        "data": {
            "params": {"params.yaml": {"data": {"train": {"n_estimators": 100, "max_depth": None}}}},
            "metrics": {"reports/metrics.json": {"data": {"accuracy": 0.97, "note": "text is no figure"}}},
            "outs": {"models/model.pkl": {"hash": "dd66068b2133010821316fa3b1e6cb71"}},
        },
        "error": None,
    }
    done = record(revision, "base", Path("models/model.pkl"), {"state": "success", "local": {"log": str(log)}})
    assert done.params == {"train.n_estimators": 100, "train.max_depth": None}
    assert done.metrics == {"accuracy": 0.97}
    assert (done.model_md5, done.state, done.reason) == ("dd66068b2133010821316fa3b1e6cb71", "success", "")
    failed = record({**revision, "data": None, "error": {"msg": "Experiment run failed"}}, "base", Path("m"), None)
    assert (failed.state, failed.metrics) == ("failed", {})
    executor = {"state": "failed", "local": {"log": str(log)}}
    reason = record({**revision, "data": None}, "base", Path("m"), executor).reason
    assert reason == (  # the stage's last four lines, then DVC's, once
        "Queued / Running stage 'validate': / FAIL penguins: 1 failed / - species: 'Emperor' (1x) / "
        "ERROR: failed to reproduce 'validate'"
    )
