"""Build the bento of the current model once, keep it in the artifact store, and seal its checksums and the
manifest of its files in git (`seals`): what every later command checks the store's bytes against."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlci_serving.names import compiled_path

from mlci.build.compiling import TRAINED, compile_into
from mlci.build.manifest import manifest_of
from mlci.build.runtime import DISTRIBUTION, PACKAGE, copy_runtime
from mlci.core.errors import BuildError
from mlci.core.git import git, is_clean
from mlci.core.project import Project
from mlci.core.registry import SEMVER
from mlci.core.repository import Repository
from mlci.core.runner import CommandError, run
from mlci.core.scratch import scratch_folder
from mlci.core.seals import BuildSeal, find_build_seal, seal_build
from mlci.core.store import VERSION, Store, sha256
from mlci.core.tracked import locked_md5s, md5


@dataclass(frozen=True)
class Built:
    """A version's build in the store: its record, whether this call made it, and whether git seals it."""

    version: str
    store: str
    record: dict[str, Any]
    made: bool
    sealed: bool  # False for a trial build into another store: no stage can deploy it
    serves: str  # which model the build serves, and why: said when it is made


def build_stored(repository: Repository, named: str | None, store_url: str | None = None) -> Built:
    """Build the version named (default: HEAD's) into the store (default: mlci.toml's, and then sealed in git),
    once. A build into another store is a trial: nothing is sealed, and no stage can deploy it."""
    store = Store(store_url) if store_url else repository.store
    version = build_version(repository, named)
    record, made, serves = build(repository, store, version, sealing=store_url is None)
    return Built(version, store.url, record, made, store_url is None, serves)


def build_version(repository: Repository, named: str | None) -> str:
    """The version to build: one registered at HEAD, any other name, or by default HEAD's own name.

    HEAD's name is its registered version, else `git-<commit>` when the tree is clean. Names of the form
    `vX.Y.Z` are the registry's: such a build must be made from the commit that version registers.
    """
    root, model = repository.root, repository.config.registry.model
    registry = repository.registry()
    head = git(root, "rev-parse", "HEAD")
    if named is None:
        if not is_clean(root):
            raise BuildError("uncommitted changes: commit them, or name the version to build (`mlci build VERSION`)")
        return registry.at_commit(head) or "git-" + head[:12]
    if SEMVER.fullmatch(named):
        version = registry.version(named)
        if version.commit != head:
            raise BuildError(
                f"{version.name} registers commit {version.commit[:12]}, not HEAD: "
                f"build it from there (`git checkout {model}@{version.name} && dvc pull`)"
            )
        return version.name
    return named


def check_model(project: Project) -> str:
    """The model file's SHA-256, once it is known to be the one `dvc.lock` records."""
    model = project.root / project.model
    if not model.is_file():
        raise BuildError(f"{project.model}: no model; train it with `nox -s repro`, or fetch it with `dvc pull`")
    lock = yaml.safe_load((project.root / "dvc.lock").read_text()) if (project.root / "dvc.lock").is_file() else {}
    recorded = locked_md5s(lock, project.model)
    if not recorded:
        raise BuildError(f"dvc.lock records no {project.model}: run `nox -s repro` and commit dvc.lock")
    actual = md5(model)
    if actual not in recorded:
        entry = f".dvc/cache/files/md5/{recorded[0][:2]}/{recorded[0][2:]}"
        raise BuildError(
            f"{project.model} (md5 {actual}) is not the model dvc.lock records (md5 {recorded[0]}). If you changed "
            "the code, data or params, run `nox -s repro` and commit dvc.lock. If not, the copy here is damaged, "
            f"and DVC may count it up to date: remove {project.model} and {entry} if it exists, then `dvc pull`"
        )
    return sha256(model)


def existing_build(repository: Repository, store: Store, version: str, sealing: bool) -> dict[str, Any] | None:
    """The record of this version's build, when one is made: sealed in git, or (for a trial) in its store.
    A build the store holds but git never sealed (an interrupted build, or one made before builds were
    sealed) counts as none: no stage can deploy it, and it is built again."""
    project = repository.project
    if sealing:
        sealed = find_build_seal(project.root, project.name, version)
        return sealed.record() if sealed else None
    return store.record(project.name, version)


def build(repository: Repository, store: Store, version: str, sealing: bool = True) -> tuple[dict[str, Any], bool, str]:
    """The record of this version's build, whether this call made it, and which model it serves."""
    project = repository.project
    if not VERSION.fullmatch(version):
        raise BuildError(f"version {version!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit")
    model_sha256 = check_model(project)
    existing = existing_build(repository, store, version, sealing)
    if existing is not None:
        if existing["model_sha256"] != model_sha256:
            raise BuildError(
                f"{project.name} {version} is already built from another model; builds are immutable: "
                "register or name a new version"
            )
        return existing, False, served(existing)
    with scratch_folder("build") as scratch:
        context = Path(scratch) / "context"
        compiled = compile_into(repository, context / compiled_path(project.model))
        bento, runtime, manifest = make_bento(project, version, context, bool(compiled.sha256))
        sealed = BuildSeal(
            project.name, version, sha256(bento), model_sha256, f"{DISTRIBUTION} {runtime}", manifest, compiled.sha256
        )
        store.put(bento, project.name, version, sealed.record())
    if sealing:
        seal_build(project.root, sealed)
    return sealed.record(), True, compiled.summary


def served(record: dict[str, Any]) -> str:
    """Which model a stored build serves, as its record says."""
    return "serves the compiled (ONNX) model" if record.get("compiled_sha256") else TRAINED


def make_bento(project: Project, version: str, context: Path, compiled: bool) -> tuple[Path, str, dict[str, str]]:
    """Build and export the bento from a clean context: the package, the serving runtime, the model (and the
    compiled one, when there is one already in the context), the locked requirements. The bento, the
    runtime's version, and the manifest of the files the bento unpacks to."""
    scratch = context.parent
    shutil.copytree(project.root / "src" / project.package, context / project.package)
    runtime = copy_runtime(context)
    (context / project.model).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(project.root / project.model, context / project.model)
    models = [project.model, *([compiled_path(project.model)] if compiled else [])]
    try:
        # the runtime is carried as its files, above: its requirement (a path or a git URL) is not the bento's
        requirements = run(
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            f"--no-emit-package={DISTRIBUTION}",
            "--no-hashes",
            "--quiet",
            cwd=project.root,
        )
    except CommandError as error:
        raise BuildError(f"uv export failed (is uv.lock committed?): {error.output}") from None
    (context / "requirements.txt").write_text(requirements)
    (context / "bentofile.yaml").write_text(
        yaml.safe_dump(
            {
                "service": project.service_path,
                "include": [f"{project.package}/**", f"{PACKAGE}/**", *(model.as_posix() for model in models)],
                "exclude": ["__pycache__/"],
                "labels": {"model_version": version},
                # uv.lock's exact pins already: BentoML's own locking would resolve them again against the
                # package registry at every build (a network call that failed a build now and then), for nothing.
                "python": {"requirements_txt": "requirements.txt", "lock_packages": False},
            }
        )
    )
    env = {**os.environ, "BENTOML_HOME": str(scratch / "bentoml-home")}
    exported = scratch / f"{project.name}-{version}.bento"
    run("bentoml", "build", ".", "--name", project.name, "--version", version, "--output", "tag", cwd=context, env=env)
    run("bentoml", "export", f"{project.name}:{version}", str(exported), cwd=context, env=env)
    return exported, runtime, manifest_of(scratch / "bentoml-home" / "bentos" / project.name / version)
