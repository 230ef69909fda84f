"""Move a registered version to a stage: stage order, then gates, then the stored build; rollback re-assigns."""

from __future__ import annotations

from dataclasses import dataclass

from mlci.build.image import require_image
from mlci.core.config import Config
from mlci.core.errors import RefusedError
from mlci.core.registry import Assignment, Registry, assign, exclusive, sync
from mlci.core.repository import Repository
from mlci.core.seals import verified_build
from mlci.promotion.gates import Check, committed_checks, committed_metrics, regression_checks, require, table


def check_build(repository: Repository, version: str, stage: str) -> None:
    """Fetch the stored build and check it against git's seal: every stage deploys exactly these bytes. A
    kubernetes stage also needs the build's sealed image."""
    project = repository.project
    verified_build(repository.store, project.root, project.name, version)
    if repository.config.deploy[stage].target == "kubernetes":
        require_image(project.root, project.name, version, stage)


def check_order(config: Config, registry: Registry, version: str, stage: str) -> None:
    """A version reaches a stage only while it holds the stage before it."""
    if registry.holder(stage) == version:
        raise RefusedError(f"stage order: {version} already holds {stage}; nothing to do")
    position = config.registry.stages.index(stage)
    if position == 0:
        return
    before = config.registry.stages[position - 1]
    holder = registry.holder(before)
    if holder != version:
        raise RefusedError(
            f"stage order: a version reaches {stage} only from {before}, and {before} holds "
            f"{holder or 'no version'}, not {version}: promote it with `mlci promote {version} --to {before}` first"
        )


@dataclass(frozen=True)
class Promotion:
    """A stage assigned to a version, and the gates it passed; `assigned` is False when the version already held
    the stage, so nothing was tagged."""

    assignment: Assignment
    checks: list[Check]
    assigned: bool = True


def promote(repository: Repository, version_name: str, stage: str) -> Promotion:
    """Assign `stage` to a version once every rule passes; a refusal by the gates reports their figures."""
    config, project = repository.config, repository.project
    config.check_stage(stage)
    with exclusive(project.root):
        sync(project.root)
        registry = repository.registry()
        version = registry.version(version_name)
        if registry.holder(stage) == version.name:  # a repeated promotion, or one that waited for its twin
            return Promotion(registry.history(stage)[-1], [], assigned=False)
        check_order(config, registry, version.name, stage)
        metrics = committed_metrics(project, version)
        checks = committed_checks(metrics, config.gates, config.metrics)
        require(metrics, checks, f"{version.name}'s metrics")
        champion = registry.holder(stage)
        if champion:
            checks += regression_checks(project, config.gates, config.metrics, version, registry.version(champion))
        failed = [check.rule for check in checks if not check.passed]
        if failed:
            raise RefusedError(
                f"gates: {version.name} fails {'; '.join(failed)}; no tag was created", report=table(checks)
            )
        check_build(repository, version.name, stage)
        return Promotion(assign(project.root, config.registry.model, version.name, stage), checks)


def rollback(repository: Repository, stage: str) -> Assignment:
    """Assign a stage, with a new tag, to the version that held it before the current one."""
    config, project = repository.config, repository.project
    config.check_stage(stage)
    with exclusive(project.root):
        sync(project.root)
        registry = repository.registry()
        previous = registry.previous(stage)
        if previous is None:
            current = registry.holder(stage)
            held = f"only {current} has held it" if current else "no version has held it"
            raise RefusedError(f"{stage} has no earlier version to roll back to: {held}")
        check_build(repository, previous, stage)
        return assign(project.root, config.registry.model, previous, stage)
