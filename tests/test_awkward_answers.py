"""The longest and the most awkward answers the hook accepts generate a repository whose files parse, mean the
answers, and pass the repository's own `nox -s lint tests`: names of the longest length, and free text with quotes,
backslashes, markup and characters outside the Basic Multilingual Plane."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import generate, run

LONGEST = "abcdefgh-" * 5 + "abc"  # 48 characters: the longest project the hook accepts
ANSWERS = {
    "project": LONGEST,
    "package_name": LONGEST.replace("-", "_"),  # 48 characters too
    "project_name": 'Ann\'s "quoted" \\ model ✓ 🐧 <b>&amp;',
    "description": "Says \"hi\" \\ and 'bye' 🐧 <&> \\n, and all",
    "author_name": 'O\'Neil "A" \\',
    "author_email": "o.neil+models@example.com",
}


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("awkward"), **ANSWERS)


def test_the_files_that_carry_an_answer_parse_and_mean_it(awkward: Path) -> None:
    pyproject = tomllib.loads((awkward / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == LONGEST
    assert pyproject["project"]["description"] == ANSWERS["description"]
    assert pyproject["project"]["authors"] == [{"name": ANSWERS["author_name"], "email": ANSWERS["author_email"]}]
    pipeline = yaml.safe_load((awkward / "dvc.yaml").read_text(encoding="utf-8"))
    assert pipeline["artifacts"]["model"]["desc"] == ANSWERS["project_name"]
    assert ANSWERS["project_name"] in (awkward / "README.md").read_text(encoding="utf-8")
    assert (awkward / "src" / ANSWERS["package_name"] / "service.py").is_file()


@pytest.mark.slow
def test_the_repository_passes_its_own_lint_and_tests(awkward: Path) -> None:
    run("nox", "-s", "lint", "tests", cwd=awkward)
