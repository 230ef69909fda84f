"""`mlci shadow`: a challenger replayed on the requests a stage answered, without touching the stage.

The inputs a stage logged over a window, answered by the version it holds now, go through the challenger's
stored build (checked like any load) in this process. The report says how often the two agree (the same class;
for a number, within `[shadow] tolerance` of the answer given) and, where outcomes exist, both versions' metrics on
exactly the same requests. The stage's server is never called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from mlci.build.loaded import LoadedBuild, stored_build
from mlci.core.config import Config
from mlci.core.document import Block, Heading, Paragraph, Table, to_html, to_markdown
from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.tables import figure
from mlci.monitoring.log import NothingToJudgeError, read_log_entries, stage_log
from mlci.monitoring.outcomes import joined, read_outcomes


@dataclass(frozen=True)
class ShadowQuery:
    challenger: str
    stage: str | None = None  # default: the last stage
    since: datetime | None = None
    output: Path = Path("reports")


@dataclass(frozen=True)
class Replay:
    """A challenger's answers to the requests a stage's version answered, compared."""

    stage: str
    served: str  # the version that answered
    challenger: str
    requests: int
    refused: int  # requests the challenger's contract refuses (another schema)
    agreed: int
    numeric: bool  # answers are numbers (regression), not classes
    outcomes: int  # replayed requests that have an outcome
    served_metrics: dict[str, float]  # on those requests; empty when too few
    challenger_metrics: dict[str, float]

    @property
    def agreement(self) -> float:
        return self.agreed / max(self.requests - self.refused, 1)


def agreeing(served: pd.Series, challenger: pd.Series, numeric: bool, tolerance: float) -> np.ndarray:
    """Per request, whether the challenger's answer agrees with the one given."""
    if numeric:
        given, other = served.astype(float).to_numpy(), challenger.astype(float).to_numpy()
        close: np.ndarray = np.abs(other - given) <= tolerance * np.abs(given)
        return close
    same: np.ndarray = served.astype(str).to_numpy() == challenger.astype(str).to_numpy()
    return same


def replay(repository: Repository, entries: pd.DataFrame, stage: str, served: str, challenger: LoadedBuild) -> Replay:
    """Answer the requests `served` logged with the challenger, and compare."""
    window = entries[entries["version"] == served].reset_index(drop=True)
    if window.empty:
        raise NothingToJudgeError(f"{stage}'s log holds no request answered by {served}, the version it holds")
    config, project, scorer = repository.config, repository.project, challenger.scorer
    requests = pd.DataFrame(list(window["inputs"])).reindex(columns=scorer.required_columns)
    inputs, reasons = scorer.judged(requests)
    kept = [position for position in range(len(requests)) if position not in reasons]
    compared = window.iloc[kept].reset_index(drop=True)
    answers = (
        scorer.predictions(challenger.model, inputs, challenger.version)["prediction"]
        if kept
        else pd.Series(dtype=object)
    )
    numeric = not scorer.classes_of(challenger.model)
    agreed = int(agreeing(compared["prediction"], answers, numeric, config.shadow.tolerance).sum())
    served_metrics, challenger_metrics, with_outcomes = {}, {}, 0
    if config.kpi.outcomes:
        outcomes = read_outcomes(config.kpi.outcomes, *project.outcome_columns())
        rows = joined(compared.assign(challenger=answers.to_numpy()), outcomes)
        with_outcomes = len(rows)
        if with_outcomes >= config.kpi.min_outcomes:
            measure = project.outcome_scorer()
            actual = rows["actual"].reset_index(drop=True)
            served_metrics = measure(actual, rows["prediction"].reset_index(drop=True))
            challenger_metrics = measure(actual, rows["challenger"].reset_index(drop=True))
    return Replay(
        stage,
        served,
        challenger.version,
        len(window),
        len(reasons),
        agreed,
        numeric,
        with_outcomes,
        served_metrics,
        challenger_metrics,
    )


def blocks(found: Replay, config: Config) -> list[Block]:
    """The comparison as report blocks: agreement, then both versions' metrics on the same requests."""
    answered = found.requests - found.refused
    refused = f"; {found.refused} refused by its contract" if found.refused else ""
    rule = f", within {config.shadow.tolerance:.0%} of the number given" if found.numeric else ""
    shown: list[Block] = [
        Paragraph(
            f"{found.challenger} replayed on {found.requests} requests {found.stage} answered with {found.served}"
            f"{refused}: **{found.agreement:.1%} agree** ({found.agreed} of {answered}{rule})."
        )
    ]
    if found.served_metrics:
        rows = [
            [metric, figure(value), figure(found.challenger_metrics.get(metric))]
            for metric, value in found.served_metrics.items()
        ]
        shown.append(Paragraph(f"On the {found.outcomes} of them whose outcome is known:"))
        shown.append(Table(["metric", f"{found.served} (answered)", f"{found.challenger} (challenger)"], rows))
    else:
        shown.append(
            Paragraph(
                f"{found.outcomes} of them have an outcome, under [kpi] min_outcomes = {config.kpi.min_outcomes}: "
                "no metrics compared."
            )
        )
    return shown


def served_version(repository: Repository, stage: str) -> str:
    holder = repository.registry().holder(stage)
    if holder is None:
        raise MlciError(f"{stage} holds no version: there is no live traffic to replay")
    return holder


def shadow(repository: Repository, query: ShadowQuery) -> tuple[Replay, Path, Path]:
    """Replay a stage's logged requests through a challenger's build; write shadow.md and shadow.html."""
    config = repository.config
    stage = repository.stage(query.stage)
    logged = read_log_entries(stage_log(repository, stage), query.since)
    served = served_version(repository, stage)
    found = replay(repository, logged.entries, stage, served, stored_build(repository, query.challenger))
    title = f"Shadow run of {found.challenger} on {stage}'s traffic"
    warned = [Paragraph(f"**Warning**: {logged.warning}.")] if logged.warning else []
    document = [Heading(title), *warned, *blocks(found, config)]
    query.output.mkdir(parents=True, exist_ok=True)
    markdown, page = query.output / "shadow.md", query.output / "shadow.html"
    markdown.write_text(to_markdown(document), encoding="utf-8")
    page.write_text(to_html(document, title, query.output), encoding="utf-8")
    return found, markdown, page
