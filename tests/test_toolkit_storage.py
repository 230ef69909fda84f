"""Storage settings and failures, without a server: the endpoint setting, and what each failure is said to be.

The same failures against a running S3 server are in test_object_storage.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlci.core.config import Config, ConfigError, load_config
from mlci.core.storage import ENDPOINT_VARIABLE, Location, StorageError, UnreachableError, diagnose, use_endpoint
from mlci.deploy.targets import pod_log_environment

CONFIG = """
[store]
url = "s3://bucket/bentos"

[deploy.staging]
target = "kubernetes"

[deploy.production]
port = 3000
"""


def config(tmp_path: Path, extra: str = "") -> Config:
    path = tmp_path / "mlci.toml"
    path.write_text(CONFIG + extra)
    return load_config(path)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:9000", "https://s3.example.com", "http://minio:9000/", "http://[::1]:9000"]
)
def test_an_endpoint_is_a_service_address(tmp_path: Path, endpoint: str) -> None:
    assert config(tmp_path, f'[storage]\nendpoint = "{endpoint}"\n').storage.endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "127.0.0.1:9000",
        "ftp://host",
        "http://key:secret@host",  # pragma: allowlist secret (a made-up credential the config must refuse)
        "http://host/bucket",
        "http://",
        "http://host:port",
    ],
)
def test_an_endpoint_with_a_path_credentials_or_no_scheme_is_refused(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, f'[storage]\nendpoint = "{endpoint}"\n')
    assert f"storage.endpoint: {endpoint!r} is not an endpoint: give the service's http:// or https://" in str(
        raised.value
    )


def test_the_endpoint_is_set_for_what_mlci_starts_unless_the_environment_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = config(tmp_path, '[storage]\nendpoint = "http://127.0.0.1:9000"\n').storage
    monkeypatch.delenv(ENDPOINT_VARIABLE, raising=False)
    use_endpoint(config(tmp_path).storage)
    assert ENDPOINT_VARIABLE not in os.environ  # no setting, nothing set
    use_endpoint(settings)
    assert os.environ[ENDPOINT_VARIABLE] == "http://127.0.0.1:9000"
    monkeypatch.setenv(ENDPOINT_VARIABLE, "http://other:9000")
    use_endpoint(settings)
    assert os.environ[ENDPOINT_VARIABLE] == "http://other:9000"


def test_pods_are_told_the_endpoint_with_a_bucket_log_only(tmp_path: Path) -> None:
    endpoint = '[storage]\nendpoint = "http://minio:9000"\n'
    bucket = '[monitoring]\nlog = "s3://bucket/log"\n'
    told = pod_log_environment(config(tmp_path, endpoint + bucket), "staging", tmp_path)
    assert told["INFERENCE_LOG_URL"] == "s3://bucket/log/staging"
    assert told[ENDPOINT_VARIABLE] == "http://minio:9000"
    assert ENDPOINT_VARIABLE not in pod_log_environment(config(tmp_path, bucket), "staging", tmp_path)
    folder = endpoint + '[monitoring]\nlog = "/srv/log"\n'
    assert pod_log_environment(config(tmp_path, folder), "staging", tmp_path) == {}


class EndpointConnectionError(Exception):
    """Named as botocore names a service it cannot connect to."""


class NoCredentialsError(Exception):
    """Named as botocore names a lookup that found no credentials."""


BUCKET = Location("s3://bucket/bentos", "[store] url in mlci.toml")


def said(error: BaseException, location: Location = BUCKET) -> StorageError:
    problem = diagnose(location, error)
    assert problem is not None
    return problem


def test_refused_credentials_name_the_url_and_where_credentials_come_from() -> None:
    problem = said(PermissionError("Forbidden"))
    assert str(problem) == (
        "s3://bucket/bentos: access denied (Forbidden): check the credentials in the environment (AWS_ACCESS_KEY_ID "
        "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials) and that they may read and write there"
    )
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(said(PermissionError(), Location("gs://b/x", "[store] url")))


def test_missing_credentials_say_so() -> None:
    assert "s3://bucket/bentos: no credentials found: set AWS_ACCESS_KEY_ID" in str(said(NoCredentialsError()))


def test_an_unreachable_service_names_the_endpoint_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_VARIABLE, "http://127.0.0.1:9")
    for error in (EndpointConnectionError("no"), ConnectionRefusedError(), TimeoutError()):
        problem = said(error)
        assert isinstance(problem, UnreachableError)
        assert str(problem).startswith("s3://bucket/bentos: cannot reach the storage service at http://127.0.0.1:9 (")
    monkeypatch.delenv(ENDPOINT_VARIABLE)
    assert "at AWS's own (" in str(said(TimeoutError()))


def test_a_folder_of_this_machine_and_other_errors_are_left_to_their_own_handling() -> None:
    assert diagnose(Location("/srv/bentos", "[store] url"), PermissionError("denied")) is None
    assert diagnose(BUCKET, ValueError("not JSON")) is None
    assert diagnose(BUCKET, IsADirectoryError()) is None  # an OSError that is not the bucket's
