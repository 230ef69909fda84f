"""The one gate rule, at the boundary of each limit, in both directions: what promotion and the review decide."""

from __future__ import annotations

import pytest
from mlci.core.settings import Gates
from mlci.promotion.gates import (
    GateError,
    baseline_check,
    champion_checks,
    committed_checks,
    gain,
    limit_check,
    require,
)

DIRECTIONS = {"f1": "higher", "rmse": "lower"}


@pytest.mark.parametrize(
    ("direction", "value", "passed"),
    [("higher", 0.9, True), ("higher", 0.9001, True), ("higher", 0.8999, False),
     ("lower", 0.9, True), ("lower", 0.8999, True), ("lower", 0.9001, False)],
)  # fmt: skip
def test_a_limit_holds_at_and_on_the_right_side_of_it(direction: str, value: float, passed: bool) -> None:
    check = limit_check("m", direction, value, 0.9)
    assert check.passed is passed
    assert check.rule == ("m >= 0.9" if direction == "higher" else "m <= 0.9")


@pytest.mark.parametrize(
    ("direction", "value", "baseline", "passed"),
    [("higher", 0.55, 0.5, True), ("higher", 0.5499, 0.5, False), ("higher", 0.6, 0.5, True),
     ("lower", 1.95, 2.0, True), ("lower", 1.9501, 2.0, False), ("lower", 2.05, 2.0, False)],
)  # fmt: skip
def test_the_baseline_margin_is_measured_in_the_metrics_direction(
    direction: str, value: float, baseline: float, passed: bool
) -> None:
    assert baseline_check("m", direction, value, baseline, 0.05).passed is passed


@pytest.mark.parametrize(
    ("metric", "new", "old", "passed"),
    [("f1", 0.89, 0.9, True), ("f1", 0.8899, 0.9, False), ("f1", 0.95, 0.9, True),
     ("rmse", 2.01, 2.0, True), ("rmse", 2.0101, 2.0, False), ("rmse", 1.5, 2.0, True)],
)  # fmt: skip
def test_a_challenger_may_lose_at_most_the_allowed_amount_against_the_champion(
    metric: str, new: float, old: float, passed: bool
) -> None:
    gates = Gates(max_regression={metric: 0.01})
    (check,) = champion_checks({metric: new}, {metric: old}, gates, DIRECTIONS, "v1.0.0")
    assert check.passed is passed
    assert check.rule == f"{metric} loss vs v1.0.0 <= 0.01"


def test_gain_is_positive_when_better_whichever_way_the_metric_points() -> None:
    assert gain("higher", 0.9, 0.8) == pytest.approx(0.1)
    assert gain("lower", 0.8, 0.9) == pytest.approx(0.1)
    assert gain("lower", 0.9, 0.8) == pytest.approx(-0.1)


def test_committed_checks_cover_every_configured_gate() -> None:
    gates = Gates(beat_baseline={"f1": 0.05}, limit={"rmse": 2.0, "f1": 0.5})
    checks = committed_checks({"f1": 0.6, "baseline_f1": 0.5, "rmse": 2.5}, gates, DIRECTIONS)
    assert [(check.rule, check.passed) for check in checks] == [
        ("f1 beats baseline by >= 0.05", True),
        ("f1 >= 0.5", True),
        ("rmse <= 2", False),
    ]


def test_a_gate_on_a_metric_the_version_lacks_is_an_error_naming_it() -> None:
    gates = Gates(beat_baseline={"f1": 0.05}, limit={"rmse": 2.0})
    metrics = {"f1": 0.6}
    with pytest.raises(GateError, match=r"the gates name rmse, baseline_f1, which v1's metrics lacks \(it has: f1\)"):
        require(metrics, committed_checks(metrics, gates, DIRECTIONS), "v1's metrics")
