"""The artifact store: a build comes back only with the bytes git's seal names (`seals` hands it the checksum)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mlci.core.store import Store, StoreError, sha256

BYTES = b"the bento's bytes"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    bento = tmp_path / "built.bento"
    bento.write_bytes(BYTES)
    store = Store(str(tmp_path / "store"))
    store.put(bento, "house", "v1", {"version": "v1"})
    return store


def sealed() -> str:
    """The checksum a seal would name for the stored bytes."""
    return hashlib.sha256(BYTES).hexdigest()


def test_a_stored_build_comes_back_with_its_record(store: Store, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    local = store.fetch("house", "v1", tmp_path / "out", sealed())
    assert local.read_bytes() == BYTES
    assert store.record("house", "v1") == {"version": "v1", "bento_sha256": sha256(local)}


def test_a_build_whose_store_record_was_rewritten_with_it_is_still_refused(store: Store, tmp_path: Path) -> None:
    """The store's own record vouches for nothing: replaced bytes with a record to match are refused."""
    stored = Path(store.root) / "house" / "v1.bento"
    stored.write_bytes(b"the bento's bytes, replaced")
    record = stored.with_suffix(".json")
    record.write_text(json.dumps({"version": "v1", "bento_sha256": sha256(stored)}))
    (tmp_path / "out").mkdir()
    with pytest.raises(
        StoreError, match=f"sha256 {sha256(stored)}, sealed {sealed()}\\): the store's copy was altered"
    ):
        store.fetch("house", "v1", tmp_path / "out", sealed())


def test_a_bento_without_its_record_counts_as_absent(store: Store, tmp_path: Path) -> None:
    (Path(store.root) / "house" / "v1.json").unlink()
    assert store.record("house", "v1") is None
    with pytest.raises(StoreError, match=r"no build of house v1, which git records as built.*mlci build v1"):
        store.fetch("house", "v1", tmp_path, sealed())


def test_a_record_without_its_bento_says_how_to_repair_it(store: Store, tmp_path: Path) -> None:
    (Path(store.root) / "house" / "v1.bento").unlink()
    with pytest.raises(StoreError, match=r"has a record but no bento .*remove v1\.json from the store and build"):
        store.fetch("house", "v1", tmp_path, sealed())


def test_a_store_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bento = tmp_path / "built.bento"
    bento.write_bytes(b"bytes")
    with pytest.raises(StoreError, match=r"cannot store the build of house v1 there .*\[store\] url"):
        Store(str(blocker / "store")).put(bento, "house", "v1", {})


@pytest.mark.parametrize(
    "version", ["../../elsewhere", "v1/../../x", ".hidden", "v 1", "v1\n", "v1..2", "v1.lock", "v1."]
)
def test_a_version_that_is_not_a_plain_name_never_reaches_a_path(tmp_path: Path, version: str) -> None:
    with pytest.raises(StoreError, match=r"use letters, digits, '\.', '_' and '-'"):
        Store(str(tmp_path)).record("house", version)
