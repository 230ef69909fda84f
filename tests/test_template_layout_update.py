"""A repository generated before the serving runtime became a package, with an edit of its owner's in
`train.py`, taken to today's layout by `mlci template-update` (what `nox -s template-update` runs): the
machinery leaves the package, the owner's edit and the template's own change to `train.py` (dates read by their
parts) both land, nothing conflicts, and the repository is, file for file, what the template generates today
with the same answers but for the owner's edit: so its checks are those of a fresh generation, which
`checked_project` (and the awkward answers' test) run, and are not run a second time here.

The template as it was is `fixtures/template-before-the-runtime.tar.gz` (`git archive` of its last commit
before the change: cookiecutter.json, the hooks and the generated repository), so the test needs no history.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import TEMPLATE, commit, offline_answers, run
from mlci.cli import main

pytestmark = pytest.mark.slow

BEFORE = Path(__file__).parent / "fixtures" / "template-before-the-runtime.tar.gz"
OWN_EDIT = "        n_jobs=1,  # the trees, and so the model bytes, do not depend on the number of cores\n"
EDITED = "        n_jobs=1,  # ours: one job, whatever the machine, so the bytes never change\n"
MACHINERY = {"columns.py", "compile.py", "contract.py", "data_checks.py", "serving"}


class Updated(NamedTuple):
    project: Path
    code: int
    said: str
    changed: set[str]


def template_as_it_was(root: Path) -> Path:
    """The template before the change, as a git repository of one commit."""
    with tarfile.open(BEFORE) as archive:
        archive.extractall(root, filter="data")
    run("git", "init", "--quiet", cwd=root)
    run("git", "add", "--force", ".", cwd=root)
    commit(root, "The template before the serving runtime")
    return root


def today(root: Path) -> None:
    """Replace the template's files with this checkout's tracked files, as the next commit."""
    for name in run("git", "ls-files", cwd=root).stdout.splitlines():
        (root / name).unlink()
    for name in run("git", "ls-files", cwd=TEMPLATE).stdout.splitlines():
        if (TEMPLATE / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, root / name)
    run("git", "add", "--force", "--all", ".", cwd=root)
    commit(root, "The serving runtime as a package")


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> Updated:
    from cookiecutter.main import cookiecutter

    upstream = template_as_it_was(tmp_path_factory.mktemp("upstream") / "template")
    folder = tmp_path_factory.mktemp("owner")
    answers = offline_answers(folder / "storage", project_name="Layout Probe")
    project = Path(cookiecutter(str(upstream), no_input=True, output_dir=str(folder), extra_context=answers))
    train = project / "src" / "layout_probe" / "train.py"
    assert OWN_EDIT in train.read_text()
    train.write_text(train.read_text().replace(OWN_EDIT, EDITED))
    commit(project, "Our own word on the forest's jobs")
    today(upstream)
    out = io.StringIO()
    before = Path.cwd()
    os.chdir(project)
    try:
        with redirect_stdout(out):
            code = main(["template-update"])
    finally:
        os.chdir(before)
    changed = {line[3:] for line in run("git", "status", "--porcelain", cwd=project).stdout.splitlines()}
    return Updated(project, code, out.getvalue(), changed)


def test_the_update_lands_on_the_new_layout_without_a_conflict(updated: Updated) -> None:
    assert updated.code == 0, updated.said
    package = updated.project / "src" / "layout_probe"
    assert {path.name for path in package.iterdir()} & MACHINERY == set()
    assert "model_service(schema, MODEL" in (package / "service.py").read_text()
    assert "mlci-serving" in (updated.project / "pyproject.toml").read_text()
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=updated.project).stdout
    files = [updated.project / name for name in listed.splitlines()]
    marked = [str(path) for path in files if path.is_file() and b"<<<<<<<" in path.read_bytes()]
    assert marked == []
    assert not list(updated.project.rglob("*.rej"))


def test_the_owners_edit_is_kept_beside_the_templates_change(updated: Updated) -> None:
    assert "src/layout_probe/train.py" in updated.changed
    train = (updated.project / "src" / "layout_probe" / "train.py").read_text()
    assert EDITED in train
    assert OWN_EDIT not in train
    assert "make_pipeline(DateParts()," in train


def tracked(project: Path) -> dict[str, bytes]:
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=project).stdout.splitlines()
    return {name: (project / name).read_bytes() for name in listed if (project / name).is_file()}


def test_the_updated_repository_is_what_the_template_generates_today(updated: Updated, tmp_path: Path) -> None:
    from cookiecutter.main import cookiecutter

    answers = offline_answers(updated.project.parent / "storage", project_name="Layout Probe")
    fresh = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path), extra_context=answers))
    theirs, ours = tracked(updated.project), tracked(fresh)
    assert sorted(set(theirs) ^ set(ours)) == []
    differing = sorted(name for name in ours if theirs[name] != ours[name])
    assert differing == [".cruft.json", "src/layout_probe/train.py"]  # the commit recorded, and the owner's edit
    train = ours["src/layout_probe/train.py"].decode().replace(OWN_EDIT, EDITED)
    assert theirs["src/layout_probe/train.py"].decode() == train
