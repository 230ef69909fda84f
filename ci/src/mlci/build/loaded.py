"""A build's own code and model, loaded in this process: how `mlci score` and `mlci shadow` answer as the service
does, without a server.

The stored bento is fetched and checked against its checksum, imported once into mlci's cache (as `mlci serve`
does), and its model checked against the build's record; then the package is imported from the bento's source,
ahead of the working tree's, and the model loaded by the build's own `load_model`.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mlci.core.config import Config
from mlci.core.errors import BuildError, MlciError
from mlci.core.project import Project
from mlci.core.registry import Registry
from mlci.build.installed import install
from mlci.core.store import Store

BATCH_MODULE = "serving.batch"
ANSWERS_MODULE = "serving.answers"


@dataclass(frozen=True)
class Predictor:
    """A model with the code that answers with it: the service's contract and answers, as functions."""

    version: str
    model: Any
    batch: ModuleType  # the package's serving.batch: judged, predictions, ...


def version_for(config: Config, project: Project, version: str | None, stage: str | None) -> str:
    """The version named, or the one a stage holds (default: the last stage)."""
    if version:
        return version
    stage = stage or config.registry.stages[-1]
    config.check_stage(stage)
    holder = Registry.read(project.root, config.registry.model).holder(stage)
    if holder is None:
        raise MlciError(f"{stage} holds no version yet: promote one (`mlci promote VERSION --to {stage}`) or name one")
    return holder


def forget(package: str) -> None:
    """Drop a package's modules from this process, so that the next import reads them from where it is told."""
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]


def import_from(source: Path | None, package: str, module: str) -> ModuleType:
    """`package.module` as found under `source` (a bento's `src`), or where the environment installs it."""
    forget(package)
    if source is not None:
        sys.path.insert(0, str(source))
    try:
        return importlib.import_module(f"{package}.{module}")
    finally:
        if source is not None:
            sys.path.remove(str(source))


def stored_predictor(config: Config, project: Project, version: str) -> Predictor:
    """A stored build, checked, as a predictor: its package and its model."""
    installed = install(Store(config.store.url), project.name, version, project.model)
    source = installed.home / "bentos" / project.name / installed.version / "src"
    return load_predictor(source, project, installed.version, installed.model_sha256)


def working_tree_predictor(project: Project, model_file: Path, version: str) -> Predictor:
    """The working tree's package, as the environment installs it, with a model file (the review's challenger)."""
    return load_predictor(None, project, version, "", model_file)


def load_predictor(
    source: Path | None, project: Project, version: str, model_sha256: str, model_file: Path | None = None
) -> Predictor:
    where = f"the build of {version}" if source else "the working tree"
    try:
        answers = import_from(source, project.package, ANSWERS_MODULE)
        batch = importlib.import_module(f"{project.package}.{BATCH_MODULE}")
    except ModuleNotFoundError as error:
        raise BuildError(
            f"{where} has no {project.package}.{BATCH_MODULE} ({error}): it was made before batch scoring and "
            "shadow runs; take the template's update, then register and build a new version"
        ) from None
    model = answers.load_model(model_file or (source or project.root) / project.model, model_sha256)
    return Predictor(version, model, batch)
