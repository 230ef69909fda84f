"""Adoption's decisions as a careful data scientist makes them, each at its boundary: dates, identifiers against
measurements, recodings, counters, groups, leakage, the user's word over all of them, and what adoption says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlci.core.settings import Gates
from mlci.data.adopt import Adopted, describe, edited_config
from mlci.data.profiling import ROW_NUMBER, UNIQUE_IDENTIFIER, AdoptError, ColumnProfile
from mlci.data.roles import LEAKAGE, Overrides, profile
from mlci.promotion.gates import SUSPICIOUS, committed_checks, require, suspicion_checks

RNG = np.random.default_rng(11)
ROWS = 200


def adopted(
    tmp_path: Path, frame: pd.DataFrame, target: str = "label", overrides: Overrides | None = None
) -> dict[str, ColumnProfile]:
    """Each column's profile, by name, as adoption decides it."""
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    found = profile(path, target, None, 0.25, overrides)
    return {column.name: column for column in found.columns}


def base(rows: int = ROWS) -> pd.DataFrame:
    """A learnable but noisy target: no feature alone determines it."""
    x = RNG.normal(0, 1, rows)
    label = np.where(x + RNG.normal(0, 1, rows) > 0, "yes", "no")
    return pd.DataFrame({"x": x.round(3), "noise": RNG.normal(0, 1, rows).round(3), "label": label})


def test_iso_dates_and_timestamps_are_dates_with_their_period(tmp_path: Path) -> None:
    frame = base()
    frame["day"] = pd.date_range("2021-03-01", periods=ROWS, freq="D").strftime("%Y-%m-%d")
    frame["stamp"] = pd.date_range("2021-03-01T06:00Z", periods=ROWS, freq="h").strftime("%Y-%m-%dT%H:%M:%S+00:00")
    columns = adopted(tmp_path, frame)
    day, stamp = columns["day"], columns["stamp"]
    assert (day.kind, day.role, day.earliest, day.latest) == ("date", "feature", "2021-03-01", "2021-09-16")
    assert (stamp.kind, stamp.role) == ("date", "feature")


def test_one_value_that_is_no_date_makes_the_column_no_date(tmp_path: Path) -> None:
    frame = base()
    days = list(pd.date_range("2021-03-01", periods=ROWS, freq="D").strftime("%Y-%m-%d"))
    days[5] = "2021-02-30"  # no such day
    frame["day"] = days
    assert adopted(tmp_path, frame)["day"].kind != "date"


def test_a_measurement_different_in_every_row_is_a_feature_and_a_row_number_is_not(tmp_path: Path) -> None:
    frame = base()
    frame["population"] = RNG.choice(np.arange(10_000, 10_000_000), ROWS, replace=False)
    frame["row"] = np.arange(1, ROWS + 1)
    columns = adopted(tmp_path, frame)
    assert (columns["population"].role, columns["population"].kind) == ("feature", "numeric")
    assert columns["row"].reason == ROW_NUMBER
    assert columns["row"].role == "id"


def test_a_gap_in_the_numbers_makes_them_a_measurement(tmp_path: Path) -> None:
    frame = base()
    frame["row"] = [*range(1, ROWS), ROWS + 1]  # one number skipped
    assert adopted(tmp_path, frame)["row"].role == "feature"


def test_the_records_id_is_the_one_named_like_an_id(tmp_path: Path) -> None:
    frame = base()
    frame["row"] = np.arange(ROWS)
    frame["sample id"] = [f"s{index}" for index in RNG.permutation(ROWS)]
    columns = adopted(tmp_path, frame)
    assert columns["sample id"].role == "id"
    assert columns["sample id"].reason == UNIQUE_IDENTIFIER
    assert columns["row"].role == "metadata"


