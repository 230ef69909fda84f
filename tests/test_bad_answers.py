"""Bad answers are refused before anything is written, with a message naming the field and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CI_PACKAGE, offline_answers
from cookiecutter.exceptions import FailedHookException
from pytest_cookies.plugin import Cookies

BAD_ANSWERS = [
    ("project_name", "   ", "is empty"),
    ("project", "My Project", "not a valid name"),
    ("project", "double--hyphen", "not a valid name"),
    ("project", "trailing-", "not a valid name"),
    ("project", "9lives", "not a valid name"),
    ("package_name", "2fast", "starts with a digit"),
    ("package_name", "class", "is a Python keyword"),
    ("package_name", "match", "is a Python keyword"),
    ("package_name", "my-package", "not a valid Python package name"),
    ("package_name", "json", "would shadow"),
    ("package_name", "bentoml", "would shadow"),
    ("description", "two\nlines", "single line"),
    ("author_name", "", "is empty"),
    ("author_email", "not-an-email", "is not an e-mail address"),
    ("author_email", "a@b", "is not an e-mail address"),
    ("author_email", "a b@example.com", "is not an e-mail address"),
    ("python_version", "3.10", "Choose one of: 3.11, 3.12, 3.13"),
    ("python_version", "3.14", "Choose one of: 3.11, 3.12, 3.13"),
    ("license", "GPL-3.0", "Choose one of: MIT, Apache-2.0, BSD-3-Clause, Proprietary"),
    ("storage", "ftp://host/models", "unknown scheme 'ftp://'"),
    ("storage", "s3://", "names no bucket"),
    ("storage", "relative/storage", "is a relative path"),
    ("project", "a" * 49, "is 49 characters long. Keep it to 48"),  # names Kubernetes objects: 63 at most
    ("project_name", "a" * 101, "is 101 characters long. Keep it to 100"),
    ("project_name", "a" * 300, "is 300 characters long. Keep it to 100"),  # longer than a folder name may be
    ("package_name", "a" * 49, "is 49 characters long. Keep it to 48"),
    ("description", "a\x7fb", "no control characters"),
    ("storage", "/tmp/store\n[cache]\ndir = /tmp/elsewhere", "contains '\\n'"),  # a section added to .dvc/config
    ("storage", "/tmp/a'b", 'contains "\'"'),
    ("storage", "/tmp/store#1", "start of a comment"),
    ("storage", "s3://KEY:SECRET@bucket/models", "carries credentials"),  # pragma: allowlist secret
    ("storage", "s3://KEY@bucket/models", "carries credentials"),
    ("mlci_source", 'git+https://example.com/mlci", "evil-package', "contains '\"'"),
    ("mlci_source", "git+https://user:token@example.com/mlci", "carries credentials"),  # pragma: allowlist secret
    ("mlci_source", "ci", "neither a git+ URL nor an absolute path"),
    ("mlci_source", "git+not a url", "is not a git URL"),
    ("mlci_source", "git+ftp://example.com/mlci#subdirectory=ci", "is not a git URL"),  # only the scheme is wrong
    ("mlci_source", "git+https://", "is not a git URL"),  # the scheme alone
    ("mlci_source", str(CI_PACKAGE / "src"), "has no pyproject.toml"),
    (
        "mlci_source",
        "git+https://example.com/mlci@v1",
        "is not a git URL of the toolkit's ci/ folder",
    ),  # no subdirectory
    ("mlci_source", "git+https://example.com/mlci@v1#subdirectory=tools", "is not a git URL of the toolkit's ci/"),
]


def refuse(cookies: Cookies, capfd: pytest.CaptureFixture[str], tmp_path: Path, answers: dict[str, str]) -> str:
    """Bake with bad answers; return what the hook said after checking nothing was left behind."""
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException)
    left = [path for path in tmp_path.rglob("*") if not path.is_dir()]
    assert left == [], "generation left files behind"
    return capfd.readouterr().err


@pytest.mark.parametrize(("field", "value", "reason"), BAD_ANSWERS)
def test_bad_answer_is_refused(
    cookies: Cookies, capfd: pytest.CaptureFixture[str], tmp_path: Path, field: str, value: str, reason: str
) -> None:
    message = refuse(cookies, capfd, tmp_path, offline_answers(tmp_path / "storage", **{field: value}))
    assert f"{field} = {value!r}" in message
    assert reason in message
    assert "nothing was generated" in message


def test_storage_inside_the_repository_is_refused(
    cookies: Cookies, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inside = tmp_path / "cookies" / "bake00" / "penguin-species" / "storage"
    message = refuse(cookies, capfd, tmp_path, offline_answers(inside))
    assert "is inside the generated repository" in message


def test_a_toolkit_folder_without_the_runtime_beside_it_is_refused(
    cookies: Cookies, capfd: pytest.CaptureFixture[str], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    alone = tmp_path_factory.mktemp("elsewhere") / "ci"
    alone.mkdir(parents=True)
    (alone / "pyproject.toml").write_text((CI_PACKAGE / "pyproject.toml").read_text())
    message = refuse(cookies, capfd, tmp_path, offline_answers(tmp_path / "storage", mlci_source=str(alone)))
    assert "has no serving/ folder beside it" in message


def test_every_bad_answer_is_reported_at_once(
    cookies: Cookies, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = offline_answers(tmp_path / "storage", package_name="2fast", author_email="nobody", license="WTFPL")
    message = refuse(cookies, capfd, tmp_path, answers)
    for field in ("package_name", "author_email", "license"):
        assert f"  {field} = " in message
