"""The artifact store: a build comes back only with the bytes its record names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlci.build.installed import check_installed_model
from mlci.core.errors import BuildError
from mlci.core.store import Store, StoreError, sha256


@pytest.fixture
def store(tmp_path: Path) -> Store:
    bento = tmp_path / "built.bento"
    bento.write_bytes(b"the bento's bytes")
    store = Store(str(tmp_path / "store"))
    store.put(bento, "house", "v1", {"version": "v1"})
    return store


def test_a_stored_build_comes_back_with_its_record(store: Store, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    local, record = store.fetch("house", "v1", tmp_path / "out")
    assert local.read_bytes() == b"the bento's bytes"
    assert record == {"version": "v1", "bento_sha256": sha256(local)}


def test_an_altered_build_is_refused_naming_both_checksums(store: Store, tmp_path: Path) -> None:
    stored = Path(store.root) / "house" / "v1.bento"
    stored.write_bytes(b"the bento's bytes, altered")
    expected = json.loads(stored.with_suffix(".json").read_text())["bento_sha256"]
    (tmp_path / "out").mkdir()
    with pytest.raises(StoreError, match=f"expected {expected}, got {sha256(stored)}"):
        store.fetch("house", "v1", tmp_path / "out")


def test_a_bento_without_its_record_counts_as_absent(store: Store, tmp_path: Path) -> None:
    (Path(store.root) / "house" / "v1.json").unlink()
    assert store.record("house", "v1") is None
    with pytest.raises(StoreError, match="no build of house v1; make it with `mlci build v1`"):
        store.fetch("house", "v1", tmp_path)


def test_a_record_without_its_bento_says_how_to_repair_it(store: Store, tmp_path: Path) -> None:
    (Path(store.root) / "house" / "v1.bento").unlink()
    with pytest.raises(StoreError, match=r"has a record but no bento .*remove v1\.json from the store and build"):
        store.fetch("house", "v1", tmp_path)


def test_a_store_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bento = tmp_path / "built.bento"
    bento.write_bytes(b"bytes")
    with pytest.raises(StoreError, match=r"cannot store the build of house v1 there .*\[store\] url"):
        Store(str(blocker / "store")).put(bento, "house", "v1", {})


def test_an_imported_build_whose_model_changed_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "home" / "bentos" / "house" / "v1" / "src" / "models" / "model.pkl"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"the model")
    built = sha256(model)
    check_installed_model(model, built, tmp_path / "home")  # as built: nothing to say
    model.write_bytes(b"another model")
    with pytest.raises(BuildError, match=rf"sha256 {sha256(model)}, built {built}\); nothing was started\. Remove"):
        check_installed_model(model, built, tmp_path / "home")
    model.unlink()
    with pytest.raises(BuildError, match=r"sha256 no file"):
        check_installed_model(model, built, tmp_path / "home")


@pytest.mark.parametrize("version", ["../../elsewhere", "v1/../../x", ".hidden", "v 1", "v1\n"])
def test_a_version_that_is_not_a_plain_name_never_reaches_a_path(tmp_path: Path, version: str) -> None:
    with pytest.raises(StoreError, match=r"use letters, digits, '\.', '_' and '-'"):
        Store(str(tmp_path)).record("house", version)
