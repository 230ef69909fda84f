"""Promotion gates: limits, the margin over a dummy baseline, and the challenger against the stage's champion.

Each metric has a direction ([metrics] in mlci.toml): higher or lower is better, and every rule follows it.
Limits and the baseline margin read the metrics the pipeline committed with the version. The champion comparison
scores both models afresh, with the repository's own scoring function (`[contract] scorer`), on the
challenger's held-out set, so both are measured by the same code on the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlci.core.errors import MlciError
from mlci.core.git import git
from mlci.core.project import Project
from mlci.core.registry import Version
from mlci.core.runner import CommandError
from mlci.core.scratch import scratch_folder
from mlci.core.settings import Gates
from mlci.core.tables import figure, render
from mlci.core.tracked import fetch_at


class GateError(MlciError):
    """A gate that cannot be evaluated: a metric or metrics file the version lacks."""


TOLERANCE = 1e-12  # metrics are rounded decimals: a difference this small is equality
SUSPICIOUS = 0.999  # a higher-is-better score on a 0-to-1 scale this close to perfect (a lower one at 0) is flagged


@dataclass(frozen=True)
class Check:
    """One gate's verdict, with the figures behind it."""

    metric: str
    rule: str
    challenger: float | None
    reference: float | None
    passed: bool
    warning: bool = False  # passed, but worth a look: shown as WARN, never blocking

    @property
    def result(self) -> str:
        return "FAIL" if not self.passed else "WARN" if self.warning else "pass"


def gain(direction: str, new: float, old: float) -> float:
    """How much better `new` is than `old`: positive when better, whichever way the metric points."""
    return new - old if direction == "higher" else old - new


def limit_check(metric: str, direction: str, value: float | None, limit: float) -> Check:
    """At least `limit` for a higher-is-better metric, at most `limit` for a lower-is-better one."""
    rule = f"{metric} {'>=' if direction == 'higher' else '<='} {limit:g}"
    return Check(metric, rule, value, limit, value is not None and gain(direction, value, limit) >= -TOLERANCE)


def baseline_check(metric: str, direction: str, value: float | None, baseline: float | None, margin: float) -> Check:
    """The model beats the dummy baseline's figure by at least `margin`."""
    rule = f"{metric} beats baseline by >= {margin:g}"
    passed = value is not None and baseline is not None and gain(direction, value, baseline) >= margin - TOLERANCE
    return Check(metric, rule, value, baseline, passed)


def regression_check(
    metric: str, direction: str, value: float | None, champion: float, allowed: float, name: str
) -> Check:
    """The challenger loses at most `allowed` against the champion on the same data."""
    rule = f"{metric} loss vs {name} <= {allowed:g}"
    return Check(
        metric, rule, value, champion, value is not None and gain(direction, value, champion) >= -allowed - TOLERANCE
    )


def perfect(direction: str, value: float) -> bool:
    """Whether a test score is perfect or suspiciously close: a 0-to-1 score at SUSPICIOUS or above (higher is
    better), or an error of zero (lower is better)."""
    if direction == "higher":
        return SUSPICIOUS - TOLERANCE <= value <= 1 + TOLERANCE
    return abs(value) <= TOLERANCE


def suspicion_checks(metrics: dict[str, float], directions: Mapping[str, str]) -> list[Check]:
    """A warning for each of the model's own test scores that is perfect or nearly: on many rows that is more
    often a feature that leaks the target than a perfect model."""
    return [
        Check(
            metric,
            f"{metric} {value:g} is perfect or nearly: a leaked feature?",
            value,
            1.0 if directions[metric] == "higher" else 0.0,  # perfect
            True,
            warning=True,
        )
        for metric, value in sorted(metrics.items())
        if not metric.startswith("baseline_")
        and isinstance(value, int | float)
        and metric in directions
        and perfect(directions[metric], float(value))
    ]


def committed_checks(metrics: dict[str, float], gates: Gates, directions: Mapping[str, str]) -> list[Check]:
    """The gates a version's own metrics decide: its limits, its margin over the dummy baseline, and a warning for
    a score too good to be true."""
    checks = [
        baseline_check(metric, directions[metric], metrics.get(metric), metrics.get(f"baseline_{metric}"), margin)
        for metric, margin in sorted(gates.beat_baseline.items())
    ]
    checks += [limit_check(m, directions[m], metrics.get(m), limit) for m, limit in sorted(gates.limit.items())]
    return checks + suspicion_checks(metrics, directions)


