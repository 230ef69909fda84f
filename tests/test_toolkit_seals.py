"""What git vouches for of a build (`seals`) and of its unpacked files (`manifest`): fast, on repositories made here
with a bare repository as origin."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run
from mlci.build.manifest import check_tree, manifest_of
from mlci.core.errors import BuildError
from mlci.core.registry import RegistryError, sync
from mlci.core.seals import BuildSeal, SealError, build_seal, find_build_seal, image_seal, seal_build, seal_image

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
SEALED = BuildSeal("house", "v0.0.1", "a" * 64, "b" * 64, "mlci-serving 0.1.0", {"src/x.py": "c" * 64})


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of one commit whose origin is a bare repository."""
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    origin, root = tmp_path / "origin.git", tmp_path / "work"
    run("git", "init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    run("git", "init", "--quiet", str(root), cwd=tmp_path)
    run("git", "commit", "--quiet", "--allow-empty", "-m", "first", cwd=root)
    run("git", "remote", "add", "origin", str(origin), cwd=root)
    run("git", "push", "--quiet", "origin", "HEAD", cwd=root)
    return root


def test_a_sealed_build_reads_back_as_written_and_is_on_origin(root: Path) -> None:
    assert find_build_seal(root, "house", "v0.0.1") is None
    seal_build(root, SEALED)
    assert build_seal(root, "house", "v0.0.1") == SEALED
    listed = run("git", "ls-remote", "--tags", "origin", cwd=root).stdout
    assert "refs/tags/mlci-build/house/v0.0.1" in listed


def test_no_seal_is_refused_saying_how_to_make_one(root: Path) -> None:
    with pytest.raises(SealError, match=r"git records no build of house v0\.0\.1 .*`mlci build v0\.0\.1`"):
        build_seal(root, "house", "v0.0.1")


@pytest.mark.parametrize(
    "message",
    [
        "not a record",
        '["a list"]',
        '{"name": "house", "version": "v0.0.1", "bento_sha256": "' + "a" * 64 + '"}',  # fields missing
    ],
)
def test_a_tag_that_is_no_seal_of_mlcis_is_refused(root: Path, message: str) -> None:
    run("git", "tag", "--annotate", "mlci-build/house/v0.0.1", "--message", message, cwd=root)
    with pytest.raises(SealError, match="is not a seal mlci wrote"):
        build_seal(root, "house", "v0.0.1")


def test_a_seal_of_another_build_or_without_checksums_is_refused(root: Path) -> None:
    other = BuildSeal("house", "v0.0.2", "a" * 64, "b" * 64, "mlci-serving 0.1.0")
    seal(root, "mlci-build/house/v0.0.1", other)
    with pytest.raises(SealError, match=r"does not seal house v0\.0\.1 with SHA-256 checksums"):
        build_seal(root, "house", "v0.0.1")
    short = BuildSeal("house", "v0.0.3", "a" * 63, "b" * 64, "mlci-serving 0.1.0")
    seal(root, "mlci-build/house/v0.0.3", short)
    with pytest.raises(SealError, match="with SHA-256 checksums"):
        build_seal(root, "house", "v0.0.3")


def seal(root: Path, tag: str, content: BuildSeal) -> None:
    """A tag carrying a record, as a hand (not `seals`) would write it: here only, never pushed."""
    run("git", "tag", "--annotate", tag, "--message", json.dumps(content.record()), cwd=root)


def test_a_lightweight_tag_is_no_seal(root: Path) -> None:
    run("git", "tag", "mlci-build/house/v0.0.1", cwd=root)  # its "message" would be the commit's
    assert find_build_seal(root, "house", "v0.0.1") is None


def test_a_seal_origin_lacks_is_dropped_by_the_registrys_sync(root: Path) -> None:
    """A build whose seal never reached origin is no build anyone else can check."""
    seal(root, "mlci-build/house/v0.0.1", SEALED)  # tagged here only, as a build stopped before its push
    assert sync(root) == ["mlci-build/house/v0.0.1"]
    assert find_build_seal(root, "house", "v0.0.1") is None


def test_an_image_is_sealed_on_its_builds_commit(root: Path) -> None:
    seal_build(root, SEALED)
    built = run("git", "rev-parse", "HEAD", cwd=root).stdout.strip()
    run("git", "commit", "--quiet", "--allow-empty", "-m", "later", cwd=root)
    assert image_seal(root, "house", "v0.0.1") is None
    image = "ghcr.io/owner/house@sha256:" + "d" * 64
    seal_image(root, "house", "v0.0.1", image)
    assert image_seal(root, "house", "v0.0.1") == image
    tagged = run("git", "rev-parse", "refs/tags/mlci-image/house/v0.0.1^{commit}", cwd=root).stdout.strip()
    assert tagged == built


def test_a_second_seal_of_one_build_is_refused_by_git(root: Path) -> None:
    seal_build(root, SEALED)
    with pytest.raises(SealError, match=r"mlci-build/house/v0\.0\.1 already exists: a build or image is sealed once"):
        seal_build(root, SEALED)


def tree(folder: Path) -> Path:
    (folder / "src" / "pkg").mkdir(parents=True)
    (folder / "src" / "pkg" / "service.py").write_text("served = True\n")
    (folder / "src" / "model.pkl").write_bytes(b"model")
    (folder / "bento.yaml").write_text("service: pkg.service\n")
    return folder


def test_an_unchanged_tree_passes_and_every_change_is_named(tmp_path: Path) -> None:
    folder = tree(tmp_path / "bento")
    manifest = manifest_of(folder)
    assert sorted(manifest) == ["bento.yaml", "src/model.pkl", "src/pkg/service.py"]
    check_tree(folder, manifest, tmp_path)  # as built: nothing to say
    (folder / "src" / "pkg" / "service.py").write_text("served = 'by someone else'\n")
    with pytest.raises(BuildError, match=r"changed: src/pkg/service\.py\); nothing was started"):
        check_tree(folder, manifest, tmp_path)


def test_a_planted_file_a_missing_one_and_a_link_are_refused(tmp_path: Path) -> None:
    folder = tree(tmp_path / "bento")
    manifest = manifest_of(folder)
    (folder / "src" / "pkg" / "__pycache__").mkdir()
    (folder / "src" / "pkg" / "__pycache__" / "service.cpython-311.pyc").write_bytes(b"planted")
    with pytest.raises(BuildError, match=r"added: src/pkg/__pycache__/service\.cpython-311\.pyc"):
        check_tree(folder, manifest, tmp_path)
    (folder / "src" / "pkg" / "__pycache__" / "service.cpython-311.pyc").unlink()
    (folder / "src" / "model.pkl").unlink()
    with pytest.raises(BuildError, match=r"missing: src/model\.pkl"):
        check_tree(folder, manifest, tmp_path)
    os.symlink(tmp_path / "elsewhere", folder / "src" / "model.pkl")
    with pytest.raises(BuildError, match=r"changed: src/model\.pkl"):
        check_tree(folder, manifest, tmp_path)


def test_a_seal_rewritten_on_origin_stops_the_sync_saying_so(root: Path, tmp_path: Path) -> None:
    seal_build(root, SEALED)
    other = tmp_path / "other"
    run("git", "clone", "--quiet", str(tmp_path / "origin.git"), str(other), cwd=tmp_path)
    run("git", "tag", "--delete", "mlci-build/house/v0.0.1", cwd=other)
    seal(other, "mlci-build/house/v0.0.1", BuildSeal("house", "v0.0.1", "e" * 64, "b" * 64, "mlci-serving 0.1.0"))
    run("git", "push", "--quiet", "--force", "origin", "refs/tags/mlci-build/house/v0.0.1", cwd=other)
    with pytest.raises(RegistryError, match="different tags of one name, and mlci never rewrites a tag"):
        sync(root)
    assert build_seal(root, "house", "v0.0.1") == SEALED  # this clone's seal stands
