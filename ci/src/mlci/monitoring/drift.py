"""`mlci drift`: logged inference inputs against the training data of the version that served them.

The log (`mlci.monitoring.log`) is read back record by record; each version's window is judged on its own,
feature by feature, by the one drift rule of mlci.monitoring.psi, which the review uses too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from mlci.core.document import Block, Heading, Paragraph, Table, to_html, to_markdown
from mlci.core.errors import MlciError
from mlci.core.registry import Registry
from mlci.core.repository import Repository
from mlci.core.scratch import scratch_folder
from mlci.core.settings import Drift
from mlci.core.tracked import fetch_at
from mlci.monitoring.log import Logged, NothingToJudgeError, read_log_entries
from mlci.monitoring.psi import FeatureChange, feature_changes


class UnknownVersionError(MlciError):
    """A log written by a version the registry does not know."""

    exit_code = 4


@dataclass(frozen=True)
class Window:
    """The logged requests of one model version."""

    version: str
    inputs: pd.DataFrame
    predictions: pd.Series


def read_log(url: str, since: datetime | None = None) -> tuple[list[Window], Logged]:
    """Every version's window in the log at `url`, and what was read of it. With `since`, only the requests
    logged from then on."""
    logged = read_log_entries(url, since)
    return windows(logged.entries), logged


def windows(frame: pd.DataFrame) -> list[Window]:
    """One window per logged version."""
    return [
        Window(str(version), pd.DataFrame(list(group["inputs"])), group["prediction"].reset_index(drop=True))
        for version, group in frame.groupby("version", sort=True)
    ]


def reference(
    version: str, registry: Registry, root: Path, settings: Drift, given: Path | None, scratch: Path
) -> pd.DataFrame:
    """What a version's requests are judged against: the file given, else its training data at its commit."""
    if given is not None:
        return pd.read_csv(given)
    if version not in registry.versions:
        known = ", ".join(registry.versions) or "none"
        raise UnknownVersionError(
            f"the log holds requests served by {version!r}, which the registry does not know "
            f"(registered: {known}); fetch the tags (`git fetch --tags`) or pass --reference FILE"
        )
    return pd.read_csv(fetch_at(root, Path(settings.reference), registry.versions[version].commit, scratch))


@dataclass(frozen=True)
class Judgement:
    """One window against its reference: each feature's change, and which drifted."""

    window: Window
    changes: list[FeatureChange]
    drifted: list[str]


def large_enough(
    windows: list[Window], settings: Drift, flush_seconds: float | None = None
) -> tuple[list[Window], list[Window]]:
    """The windows with at least `min_samples` requests, and the others; an error when none has.

    A log spanning deploys holds a few requests of earlier versions (a smoke test's, say): they are set aside.
    `flush_seconds`, the servers' [monitoring] setting, is how long records may wait in a server's buffer.
    """
    enough = [window for window in windows if len(window.inputs) >= settings.min_samples]
    too_few = [window for window in windows if len(window.inputs) < settings.min_samples]
    if not enough:
        counts = "; ".join(f"{window.version}: {len(window.inputs)} logged requests" for window in windows)
        raise NothingToJudgeError(
            f"{counts}, fewer than [drift] min_samples = {settings.min_samples}: too few to judge; "
            "wait for more traffic or lower the bound"
            + (
                f"; records of the last {flush_seconds:g} s may still wait in a server's buffer ([monitoring] "
                "flush_seconds) before they are written"
                if flush_seconds
                else ""
            )
        )
    return enough, too_few


def judge(window: Window, reference: pd.DataFrame, settings: Drift) -> Judgement:
    """Compare a window's inputs with the reference's same columns."""
    columns = [column for column in window.inputs.columns if column in reference.columns]
    changes = feature_changes(reference[columns], window.inputs[columns])
    drifted = [change.name for change in changes if change.drifted(settings.psi_threshold)]
    return Judgement(window, changes, drifted)


