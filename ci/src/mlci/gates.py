"""Promotion gates: the metric minimums, and the challenger against the stage's champion on the same held-out data.

Minimums read the metrics the pipeline committed with the version. The champion comparison scores both
models afresh, with the repository's own `<package>.evaluate.score(model_file, data_file)`, on the
challenger's held-out set, so both are measured by the same code on the same rows.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlci.build import Project
from mlci.config import Gates
from mlci.errors import MlciError
from mlci.gitrepo import GitError, git
from mlci.registry import Version
from mlci.tables import figure, render
from mlci.tracked import fetch_at

Scorer = Callable[[Path, Path], dict[str, float]]


class GateError(MlciError):
    """A gate that cannot be evaluated: a metric the version lacks, or no scoring function."""


@dataclass(frozen=True)
class Check:
    """One gate's verdict, with the figures behind it."""

    rule: str
    challenger: float
    reference: float | None
    passed: bool


def committed_metrics(project: Project, version: Version) -> dict[str, float]:
    """The metrics files of the pipeline, as committed with the version."""
    metrics: dict[str, float] = {}
    for path in project.metrics:
        try:
            metrics.update(json.loads(git(project.root, "show", f"{version.commit}:{path.as_posix()}")))
        except GitError:
            raise GateError(
                f"{version.name} has no {path} in its commit: was the pipeline reproduced and committed?"
            ) from None
    return metrics


def minimum_checks(metrics: dict[str, float], gates: Gates, version: str) -> list[Check]:
    """Each configured minimum against the version's committed metrics."""
    checks = []
    for metric, floor in sorted(gates.minimum.items()):
        if metric not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise GateError(f"gates.minimum names {metric!r}, which {version}'s metrics lack (it has: {known})")
        checks.append(Check(f"{metric} >= {floor:g}", metrics[metric], floor, metrics[metric] >= floor))
    return checks


def scorer(project: Project) -> Scorer:
    """The repository's own scoring function."""
    module = importlib.import_module(f"{project.package}.evaluate")
    score: Scorer | None = getattr(module, "score", None)
    if not callable(score):
        raise GateError(f"{project.package}.evaluate defines no score(model_file, data_file): the gates need it")
    return score


def regression_checks(project: Project, gates: Gates, challenger: Version, champion: Version) -> list[Check]:
    """Each configured maximum regression, both models scored on the challenger's held-out data."""
    if not gates.max_regression:
        return []
    score = scorer(project)
    holdout = Path(gates.holdout)
    with tempfile.TemporaryDirectory(prefix="mlci-gates-") as scratch:
        data = fetch_at(project.root, holdout, challenger.commit, Path(scratch) / "data")
        new = score(fetch_at(project.root, project.model, challenger.commit, Path(scratch)), data)
        old = score(fetch_at(project.root, project.model, champion.commit, Path(scratch)), data)
    checks = []
    for metric, allowed in sorted(gates.max_regression.items()):
        if metric not in new:
            raise GateError(
                f"gates.max_regression names {metric!r}, which score() does not return "
                f"(it gives: {', '.join(sorted(new))})"
            )
        rule = f"{metric} drop vs {champion.name} <= {allowed:g}"
        checks.append(Check(rule, new[metric], old[metric], old[metric] - new[metric] <= allowed + 1e-12))
    return checks


def table(checks: list[Check]) -> str:
    """The checks as aligned text: rule, challenger, reference, verdict."""
    return render(
        [("gate", "challenger", "reference", "result")]
        + [(c.rule, figure(c.challenger), figure(c.reference), "pass" if c.passed else "FAIL") for c in checks]
    )