def test_a_code_that_recodes_a_name_one_to_one_is_set_aside_and_a_near_one_is_kept(tmp_path: Path) -> None:
    frame = base()
    countries = RNG.choice(["Norway", "Chile", "Kenya", "Japan"], ROWS)
    frame["country"] = countries
    frame["country code"] = pd.Series(countries).map({"Norway": 578, "Chile": 152, "Kenya": 404, "Japan": 392})
    columns = adopted(tmp_path, frame)
    assert columns["country"].role == "feature"
    assert (
        columns["country code"].reason == "a recoding of 'country': one value of it for each of that column's, and back"
    )
    frame.loc[0, "country code"] = 999  # one row says otherwise: not a recoding
    assert adopted(tmp_path, frame)["country code"].role == "feature"


def test_a_counter_in_the_files_order_is_set_aside(tmp_path: Path) -> None:
    frame = base()
    frame["visit"] = [index % 7 + 1 for index in range(ROWS)]  # 1..7, again and again
    assert adopted(tmp_path, frame)["visit"].reason == "a counter: it counts the rows up by one, starting again"


def test_a_counter_of_rows_within_each_class_is_set_aside(tmp_path: Path) -> None:
    frame = base()
    frame["number in class"] = frame.groupby("label").cumcount() + 1
    frame = frame.sample(frac=1, random_state=0).reset_index(drop=True)  # not in the file's order: within classes
    columns = adopted(tmp_path, frame)
    assert columns["number in class"].reason == "a counter: it numbers the rows within each 'label'"
    last = int(np.argmax(frame["number in class"].to_numpy()))
    frame.loc[frame.index[last], "number in class"] += 1  # a gap before the last of one class: no longer a count
    assert adopted(tmp_path, frame)["number in class"].role == "feature"


def test_an_id_repeated_over_a_groups_rows_names_the_group(tmp_path: Path) -> None:
    frame = base()
    frame["person id"] = [f"p{index // 3}" for index in range(ROWS)]  # 67 people, three rows each
    columns = adopted(tmp_path, frame)
    assert columns["person id"].role == "group"
    assert "kept on one side of the split" in columns["person id"].reason
    frame["person id"] = [f"p{index % 40}" for index in range(ROWS)]  # 40 people: a category, by count
    assert adopted(tmp_path, frame)["person id"].role == "feature"


def test_a_feature_that_alone_determines_the_target_is_set_aside_as_leakage(tmp_path: Path) -> None:
    frame = base()
    frame["answered yes"] = np.where(frame["label"] == "yes", RNG.uniform(1, 5, ROWS), RNG.uniform(-5, -1, ROWS))
    columns = adopted(tmp_path, frame)
    leak = columns["answered yes"]
    assert leak.role == "metadata"
    assert leak.reason.startswith("leakage: alone it predicts 'label' (accuracy 1.000 on held-out rows)")
    assert "`--feature answered yes` keeps it" in leak.reason
    assert columns["x"].role == "feature"  # a strong feature, not a leak


@pytest.mark.parametrize(("wrong", "leaks"), [(0, True), (1, True), (30, False)])
def test_leakage_is_a_share_of_rows_at_the_bar(tmp_path: Path, wrong: int, leaks: bool) -> None:
    """A feature right on all rows, on all but one (above 0.99), on 85% (below): only the first two leak."""
    frame = base()
    flag = np.array(frame["label"] == "yes", dtype=int)
    flag[RNG.choice(ROWS, wrong, replace=False)] ^= 1
    frame["flag"] = np.where(flag == 1, "on", "off")
    assert (adopted(tmp_path, frame)["flag"].role == "metadata") is leaks
    assert LEAKAGE == 0.99


def test_a_regression_target_one_feature_computes_is_leakage(tmp_path: Path) -> None:
    x = RNG.uniform(0, 100, ROWS)
    frame = pd.DataFrame(
        {"x": x.round(2), "with tax": (x * 1.2).round(2), "price": (x + RNG.normal(0, 30, ROWS)).round(2)}
    )
    frame["price with tax"] = (frame["price"] * 1.2).round(2)
    columns = adopted(tmp_path, frame.drop(columns="with tax"), target="price")
    assert columns["price with tax"].reason.startswith("leakage: alone it predicts 'price' (R² 0.99")
    assert columns["x"].role == "feature"