def champion_checks(
    new: dict[str, float], old: dict[str, float], gates: Gates, directions: Mapping[str, str], name: str
) -> list[Check]:
    """Each allowed regression: the challenger's figures against the champion's, on the same data."""
    return [
        regression_check(metric, directions[metric], new.get(metric), old[metric], allowed, name)
        for metric, allowed in sorted(gates.max_regression.items())
        if metric in old
    ]


def gate_verdict(checks: list[Check]) -> str:
    """`pass`, `FAIL (...)` naming each failed rule, or `-` where no gate applies to this metric."""
    if not checks:
        return "-"
    failures = [check.rule for check in checks if not check.passed]
    warnings = [check.rule for check in checks if check.passed and check.warning]
    if failures:
        return f"FAIL ({'; '.join(failures)})"
    return f"pass, WARN ({'; '.join(warnings)})" if warnings else "pass"


def committed_metrics(project: Project, version: Version) -> dict[str, float]:
    """The metrics files of the pipeline, as committed with the version."""
    metrics: dict[str, float] = {}
    for path in project.metrics:
        try:
            metrics.update(json.loads(git(project.root, "show", f"{version.commit}:{path.as_posix()}")))
        except CommandError:
            raise GateError(
                f"{version.name} has no {path} in its commit: was the pipeline reproduced and committed?"
            ) from None
    return metrics


def require(metrics: dict[str, float], checks: list[Check], source: str) -> None:
    """A gate on a metric the version lacks cannot be judged: say which, and what it has."""
    lacking = sorted({check.metric for check in checks if check.challenger is None})
    lacking += sorted({f"baseline_{check.metric}" for check in checks if check.reference is None})
    if lacking:
        known = ", ".join(sorted(metrics)) or "none"
        raise GateError(f"the gates name {', '.join(lacking)}, which {source} lacks (it has: {known})")


def regression_checks(
    project: Project, gates: Gates, directions: Mapping[str, str], challenger: Version, champion: Version
) -> list[Check]:
    """Each configured maximum regression, both models scored on the challenger's held-out data.

    A champion that cannot be measured the challenger's way (another task, or another table's columns) is not
    compared: the check passes, and its rule says why. Bytes that are not what git records (a damaged model or
    held-out table, in the DVC cache or remote) are never "not comparable": fetching them fails, and the
    promotion stops saying what to repair.
    """
    if not gates.max_regression:
        return []
    kept = committed_metrics(project, champion)
    lacking = sorted(metric for metric in gates.max_regression if metric not in kept)
    if lacking:
        return [not_comparable(metric, champion.name, f"it has no {metric}: another task") for metric in lacking]
    score = project.scorer()
    holdout = Path(gates.holdout)
    with scratch_folder("gates") as scratch:
        data = fetch_at(project.root, holdout, challenger.commit, Path(scratch) / "data")
        new_model = fetch_at(project.root, project.model, challenger.commit, Path(scratch))
        old_model = fetch_at(project.root, project.model, champion.commit, Path(scratch) / "champion")
        new = score(new_model, data)
        try:
            old = score(old_model, data)
        except Exception as error:  # the user's code on another table's (checked) model fails in any way
            reason = f"it cannot score this data ({type(error).__name__}: {error}): another table"
            return [not_comparable(metric, champion.name, reason) for metric in sorted(gates.max_regression)]
    checks = champion_checks(new, old, gates, directions, champion.name)
    require(new, checks, "score()")
    return checks


def not_comparable(metric: str, champion: str, reason: str) -> Check:
    """A champion comparison that cannot be made, passed, with the reason in its rule."""
    return Check(metric, f"{metric} vs {champion}: not compared, {reason}", None, None, True)


def table(checks: list[Check]) -> str:
    """The checks as aligned text: rule, challenger, reference, verdict."""
    return render(
        [("gate", "challenger", "reference", "result")]
        + [(c.rule, figure(c.challenger), figure(c.reference), c.result) for c in checks]
    )
