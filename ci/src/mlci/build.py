"""Build the bento of the current model once, and keep it in the artifact store with its checksum."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.errors import MlciError
from mlci.gitrepo import git, is_clean
from mlci.registry import SEMVER, Registry
from mlci.store import Store, sha256

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class BuildError(MlciError):
    """A build that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Project:
    """What a build needs to know of the repository: names, the model file and the package."""

    root: Path
    name: str
    package: str
    model: Path
    metrics: list[Path]
    plots: dict[str, dict[str, str]]  # each plot file of dvc.yaml with its settings (template, x, y)

    @classmethod
    def read(cls, root: Path, artifact: str) -> Project:
        pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        name = pyproject["project"]["name"]
        backend = pyproject.get("tool", {}).get("uv", {}).get("build-backend", {})
        package = backend.get("module-name", name.replace("-", "_"))
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
        artifacts = pipeline.get("artifacts", {})
        if artifact not in artifacts:
            raise BuildError(f"dvc.yaml: no artifact {artifact!r} (registry.model in mlci.toml names it)")
        metrics = [Path(path) for path in pipeline.get("metrics", [])]
        plots = plot_settings(pipeline.get("plots", []))
        return cls(root, name, package, Path(artifacts[artifact]["path"]), metrics, plots)


def plot_settings(entries: list[Any]) -> dict[str, dict[str, str]]:
    """dvc.yaml's `plots:` as {file: settings}; an entry is a file name, or a one-key table of its settings."""
    plots = {}
    for entry in entries:
        path, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        plots[str(path)] = settings or {}
    return plots


def build_version(root: Path, model: str, named: str | None) -> str:
    """The version to build: one registered at HEAD, any other name, or by default HEAD's own name.

    HEAD's name is its registered version, else `git-<commit>` when the tree is clean. Names of the form
    `vX.Y.Z` are the registry's: such a build must be made from the commit that version registers.
    """
    registry = Registry.read(root, model)
    head = git(root, "rev-parse", "HEAD")
    if named is None:
        if not is_clean(root):
            raise BuildError("uncommitted changes: commit them, or name the version to build (`mlci build VERSION`)")
        return registry.at_commit(head) or "git-" + head[:12]
    if SEMVER.match(named):
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
    recorded = [
        out.get("md5")
        for stage in (lock or {}).get("stages", {}).values()
        for out in stage.get("outs", [])
        if out.get("path") == project.model.as_posix()
    ]
    if hashlib.md5(model.read_bytes()).hexdigest() not in recorded:  # DVC's own checksum
        raise BuildError(f"{project.model} is not the model dvc.lock records: run `nox -s repro` and commit dvc.lock")
    return sha256(model)


def build(project: Project, store: Store, version: str) -> tuple[dict[str, str], bool]:
    """The store's record of this version's build, and whether this call made it."""
    if not VERSION.match(version):
        raise BuildError(f"version {version!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit")
    model_sha256 = check_model(project)
    existing = store.record(project.name, version)
    if existing is not None:
        if existing["model_sha256"] != model_sha256:
            raise BuildError(
                f"{project.name} {version} is already built from another model; builds are immutable: "
                "register or name a new version"
            )
        return existing, False
    with tempfile.TemporaryDirectory(prefix="mlci-build-") as scratch:
        bento = make_bento(project, version, Path(scratch))
        record = {"name": project.name, "version": version, "model_sha256": model_sha256}
        store.put(bento, project.name, version, record)
    stored = store.record(project.name, version)
    assert stored is not None  # just written
    return stored, True


def make_bento(project: Project, version: str, scratch: Path) -> Path:
    """Build and export the bento from a clean context: the package, the model, the locked requirements."""
    context = scratch / "context"
    shutil.copytree(project.root / "src" / project.package, context / project.package)
    (context / project.model).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(project.root / project.model, context / project.model)
    requirements = subprocess.run(
        ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--quiet"],
        cwd=project.root,
        capture_output=True,
        text=True,
    )
    if requirements.returncode != 0:
        raise BuildError(f"uv export failed (is uv.lock committed?): {requirements.stderr.strip()}")
    (context / "requirements.txt").write_text(requirements.stdout)
    (context / "bentofile.yaml").write_text(
        yaml.safe_dump(
            {
                "service": f"{project.package}.service:Predictor",
                "include": [f"{project.package}/**", project.model.as_posix()],
                "exclude": ["__pycache__/"],
                "labels": {"model_version": version},
                # uv.lock's exact pins already: BentoML's own locking would resolve them again against the
                # package registry at every build (a network call that failed a build now and then), for nothing.
                "python": {"requirements_txt": "requirements.txt", "lock_packages": False},
            }
        )
    )
    bentoml = str(Path(sys.executable).parent / "bentoml")
    env = {**os.environ, "BENTOML_HOME": str(scratch / "bentoml-home")}
    exported = scratch / f"{project.name}-{version}.bento"
    for command in (
        [bentoml, "build", ".", "--name", project.name, "--version", version, "--output", "tag"],
        [bentoml, "export", f"{project.name}:{version}", str(exported)],
    ):
        result = subprocess.run(command, cwd=context, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"{' '.join(command[1:3])} failed:\n{result.stdout}{result.stderr}")
    return exported
