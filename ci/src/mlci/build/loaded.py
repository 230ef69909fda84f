"""A build's own code and model, loaded in this process: how `mlci score` and `mlci shadow` answer as the service
does, without a server.

The stored bento is fetched and checked against the checksum git seals, imported once into mlci's cache (as
`mlci serve` does), and its files checked against the sealed manifest; then the serving runtime and the package's
schema are imported from the bento's source, ahead of this environment's (writing no bytecode there, which the
manifest would refuse), and the model loaded by the build's own runtime.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mlci.build.installed import install_sealed
from mlci.build.runtime import PACKAGE
from mlci.core.errors import BuildError, MlciError
from mlci.core.repository import Repository
from mlci.core.seals import BuildSeal, build_seal
from mlci.core.store import Store


@dataclass(frozen=True)
class LoadedBuild:
    """A model with the code that answers with it: the build's table scorer (`mlci_serving.batch.TableScorer`)."""

    version: str
    model: Any
    scorer: Any  # the build's own TableScorer: judged, predictions, required_columns, ...


def version_for(repository: Repository, version: str | None, stage: str | None) -> str:
    """The version named, or the one a stage holds (default: the last stage)."""
    if version:
        return version
    stage = repository.stage(stage)
    holder = repository.registry().holder(stage)
    if holder is None:
        raise MlciError(f"{stage} holds no version yet: promote one (`mlci promote VERSION --to {stage}`) or name one")
    return holder


def forget(package: str) -> None:
    """Drop a package's modules from this process, so that the next import reads them from where it is told."""
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]


def import_from(source: Path | None, *modules: str) -> list[ModuleType]:
    """The modules as found under `source` (a bento's `src`), or where the environment installs them."""
    for package in {module.partition(".")[0] for module in modules}:
        forget(package)
    if source is not None:
        sys.path.insert(0, str(source))
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        return [importlib.import_module(module) for module in modules]
    finally:
        sys.dont_write_bytecode = writes_bytecode
        if source is not None:
            sys.path.remove(str(source))


@dataclass(frozen=True)
class BuildTicket:
    """What a process needs to load a stored build without a clone (a Spark executor): where the store is,
    what git seals of the build, and where the package keeps its schema and model."""

    store_url: str
    sealed: BuildSeal
    package: str
    model: str  # the trained model's path in the repository, as in the bento

    @property
    def version(self) -> str:
        return self.sealed.version


def ticket_for(repository: Repository, version: str) -> BuildTicket:
    """A stored version's ticket, from git's seal."""
    project = repository.project
    sealed = build_seal(project.root, project.name, version)
    return BuildTicket(repository.store.url, sealed, project.package, str(project.model))


def stored_build(repository: Repository, version: str) -> LoadedBuild:
    """A stored build, checked, loaded: its runtime, its package's schema and its model."""
    return ticketed_build(ticket_for(repository, version))


def ticketed_build(ticket: BuildTicket) -> LoadedBuild:
    """The build a ticket names, fetched and checked (once per checksum on this machine), loaded."""
    installed = install_sealed(Store(ticket.store_url), ticket.sealed)
    source = installed.home / "bentos" / ticket.sealed.name / installed.version / "src"
    if not (source / PACKAGE).is_dir():
        raise BuildError(
            f"the build of {installed.version} carries no serving runtime ({PACKAGE}): it was made before the "
            "runtime became a package of its own; take the template update, then register and build a new version"
        )
    return load_build(
        source,
        ticket.package,
        installed.version,
        source / ticket.model,
        installed.model_sha256,
        installed.compiled_sha256,
    )


def working_tree_build(repository: Repository, model_file: Path, version: str) -> LoadedBuild:
    """The working tree's package and this environment's runtime, with a model file (the review's challenger)."""
    return load_build(None, repository.project.package, version, model_file, "", "")


def load_build(
    source: Path | None, package: str, version: str, trained: Path, model_sha256: str, compiled_sha256: str
) -> LoadedBuild:
    """The build's scorer and model: its compiled model when it has one that reads tables (as its service
    serves it), else the trained one; each checked against the build's checksum."""
    answers, batch, compiled, names, schema_view, schema = import_from(
        source,
        *(f"{PACKAGE}.{module}" for module in ("answers", "batch", "compiled", "names", "schema")),
        f"{package}.schema",
    )
    try:
        scorer = batch.TableScorer(schema_view.Schema.of(schema))
    except ValueError as error:
        where = f"the build of {version}" if source else "the working tree"
        raise BuildError(f"{where}: {error}") from None
    if compiled_sha256 and hasattr(compiled.CompiledModel, "frame_inputs"):  # a 0.1.0 runtime: the trained one
        model = compiled.load_compiled(names.compiled_path(trained), compiled_sha256, scorer.schema)
    else:
        model = answers.load_model(trained, model_sha256)
    return LoadedBuild(version, model, scorer)
