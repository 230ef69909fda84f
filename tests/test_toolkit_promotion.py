"""Promotion and rollback through their rules, fast: a git repository made here, versions tagged as GTO tags them,
metrics committed with each version, and builds in a local artifact store. Nothing is trained or served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit, run, store_and_seal
from mlci.core.config import load_config
from mlci.core.errors import RefusedError
from mlci.core.registry import Registry, publish, sync, try_sync
from mlci.core.repository import Repository
from mlci.core.seals import SealError
from mlci.core.store import StoreError
from mlci.promotion.promote import promote, rollback

CONFIG = """\
[metrics]
f1 = "higher"
baseline_f1 = "higher"

[gates]
beat_baseline = {{f1 = 0.05}}
limit = {{f1 = 0.5}}

[store]
url = "{store}"

[deploy.staging]
port = 3001

[deploy.production]
port = 3000
"""
IDENTITY = {"GIT_AUTHOR_NAME": "Test User", "GIT_AUTHOR_EMAIL": "test@example.com"}


def version(root: Path, name: str, f1: float, baseline: float = 0.4, built: bool = True) -> None:
    """Commit metrics, tag the commit as GTO registers a version, and store a build of it, sealed in git."""
    (root / "reports" / "metrics.json").write_text(json.dumps({"f1": f1, "baseline_f1": baseline}))
    commit(root, f"Metrics of {name}")
    run("git", "tag", "-a", f"model@{name}", "-m", f"Registering artifact model version {name}", cwd=root)
    if built:
        store_and_seal(root, root.parent / "store", "house", name)


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Repository]:
    root = tmp_path / "house"
    (root / "reports").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "house"\n')
    (root / "dvc.yaml").write_text(
        "artifacts:\n  model:\n    path: models/model.pkl\nmetrics: [reports/metrics.json]\n"
    )
    (root / "mlci.toml").write_text(CONFIG.format(store=tmp_path / "store"))
    run("git", "init", "--quiet", cwd=root)
    for variable, value in {**IDENTITY, "GIT_COMMITTER_NAME": "Test User", "GIT_COMMITTER_EMAIL": "t@e.com"}.items():
        monkeypatch.setenv(variable, value)
    version(root, "v0.0.1", f1=0.8)
    return root, Repository.of(load_config(root / "mlci.toml"), root)


def holder(root: Path, stage: str) -> str | None:
    return Registry.read(root, "model").holder(stage)


def test_a_version_through_every_gate_is_assigned_with_a_tag(repository: tuple[Path, Repository]) -> None:
    root, house = repository
    promotion = promote(house, "v0.0.1", "staging")
    assert promotion.assignment.tag == "model#staging#1"
    assert [(check.rule, check.passed) for check in promotion.checks] == [
        ("f1 beats baseline by >= 0.05", True),
        ("f1 >= 0.5", True),
    ]
    assert holder(root, "staging") == "v0.0.1"
    promote(house, "0.0.1", "production")  # named without its v
    assert holder(root, "production") == "v0.0.1"


@pytest.mark.parametrize(
    ("f1", "baseline", "failed"),
    [
        (0.49, 0.4, "f1 >= 0.5"),  # under the limit
        (0.6, 0.56, "f1 beats baseline by >= 0.05"),  # a margin of 0.04 over the dummy model
    ],
)
def test_a_failed_gate_refuses_with_the_table_and_tags_nothing(
    repository: tuple[Path, Repository], f1: float, baseline: float, failed: str
) -> None:
    root, house = repository
    version(root, "v0.0.2", f1=f1, baseline=baseline)
    with pytest.raises(RefusedError, match=f"gates: v0.0.2 fails {failed}; no tag was created") as refused:
        promote(house, "v0.0.2", "staging")
    assert "FAIL" in refused.value.report
    assert holder(root, "staging") is None


def test_a_version_without_a_build_or_with_an_altered_one_is_refused(repository: tuple[Path, Repository]) -> None:
    root, house = repository
    version(root, "v0.0.2", f1=0.81, built=False)
    with pytest.raises(SealError, match=r"git records no build of house v0\.0\.2"):
        promote(house, "v0.0.2", "staging")
    (root.parent / "store" / "house" / "v0.0.1.bento").write_bytes(b"altered")
    with pytest.raises(StoreError, match="is not the one git seals"):
        promote(house, "v0.0.1", "staging")
    assert holder(root, "staging") is None


def test_rollback_assigns_the_previous_holder_again_and_needs_one(repository: tuple[Path, Repository]) -> None:
    root, house = repository
    with pytest.raises(RefusedError, match="staging has no earlier version to roll back to: no version has held it"):
        rollback(house, "staging")
    promote(house, "v0.0.1", "staging")
    with pytest.raises(RefusedError, match=r"only v0\.0\.1 has held it"):
        rollback(house, "staging")
    version(root, "v0.0.2", f1=0.9)
    promote(house, "v0.0.2", "staging")
    assignment = rollback(house, "staging")
    assert (assignment.version, assignment.tag) == ("v0.0.1", "model#staging#3")
    assert holder(root, "staging") == "v0.0.1"


@pytest.fixture
def shared(repository: tuple[Path, Repository]) -> tuple[Path, Repository, Path]:
    """The repository with a bare `origin` that holds its branch and tags, as a team shares them."""
    root, house = repository
    origin = root.parent / "origin.git"
    run("git", "init", "--quiet", "--bare", str(origin), cwd=root.parent)
    run("git", "remote", "add", "origin", str(origin), cwd=root)
    run("git", "push", "--quiet", "origin", "HEAD", "--tags", cwd=root)
    return root, house, origin


def remote_tags(origin: Path) -> set[str]:
    return set(run("git", "tag", cwd=origin).stdout.split())


def test_a_promotion_is_pushed_to_origin_and_sees_what_origin_holds(shared: tuple[Path, Repository, Path]) -> None:
    root, house, origin = shared
    version(root, "v0.0.2", f1=0.9)
    run("git", "push", "--quiet", "origin", "HEAD", "model@v0.0.2", cwd=root)
    run("git", "tag", "--delete", "model@v0.0.2", cwd=root)  # registered elsewhere: only origin has it now
    promotion = promote(house, "v0.0.2", "staging")
    assert promotion.assignment.tag in remote_tags(origin)
    assert holder(root, "staging") == "v0.0.2"


def test_a_repeated_promotion_assigns_nothing(shared: tuple[Path, Repository, Path]) -> None:
    _, house, origin = shared
    first = promote(house, "v0.0.1", "staging")
    again = promote(house, "v0.0.1", "staging")
    assert (first.assigned, again.assigned) == (True, False)
    assert again.assignment.tag == first.assignment.tag == "model#staging#1"
    assert {tag for tag in remote_tags(origin) if "#" in tag} == {"model#staging#1"}


def test_a_twin_tag_origin_already_holds_is_not_claimed(
    shared: tuple[Path, Repository, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two machines tagging the same commit the same second with one identity make the very same tag object: the
    second push changes nothing, and must not report that it did."""
    root, _, origin = shared
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00+00:00")
    twin = tmp_path / "twin"
    run("git", "clone", "--quiet", str(origin), str(twin), cwd=tmp_path)
    for clone in (root, twin):
        run("git", "tag", "--annotate", "model#staging#1", "--message", "assign", "HEAD", cwd=clone)
    publish(root, "model#staging#1")
    with pytest.raises(RefusedError, match="origin already held the tag model#staging#1"):
        publish(twin, "model#staging#1")


