"""Every combination of the answers that change the output generates the exact expected repository."""

from __future__ import annotations

import ast
import importlib.metadata
import itertools
import re
import tomllib
from pathlib import Path

import pytest
from conftest import TEMPLATE, files_in, offline_answers, run
from fsspec.registry import known_implementations
from mlci.core.config import load_config
from packaging.requirements import Requirement
from pytest_cookies.plugin import Cookies

PYTHON_VERSIONS = ["3.11", "3.12", "3.13"]
LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"]
STORAGES = ["local", "s3://models-bucket/team", "gs://models-bucket", "azure://container/path"]
MLCI_SOURCES = ["path", "git+https://github.com/mlci/mlci@v0.1.0#subdirectory=ci"]

# Every license with every kind of storage; Python version and toolkit source cycle over those.
MATRIX = [
    (license_, storage, python, source)
    for (license_, storage), python, source in zip(
        itertools.product(LICENSES, STORAGES), itertools.cycle(PYTHON_VERSIONS), itertools.cycle(MLCI_SOURCES)
    )
]

DATA_IN_DVC_CACHE = ".dvc/cache/files/md5/a0/6a0210251465a86fb970018292304d"
IGNORED = {"data/penguins.csv", DATA_IN_DVC_CACHE}  # tracked by DVC, not git
ALWAYS = IGNORED | {
    ".dvc/.gitignore",
    ".dvc/config",
    ".dvcignore",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/cluster.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/experiment.yml",
    ".github/workflows/monitor.yml",
    ".github/workflows/template-update.yml",
    ".github/workflows/promote.yml",
    ".github/workflows/release.yml",
    ".github/workflows/review.yml",
    ".github/workflows/rollback.yml",
    ".gitignore",
    ".cruft.json",
    ".pre-commit-config.yaml",
    "README.md",
    "data/.gitignore",
    "deploy/argocd/production.yaml",
    "deploy/argocd/staging.yaml",
    "deploy/kubernetes/base/autoscaler.yaml",
    "deploy/kubernetes/base/deployment.yaml",
    "deploy/kubernetes/base/disruption-budget.yaml",
    "deploy/kubernetes/base/inference-log.yaml",
    "deploy/kubernetes/base/kustomization.yaml",
    "deploy/kubernetes/base/service.yaml",
    "deploy/kubernetes/overlays/production/kustomization.yaml",
    "deploy/kubernetes/overlays/production/release.yaml",
    "deploy/kubernetes/overlays/production/size.yaml",
    "deploy/kubernetes/overlays/staging/kustomization.yaml",
    "deploy/kubernetes/overlays/staging/release.yaml",
    "deploy/kubernetes/overlays/staging/size.yaml",
    "data/penguins.csv.dvc",
    "data/penguins.md",
    "docs/experiments.md",
    "docs/github.md",
    "docs/kubernetes.md",
    "docs/layout.md",
    "docs/monitoring.md",
    "docs/pipeline.md",
    "docs/releases.md",
    "docs/service.md",
    "docs/storage.md",
    "docs/template-updates.md",
    "docs/your-data.md",
    "dvc.yaml",
    "mlci.toml",
    "noxfile.py",
    "params.yaml",
    "pyproject.toml",
    "examples/predict.json",
    "src/penguin_species/__init__.py",
    "src/penguin_species/data.py",
    "src/penguin_species/evaluate.py",
    "src/penguin_species/params.py",
    "src/penguin_species/py.typed",
    "src/penguin_species/schema.py",
    "src/penguin_species/paths.py",
    "src/penguin_species/service.py",
    "src/penguin_species/train.py",
    "tests/conftest.py",
    "tests/test_config.py",
    "tests/test_package.py",
    "tests/test_pipeline.py",
    "tests/test_service.py",
    "tests/test_validation.py",
    "validation/penguins.py",
}
LICENSE_TITLES = {"MIT": "MIT License", "BSD-3-Clause": "BSD 3-Clause License", "Apache-2.0": "Apache License"}
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\bcookiecutter\.")


def test_matrix_covers_every_value() -> None:
    for position, values in enumerate([LICENSES, STORAGES, PYTHON_VERSIONS, MLCI_SOURCES]):
        assert {combination[position] for combination in MATRIX} == set(values)


def assert_fsspec_can_open(url: str, dependencies: list[str]) -> None:
    """A URL the toolkit and the service read through fsspec: a protocol fsspec knows, its package a dependency.

    The service gets the package through fsspec's extra (its bento holds only the project's dependencies);
    the toolkit through DVC's, checked above.
    """
    (fsspec,) = [Requirement(text) for text in dependencies if Requirement(text).name == "fsspec"]
    if "://" not in url:
        assert not fsspec.extras
        return
    implementation = known_implementations[url.split("://")[0]]["class"].split(".")[0]
    (extra,) = fsspec.extras
    provided = [Requirement(text) for text in importlib.metadata.requires("fsspec") or []]
    assert any(
        requirement.name == implementation and requirement.marker and requirement.marker.evaluate({"extra": extra})
        for requirement in provided
    ), f"fsspec[{extra}] does not install {implementation}, which {url} needs"


