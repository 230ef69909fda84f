"""Deploy, stop, promote and roll back a stage: the version git assigns it, run by the stage's target."""

from __future__ import annotations

from dataclasses import dataclass

from mlci.core.errors import MlciError
from mlci.core.registry import Assignment, exclusive, sync
from mlci.core.repository import Repository
from mlci.deploy.targets import target_for
from mlci.deploy.targets.base import Deployment, Serving
from mlci.promotion.promote import Promotion, promote, rollback


@dataclass(frozen=True)
class StagePromotion:
    """A promotion, and its deployment when the stage is declared in git (nothing starts there: it is written)."""

    promotion: Promotion
    deployment: Deployment | None = None


def deploy_stage(repository: Repository, stage: str) -> Deployment:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    repository.config.check_stage(stage)
    with exclusive(repository.root):  # only while reading: the run itself has its stage's own lock
        sync(repository.root)
        version = repository.registry().holder(stage)
    if version is None:
        raise MlciError(f"no version is assigned to {stage}: promote one with `mlci promote VERSION --to {stage}`")
    return target_for(repository, stage).deploy(version)


def stop_stage(repository: Repository, stage: str) -> Serving | None:
    """Stop what runs for a stage; git's assignment is left as it is. What was stopped, if anything."""
    repository.config.check_stage(stage)
    return target_for(repository, stage).stop()


def rollback_stage(repository: Repository, stage: str) -> tuple[Assignment, Deployment]:
    """Assign a stage back to its previous version, then deploy it."""
    assignment = rollback(repository, stage)
    return assignment, deploy_stage(repository, stage)


def promote_stage(repository: Repository, version: str, stage: str) -> StagePromotion:
    """Promote a version; a stage whose desired state is in git (kubernetes) is declared at once, as nothing
    starts there: the tag and the overlay's commit are pushed together."""
    repository.config.check_stage(stage)
    target = target_for(repository, stage)
    target.preflight()
    promotion = promote(repository, version, stage)
    if not target.declarative:
        return StagePromotion(promotion)
    return StagePromotion(promotion, deploy_stage(repository, stage))