def test_the_users_word_wins_over_every_inference(tmp_path: Path) -> None:
    frame = base()
    frame["answered yes"] = np.where(frame["label"] == "yes", 1.0, -1.0)
    frame["person"] = [f"p{index // 2}" for index in range(ROWS)]
    columns = adopted(tmp_path, frame, overrides=Overrides(feature=("answered yes",), group="person", drop=("noise",)))
    assert columns["answered yes"].role == "feature"
    assert columns["answered yes"].reason.startswith(
        "a feature by --feature (adoption would have set it aside: leakage"
    )
    assert (columns["person"].role, columns["noise"].role) == ("group", "metadata")
    assert columns["noise"].reason == "set aside by --drop"
    frame["key"] = [f"k{index}" for index in range(ROWS)]
    assert adopted(tmp_path, frame, overrides=Overrides(id="key"))["key"].role == "id"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (Overrides(drop=("nosie",)), "--drop nosie: the table has no such column; did you mean 'noise'?"),
        (Overrides(feature=("label",)), "--feature label: that is the target"),
        (Overrides(drop=("x",), feature=("x",)), "x: named by --drop and by --feature: give each column one role"),
        (Overrides(id="x"), "--id x: an id names one row each, but 0 values are missing and"),
        (Overrides(feature=("constant",)), "--feature constant: it cannot be a feature: a single value"),
    ],
)
def test_words_that_cannot_be_followed_are_refused_naming_why(
    tmp_path: Path, overrides: Overrides, message: str
) -> None:
    frame = base()
    frame["x"] = frame["x"].round(0)  # repeats: no id
    frame["constant"] = 1
    with pytest.raises(AdoptError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        adopted(tmp_path, frame, overrides=overrides)


def test_adoption_says_every_decision_in_one_table(tmp_path: Path) -> None:
    frame = base()
    frame["row"] = np.arange(ROWS)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    said = describe(Adopted(profile(path, "label", None, 0.25), "data/table.csv", []))
    lines = said.splitlines()
    assert lines[2].split() == ["column", "kind", "role", "why"]
    assert next(line for line in lines if line.startswith("'row'")).split()[1:3] == ["text", "id"]
    assert ROW_NUMBER in said


@pytest.mark.parametrize(
    ("metric", "direction", "value", "flagged"),
    [
        ("accuracy", "higher", 1.0, True),
        ("accuracy", "higher", SUSPICIOUS, True),
        ("accuracy", "higher", SUSPICIOUS - 0.001, False),
        ("loss_count", "higher", 1500.0, False),  # not a 0-to-1 score
        ("rmse", "lower", 0.0, True),
        ("rmse", "lower", 0.01, False),
        ("baseline_accuracy", "higher", 1.0, False),  # the dummy's figure is never flagged
    ],
)
def test_a_score_too_good_to_be_true_is_flagged_but_never_blocks(
    metric: str, direction: str, value: float, flagged: bool
) -> None:
    checks = suspicion_checks({metric: value}, {metric: direction})
    assert bool(checks) is flagged
    assert all(check.passed and check.result == "WARN" for check in checks)
    metrics = {metric: value, f"baseline_{metric}": 0.5}
    gates = Gates(beat_baseline={metric: 0.0}) if not metric.startswith("baseline_") else Gates()
    require(metrics, committed_checks(metrics, gates, {metric: direction}), "v1")  # a warning judges nothing


def test_readopting_a_table_of_the_same_task_keeps_the_repositorys_own_metrics_and_gates() -> None:
    config = """[metrics]
accuracy = "higher"
baseline_accuracy = "higher"
f1_macro = "higher"
baseline_f1_macro = "higher"
roc_auc_ovr = "higher"
baseline_roc_auc_ovr = "higher"
log_loss = "lower"  # ours

[gates]
beat_baseline = {f1_macro = 0.1}
"""
    same = edited_config(config, "classification", "data/new.csv", "data/old.csv")
    assert 'log_loss = "lower"  # ours' in same
    assert "beat_baseline = {f1_macro = 0.1}" in same
    other = edited_config(config, "regression", "data/new.csv", "data/old.csv")
    assert 'log_loss = "lower"' in other  # the repository's own metric stays
    assert "accuracy" not in other.split("[gates]")[0]
    assert 'r2 = "higher"' in other