def report(
    judgements: list[Judgement],
    too_few: list[Window],
    settings: Drift,
    folder: Path,
    name: str,
    warning: str | None = None,
) -> tuple[Path, Path]:
    """Write drift.md and drift.html: per version, the verdict and every feature's figures."""
    blocks: list[Block] = [Heading(f"Drift of {name}: logged inputs against the training data")]
    if warning:
        blocks.append(Paragraph(f"**Warning**: {warning}."))
    if too_few:
        counts = ", ".join(f"{window.version} ({len(window.inputs)})" for window in too_few)
        blocks.append(Paragraph(f"Too few requests to judge (under {settings.min_samples}): {counts}."))
    for judgement in judgements:
        window = judgement.window
        verdict = f"**drifted**: {', '.join(judgement.drifted)}" if judgement.drifted else "**no drift**"
        blocks.append(Heading(f"{window.version}: {len(window.inputs)} logged requests", 3))
        blocks.append(Paragraph(f"{verdict} (PSI above {settings.psi_threshold:g}, or a category unseen in training)."))
        rows = [
            [
                change.name,
                change.base,
                change.head,
                "-" if math.isnan(change.psi) else f"{change.psi:.3f}",
                ", ".join(change.new_categories) or "-",
                change.novel or "-",
                "drifted" if change.name in judgement.drifted else "",
            ]
            for change in judgement.changes
        ]
        blocks.append(Paragraph(NEW_VALUES))
        blocks.append(Table(["feature", "training", "logged", "PSI", "new categories", "new values", ""], rows))
        shares = window.predictions.value_counts(normalize=True).sort_index()
        blocks.append(Paragraph("Predictions in the window:"))
        blocks.append(Table(["prediction", "share"], [[str(label), f"{share:.1%}"] for label, share in shares.items()]))
    folder.mkdir(parents=True, exist_ok=True)
    markdown, page = folder / "drift.md", folder / "drift.html"
    markdown.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(to_html(blocks, f"Drift of {name}", folder), encoding="utf-8")
    return markdown, page


NEW_VALUES = (
    "Values the training data never showed were answered (the service counts them in `/metrics`, "
    "`novel_values_total`); \"new values\" says how many of the window's: past a number's range, unseen "
    "categories, dates after or before the training period. Dates are not judged by PSI: time moves on."
)


@dataclass(frozen=True)
class DriftReport:
    """A drift check's outcome: the judged windows, those too small to judge, and the report's files."""

    judgements: list[Judgement]
    too_few: list[Window]
    markdown: Path
    html: Path
    warning: str | None = None  # lines of the log that are not records, left out

    @property
    def drifted(self) -> list[Judgement]:
        return [judgement for judgement in self.judgements if judgement.drifted]


@dataclass(frozen=True)
class DriftQuery:
    """What to judge: a stage's log (or a log given), which requests, against what, and where the report goes."""

    stage: str | None = None  # default: the last stage
    log: str | None = None  # a log instead of the stage's
    since: datetime | None = None
    reference: Path | None = None  # a file instead of each version's training data
    output: Path = Path("reports")


VERDICT_FILE = "drift.json"  # the verdict for machines: "drift", "no drift" or "nothing to judge", and why


def write_verdict(folder: Path, verdict: str, detail: str, file: str = VERDICT_FILE) -> None:
    """The check's outcome as JSON beside the report, so that a workflow reads it from the toolkit."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(json.dumps({"verdict": verdict, "detail": detail}, indent=2) + "\n")


def check(repository: Repository, query: DriftQuery) -> DriftReport:
    """Judge the logged inputs of each version against its training data, and write the report and the verdict
    (also when there is nothing to judge)."""
    (query.output / VERDICT_FILE).unlink(missing_ok=True)  # a verdict is never left from an earlier check
    try:
        checked = judge_log(repository, query)
    except NothingToJudgeError as error:
        write_verdict(query.output, "nothing to judge", str(error))
        raise
    drifted = "; ".join(f"{j.window.version}: {', '.join(j.drifted)}" for j in checked.drifted)
    write_verdict(query.output, "drift" if drifted else "no drift", drifted or "every feature within the thresholds")
    return checked


def judge_log(repository: Repository, query: DriftQuery) -> DriftReport:
    """Judge the logged inputs of each version against its training data, and write the report."""
    config, project = repository.config, repository.project
    stage = repository.stage(query.stage)
    log = query.log or config.monitoring.url_for(stage, project.root)
    if log is None:
        raise MlciError(
            "no inference log to judge: pass --log URL, or set [monitoring] log in mlci.toml "
            "so that deployed stages log their requests"
        )
    registry = repository.registry()
    pending = None if query.log else config.monitoring.flush_seconds
    found, logged = read_log(log, query.since)
    windows, too_few = large_enough(found, config.drift, pending)
    with scratch_folder("drift") as scratch:
        judgements = [
            judge(
                window,
                reference(window.version, registry, project.root, config.drift, query.reference, Path(scratch)),
                config.drift,
            )
            for window in windows
        ]
    markdown, page = report(judgements, too_few, config.drift, query.output, project.name, logged.warning)
    return DriftReport(judgements, too_few, markdown, page, logged.warning)
