"""Object storage end to end: a repository generated with `storage=s3://BUCKET/PREFIX`, against a real S3 server.

moto's server runs on 127.0.0.1. The repository reaches it through `[storage] endpoint` in mlci.toml alone, as
a user of MinIO, Ceph or R2 would; credentials come from the environment. One generated repository is shared:
fixtures push, build, deploy and retrain it, each test asks for the state it needs, and a test that changes the
repository restores it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pandas as pd
import pytest
import yaml
from conftest import RELEASE_IDENTITY, commit, edited, generate, register_and_build, run, set_params
from mlci.deploy.targets.process import free_port
from proxy import VanishingProxy
from served import post_records

pytestmark = pytest.mark.slow

BUCKET = "mlci-objects"
PREFIX = "penguins"
TIMEOUT = 600  # seconds for one command: a hung client fails its test saying which command it was
FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]


def start_moto(port: int, **settings: str) -> subprocess.Popen[bytes]:
    """moto's S3 server on 127.0.0.1:`port`, once it answers."""
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(
        command, env={**os.environ, **settings}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
            return server
        except OSError:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, f"moto's server did not answer on port {port} in 30 s"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = start_moto(port)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


class Bucketed(NamedTuple):
    """The generated repository, its bare `origin`, the environment its commands run in, and the bucket."""

    path: Path
    origin: Path
    env: dict[str, str]
    bucket: Any  # boto3's S3 client, on the same server

    def keys(self, prefix: str) -> dict[str, str]:
        """The bucket's objects under `prefix`, with their ETags."""
        pages = self.bucket.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        body: bytes = self.bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body


def storage_environment(root: Path) -> dict[str, str]:
    """Test credentials in the environment, no AWS files of the machine, no endpoint but mlci.toml's."""
    empty = root / "aws-files-left-empty"
    empty.touch()
    inherited = {key: value for key, value in os.environ.items() if key not in {"AWS_ENDPOINT_URL", "AWS_PROFILE"}}
    return {
        **inherited,
        **RELEASE_IDENTITY,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret (moto's test credentials)
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }


def mlci(project: Bucketed, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = ["uv", "run", "--no-sync", "mlci", *args]
    env = {**project.env, **env}
    return subprocess.run(command, cwd=project.path, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def nox(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nox", *args], cwd=path, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def push(project: Bucketed, message: str) -> None:
    commit(project.path, message)
    run("git", "push", "--quiet", "origin", "HEAD", cwd=project.path, env=project.env)


@pytest.fixture(scope="module")
def pushed(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Bucketed:
    """A repository generated for the bucket, reproduced by `nox -s repro`, its commits on `origin`."""
    root = tmp_path_factory.mktemp("object-storage")
    env = storage_environment(root)
    bucket = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials(env))
    bucket.create_bucket(Bucket=BUCKET)
    path = generate(root, storage=f"s3://{BUCKET}/{PREFIX}")
    config = path / "mlci.toml"
    text = config.read_text().replace('endpoint = ""', f'endpoint = "{endpoint}"')
    config.write_text(re.sub(r"(?m)^flush_seconds = \d+", "flush_seconds = 1", text))
    origin = root / "origin.git"
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin), cwd=root)
    run("git", "remote", "add", "origin", str(origin), cwd=path)
    project = Bucketed(path, origin, env, bucket)
    push(project, "Reach the bucket through its endpoint")
    result = nox(path, env, "-s", "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    push(project, "Reproduce the pipeline")
    return project


def credentials(env: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture(scope="module")
def built(pushed: Bucketed) -> str:
    """The first model registered and its build stored in the bucket; its version."""
    return register_and_build(pushed.path, pushed.env)


class Deployed(NamedTuple):
    version: str
    url: str


@pytest.fixture(scope="module")
def deployed(pushed: Bucketed, built: str) -> Iterator[Deployed]:
    """The first build promoted to staging and served on a free port, fetched from the bucket."""
    port = free_port()
    config = pushed.path / "mlci.toml"
    config.write_text(config.read_text().replace("port = 3001", f"port = {port}"))
    push(pushed, "Serve staging on a free port")
    for step in (["promote", built, "--to", "staging"], ["deploy", "staging"]):
        result = mlci(pushed, *step)
        assert result.returncode == 0, f"{step}: {result.stdout}{result.stderr}"
    yield Deployed(built, f"http://127.0.0.1:{port}")
    mlci(pushed, "stop", "staging")


@pytest.fixture(scope="module")
def retrained(pushed: Bucketed, deployed: Deployed) -> Bucketed:
    """A second model, trained with other params and pushed; the first holds staging and production."""
    promoted = mlci(pushed, "promote", deployed.version, "--to", "production")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    set_params(pushed.path, n_estimators=3, max_depth=2)
    result = nox(pushed.path, pushed.env, "-s", "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    push(pushed, "Three shallow trees")
    return pushed


@pytest.fixture(scope="module")
def fresh_clone(retrained: Bucketed, tmp_path_factory: pytest.TempPathFactory) -> Bucketed:
    """A clone of `origin` with no DVC cache, its data and model pulled from the bucket by `nox -s pull`."""
    root = tmp_path_factory.mktemp("fresh-clone")
    path = root / "clone"
    run("git", "clone", "--quiet", str(retrained.origin), str(path), cwd=root)
    env = storage_environment(root)
    result = nox(path, env, "-s", "pull")
    assert result.returncode == 0, result.stdout + result.stderr
    return Bucketed(path, retrained.origin, env, retrained.bucket)


TRACKED = ["data/penguins.csv", "data/prepared/train.csv", "data/prepared/test.csv", "models/model.pkl"]


def test_repro_pushes_to_the_bucket_and_a_fresh_clone_pulls_the_same_bytes(
    retrained: Bucketed, fresh_clone: Bucketed
) -> None:
    stored = retrained.keys(f"{PREFIX}/dvc/")
    first_lock = yaml.safe_load(run("git", "show", "HEAD~1:dvc.lock", cwd=retrained.path).stdout)
    (first_model,) = [out["md5"] for out in first_lock["stages"]["train"]["outs"] if out["path"] == "models/model.pkl"]
    pulled = [hashlib.md5((fresh_clone.path / name).read_bytes()).hexdigest() for name in TRACKED]
    for md5 in [*pulled, first_model]:  # HEAD's data, splits and model, and the model before it
        assert f"{PREFIX}/dvc/files/md5/{md5[:2]}/{md5[2:]}" in stored, md5
    assert not (retrained.path.parent / "storage").exists()  # nothing went to a local folder instead
    for name in TRACKED:
        assert (fresh_clone.path / name).read_bytes() == (retrained.path / name).read_bytes(), name


def test_a_build_is_stored_in_the_bucket_with_its_checksum(pushed: Bucketed, built: str) -> None:
    keys = pushed.keys(f"{PREFIX}/bentos/")
    name = pushed.path.name
    assert {f"{PREFIX}/bentos/{name}/{built}.bento", f"{PREFIX}/bentos/{name}/{built}.json"} <= set(keys)
    record = json.loads(pushed.read(f"{PREFIX}/bentos/{name}/{built}.json"))
    bento = pushed.read(f"{PREFIX}/bentos/{name}/{built}.bento")
    assert record["bento_sha256"] == hashlib.sha256(bento).hexdigest()


def test_the_served_build_logs_to_the_bucket_and_drift_and_kpi_read_it(pushed: Bucketed, deployed: Deployed) -> None:
    held_out = pd.read_csv(pushed.path / "data" / "prepared" / "test.csv").head(30)
    rows = held_out[FEATURES]
    answers = post_records(deployed.url, rows, per_request=10)
    log = f"{PREFIX}/inference-log/staging/"
    deadline = time.monotonic() + 30
    while True:
        records = [json.loads(line) for key in pushed.keys(log) for line in pushed.read(key).splitlines()]
        sent = [record for record in records if record["model_version"] == deployed.version]
        if len(sent) >= len(rows):
            break
        assert time.monotonic() < deadline, f"the bucket's log holds {len(sent)} records after 30 s, not {len(rows)}"
        time.sleep(0.5)
    result = mlci(pushed, "drift", "--stage", "staging")
    assert result.returncode == 3, result.stdout + result.stderr  # 30 and a few smoke requests: too few to judge
    counted = re.search(rf"{re.escape(deployed.version)}: (\d+) logged requests", result.stderr)
    assert counted, result.stdout + result.stderr
    assert int(counted[1]) == len(sent)
    outcomes = pd.DataFrame({"id": [answer["id"] for answer in answers], "species": held_out["species"]})
    pushed.bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}/outcomes/week.csv", Body=outcomes.to_csv(index=False))
    measured = mlci(pushed, "kpi", "--stage", "staging")
    assert measured.returncode == 0, measured.stdout + measured.stderr
    assert f"{deployed.version}: {len(sent)} logged answers, 30 with outcomes: accuracy " in measured.stdout


def test_a_table_in_the_bucket_is_scored_into_the_bucket(pushed: Bucketed, built: str) -> None:
    table = pd.read_csv(pushed.path / "data" / "penguins.csv", dtype=str).head(40)
    table.loc[2, "body_mass_g"] = "heavy"
    pushed.bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}/tables/in.csv", Body=table.to_csv(index=False))
    base = f"s3://{BUCKET}/{PREFIX}"
    result = mlci(pushed, "score", f"{base}/tables/in.csv", f"{base}/scored/out.parquet", "--version", built)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {f"{PREFIX}/scored/out.parquet", f"{PREFIX}/scored/out.refused.csv"} <= set(pushed.keys(f"{PREFIX}/scored/"))
    scored = pd.read_parquet(io.BytesIO(pushed.read(f"{PREFIX}/scored/out.parquet")))
    assert len(scored) == 39
    assert set(scored["model_version"]) == {built}
    refused = pd.read_csv(io.BytesIO(pushed.read(f"{PREFIX}/scored/out.refused.csv")))
    assert refused["row"].tolist() == [3]
    assert refused["reason"].iloc[0].startswith("body_mass_g: Input should be a valid number")
    assert refused["reason"].iloc[0].endswith("(got 'heavy')")
    # Spark's executors read the table and write their parts through the same endpoint setting
    spark = ["--version", built, "--engine", "spark", "--master", "local[2,4]"]
    done = nox(
        pushed.path, pushed.env, "-s", "score", "--", f"{base}/tables/in.csv", f"{base}/spark/out.parquet", *spark
    )
    assert done.returncode == 0, done.stdout + done.stderr
    keys = set(pushed.keys(f"{PREFIX}/spark/"))
    assert {f"{PREFIX}/spark/out.parquet/_SUCCESS", f"{PREFIX}/spark/out.refused.csv/_SUCCESS"} <= keys
    assert not [key for key in keys if ".partial" in key]
    parts = sorted(key for key in keys if key.startswith(f"{PREFIX}/spark/out.parquet/part-"))
    on_spark = pd.concat([pd.read_parquet(io.BytesIO(pushed.read(key))) for key in parts], ignore_index=True)
    columns = ["row", "prediction", "model_version"]
    pd.testing.assert_frame_equal(on_spark[columns], scored[columns])


def test_the_review_fetches_the_base_and_the_champion_through_the_remote(fresh_clone: Bucketed) -> None:
    # The fresh clone pulled HEAD only: the base commit's model and data come from the bucket, through DVC.
    result = nox(fresh_clone.path, fresh_clone.env, "-s", "review", "--", "--base", "HEAD~1")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (fresh_clone.path / "reports" / "review.md").read_text()
    assert "| train.n_estimators | 100 | 3 |" in text
    assert "| champion v0.0.1 |" in text


def test_the_champion_gate_fetches_the_champions_model_through_the_remote(fresh_clone: Bucketed) -> None:
    # The fresh clone holds HEAD's model only: staging's champion, the first model, can come from the bucket alone.
    lock = yaml.safe_load(run("git", "show", "model@v0.0.1:dvc.lock", cwd=fresh_clone.path).stdout)
    (champion,) = [out["md5"] for out in lock["stages"]["train"]["outs"] if out["path"] == "models/model.pkl"]
    assert not list((fresh_clone.path / ".dvc" / "cache").rglob(champion[2:]))
    for step in (["register"], ["build"]):
        result = mlci(fresh_clone, *step)
        assert result.returncode == 0, result.stdout + result.stderr
    promoted = mlci(fresh_clone, "promote", "v0.0.2", "--to", "staging")
    row = re.search(r"f1_macro loss vs v0\.0\.1 <= 0\.02\s+(\S+)\s+(\S+)\s+(PASS|FAIL)", promoted.stdout)
    assert row, promoted.stdout + promoted.stderr
    assert promoted.returncode == (1 if row[3] == "FAIL" else 0), promoted.stderr
    scored = json.loads(run("git", "show", "model@v0.0.1:reports/metrics.json", cwd=fresh_clone.path).stdout)
    assert float(row[2]) == pytest.approx(scored["f1_macro"], abs=5e-5)  # the champion scored on the holdout


def test_refresh_takes_the_newest_data_from_the_bucket(pushed: Bucketed, deployed: Deployed) -> None:
    data = pushed.path / "data" / "penguins.csv"
    fresh = data.read_text() + data.read_text().splitlines()[1] + "\n"
    pushed.bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}/incoming/penguins.csv", Body=fresh.encode())
    try:
        result = mlci(pushed, "refresh")
        assert result.returncode == 0, result.stdout + result.stderr
        assert data.read_text() == fresh
    finally:
        run("git", "checkout", "--", "data/penguins.csv.dvc", cwd=pushed.path)
        run("uv", "run", "--no-sync", "dvc", "checkout", "--force", "data/penguins.csv.dvc", cwd=pushed.path)
        pushed.bucket.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/incoming/penguins.csv")
    assert data.read_text() != fresh


# Faults: each names the URL and what to check, exits non-zero, and loses nothing already stored.
# They build and serve under a name of their own, which any commit may build (a registered version may only be
# built from the commit it registers, and the fixtures above move HEAD).
NAMED = "storage-faults"


@pytest.fixture(scope="module")
def named(pushed: Bucketed) -> str:
    """HEAD's model built under a name of its own, in the bucket."""
    result = mlci(pushed, "build", NAMED)
    assert result.returncode == 0, result.stderr
    return NAMED


def test_a_bucket_that_does_not_exist_is_named_with_the_setting_to_correct(pushed: Bucketed, named: str) -> None:
    before = pushed.keys("")
    storage = mlci(pushed, "storage")
    assert storage.returncode == 0, storage.stderr
    assert storage.stdout.count(f"s3://{BUCKET}/{PREFIX}") == 5  # remote, builds, log, new data, outcomes
    missing = "s3://no-such-bucket/builds"
    result = mlci(pushed, "build", named, "--store", missing)
    assert result.returncode == 2
    assert f"mlci: error: {missing}: the bucket 'no-such-bucket' does not exist" in result.stderr
    config = pushed.path / "mlci.toml"
    with edited(config, lambda text: text.replace(f"{BUCKET}/{PREFIX}/inference-log", "no-such-bucket/log")):
        drift = mlci(pushed, "drift", "--stage", "staging")
        checked = mlci(pushed, "storage")
    assert drift.returncode == 2
    assert "s3://no-such-bucket/log/staging: the bucket 'no-such-bucket' does not exist: create it, or correct " in (
        drift.stderr
    )
    assert checked.returncode == 2
    assert "correct [monitoring] log in mlci.toml" in checked.stderr
    assert checked.stdout.count("reachable") == 4  # the other four are still checked and named
    assert pushed.keys("") == before


def test_wrong_credentials_are_refused_with_what_to_check(pushed: Bucketed, named: str) -> None:
    port = free_port()
    strict = start_moto(port, INITIAL_NO_AUTH_ACTION_COUNT="0")  # checks every request's access key, as AWS does
    try:
        refused = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}  # the environment's endpoint wins over the file's
        result = nox(pushed.path, {**pushed.env, **refused}, "-s", "repro")
        serve = mlci(pushed, "serve", named, **refused)
    finally:
        strict.terminate()
        strict.wait(timeout=30)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"s3://{BUCKET}/{PREFIX}/dvc: access denied" in said
    assert "check the credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in said
    assert "dvc pull" not in said  # stopped before DVC met the bucket
    assert serve.returncode == 2
    assert f"s3://{BUCKET}/{PREFIX}/bentos: access denied" in serve.stderr


def test_a_server_lost_mid_push_loses_nothing_and_a_retry_completes(
    pushed: Bucketed, endpoint: str, tmp_path: Path
) -> None:
    before = pushed.keys(f"{PREFIX}/dvc/")
    host, port = endpoint.removeprefix("http://").split(":")
    proxy = VanishingProxy((host, int(port)), limit=200_000)
    proxy.start()
    through = {"AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "2"}
    large = pushed.path / "data" / "large.bin"
    large.write_bytes(os.urandom(2_000_000))
    run("uv", "run", "--no-sync", "dvc", "add", "--quiet", "data/large.bin", cwd=pushed.path)
    try:
        lost = nox(pushed.path, {**pushed.env, **through}, "-s", "repro")
        assert proxy.vanished.is_set(), "the proxy forwarded everything: the push was too small to interrupt"
        assert lost.returncode != 0
        assert "dvc push did not finish; what reached the remote stays there" in lost.stdout + lost.stderr
        assert set(before) <= set(pushed.keys(f"{PREFIX}/dvc/"))  # nothing stored before is gone
        proxy.start(limit=1 << 40)
        retried = nox(pushed.path, {**pushed.env, **through}, "-s", "repro")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        status = run(
            "uv", "run", "--no-sync", "dvc", "status", "--cloud", cwd=pushed.path, env={**pushed.env, **through}
        )
        assert "Cache and remote 'storage' are in sync" in status.stdout
        assert set(before) < set(pushed.keys(f"{PREFIX}/dvc/"))
    finally:
        proxy.vanish()
        run("uv", "run", "--no-sync", "dvc", "remove", "--quiet", "data/large.bin.dvc", cwd=pushed.path)
        large.unlink(missing_ok=True)


def test_a_build_interrupted_mid_upload_counts_as_absent_and_a_retry_stores_it(pushed: Bucketed, endpoint: str) -> None:
    built = "interrupted-upload"
    host, port = endpoint.removeprefix("http://").split(":")
    proxy = VanishingProxy((host, int(port)), limit=20_000)
    proxy.start()
    through = {"AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "2"}
    store = f"s3://{BUCKET}/interrupted"
    try:
        lost = mlci(pushed, "build", built, "--store", store, **through)
        assert proxy.vanished.is_set()
        assert lost.returncode == 2
        assert f"{store}: cannot reach the storage service at {proxy.url}" in lost.stderr
        assert not any(key.endswith(".json") for key in pushed.keys("interrupted/"))  # no record: no build
        proxy.start(limit=1 << 40)
        retried = mlci(pushed, "build", built, "--store", store, **through)
        assert retried.returncode == 0, retried.stderr
    finally:
        proxy.vanish()
    name = pushed.path.name
    record = json.loads(pushed.read(f"interrupted/{name}/{built}.json"))
    assert record["bento_sha256"] == hashlib.sha256(pushed.read(f"interrupted/{name}/{built}.bento")).hexdigest()


def test_a_record_without_its_bento_is_refused_naming_both(pushed: Bucketed, named: str) -> None:
    name = pushed.path.name
    record = f"{PREFIX}/bentos/{name}/{named}.json"
    pushed.bucket.copy_object(Bucket=BUCKET, Key=f"orphan/{name}/{named}.json", CopySource=f"{BUCKET}/{record}")
    config = pushed.path / "mlci.toml"
    with edited(config, lambda text: text.replace(f"{BUCKET}/{PREFIX}/bentos", f"{BUCKET}/orphan")):
        result = mlci(pushed, "serve", named, "--port", str(free_port()))
    assert result.returncode == 2
    assert f"s3://{BUCKET}/orphan: the build of {name} {named} has a record but no bento" in result.stderr
    assert f"remove {named}.json from the store and build it again" in result.stderr
    assert f"orphan/{name}/{named}.json" in pushed.keys("orphan/")  # refused, not removed
