"""The toolkit's config loader: valid files load with defaults, bad ones name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlci.core.config import ConfigError, load_config

VALID = """
[store]
url = "/srv/bentos"

[deploy.staging]
port = 3001

[deploy.production]
port = 3000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlci.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


def test_minimal_file_gets_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.registry.stages == ["staging", "production"]
    assert config.registry.model == "model"
    assert config.deploy["staging"].target == "local"
    assert config.deploy["production"].workers == 1
    assert config.drift.psi_threshold == 0.2
    assert config.gates.limit == {}
    assert config.metrics == {}


def test_a_kubernetes_stage_needs_no_port_and_shares_none(tmp_path: Path) -> None:
    text = VALID.replace("port = 3001", 'target = "kubernetes"').replace("port = 3000", "port = 3001")
    config = load_config(write(tmp_path, text))
    assert config.deploy["staging"].port is None
    assert config.deploy["staging"].overlay_for("staging") == "deploy/kubernetes/overlays/staging"
    both = text.replace("port = 3001", 'target = "kubernetes"\noverlay = "k8s/prod"')
    assert load_config(write(tmp_path, both)).deploy["production"].overlay_for("production") == "k8s/prod"


def test_custom_stages_and_gates(tmp_path: Path) -> None:
    text = """
[registry]
stages = ["dev", "prod"]
[metrics]
accuracy = "higher"
f1 = "higher"
rmse = "lower"
[gates]
limit = { accuracy = 0.8, f1 = 1, rmse = 3 }
beat_baseline = { f1 = 0.05 }
max_regression = { accuracy = 0.02 }
[store]
url = "s3://bucket/bentos"
[deploy.dev]
port = 4000
workers = 2
[deploy.prod]
port = 4001
"""
    config = load_config(write(tmp_path, text))
    assert config.registry.stages == ["dev", "prod"]
    assert config.gates.limit == {"accuracy": 0.8, "f1": 1.0, "rmse": 3.0}
    assert config.metrics["rmse"] == "lower"
    assert config.deploy["dev"].workers == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            VALID.replace("port = 3001", 'port = "3001"'),
            "deploy.staging.port: Input should be a valid integer (got '3001')",
        ),
        (
            VALID.replace("port = 3001", "port = 70000"),
            "deploy.staging.port: Input should be less than or equal to 65535",
        ),
        (VALID.replace("port = 3001", "port = 3001\nprt = 1"), "deploy.staging.prt: unknown key; did you mean 'port'?"),
        (
            VALID + "[gatez]\n",
            "gatez: unknown key; did you mean 'gates'? known keys here: registry, metrics, gates, store",
        ),
        (VALID.replace('url = "/srv/bentos"', ""), "store.url: required key is missing"),
        (VALID.replace("[store]", "[other]"), "store: required key is missing"),
        (VALID + "[drift]\npsi_threshold = 0\n", "drift.psi_threshold: Input should be greater than 0"),
        (
            VALID + '[metrics]\naccuracy = "higher"\n[gates]\nmax_regression = { accuracy = -0.1 }\n',
            "gates.max_regression.accuracy: Input should be greater",
        ),
        (
            VALID + "[gates]\nlimit = { accuracy = 'high' }\n",
            "gates.limit.accuracy: Input should be a valid number",
        ),
        (
            VALID + "[gates]\nlimit = { rmse = 3 }\n",
            "gates.limit.rmse: a gate on a metric [metrics] does not list",
        ),
        (
            VALID + '[metrics]\nrmse = "smaller"\n',
            "metrics.rmse: Input should be 'higher' or 'lower'",
        ),
        (VALID + "[registry]\nstages = 'staging'\n", "registry.stages: Input should be a valid list"),
        (VALID + '[registry]\nstages = ["staging", "staging", "production"]\n', "repeated: staging"),
        (VALID + '[registry]\nstages = ["Staging!"]\n', "registry.stages.0: String should match pattern"),
        (VALID + '[registry]\nstages = ["staging"]\n', "not a stage: [deploy.production]"),
        (VALID + '[registry]\nstages = ["staging", "production", "canary"]\n', "missing [deploy.canary]"),
        (VALID.replace("port = 3000", "port = 3001"), "each stage needs its own port, got [3001, 3001]"),
        (
            VALID.replace("port = 3001", 'port = 3001\ntarget = "k8s"'),
            "deploy.staging.target: Input should be 'local' or 'kubernetes'",
        ),
        (
            VALID.replace("port = 3001", ""),
            "deploy.staging: a local stage serves on a port of this machine: set port",
        ),
        (
            VALID.replace("port = 3001", 'target = "kubernetes"\nport = 3001\nworkers = 2'),
            'deploy.staging: port, workers: only a local stage uses them; remove them, or set target = "local"',
        ),
        (
            VALID.replace("port = 3001", 'port = 3001\noverlay = "k8s/staging"'),
            "deploy.staging: overlay: only a kubernetes stage uses it",
        ),
        (
            VALID.replace("port = 3001", 'target = "kubernetes"\noverlay = "../elsewhere"'),
            "deploy.staging.overlay: '../elsewhere' is not a path inside the repository",
        ),
        (
            VALID.replace("port = 3001", 'target = "kubernetes"\noverlay = "/etc/overlay"'),
            "deploy.staging.overlay: '/etc/overlay' is not a path inside the repository",
        ),
        (VALID + '[gates]\nholdout = "../other/test.csv"\n', "gates.holdout: '../other/test.csv' is not a path inside"),
        (VALID + '[gates]\nholdout = "/etc/passwd"\n', "gates.holdout: '/etc/passwd' is not a path inside"),
        (VALID + '[validation]\nsuites = "../suites"\n', "validation.suites: '../suites' leaves the repository"),
        (VALID + '[validation]\nreport = "s3://b/v.json"\n', "validation.report: 's3://b/v.json' is a URL"),
        (VALID + '[drift]\nreference = "s3://b/train.csv"\n', "drift.reference: 's3://b/train.csv' is not a path"),
        (VALID + '[contract]\nexample = "a/../../x.json"\n', "contract.example: 'a/../../x.json' is not a path"),
        (VALID + '[retrain]\ndata = "../raw.csv"\n', "retrain.data: '../raw.csv' is not a path inside"),
        (VALID.replace('"/srv/bentos"', '"../bentos"'), "store.url: '../bentos' leaves the repository through '..'"),
        (VALID + '[monitoring]\nlog = "logs/../../x"\n', "monitoring.log: 'logs/../../x' leaves the repository"),
        (VALID + '[kpi]\noutcomes = ".."\n', "kpi.outcomes: '..' leaves the repository"),
        (VALID.replace("port = 3001", "port = 3001\nworkers = 65"), "deploy.staging.workers: Input should be less"),
        (VALID + "[monitoring]\nsegment_mb = 1025\n", "monitoring.segment_mb: Input should be less than or equal"),
        (VALID + "[monitoring]\nflush_seconds = 86401\n", "monitoring.flush_seconds: Input should be less"),
        ("store = [", "not valid TOML"),
        (VALID + "\nx = " + "[" * 100_000 + "]" * 100_000 + "\n", "values nested deeper than a TOML reader follows"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(str(path))
    assert expected in message


def test_paths_at_the_edge_of_the_rules_load(tmp_path: Path) -> None:
    """Inside the repository, a name holding dots is no '..'; a location outside is fine when it says so."""
    text = VALID + (
        '[gates]\nholdout = "data/..hidden/test.csv"\n[monitoring]\nlog = "~/logs"\nsegment_mb = 1024\n'
        'flush_seconds = 86400\n[kpi]\noutcomes = "s3://bucket/outcomes"\n[retrain]\nsource = "/srv/incoming.csv"\n'
    )
    config = load_config(write(tmp_path, text.replace("port = 3001", "port = 3001\nworkers = 64")))
    assert config.gates.holdout == "data/..hidden/test.csv"
    assert config.deploy["staging"].workers == 64
    assert (config.monitoring.log, config.kpi.outcomes) == ("~/logs", "s3://bucket/outcomes")


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = VALID.replace("port = 3001", 'port = "x"\nworkrs = 2')
    message = error_of(write(tmp_path, text))
    assert "deploy.staging.port" in message
    assert "deploy.staging.workrs: unknown key; did you mean 'workers'?" in message


def test_missing_file_says_where_to_run(tmp_path: Path) -> None:
    message = error_of(tmp_path / "mlci.toml")
    assert "no such file" in message
    assert "--config PATH" in message


def test_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    path = tmp_path / "mlci.toml"
    path.write_bytes(VALID.encode() + b"\n# caf\xe9\n")
    assert f"not UTF-8 text (byte {len(VALID.encode()) + 6} is 0xe9)" in error_of(path)


def test_unreadable_file(tmp_path: Path) -> None:
    assert "cannot be read" in error_of(tmp_path)
