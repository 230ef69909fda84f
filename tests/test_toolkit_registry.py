"""How the toolkit reads the registry from git tags, and its lock: fast, on a repository made here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run
from mlci.core.errors import RefusedError
from mlci.core.locks import held
from mlci.core.registry import Registry, RegistryError, next_version

GIT = ["git", "-c", "user.name=Test User", "-c", "user.email=test@example.com"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Two registered commits, then staging v1, v2, back to v1, and production v2: GTO's tag names."""
    root = tmp_path_factory.mktemp("tags")
    run("git", "init", "--quiet", cwd=root)
    for version in ("v0.0.1", "v0.0.2"):
        run(*GIT, "commit", "--quiet", "--allow-empty", "-m", version, cwd=root)
        run(*GIT, "tag", "-a", f"model@{version}", "-m", "register", cwd=root)
    run(*GIT, "tag", "-a", "other@v9.0.0", "-m", "another model", cwd=root)
    for number, (stage, version) in enumerate(
        [("staging", "v0.0.1"), ("staging", "v0.0.2"), ("staging", "v0.0.1"), ("production", "v0.0.2")], start=1
    ):
        run(*GIT, "tag", "-a", f"model#{stage}#{number}", f"model@{version}^{{commit}}", "-m", "assign", cwd=root)
    return Registry.read(root, "model")


def test_versions_are_read_in_semantic_order_and_other_models_ignored(registry: Registry) -> None:
    assert list(registry.versions) == ["v0.0.1", "v0.0.2"]
    assert registry.version("0.0.2").name == "v0.0.2"


def test_a_stage_is_held_by_its_highest_numbered_assignment(registry: Registry) -> None:
    assert [a.version for a in registry.history("staging")] == ["v0.0.1", "v0.0.2", "v0.0.1"]
    assert registry.holder("staging") == "v0.0.1"
    assert registry.holder("production") == "v0.0.2"
    assert registry.holder("canary") is None


def test_the_previous_holder_is_the_last_other_version(registry: Registry) -> None:
    assert registry.previous("staging") == "v0.0.2"
    assert registry.previous("production") is None


def test_each_version_lists_the_stages_it_holds(registry: Registry) -> None:
    assert registry.stages_of("v0.0.1") == ["staging"]
    assert registry.stages_of("v0.0.2") == ["production"]


def test_an_unknown_version_names_the_registered_ones(registry: Registry) -> None:
    with pytest.raises(
        RegistryError, match=r"model has no version 'v1\.0\.0'; registered versions: v0\.0\.1, v0\.0\.2"
    ):
        registry.version("v1.0.0")


@pytest.fixture(scope="module")
def eleven(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Eleven registered versions, v0.0.1 to v0.0.11, and eleven staging assignments, each to the next version."""
    root = tmp_path_factory.mktemp("eleven")
    run("git", "init", "--quiet", cwd=root)
    for patch in range(1, 12):
        run(*GIT, "commit", "--quiet", "--allow-empty", "-m", str(patch), cwd=root)
        run(*GIT, "tag", "-a", f"model@v0.0.{patch}", "-m", "register", cwd=root)
        run(*GIT, "tag", "-a", f"model#staging#{patch}", "-m", "assign", cwd=root)
    return Registry.read(root, "model")


def test_versions_and_assignments_past_nine_are_ordered_as_numbers(eleven: Registry) -> None:
    assert list(eleven.versions)[-3:] == ["v0.0.9", "v0.0.10", "v0.0.11"]
    assert [a.number for a in eleven.history("staging")][-3:] == [9, 10, 11]
    assert eleven.holder("staging") == "v0.0.11"
    assert eleven.previous("staging") == "v0.0.10"


@pytest.mark.parametrize(
    ("latest", "bump", "expected"),
    [
        (None, "major", "v0.0.1"),  # the first version is v0.0.1, whatever the bump
        ("v1.2.9", "patch", "v1.2.10"),
        ("v1.9.3", "minor", "v1.10.0"),
        ("v9.2.3", "major", "v10.0.0"),
    ],
)
def test_a_bump_raises_its_part_and_resets_the_ones_below(latest: str | None, bump: str, expected: str) -> None:
    assert next_version(latest, bump) == expected


def test_a_held_lock_refuses_a_second_holder_at_once(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "staging.lock"
    with held(lock, "another deploy of staging is running"):
        script = (
            f"from pathlib import Path\nfrom mlci.core.locks import held\nwith held(Path({str(lock)!r}), 'busy'): pass"
        )
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        with (
            pytest.raises(RefusedError, match="another deploy of staging is running; nothing was changed"),
            held(lock, "another deploy of staging is running"),
        ):
            pass
    assert other.returncode != 0
    assert "busy; nothing was changed" in other.stderr
    with held(lock, "free again"):  # released on exit
        pass
