"""Shared helpers: the template's location, answers that keep generation offline, and git/command runners."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from mlci.core.seals import BuildSeal, seal_build
from mlci.core.store import Store
from mlci.deploy.targets.process import free_port

TEMPLATE = Path(__file__).resolve().parents[1]
CI_PACKAGE = TEMPLATE / "ci"

# The tools the tests call (cookiecutter, nox, uv, ruff) come from the test environment, however pytest was started.
# The rest of the environment (telemetry off, no pointer to nox's own venv) is set by `nox -s tests`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def offline_answers(storage: Path | str, /, **answers: str) -> dict[str, str]:
    """Answers that point the toolkit at this checkout's ci/ and storage at a temporary folder."""
    return {"storage": str(storage), "mlci_source": str(CI_PACKAGE), **answers}


def generate(output_dir: Path, **answers: str) -> Path:
    """Generate a repository with cookiecutter's own API, as its command line does, storage beside it."""
    from cookiecutter.main import cookiecutter

    extra_context = offline_answers(output_dir / "storage", **answers)
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=extra_context))


def run(*command: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, and fail the test with its output if it fails."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def commit(project: Path, message: str) -> None:
    """Commit everything, as a test user whatever git identity the machine has."""
    identity = {
        f"GIT_{role}_{key}": value
        for role in ("AUTHOR", "COMMITTER")
        for key, value in (("NAME", "Test User"), ("EMAIL", "test@example.com"))
    }
    run("git", "add", "--all", cwd=project)
    run("git", "commit", "--quiet", "-m", message, cwd=project, env={**os.environ, **identity})


def store_and_seal(root: Path, store: Path, name: str, version: str) -> BuildSeal:
    """A build of a few bytes put in a local store and sealed in git at HEAD, as `mlci build` does."""
    bento = store.parent / f"{name}-{version}.bento"
    bento.write_bytes(f"the bento of {version}".encode())
    model = hashlib.sha256(f"the model of {version}".encode()).hexdigest()
    sealed = BuildSeal(name, version, hashlib.sha256(bento.read_bytes()).hexdigest(), model, "mlci-serving 0.1.0")
    Store(str(store)).put(bento, name, version, sealed.record())
    seal_build(root, sealed)
    return sealed


def files_in(project: Path) -> set[str]:
    """Every file of a generated repository, relative, git's own folder left out."""
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


@pytest.fixture
def no_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user whose git knows no name or e-mail."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for variable in ("NAME", "EMAIL"):
        for role in ("AUTHOR", "COMMITTER"):
            monkeypatch.delenv(f"GIT_{role}_{variable}", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)


@pytest.fixture(scope="session", autouse=True)
def shared_mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One mypy cache for every generated repository's type check: their third-party packages are the same files
    (uv links them from its cache), so only each repository's own code is checked anew (a cold check: 37 s, a
    warm one in another repository: 4 s)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYPY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mypy-cache"))
        yield


@pytest.fixture(scope="session")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository generated with the default answers, in a path with spaces, shared by the slow tests.

    Its environment (.venv) is made once, by `checked_project`.
    """
    return generate(tmp_path_factory.mktemp("generated") / "a folder with spaces")


class CheckedProject(NamedTuple):
    """A generated repository after `nox -s lint tests`, and the git status those sessions left."""

    path: Path
    status_after_checks: list[str]


@pytest.fixture(scope="session")
def checked_project(generated_project: Path) -> CheckedProject:
    """The shared repository after the checks every push runs."""
    run("nox", "-s", "lint", "tests", cwd=generated_project)
    status = run("git", "status", "--porcelain", cwd=generated_project).stdout.splitlines()
    return CheckedProject(generated_project, status)


STAGES = ("validate", "prepare", "train", "evaluate")


@pytest.fixture(scope="session")
def reproduced(checked_project: CheckedProject) -> Path:
    """The shared repository, once checked, after `nox -s repro`, its lock file and results committed."""
    project = checked_project.path
    run("nox", "-s", "repro", cwd=project)
    commit(project, "Reproduce the pipeline")
    return project


def dvc(project: Path, *args: str) -> str:
    """Run DVC in a generated repository's own environment; its output."""
    return run("uv", "run", "dvc", *args, cwd=project).stdout