@pytest.mark.parametrize(("license_", "storage", "python", "source"), MATRIX)
def test_generates_exact_repository(
    cookies: Cookies, tmp_path: Path, license_: str, storage: str, python: str, source: str
) -> None:
    storage_root = str(tmp_path / "storage") if storage == "local" else storage
    answers = offline_answers(
        storage_root,
        license=license_,
        python_version=python,
        **({} if source == "path" else {"mlci_source": source}),
    )
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = result.project_path

    expected = ALWAYS | ({"LICENSE"} if license_ != "Proprietary" else set())
    assert files_in(project) == expected

    for name in expected:
        text = (project / name).read_text(encoding="utf-8")
        assert not LEFTOVER_JINJA.search(text), f"template syntax left in {name}"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={python}"
    assert pyproject["project"]["license"] == ("LicenseRef-Proprietary" if license_ == "Proprietary" else license_)
    dev = pyproject["dependency-groups"]["dev"]
    kind = storage.split("://")[0]
    assert any(dependency.startswith(f"dvc[{kind}]") for dependency in dev) == (storage != "local")
    runtime = pyproject["project"]["dependencies"]
    if source == "path":
        assert pyproject["tool"]["uv"]["sources"]["mlci"] == {"path": answers["mlci_source"]}
        beside = str(Path(answers["mlci_source"]).parent / "serving")
        assert pyproject["tool"]["uv"]["sources"]["mlci-serving"] == {"path": beside}
        assert "mlci-serving>=0.1,<0.2" in runtime
    else:
        assert f"mlci @ {source}" in dev
        assert f"mlci-serving @ {source.replace('#subdirectory=ci', '#subdirectory=serving')}" in runtime

    config = load_config(project / "mlci.toml")
    assert_fsspec_can_open(config.store.url, pyproject["project"]["dependencies"])
    assert_fsspec_can_open(config.monitoring.log, pyproject["project"]["dependencies"])
    where = storage_root.split("://")[-1]
    assert config.store.url.endswith(f"{where}/bentos")
    assert config.monitoring.log.endswith(f"{where}/inference-log")
    assert f"url = {storage_root}/dvc" in (project / ".dvc" / "config").read_text()
    if license_ != "Proprietary":
        title = (project / "LICENSE").read_text().split("\n", 1)[0].strip()
        assert title == LICENSE_TITLES[license_]

    # Python versions that are not installed here are linted for their own target, not run.
    run("ruff", "check", "--no-cache", ".", cwd=project)
    run("ruff", "format", "--no-cache", "--check", ".", cwd=project)


def test_generated_repository_is_one_clean_commit_on_main(cookies: Cookies, tmp_path: Path) -> None:
    project = cookies.bake(extra_context=offline_answers(tmp_path / "storage")).project_path
    assert run("git", "branch", "--show-current", cwd=project).stdout.strip() == "main"
    assert run("git", "rev-list", "--count", "HEAD", cwd=project).stdout.strip() == "1"
    assert run("git", "status", "--porcelain", cwd=project).stdout == ""
    tracked = set(run("git", "ls-files", cwd=project).stdout.split())
    assert tracked == files_in(project) - IGNORED
    assert (project / DATA_IN_DVC_CACHE).read_bytes() == (project / "data/penguins.csv").read_bytes()


def test_free_text_is_escaped_where_it_lands(cookies: Cookies, tmp_path: Path) -> None:
    tricky = "Says \"hello\" \\ and 'bye' <b>"
    answers = offline_answers(tmp_path / "storage", description=tricky, author_name='Ann "A" O\'Neil')
    project = cookies.bake(extra_context=answers).project_path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == tricky
    assert pyproject["project"]["authors"][0]["name"] == 'Ann "A" O\'Neil'
    for module in project.rglob("*.py"):
        ast.parse(module.read_text(), filename=str(module))


def test_every_template_file_is_committed() -> None:
    # The generated .gitignore files apply to the template's own folder too, and could hide a file from git.
    template_dir = TEMPLATE / "{{cookiecutter.project}}"
    tracked = set(run("git", "ls-files", cwd=template_dir).stdout.splitlines())
    on_disk = {path.relative_to(template_dir).as_posix() for path in template_dir.rglob("*") if path.is_file()}
    assert on_disk - tracked == set()
