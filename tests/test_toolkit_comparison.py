"""The review's figures on frames and dicts made here: PSI, feature changes, gates, verdict, params, Markdown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlci.comparison import feature_changes, gate_verdict, metric_rows, param_changes, psi_numeric, verdict
from mlci.config import Gates
from mlci.document import Table, to_markdown

RNG = np.random.default_rng(0)
GATES = Gates(minimum={"accuracy": 0.9}, max_regression={"accuracy": 0.01})


def test_psi_is_zero_for_the_same_data_and_large_for_a_shift_of_two_deviations() -> None:
    base = pd.Series(RNG.normal(0, 1, 5000))
    assert psi_numeric(base, base) == 0
    assert psi_numeric(base, pd.Series(RNG.normal(0, 1, 5000))) < 0.05  # another sample, same population
    assert psi_numeric(base, base + 2) > 1


def test_feature_changes_name_new_categories_and_columns_on_one_side() -> None:
    base = pd.DataFrame({"island": ["Biscoe", "Dream"] * 50, "gone": range(100)})
    head = pd.DataFrame({"island": ["Biscoe", "Atlantis"] * 50, "added": range(100)})
    changes = {change.name: change for change in feature_changes(base, head)}
    assert changes["island"].new_categories == ["Atlantis"]
    assert changes["island"].psi > 0.2
    assert (changes["added"].only_in, changes["gone"].only_in) == ("head", "base")
    assert math.isnan(changes["added"].psi)


@pytest.mark.parametrize(
    ("head", "champion", "expected"),
    [
        (0.95, 0.95, "pass"),
        (0.85, None, "FAIL (below 0.9)"),
        (0.93, 0.95, "FAIL (drops more than 0.01 from the champion)"),
        (0.94, 0.95, "pass"),
    ],
)
def test_gate_verdicts(head: float, champion: float | None, expected: str) -> None:
    assert gate_verdict("accuracy", head, champion, GATES) == expected
    assert gate_verdict("f1_macro", head, champion, GATES) == "-"


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        ({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 1.0}, "unchanged"),
        ({"a": 0.5, "b": 0.5}, {"a": 0.6, "b": 0.5}, "better"),
        ({"a": 0.5, "b": 0.5}, {"a": 0.4, "b": 0.5}, "worse"),
        ({"a": 0.5, "b": 0.5}, {"a": 0.6, "b": 0.4}, "mixed"),
        (None, {"a": 0.6}, "not comparable (base has no metrics)"),
    ],
)
def test_verdicts(base: dict[str, float] | None, head: dict[str, float], expected: str) -> None:
    assert verdict(metric_rows(base, head, None, Gates())) == expected


def test_param_changes_list_old_and_new_values() -> None:
    base = {"train.seed": 1, "train.depth": 8, "prepare.size": 0.25}
    head = {"train.seed": 1, "train.depth": 2, "train.trees": 3}
    assert param_changes(base, head) == [
        ("prepare.size", "0.25", "-"),
        ("train.depth", "8", "2"),
        ("train.trees", "-", "3"),
    ]


def test_markdown_tables_escape_pipes_in_cells() -> None:
    text = to_markdown([Table(["a", "b"], [["x|y", "z"]])])
    assert text == "| a | b |\n| --- | --- |\n| x\\|y | z |\n"