RELEASE_IDENTITY = {
    f"GIT_{role}_{key}": value
    for role in ("AUTHOR", "COMMITTER")
    for key, value in (("NAME", "Release Bot"), ("EMAIL", "release@example.com"))
}


class Clone(NamedTuple):
    """A clone of the shared repository whose `origin` is a local bare repository, with state and cache of its own."""

    path: Path
    origin: Path
    env: dict[str, str]


def clone_with_origin(reproduced: Path, root: Path) -> Clone:
    """Clone the reproduced repository through a bare `origin`, install its environment and pull its data."""
    origin = root / "origin.git"
    run("git", "clone", "--quiet", "--bare", str(reproduced), str(origin), cwd=root)
    path = root / "clone"
    run("git", "clone", "--quiet", str(origin), str(path), cwd=root)
    env = {
        **os.environ,
        **RELEASE_IDENTITY,
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }
    run("uv", "sync", "--quiet", cwd=path, env=env)
    run("uv", "run", "dvc", "pull", "--quiet", cwd=path, env=env)
    # An artifact store, inference log, data source and outcomes of its own: one test module never meets
    # another's builds, requests or data. Logs are written within a second, not a minute.
    config = path / "mlci.toml"
    text = re.sub(r'(?m)^url = ".*"$', f'url = "{root / "bentos"}"', config.read_text())
    text = re.sub(r'(?m)^log = ".*?"', f'log = "{root / "inference-log"}"', text)
    text = re.sub(r"(?m)^flush_seconds = \d+", "flush_seconds = 1", text)
    text = re.sub(r'(?m)^outcomes = ".*?"', f'outcomes = "{root / "outcomes"}"', text)
    config.write_text(re.sub(r'(?m)^source = ".*"$', f'source = "{root / "incoming" / "penguins.csv"}"', text))
    commit_and_push(path, env, "An artifact store, inference log and data source of this clone's own")
    return Clone(path, origin, env)


def commit_and_push(project: Path, env: dict[str, str], message: str) -> None:
    """Commit every tracked change and push it to `origin`."""
    run("git", "commit", "--quiet", "--all", "-m", message, cwd=project, env=env)
    run("git", "push", "--quiet", "origin", "HEAD", cwd=project, env=env)


def register_and_build(project: Path, env: dict[str, str]) -> str:
    """Register the model of HEAD and store its build; the version registered."""
    registered = run("uv", "run", "--no-sync", "mlci", "register", cwd=project, env=env).stdout
    version = re.search(r"model@(v\d+\.\d+\.\d+)", registered)
    assert version, registered
    run("uv", "run", "--no-sync", "mlci", "build", cwd=project, env=env)
    return version[1]


def set_params(project: Path, **values: object) -> None:
    """Change parameters in params.yaml by their key, whatever section holds them."""
    params = project / "params.yaml"
    text = params.read_text()
    for key, value in values.items():
        text = re.sub(rf"(\n  {key}): \S+", rf"\1: {value}", text)
    params.write_text(text)


@contextmanager
def edited(path: Path, change: Callable[[str], str]) -> Iterator[None]:
    """`path` with its text changed by `change` while the block runs, then restored whatever happens."""
    original = path.read_text()
    path.write_text(change(original))
    try:
        yield
    finally:
        path.write_text(original)


def serve_stages_on_free_ports(clone: Clone, staging_workers: int = 1) -> tuple[int, int]:
    """Give staging and production free ports in the clone's config, committed and pushed; the two ports."""
    staging, production = free_port(), free_port()
    config = clone.path / "mlci.toml"
    text = config.read_text().replace("port = 3001", f"port = {staging}").replace("port = 3000", f"port = {production}")
    config.write_text(text.replace("workers = 1", f"workers = {staging_workers}", 1))  # staging's table comes first
    commit_and_push(clone.path, clone.env, "Serve the stages on free ports")
    return staging, production


def stop_stages(clone: Clone) -> None:
    """Leave no server of the clone's stages behind."""
    for stage in ("staging", "production"):
        subprocess.run(["uv", "run", "--no-sync", "mlci", "stop", stage], cwd=clone.path, env=clone.env)
