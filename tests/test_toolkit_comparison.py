"""The review's figures on frames and dicts made here: PSI, feature changes, gates, verdict, params, Markdown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlci.core.config import Config
from mlci.core.document import Paragraph, Table, to_markdown
from mlci.monitoring.psi import feature_changes, psi_numeric
from mlci.review.comparison import metric_rows, param_changes, verdict

RNG = np.random.default_rng(0)
CONFIG = Config.model_validate(
    {
        "store": {"url": "/srv"},
        "deploy": {"staging": {"port": 1}, "production": {"port": 2}},
        "metrics": {"accuracy": "higher", "f1_macro": "higher", "rmse": "lower"},
        "gates": {"beat_baseline": {"f1_macro": 0.05}, "limit": {"rmse": 3}, "max_regression": {"rmse": 0.1}},
    }
)
HEAD = {"accuracy": 0.9, "f1_macro": 0.54, "baseline_f1_macro": 0.5, "rmse": 3.5}
CHAMPION = {"accuracy": 0.9, "f1_macro": 0.6, "rmse": 3.0}


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


def test_gate_verdicts_name_each_failed_rule_in_the_metrics_direction() -> None:
    rows = {row.name: row for row in metric_rows(None, HEAD, CHAMPION, CONFIG, "v1")}
    assert rows["f1_macro"].gate == "FAIL (f1_macro beats baseline by >= 0.05)"  # 0.54 - 0.5 < 0.05
    assert rows["rmse"].gate == "FAIL (rmse <= 3; rmse loss vs v1 <= 0.1)"  # 3.5 > 3, and 0.5 worse than 3.0
    assert rows["accuracy"].gate == "-"


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        ({"f1_macro": 0.5, "rmse": 2.0}, {"f1_macro": 0.5, "rmse": 2.0}, "unchanged from base"),
        ({"f1_macro": 0.5, "rmse": 2.0}, {"f1_macro": 0.6, "rmse": 1.5}, "better than base"),
        ({"f1_macro": 0.5, "rmse": 2.0}, {"f1_macro": 0.5, "rmse": 2.5}, "worse than base"),
        ({"f1_macro": 0.5, "rmse": 2.0}, {"f1_macro": 0.6, "rmse": 2.5}, "mixed against base"),
        ({"f1_macro": 0.5, "rmse": 2.0}, {"f1_macro": 0.4, "rmse": 1.0}, "mixed against base"),
        (None, {"f1_macro": 0.6}, "not comparable with base (no metric with a known direction on both sides)"),
    ],
)
def test_verdicts_follow_each_metrics_direction(
    base: dict[str, float] | None, head: dict[str, float], expected: str
) -> None:
    assert verdict(metric_rows(base, head, None, CONFIG)) == expected


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


def test_a_value_in_a_report_opens_no_html_comment_or_tag() -> None:
    """A category from the data such as `<!--` would hide the rest of a report read on GitHub."""
    text = to_markdown([Paragraph("drifted: <!-- a & b"), Table(["feature"], [["<img src=x onerror=alert(1)>"]])])
    assert text == "drifted: &lt;!-- a & b\n\n| feature |\n| --- |\n| &lt;img src=x onerror=alert(1)> |\n"


def test_a_report_keeps_comparisons_and_ampersands_as_they_read() -> None:
    """Only a `<` that opens a tag and a `&` that names an entity are escaped: a rule reads as it is written."""
    text = to_markdown([Paragraph("loss <= 0.05, PSI > 0.2, a<b, R&D, &amp; &#60; &x")])
    assert text == "loss <= 0.05, PSI > 0.2, a&lt;b, R&D, &amp;amp; &amp;#60; &x\n"