def test_a_tag_origin_refuses_is_removed_here_too(shared: tuple[Path, Repository, Path]) -> None:
    root, house, origin = shared
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(RefusedError, match="origin refused the tag model#staging#1, so it was removed here") as refused:
        promote(house, "v0.0.1", "staging")
    assert "tags are frozen today" in str(refused.value)
    assert holder(root, "staging") is None
    assert not any("#" in tag for tag in remote_tags(origin))


def test_an_assignment_never_pushed_is_dropped_before_anything_decides_on_it(
    shared: tuple[Path, Repository, Path],
) -> None:
    """A promotion stopped between its tag and its push leaves an assignment only this clone has: the next deploy
    (any writer, and status) drops it rather than honour what nobody else sees."""
    root, house, origin = shared
    promote(house, "v0.0.1", "staging")  # pushed: origin has it
    version(root, "v0.0.2", f1=0.9)
    run("git", "push", "--quiet", "origin", "HEAD", "model@v0.0.2", cwd=root)
    stray = "model#staging#2"
    run("git", "tag", "-a", stray, "-m", "Assigning stage staging to artifact model version v0.0.2", cwd=root)
    run("git", "tag", "notes-of-my-own", cwd=root)  # a tag of the user's, not the registry's: kept
    assert holder(root, "staging") == "v0.0.2"
    assert stray not in remote_tags(origin)
    assert sync(root) == [stray]
    assert holder(root, "staging") == "v0.0.1"
    assert {"model@v0.0.1", "model@v0.0.2", "model#staging#1", "notes-of-my-own"} <= set(
        run("git", "tag", cwd=root).stdout.split()
    )
    run("git", "tag", "-a", stray, "-m", "again", cwd=root)
    assert try_sync(root) == (
        f"dropped {stray}: tagged here, never pushed to origin (a command stopped before its push)"
    )
    assert sync(root) == []  # nothing else to drop: what origin has stays


def test_without_origin_the_local_registry_is_the_registry(repository: tuple[Path, Repository]) -> None:
    root, _ = repository
    run("git", "tag", "-a", "model#staging#1", "-m", "Assigning", cwd=root)
    assert sync(root) == []
    assert holder(root, "staging") == "v0.0.1"
