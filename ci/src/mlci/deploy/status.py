"""The registry as tables: each version with its metrics and stages, and each stage with what actually runs."""

from __future__ import annotations

from dataclasses import dataclass

from mlci.core.project import Project
from mlci.core.registry import Registry, try_sync
from mlci.core.repository import Repository
from mlci.core.tables import figure, render
from mlci.deploy.targets import target_for
from mlci.promotion.gates import GateError, committed_metrics


def versions_table(project: Project, registry: Registry) -> str:
    """One row per version, newest first: commit, date, committed metrics, the stages it holds."""
    metrics = {}
    for version in registry.versions.values():
        try:
            metrics[version.name] = committed_metrics(project, version)
        except GateError:
            metrics[version.name] = {}
    names = sorted({name for values in metrics.values() for name in values})
    rows = [["version", "commit", "registered", *names, "stages"]]
    for version in reversed(registry.versions.values()):
        figures = [figure(metrics[version.name].get(name)) for name in names]
        stages = ", ".join(registry.stages_of(version.name)) or "-"
        rows.append([version.name, version.commit[:12], version.created[:10], *figures, stages])
    return render(rows)


def stages_table(repository: Repository, registry: Registry) -> str:
    """One row per stage: the version git assigns, the version running (or declared), and where; then a line for
    each candidate server a deploy stopped part-way left running."""
    rows, notes = [["stage", "assigned", "running", "where", "state"]], []
    for stage in repository.config.registry.stages:
        assigned = registry.holder(stage) or "-"
        target = target_for(repository, stage)
        left = target.leftover()
        if left:
            notes.append(
                f"{stage}: a candidate of {left.version} ({left.detail.partition(',')[0]}) still runs at {left.url}, "
                f"left by a deploy stopped part-way: `mlci stop {stage}` or the next `mlci deploy {stage}` stops it"
            )
        current = target.current()
        serving = f"{current.version} ({current.detail})" if current else "-"
        if assigned == "-":
            state = "nothing assigned"
        elif current is None:
            state = f"not running: `mlci deploy {stage}`"
        elif current.version != assigned:
            state = f"out of date: `mlci deploy {stage}`"
        else:
            state = "in sync"
        rows.append([stage, assigned, serving, target.where, state])
    return render(rows) + "".join(f"\n{note}" for note in notes)


@dataclass(frozen=True)
class Status:
    """The registry's tables, and a warning when origin's tags could not be fetched."""

    text: str
    warning: str | None


def status(repository: Repository) -> Status:
    """The registry as origin has it (the local one, with a warning, when origin cannot be reached)."""
    project, model = repository.project, repository.config.registry.model
    warning = try_sync(project.root)
    registry = repository.registry()
    if not registry.versions:
        versions = "no version registered yet: `mlci register` registers the model of the current commit"
    else:
        versions = versions_table(project, registry)
    text = f"{project.name}: {model} registry\n\n{versions}\n\n{stages_table(repository, registry)}"
    return Status(text, warning)
