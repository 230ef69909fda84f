"""`mlci kpi`: each served version's logged answers measured against the outcomes known since, against the KPIs.

A stage's inference log says what each version answered, record by record, under the id the answer carried;
outcomes ([kpi] outcomes) say what was true. Their join is measured by the repository's own
`[contract] outcome_metrics`, and judged by `[kpi]`: absolute limits, and the largest drop from the figure the
version reached on its own test set, each in the metric's direction ([metrics]). A version with fewer answers
that have outcomes than `[kpi] min_outcomes` is not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from mlci.core.config import Config
from mlci.core.document import Block, Heading, Paragraph, Table, to_html, to_markdown
from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.settings import Kpi
from mlci.core.tables import figure
from mlci.monitoring.drift import write_verdict
from mlci.monitoring.log import NothingToJudgeError, read_log_entries, stage_log
from mlci.monitoring.outcomes import joined, read_outcomes
from mlci.promotion.gates import Check, committed_metrics, limit_check, regression_check

VERDICT_FILE = "kpi.json"  # "met", "missed" or "nothing to judge", and why


@dataclass(frozen=True)
class KpiQuery:
    """Which stage's answers, since when, and where the report goes."""

    stage: str | None = None  # default: the last stage
    since: datetime | None = None
    output: Path = Path("reports")


@dataclass(frozen=True)
class VersionKpis:
    """One served version: how many answers it logged, how many have outcomes, its figures and the KPIs'."""

    version: str
    logged: int
    with_outcomes: int
    metrics: dict[str, float]  # empty when too few answers have outcomes
    checks: list[Check]

    @property
    def missed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


@dataclass(frozen=True)
class KpiReport:
    versions: list[VersionKpis]
    markdown: Path
    html: Path
    warning: str | None = None  # lines of the log that are not records, left out

    @property
    def judged(self) -> list[VersionKpis]:
        return [version for version in self.versions if version.metrics]

    @property
    def missed(self) -> list[VersionKpis]:
        return [version for version in self.judged if version.missed]


def kpi_checks(
    metrics: dict[str, float], test_figures: dict[str, float], settings: Kpi, directions: Mapping[str, str]
) -> list[Check]:
    """Each limit, and each largest drop from the version's test-set figure, in the metric's direction."""
    checks = [limit_check(m, directions[m], metrics.get(m), limit) for m, limit in sorted(settings.limit.items())]
    for metric, allowed in sorted(settings.max_drop.items()):
        if metric not in test_figures:
            raise MlciError(f"[kpi] max_drop names {metric}, which the version's committed metrics lack")
        checks.append(
            regression_check(
                metric, directions[metric], metrics.get(metric), test_figures[metric], allowed, "its test set"
            )
        )
    return checks


def require_measurable(settings: Kpi, measured: dict[str, float]) -> None:
    """A KPI on a metric that answers alone do not decide (a probability's, say) cannot be judged."""
    unknown = [metric for metric in settings.metrics() if metric not in measured]
    if unknown:
        raise MlciError(
            f"[kpi] names {', '.join(unknown)}, which outcomes cannot measure: answers and outcomes give "
            f"{', '.join(sorted(measured))} ([contract] outcome_metrics); the log keeps no probabilities"
        )


def measure_versions(repository: Repository, entries: pd.DataFrame, outcomes: pd.DataFrame) -> list[VersionKpis]:
    """Each logged version's answers with outcomes, measured and judged."""
    config, project = repository.config, repository.project
    settings, measure = config.kpi, project.outcome_scorer()
    answered = joined(entries, outcomes)
    registry = repository.registry()
    found = []
    for version, logged in entries.groupby("version", sort=True):
        rows = answered[answered["version"] == version]
        if len(rows) < settings.min_outcomes:
            found.append(VersionKpis(str(version), len(logged), len(rows), {}, []))
            continue
        metrics = measure(rows["actual"].reset_index(drop=True), rows["prediction"].reset_index(drop=True))
        require_measurable(settings, metrics)
        test_figures = committed_metrics(project, registry.version(str(version))) if settings.max_drop else {}
        checks = kpi_checks(metrics, test_figures, settings, config.metrics)
        found.append(VersionKpis(str(version), len(logged), len(rows), metrics, checks))
    return found


def report(versions: list[VersionKpis], settings: Kpi, folder: Path, name: str) -> tuple[Path, Path]:
    """Write kpi.md and kpi.html: per version, the verdict, the KPIs and every figure."""
    blocks: list[Block] = [Heading(f"KPIs of {name}: answers against their outcomes")]
    for version in versions:
        blocks.append(
            Heading(f"{version.version}: {version.logged} logged answers, {version.with_outcomes} with outcomes", 3)
        )
        if not version.metrics:
            blocks.append(Paragraph(f"Too few outcomes to judge (under {settings.min_outcomes})."))
            continue
        missed = "; ".join(check.rule for check in version.missed)
        verdict = f"**missed**: {missed}" if missed else ("**met**" if version.checks else "no KPI is set")
        blocks.append(Paragraph(verdict))
        if version.checks:
            rows = [
                [c.rule, figure(c.challenger), figure(c.reference), "pass" if c.passed else "MISSED"]
                for c in version.checks
            ]
            blocks.append(Table(["KPI", "live", "reference", "result"], rows))
        blocks.append(Table(["metric", "live"], [[metric, figure(value)] for metric, value in version.metrics.items()]))
    folder.mkdir(parents=True, exist_ok=True)
    markdown, page = folder / "kpi.md", folder / "kpi.html"
    markdown.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(to_html(blocks, f"KPIs of {name}", folder), encoding="utf-8")
    return markdown, page


def outcomes_url(config: Config) -> str:
    if not config.kpi.outcomes:
        raise MlciError(
            "no outcomes to measure answers against: set [kpi] outcomes in mlci.toml to the folder or URL where "
            "the true targets of answered records arrive"
        )
    return config.kpi.outcomes


def check(repository: Repository, query: KpiQuery) -> KpiReport:
    """Measure each version a stage served against its outcomes; write the report and the verdict."""
    config = repository.config
    (query.output / VERDICT_FILE).unlink(missing_ok=True)
    try:
        checked = measure(repository, query)
        if not checked.judged:
            counts = "; ".join(f"{v.version}: {v.with_outcomes} answers with outcomes" for v in checked.versions)
            raise NothingToJudgeError(
                f"{counts}: fewer than [kpi] min_outcomes = {config.kpi.min_outcomes}; wait for outcomes or lower it"
            )
    except NothingToJudgeError as error:
        write_verdict(query.output, "nothing to judge", str(error), VERDICT_FILE)
        raise
    missed = "; ".join(f"{v.version}: {', '.join(c.rule for c in v.missed)}" for v in checked.missed)
    write_verdict(query.output, "missed" if missed else "met", missed or "every KPI met", VERDICT_FILE)
    return checked


def measure(repository: Repository, query: KpiQuery) -> KpiReport:
    config, project = repository.config, repository.project
    stage = repository.stage(query.stage)
    url = outcomes_url(config)
    logged = read_log_entries(stage_log(repository, stage), query.since)
    outcomes = read_outcomes(url, *project.outcome_columns())
    versions = measure_versions(repository, logged.entries, outcomes)
    markdown, page = report(versions, config.kpi, query.output, project.name)
    return KpiReport(versions, markdown, page, logged.warning)
