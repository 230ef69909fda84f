"""`mlci experiment log`: every experiment side by side (the parameters that differ, every metric, and whether
the promotion gates would pass it against the production champion), filtered and sorted, as Markdown and HTML."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.core.document import Block, Heading, Paragraph, Table, to_html, to_markdown
from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.tables import figure
from mlci.experiments.records import Experiment, experiments
from mlci.promotion.gates import champion_checks, committed_checks, committed_metrics, gate_verdict

CONDITION = re.compile(r"^\s*([\w.-]+)\s*(>=|<=|!=|==|=|>|<)\s*(.+?)\s*$")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class LogQuery:
    """Which experiments, in what order, and where the log goes."""

    where: tuple[str, ...] = ()
    sort: str | None = None
    every_baseline: bool = False
    output: Path = Path("reports")


@dataclass(frozen=True)
class Row:
    experiment: Experiment
    verdict: str  # the gates' verdict, "-" where none applies, or why it was not judged


@dataclass(frozen=True)
class LogTable:
    rows: list[Row]
    varied: list[str]  # the parameters that differ between the rows
    metrics: list[str]
    champion: str | None


@dataclass(frozen=True)
class ExperimentLog:
    table: LogTable
    markdown: Path
    html: Path


def value_of(experiment: Experiment, column: str) -> Any:
    if column == "state":
        return experiment.state
    if column == "name":
        return experiment.name
    return experiment.metrics.get(column, experiment.params.get(column))


def condition(text: str, columns: set[str]) -> Callable[[Experiment], bool]:
    """`r2>=0.45`, `train.max_depth=8`, `state=failed`: one test of a row."""
    found = CONDITION.match(text)
    if not found:
        raise MlciError(f"--where {text!r}: write COLUMN OP VALUE, OP one of {', '.join(COMPARISONS)}")
    column, op, wanted = found.groups()
    if column not in columns:
        raise MlciError(f"--where {text!r}: no column {column!r}; the columns are {', '.join(sorted(columns))}")
    compare = COMPARISONS[op]

    def test(experiment: Experiment) -> bool:
        value = value_of(experiment, column)
        try:
            return bool(compare(float(value), float(wanted)))
        except (TypeError, ValueError):
            if op in ("=", "==", "!="):
                return bool(compare(str(value), wanted))
            return False  # no order between text and a number: the row does not match

    return test


def sorted_rows(rows: list[Row], column: str | None, directions: Mapping[str, str], columns: set[str]) -> list[Row]:
    """Best first by a metric (its direction from [metrics]), ascending by a parameter; unfinished rows last."""
    if column is None:
        return rows
    if column not in columns:
        raise MlciError(f"--sort {column}: no such column; the columns are {', '.join(sorted(columns))}")
    best_first = directions.get(column) == "higher"

    def key(row: Row) -> tuple[int, Any]:
        value = value_of(row.experiment, column)
        if not isinstance(value, int | float):
            return (1, str(value))
        return (0, -value if best_first else value)

    return sorted(rows, key=key)


def verdict(repository: Repository, experiment: Experiment, champion: dict[str, float] | None, name: str) -> str:
    if experiment.state != "success":
        return experiment.state
    config = repository.config
    unknown = [metric for metric in config.gates.metrics() if metric not in experiment.metrics]
    if unknown:
        return f"not judged: it has no {', '.join(unknown)}"
    checks = committed_checks(experiment.metrics, config.gates, config.metrics)
    if champion is not None:
        checks += champion_checks(experiment.metrics, champion, config.gates, config.metrics, name)
    return gate_verdict(checks)


def champion_of(repository: Repository) -> tuple[str | None, dict[str, float] | None]:
    """The last stage's version and its committed metrics, or none when no version holds it."""
    registry = repository.registry()
    name = registry.holder(repository.stage(None))
    if name is None:
        return None, None
    return name, committed_metrics(repository.project, registry.version(name))


def experiment_log(repository: Repository, query: LogQuery) -> ExperimentLog:
    """The log of the repository's experiments, written as experiments.md and experiments.html."""
    found = experiments(repository.root, repository.project.model, query.every_baseline)
    champion, champion_metrics = champion_of(repository)
    metrics = sorted({metric for e in found for metric in e.metrics if not metric.startswith("baseline_")})
    params = sorted({key for e in found for key in e.params})
    varied = [key for key in params if len({repr(e.params.get(key)) for e in found}) > 1]
    columns = {"name", "state", *metrics, *params}
    tests = [condition(text, columns) for text in query.where]
    rows = [
        Row(e, verdict(repository, e, champion_metrics, champion or ""))
        for e in found
        if all(test(e) for test in tests)
    ]
    rows = sorted_rows(rows, query.sort, repository.config.metrics, columns)
    table = LogTable(rows, varied, metrics, champion)
    return ExperimentLog(table, *write(table, repository, query.output))


def header(log: LogTable, directions: Mapping[str, str]) -> list[str]:
    arrows = {"higher": " ↑", "lower": " ↓"}
    return [
        "experiment",
        "state",
        *log.varied,
        *(m + arrows.get(directions.get(m, ""), "") for m in log.metrics),
        "gates",
    ]


def cells(row: Row, log: LogTable) -> list[str]:
    e = row.experiment
    name = e.name if e.experiment else f"{e.name} (baseline)"
    values = [str(e.params.get(key, "-")) for key in log.varied]
    figures = [figure(e.metrics.get(metric)) for metric in log.metrics]
    return [name, e.state, *values, *figures, row.verdict if e.experiment else "-"]


def write(log: LogTable, repository: Repository, folder: Path) -> tuple[Path, Path]:
    directions = repository.config.metrics
    against = (
        f"the production champion {log.champion}" if log.champion else "no champion (no version holds the last stage)"
    )
    blocks: list[Block] = [
        Heading(f"Experiments of {repository.project.name}"),
        Paragraph(
            f"{sum(r.experiment.experiment for r in log.rows)} experiments; the gates judge each one's committed "
            f"figures against its own baseline and against {against}, as the review does (after a merge, promotion "
            "scores both models on the same held-out rows)."
        ),
        Table(header(log, directions), [cells(row, log) for row in log.rows]),
    ]
    failed = [r.experiment for r in log.rows if r.experiment.state == "failed"]
    if failed:
        blocks.append(Heading("Failed", 3))
        blocks.append(Table(["experiment", "its last output"], [[e.name, e.reason] for e in failed]))
    folder.mkdir(parents=True, exist_ok=True)
    markdown, page = folder / "experiments.md", folder / "experiments.html"
    markdown.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(to_html(blocks, f"Experiments of {repository.project.name}", folder), encoding="utf-8")
    return markdown, page
