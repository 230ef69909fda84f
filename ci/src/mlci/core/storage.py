"""Where the repository keeps its data, builds and logs: local folders, or buckets reached through fsspec.

A bucket that cannot be used becomes a StorageError naming its URL and what to check (the bucket, the
credentials, the endpoint), never a traceback. The endpoint of an S3-compatible service other than AWS is
`AWS_ENDPOINT_URL`, which botocore reads for DVC, fsspec and the service alike; `[storage] endpoint` in
`mlci.toml` sets it for every `mlci` command and what it starts, unless the environment already does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fsspec

from mlci.core.config import Config
from mlci.core.errors import MlciError
from mlci.core.settings import Storage

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# The settings that name each location, for messages that say what to correct.
REMOTE_SETTING = "the DVC remote's url in .dvc/config"
STORE_SETTING = "[store] url in mlci.toml"
LOG_SETTING = "[monitoring] log in mlci.toml"
SOURCE_SETTING = "[retrain] source in mlci.toml"
OUTCOMES_SETTING = "[kpi] outcomes in mlci.toml"
CREDENTIALS = {
    "s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`",
    "az": "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with a key or `az login`",
    "azure": "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with a key or `az login`",
}
# Failures to reach a service, by the names their libraries give them (botocore, aiohttp): none of those
# libraries is the toolkit's own dependency.
UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ClientOSError",
}


class StorageError(MlciError):
    """A bucket that does not exist, refuses the credentials, or cannot be reached."""


class UnreachableError(StorageError):
    """A storage service this machine cannot reach: every other location behind it fails the same way."""


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and path of an fsspec URL, or of a local path (`~` expanded)."""
    fs, path = fsspec.core.url_to_fs(url if "://" in url else os.path.expanduser(url))
    return fs, path


def use_endpoint(settings: Storage) -> None:
    """Make `[storage] endpoint` the endpoint of this process and of what it starts, unless one is set."""
    if settings.endpoint:
        os.environ.setdefault(ENDPOINT_VARIABLE, settings.endpoint)


def endpoint() -> str:
    """The endpoint in force: the environment's, or AWS's own."""
    return os.environ.get(ENDPOINT_VARIABLE) or "AWS's own"


@dataclass(frozen=True)
class Location:
    """A URL with the setting that names it, for messages."""

    url: str
    setting: str

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0] if "://" in self.url else ""

    @property
    def bucket(self) -> str:
        return self.url.partition("://")[2].split("/", 1)[0]


@contextmanager
def reaching(url: str, setting: str) -> Iterator[None]:
    """Turn a failure to use the bucket at `url` into a StorageError that says what to check."""
    try:
        yield
    except StorageError:
        raise
    except Exception as error:
        problem = diagnose(Location(url, setting), error)
        if problem is None:
            raise
        raise problem from None


def diagnose(location: Location, error: BaseException) -> StorageError | None:
    """What a failure at a bucket means and what to check, or None for an error that is not the bucket's."""
    if not location.scheme:
        return None
    names = {kind.__name__ for kind in type(error).__mro__}
    credentials = CREDENTIALS.get(location.scheme, "the credentials your storage service documents")
    if "NoCredentialsError" in names:
        return StorageError(
            f"{location.url}: no credentials found: set {credentials} in the environment (never in a repository file)"
        )
    if isinstance(error, PermissionError):
        return StorageError(
            f"{location.url}: access denied ({error}): check the credentials in the environment ({credentials}) "
            "and that they may read and write there"
        )
    if names & UNREACHABLE or isinstance(error, ConnectionError | TimeoutError):
        return UnreachableError(
            f"{location.url}: cannot reach the storage service at {endpoint()} ({error}): check [storage] endpoint "
            f"in mlci.toml (or {ENDPOINT_VARIABLE}), that the service runs and that this machine reaches it; then "
            "run the command again"
        )
    if isinstance(error, FileNotFoundError) and not bucket_exists(location):
        return missing_bucket(location)
    return None


def missing_bucket(location: Location) -> StorageError:
    return StorageError(
        f"{location.url}: the bucket {location.bucket!r} does not exist: create it, or correct {location.setting}"
    )


def bucket_exists(location: Location) -> bool:
    """Whether the bucket of a URL exists (a local folder always "exists": it is made when written)."""
    if not location.scheme:
        return True
    fs, _ = filesystem(location.url)
    with reaching(location.url, location.setting):
        try:
            fs.info(location.bucket)  # unlike exists(), says when the credentials or the service fail
        except FileNotFoundError:
            return False
    return True


def require_bucket(location: Location) -> None:
    """Refuse a URL whose bucket does not exist: nothing can be there, and nothing can be stored there."""
    if not bucket_exists(location):
        raise missing_bucket(location)


def check(location: Location) -> str:
    """Reach a location once: what is there, or a StorageError saying what to check."""
    if not location.scheme:
        folder = os.path.expanduser(location.url)
        return "a folder of this machine" + ("" if os.path.exists(folder) else ", made when first written")
    require_bucket(location)  # looking at a bucket needs the credentials that listing it needs
    fs, path = filesystem(location.url)
    with reaching(location.url, location.setting):
        present = fs.exists(path)
    return f"reachable at {endpoint()}" + ("" if present else ", nothing stored yet")


def locations(config: Config, root: Path) -> list[Location]:
    """Every place the repository stores things: the DVC remote, the builds, the inference log, new data, outcomes."""
    from mlci.core.runner import run

    settings = dict(line.partition("=")[::2] for line in run("dvc", "config", "--list", cwd=root).splitlines())
    remote = settings.get(f"remote.{settings.get('core.remote', '')}.url", "")
    named = [
        Location(remote, REMOTE_SETTING),
        Location(config.store.url, STORE_SETTING),
        Location(config.monitoring.log, LOG_SETTING),
        Location(config.retrain.source, SOURCE_SETTING),
        Location(config.kpi.outcomes, OUTCOMES_SETTING),
    ]
    return [location for location in named if location.url]
