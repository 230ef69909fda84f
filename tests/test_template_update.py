"""Template updates: a copy of this template with two commits, repositories generated from the first, and
`mlci template-update` (what `nox -s template-update` runs) bringing the second's changes."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import TEMPLATE, commit, offline_answers, run
from mlci.cli import main

pytestmark = pytest.mark.slow

SERVICE = Path("{{cookiecutter.project}}/src/{{cookiecutter.package_name}}/service.py")
WORKFLOW = Path("{{cookiecutter.project}}/.github/workflows/ci.yml")
NEW_FILE = Path("{{cookiecutter.project}}/docs/operations.md")
FIRST_LINE = '"""The model as an HTTP service: `POST /predict` answers one record or a list of them.'


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template's tracked files as a git repository of their own, with one commit."""
    root = tmp_path_factory.mktemp("upstream") / "template"
    for name in run("git", "ls-files", cwd=TEMPLATE).stdout.splitlines():
        if (TEMPLATE / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, root / name)
    run("git", "init", "--quiet", cwd=root)
    run("git", "add", "--force", ".", cwd=root)  # the shipped data too, which the generated .gitignore names
    commit(root, "The template as it was")
    return root


def generate_from(upstream: Path, folder: Path) -> Path:
    from cookiecutter.main import cookiecutter

    answers = offline_answers(folder / "storage", project_name="Update Probe")
    return Path(cookiecutter(str(upstream), no_input=True, output_dir=str(folder), extra_context=answers))


@pytest.fixture(scope="module")
def projects(upstream: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two repositories generated from the first commit, then the template's second commit: a workflow and the
    service changed, and a new file that uses an answer."""
    first = generate_from(upstream, tmp_path_factory.mktemp("untouched"))
    second = generate_from(upstream, tmp_path_factory.mktemp("edited"))
    service = upstream / SERVICE
    service.write_text(service.read_text().replace(FIRST_LINE, f"{FIRST_LINE}\nIts answers carry the model version."))
    workflow = upstream / WORKFLOW
    workflow.write_text(workflow.read_text() + "# checked weekly by the template's maintainers\n")
    (upstream / NEW_FILE).parent.mkdir(exist_ok=True)  # the guides live there too
    (upstream / NEW_FILE).write_text("# Operating {{ cookiecutter.project_name }}\n")
    commit(upstream, "Change a workflow and the service, add a page")
    return first, second


def changed(project: Path) -> set[str]:
    return {line[3:] for line in run("git", "status", "--porcelain", cwd=project).stdout.splitlines()}


def test_generation_records_the_template_its_commit_and_the_answers(upstream: Path, tmp_path: Path) -> None:
    project = generate_from(upstream, tmp_path)
    record = json.loads((project / ".cruft.json").read_text())
    assert record["template"] == str(upstream.resolve())
    assert record["commit"] == run("git", "rev-parse", "HEAD", cwd=upstream).stdout.strip()
    assert record["context"]["cookiecutter"]["project_name"] == "Update Probe"
    assert "_output_dir" not in record["context"]["cookiecutter"]
    assert ".cruft.json" in run("git", "ls-files", cwd=project).stdout.splitlines()  # in the first commit


class Said(NamedTuple):
    """What one `mlci` command returned and printed."""

    code: int
    out: str


def said(*args: str) -> Said:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(args))
    return Said(code, out.getvalue())


class Updated(NamedTuple):
    """The untouched repository's status, its update, and the same commands once the update is committed."""

    status: Said
    answers: dict[str, Any]
    update: Said
    changed: set[str]
    record: dict[str, Any]
    again: Said
    status_again: Said
    changed_again: set[str]


@pytest.fixture(scope="module")
def updated(projects: tuple[Path, Path]) -> Updated:
    first, _ = projects
    answers = json.loads((first / ".cruft.json").read_text())["context"]["cookiecutter"]
    with inside(first):
        status, update = said("template-status"), said("template-update")
    brought, record = changed(first), json.loads((first / ".cruft.json").read_text())
    commit(first, "Take the template's changes")
    with inside(first):
        again, status_again = said("template-update"), said("template-status")
    return Updated(status, answers, update, brought, record, again, status_again, changed(first))


def test_status_counts_the_commits_not_taken(updated: Updated) -> None:
    assert updated.status.code == 0
    assert "the template has 1 commit(s) this repository has not taken" in updated.status.out


def test_an_update_brings_exactly_the_templates_changes_and_keeps_the_answers(
    updated: Updated, projects: tuple[Path, Path], upstream: Path
) -> None:
    first, _ = projects
    assert updated.update.code == 0
    assert updated.changed == {
        ".cruft.json",
        ".github/workflows/ci.yml",
        "docs/operations.md",
        "src/update_probe/service.py",
    }
    assert (first / "docs" / "operations.md").read_text() == "# Operating Update Probe\n"
    assert "Its answers carry the model version." in (first / "src" / "update_probe" / "service.py").read_text()
    assert updated.record["commit"] == run("git", "rev-parse", "HEAD", cwd=upstream).stdout.strip()
    kept = {key: updated.record["context"]["cookiecutter"][key] for key in updated.answers if not key.startswith("_")}
    assert kept == {key: value for key, value in updated.answers.items() if not key.startswith("_")}
    assert "docs/operations.md" in updated.update.out


def test_a_current_repository_changes_nothing(updated: Updated) -> None:
    assert updated.again.code == updated.status_again.code == 0
    assert updated.changed_again == set()
    assert "already up to date with the template" in updated.again.out
    assert "up to date with the template (" in updated.status_again.out


def test_a_file_both_changed_keeps_the_conflict_and_fails_naming_it(
    projects: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, second = projects
    service = second / "src" / "update_probe" / "service.py"
    service.write_text(service.read_text().replace(FIRST_LINE, f"{FIRST_LINE}\nOur own note on the service."))
    commit(second, "A note of our own in the service")
    with inside(second):
        assert main(["template-update"]) == 1
    assert "both changed src/update_probe/service.py" in capsys.readouterr().err
    text = service.read_text()
    assert "<<<<<<<" in text
    assert "Our own note on the service." in text
    assert "Its answers carry the model version." in text
    assert (second / "docs" / "operations.md").is_file()  # what merged cleanly is there, for review


def test_a_shallow_clone_is_refused_before_it_could_merge_without_history(
    projects: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = projects
    shallow = tmp_path / "shallow"
    run("git", "clone", "--quiet", "--depth", "1", first.as_uri(), str(shallow), cwd=tmp_path)
    with inside(shallow):
        assert main(["template-update"]) == 2
    assert "this clone is shallow" in capsys.readouterr().err
    assert changed(shallow) == set()


def test_uncommitted_changes_are_refused_and_left_alone(projects: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = projects
    readme = first / "README.md"
    readme.write_text(readme.read_text() + "work in progress\n")
    try:
        with inside(first):
            assert main(["template-update"]) == 1
        assert readme.read_text().endswith("work in progress\n")
    finally:
        run("git", "checkout", "--", "README.md", cwd=first)


def test_a_repository_without_a_record_is_told_how_to_link_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run("git", "init", "--quiet", cwd=tmp_path)
    with inside(tmp_path):
        assert main(["template-status"]) == 2
    assert "no record of the template" in capsys.readouterr().err
