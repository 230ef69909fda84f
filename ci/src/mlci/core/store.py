"""The artifact store: built bentos with their records, in a local folder or at any fsspec URL.

Layout: `<url>/<name>/<version>.bento` and `<url>/<name>/<version>.json`, the record written last,
so a bento without its record is an interrupted upload and counts as absent. The store holds the
bytes; git vouches for them (`seals`): a fetched bento is checked against the checksum git seals.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlci.core.errors import MlciError
from mlci.core.storage import STORE_SETTING, Location, filesystem, reaching, require_bucket

# A build's name in the store, and in its seal's git tag: no path in it, nothing git refuses in a ref name.
VERSION = re.compile(r"^(?!.*\.\.)(?!.*\.lock$)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(?<!\.)$")


class StoreError(MlciError):
    """A build that is missing from the store, or whose bytes do not match their checksum."""


def digest(path: Path, algorithm: str = "sha256") -> str:
    """A file's checksum, read in chunks."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def sha256(path: Path) -> str:
    """The SHA-256 of a file: the checksum of builds and their models."""
    return digest(path)


class Store:
    """Built bentos under one URL."""

    def __init__(self, url: str) -> None:
        self.url = url if "://" in url else os.path.expanduser(url)
        self.fs, self.root = filesystem(url)

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        with reaching(self.url, STORE_SETTING):
            yield

    def _path(self, name: str, version: str, suffix: str) -> str:
        if version and not VERSION.fullmatch(version):
            raise StoreError(
                f"version {version!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit, "
                "with no '..' and not ending in '.' or '.lock' (git names its seal after it)"
            )
        return f"{self.root.rstrip('/')}/{name}/{version}{suffix}"

    def record(self, name: str, version: str) -> dict[str, Any] | None:
        """What the store knows of a build, or None when it has none."""
        path = self._path(name, version, ".json")
        with self._reaching():
            if not self.fs.exists(path):
                require_bucket(Location(self.url, STORE_SETTING))
                return None
            with self.fs.open(path, "r") as file:
                record: dict[str, Any] = json.load(file)
        return record

    def put(self, bento: Path, name: str, version: str, record: dict[str, Any]) -> None:
        """Upload a bento, then its record with the bento's checksum."""
        try:
            with self._reaching():
                self.fs.makedirs(self._path(name, "", "").rstrip("/"), exist_ok=True)
                self.fs.put_file(str(bento), self._path(name, version, ".bento"))
                self._write_record(name, version, {**record, "bento_sha256": sha256(bento)})
        except OSError as error:
            raise StoreError(
                f"{self.url}: cannot store the build of {name} {version} there ({error.strerror or error}): "
                "check that the location exists and that you may write to it ([store] url in mlci.toml)"
            ) from None

    def _write_record(self, name: str, version: str, record: dict[str, Any]) -> None:
        """Write a record whole or not at all: a partial file, then moved over the record."""
        path = self._path(name, version, ".json")
        with self._reaching():
            with self.fs.open(f"{path}.partial", "w") as file:
                json.dump(record, file, indent=2, sort_keys=True)
            self.fs.mv(f"{path}.partial", path)

    def fetch(self, name: str, version: str, destination: Path, bento_sha256: str) -> Path:
        """Download a bento and check it against the checksum git seals for it; the local file."""
        if self.record(name, version) is None:
            raise StoreError(
                f"{self.url}: no build of {name} {version}, which git records as built: was the store emptied, "
                "or is [store] url another one? Remove the seal (`git push origin :refs/tags/mlci-build/"
                f"{name}/{version}`, and here `git tag -d` it), then `mlci build {version}` from its commit"
            )
        local = destination / f"{name}-{version}.bento"
        try:
            with self._reaching():
                self.fs.get_file(self._path(name, version, ".bento"), str(local))
        except FileNotFoundError:
            raise StoreError(
                f"{self.url}: the build of {name} {version} has a record but no bento (an interrupted upload, or "
                f"a file removed by hand): remove {version}.json from the store and build it again"
            ) from None
        actual = sha256(local)
        if actual != bento_sha256:
            raise StoreError(
                f"{self.url}: the build of {name} {version} is not the one git seals (sha256 {actual}, sealed "
                f"{bento_sha256}): the store's copy was altered or replaced, and nothing was deployed from it. Put "
                "the sealed bento back from a backup of the store, or register a new version and build that"
            )
        return local
