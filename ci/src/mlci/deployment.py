"""Deploy, stop and roll back a stage: the version git assigns it, run by the stage's target."""

from __future__ import annotations

from mlci.config import Config
from mlci.errors import MlciError
from mlci.project import EMPTY_REQUEST, Project
from mlci.promote import rollback
from mlci.registry import Assignment, Registry, sync
from mlci.serve import install
from mlci.store import Store
from mlci.targets import target_for
from mlci.targets.base import Deployment, Serving, Smoke


def deploy_stage(config: Config, project: Project, stage: str) -> Deployment:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    config.check_stage(stage)
    sync(project.root)
    version = Registry.read(project.root, config.registry.model).holder(stage)
    if version is None:
        raise MlciError(f"no version is assigned to {stage}: promote one with `mlci promote VERSION --to {stage}`")
    installed = install(Store(config.store.url), project.name, version, project.model)
    smoke = Smoke(project.example_request(), EMPTY_REQUEST, f"the example request {project.example}")
    return target_for(config, project, stage).deploy(installed, smoke)


def stop_stage(config: Config, project: Project, stage: str) -> Serving | None:
    """Stop what runs for a stage; git's assignment is left as it is. What was stopped, if anything."""
    config.check_stage(stage)
    return target_for(config, project, stage).stop()


def rollback_stage(config: Config, project: Project, stage: str) -> tuple[Assignment, Deployment]:
    """Assign a stage back to its previous version, then deploy it."""
    assignment = rollback(config, project, stage)
    return assignment, deploy_stage(config, project, stage)
