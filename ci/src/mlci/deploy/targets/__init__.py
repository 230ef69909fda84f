"""Deploy targets: where a stage's build runs, behind one interface (`base.Target`): `local` or `kubernetes`."""

from __future__ import annotations

from pathlib import Path

from mlci.core.config import Config
from mlci.core.project import log_environment
from mlci.core.repository import Repository
from mlci.core.storage import ENDPOINT_VARIABLE
from mlci.deploy.targets.base import Target
from mlci.deploy.targets.kubernetes import KubernetesTarget
from mlci.deploy.targets.local import LocalTarget
from mlci.deploy.targets.process import Runtime


def target_for(repository: Repository, stage: str) -> Target:
    """The target `[deploy.<stage>] target` selects, set up for the stage."""
    config, project, store = repository.config, repository.project, repository.store
    settings = config.deploy[stage]
    if settings.target == "kubernetes":
        log = pod_log_environment(config, stage, project.root)
        return KubernetesTarget(project, stage, settings.overlay_for(stage), store, log)
    assert settings.port is not None  # the config requires one for a local stage
    environment = log_environment(config.monitoring, stage, project.root)
    runtime = Runtime(settings.port, settings.workers, project.service_class, settings.host, environment)
    return LocalTarget(project, stage, runtime, store)


def pod_log_environment(config: Config, stage: str, root: Path) -> dict[str, str]:
    """What a stage's pods are told of their inference log: nothing for a folder of this machine, which means
    nothing inside a pod; for a bucket, its settings and mlci.toml's endpoint."""
    if not config.monitoring.remote:
        return {}
    log = log_environment(config.monitoring, stage, root)
    return log | ({ENDPOINT_VARIABLE: config.storage.endpoint} if config.storage.endpoint else {})
