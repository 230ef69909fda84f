"""Deploy, stop, promote and roll back a stage: the version git assigns it, run by the stage's target."""

from __future__ import annotations

from mlci.core.config import Config
from mlci.core.errors import MlciError
from mlci.core.project import Project
from mlci.promotion.promote import Promotion, promote, rollback
from mlci.core.registry import Assignment, Registry, exclusive, sync
from mlci.deploy.targets import target_for
from mlci.deploy.targets.base import Deployment, Serving


def deploy_stage(config: Config, project: Project, stage: str) -> Deployment:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    config.check_stage(stage)
    with exclusive(project.root):  # only while reading: the run itself has its stage's own lock
        sync(project.root)
        version = Registry.read(project.root, config.registry.model).holder(stage)
    if version is None:
        raise MlciError(f"no version is assigned to {stage}: promote one with `mlci promote VERSION --to {stage}`")
    return target_for(config, project, stage).deploy(version)


def stop_stage(config: Config, project: Project, stage: str) -> Serving | None:
    """Stop what runs for a stage; git's assignment is left as it is. What was stopped, if anything."""
    config.check_stage(stage)
    return target_for(config, project, stage).stop()


def rollback_stage(config: Config, project: Project, stage: str) -> tuple[Assignment, Deployment]:
    """Assign a stage back to its previous version, then deploy it."""
    assignment = rollback(config, project, stage)
    return assignment, deploy_stage(config, project, stage)


def promote_stage(config: Config, project: Project, version: str, stage: str) -> Promotion:
    """Promote a version; a stage whose desired state is in git (kubernetes) is declared at once, as nothing
    starts there: the tag and the overlay's commit are pushed together."""
    config.check_stage(stage)
    target = target_for(config, project, stage)
    target.preflight()
    promotion = promote(config, project, version, stage)
    if not target.declarative:
        return promotion
    return Promotion(promotion.assignment, promotion.checks, deploy_stage(config, project, stage))
