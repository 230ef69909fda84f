"""Deploy targets: where a stage's build runs, behind one interface (`base.Target`); `local` is the one today."""

from __future__ import annotations

from mlci.config import Config
from mlci.project import Project, log_environment
from mlci.targets.base import Target
from mlci.targets.local import LocalTarget
from mlci.targets.process import Runtime


def target_for(config: Config, project: Project, stage: str) -> Target:
    """The target `[deploy.<stage>] target` selects, set up for the stage."""
    settings = config.deploy[stage]
    environment = log_environment(config.monitoring, stage, project.root)
    runtime = Runtime(settings.port, settings.workers, project.service_class, settings.host, environment)
    return LocalTarget(project, stage, runtime)
