"""The toolkit's decision rules, each at its boundaries, without a repository: the stage order, deploy's decision,
the drift rule and PSI computed by hand, the sample-size bound, the gate verdict, the runner and the contract."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlci.core.config import Config, ConfigError, load_config
from mlci.core.errors import RefusedError
from mlci.core.project import Project, ProjectError, log_environment, server_environment
from mlci.core.registry import Assignment, Registry, Version
from mlci.core.runner import CommandError, attempt, executable, run
from mlci.core.settings import Drift
from mlci.deploy.targets.local import Running, Step, decide, state_dir
from mlci.monitoring.drift import Window, large_enough
from mlci.monitoring.log import NothingToJudgeError
from mlci.monitoring.psi import drifted, psi_categorical, psi_numeric
from mlci.promotion.gates import Check, gate_verdict
from mlci.promotion.promote import check_order
from mlci_serving.names import (
    COMPILED_SHA256_VARIABLE,
    LOG_FLUSH_VARIABLE,
    LOG_SAMPLE_VARIABLE,
    LOG_SEGMENT_VARIABLE,
    LOG_URL_VARIABLE,
    MODEL_SHA256_VARIABLE,
    MODEL_VERSION_VARIABLE,
)

STAGES = ["staging", "canary", "production"]


def config(**tables: object) -> Config:
    ports = {stage: {"port": 3000 + number} for number, stage in enumerate(STAGES)}
    return Config.model_validate({"registry": {"stages": STAGES}, "store": {"url": "s"}, "deploy": ports, **tables})


def registry(*held: tuple[str, str]) -> Registry:
    """A registry of v1, v2 and v3 whose stages were assigned in the order given."""
    versions = {name: Version(name, f"{number:040d}", "2026-01-01") for number, name in enumerate(["v1", "v2", "v3"])}
    assignments = [Assignment(stage, n, version, f"model#{stage}#{n}") for n, (stage, version) in enumerate(held)]
    return Registry("model", versions, assignments)


@pytest.mark.parametrize(
    ("held", "version", "stage"),
    [
        ((), "v1", "staging"),  # the first stage takes any version
        ((("staging", "v2"),), "v1", "staging"),  # ... and replaces the one it holds
        ((("staging", "v1"),), "v1", "canary"),
        ((("staging", "v1"), ("canary", "v2")), "v1", "canary"),  # a newer version comes up behind an older one
        ((("staging", "v1"), ("canary", "v1"), ("staging", "v2")), "v1", "production"),  # only the stage before
    ],
)
def test_a_version_reaches_a_stage_from_the_one_before(
    held: tuple[tuple[str, str], ...], version: str, stage: str
) -> None:
    check_order(config(), registry(*held), version, stage)


@pytest.mark.parametrize(
    ("held", "version", "stage", "message"),
    [
        ((("staging", "v1"),), "v1", "staging", "v1 already holds staging; nothing to do"),
        ((), "v1", "canary", "canary only from staging, and staging holds no version, not v1"),
        ((("staging", "v2"),), "v1", "canary", "staging holds v2, not v1"),
        ((("staging", "v1"),), "v1", "production", "production only from canary, and canary holds no version"),
        ((("staging", "v1"), ("canary", "v1"), ("canary", "v2")), "v1", "production", "canary holds v2, not v1"),
    ],
)
def test_the_stage_order_refuses_a_version_the_stage_before_does_not_hold(
    held: tuple[tuple[str, str], ...], version: str, stage: str, message: str
) -> None:
    with pytest.raises(RefusedError, match=message):
        check_order(config(), registry(*held), version, stage)


def running(port: int, bento: str, verified: bool = True) -> Running:
    return Running("v1", 1234, port, bento, "tag", "home", verified)


@pytest.mark.parametrize(
    ("current", "port_taken", "step"),
    [
        (None, False, Step.SWITCH),  # nothing runs: start it
        (None, True, Step.REFUSE),  # another program holds the port
        (running(3000, "same"), True, Step.KEEP),  # this build runs there already
        (running(3000, "same", verified=False), True, Step.SWITCH),  # ... but a killed deploy never smoke-tested it
        (running(3000, "older"), True, Step.SWITCH),  # another build of ours holds the port: replace it
        (running(3001, "same"), True, Step.REFUSE),  # ours runs elsewhere, and a stranger holds the new port
        (running(3001, "same"), False, Step.SWITCH),  # the stage's port changed: move there
    ],
)
def test_deploy_keeps_refuses_or_switches(current: Running | None, port_taken: bool, step: Step) -> None:
    assert decide(current, "same", 3000, port_taken) is step


@pytest.mark.parametrize(
    ("psi", "new", "expected"),
    [(0.2, [], False), (0.2001, [], True), (math.nan, [], False), (0.0, ["Biscoe"], True)],
)
def test_a_column_drifts_above_the_threshold_or_with_a_new_category(psi: float, new: list[str], expected: bool) -> None:
    assert drifted(psi, new, 0.2) is expected


def test_psi_of_numbers_is_computed_over_the_reference_deciles() -> None:
    reference = pd.Series(range(10), dtype=float)  # one value per decile: 0.1 each
    logged = pd.Series([0.0] * 5 + [9.0] * 5)  # half in the first decile, half in the last, none between
    floor = 1e-4  # an empty bin counts as this share
    by_hand = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (floor - 0.1) * math.log(floor / 0.1)
    assert psi_numeric(reference, logged) == round(by_hand, 4)


def test_psi_of_categories_counts_missing_values_as_one() -> None:
    reference = pd.Series(["a", "a", "b", None])
    logged = pd.Series(["a", "a", "a", "b"])
    shares = [(0.75, 0.5), (0.25, 0.25), (1e-4, 0.25)]  # a, b, missing: (logged, reference)
    by_hand = sum((new - old) * math.log(new / old) for new, old in shares)
    assert psi_categorical(reference, logged) == round(by_hand, 4)


def window(version: str, requests: int) -> Window:
    return Window(version, pd.DataFrame({"x": np.zeros(requests)}), pd.Series(["a"] * requests))


def test_a_window_is_judged_from_min_samples_requests_on() -> None:
    enough, too_few = large_enough([window("v1", 3), window("v2", 2)], Drift(min_samples=3))
    assert [w.version for w in enough] == ["v1"]
    assert [w.version for w in too_few] == ["v2"]
    with pytest.raises(NothingToJudgeError, match="v2: 2 logged requests, fewer than"):
        large_enough([window("v2", 2)], Drift(min_samples=3))


def test_the_gate_verdict_names_every_failed_rule() -> None:
    passed, failed = Check("f1", "f1 >= 0.9", 0.95, 0.9, True), Check("f1", "f1 loss vs v1 <= 0", 0.95, 1, False)
    assert gate_verdict([]) == "-"
    assert gate_verdict([passed]) == "pass"
    assert gate_verdict([passed, failed]) == "FAIL (f1 loss vs v1 <= 0)"


def test_a_failed_command_carries_the_command_and_its_output(tmp_path: Path) -> None:
    assert run("git", "--version").startswith("git version")
    with pytest.raises(CommandError) as failed:
        run("git", "no-such-command", cwd=tmp_path)
    assert failed.value.command == ["git", "no-such-command"]
    assert "is not a git command" in failed.value.output
    assert "git no-such-command failed" in str(failed.value)
    assert attempt("git", "no-such-command", cwd=tmp_path).returncode != 0


def test_a_tool_that_is_not_installed_says_so() -> None:
    with pytest.raises(CommandError, match="no-such-tool is not installed here"):
        run("no-such-tool")


def repository(root: Path, contract: str = "") -> Config:
    """A repository with the files the contract asks for, and its config."""
    (root / "pyproject.toml").write_text('[project]\nname = "house-test"\n')
    (root / "dvc.yaml").write_text(
        "artifacts:\n  model:\n    path: models/model.pkl\nmetrics: [reports/metrics.json]\n"
        "plots:\n  - reports/roc.csv:\n      x: fpr\n  - reports/pr.csv\n"
    )
    (root / "mlci.toml").write_text(
        f'[store]\nurl = "s"\n[deploy.staging]\nport = 1\n[deploy.production]\nport = 2\n{contract}'
    )
    return load_config(root / "mlci.toml")


def test_the_contract_is_read_from_the_repository_and_its_config(tmp_path: Path) -> None:
    settings = repository(tmp_path, '[contract]\nservice = "api:Model"\nexample = "requests/one.json"\n')
    project = Project.read(tmp_path, settings)
    assert (project.name, project.package, project.model) == ("house-test", "house_test", Path("models/model.pkl"))
    assert project.plots == {"reports/roc.csv": {"x": "fpr"}, "reports/pr.csv": {}}
    assert (project.service_path, project.service_class) == ("house_test.api:Model", "Model")
    with pytest.raises(ProjectError, match=r"requests/one.json: no example request .*\[contract\] example"):
        project.example_request()
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "one.json").write_text("{}")
    assert project.example_request() == b"{}"


def test_a_scorer_the_package_lacks_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "house_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "evaluate.py").write_text("def measure(model, data):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "house_test", raising=False)
    project = Project.read(tmp_path, repository(tmp_path))
    with pytest.raises(ProjectError, match=r"house_test.evaluate defines no score\(model_file, data_file\)"):
        project.scorer()
    renamed = Project.read(tmp_path, repository(tmp_path, '[contract]\nscorer = "evaluate:measure"\n'))
    assert renamed.scorer()(Path("m"), Path("d")) == {}


def test_a_contract_name_that_is_not_module_colon_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"contract\.service: String should match pattern"):
        repository(tmp_path, '[contract]\nservice = "service.Predictor"\n')


def test_the_log_variables_follow_the_monitoring_settings(tmp_path: Path) -> None:
    monitoring = config(monitoring={"log": "logs", "sample": 0.5, "segment_mb": 1, "flush_seconds": 5}).monitoring
    assert log_environment(monitoring, "staging", tmp_path) == {
        LOG_URL_VARIABLE: str(tmp_path / "logs" / "staging"),
        LOG_SAMPLE_VARIABLE: "0.5",
        LOG_SEGMENT_VARIABLE: str(1 << 20),
        LOG_FLUSH_VARIABLE: "5",
    }
    assert log_environment(config().monitoring, "staging", tmp_path) == {}


def test_a_stage_listens_on_this_machine_unless_its_config_says_otherwise() -> None:
    assert config().deploy["staging"].host == "127.0.0.1"
    ports = {"staging": {"port": 3000, "host": "0.0.0.0"}, "canary": {"port": 3001}, "production": {"port": 3002}}
    assert config(deploy=ports).deploy["staging"].host == "0.0.0.0"
    with pytest.raises(ValueError, match="'localhost-ish' is not an IP address"):
        config(deploy={**ports, "staging": {"port": 3000, "host": "localhost-ish"}})


def test_two_clones_of_one_project_keep_deploy_records_of_their_own(tmp_path: Path) -> None:
    settings = repository(tmp_path)
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("pyproject.toml", "dvc.yaml", "mlci.toml"):
        (clone / name).write_text((tmp_path / name).read_text())
    first, second = Project.read(tmp_path, settings), Project.read(clone, settings)
    assert first.name == second.name
    assert state_dir(first) != state_dir(second)
    assert state_dir(first).name.startswith("house-test-")


def test_a_server_is_told_its_version_and_the_built_models_checksum() -> None:
    told = server_environment("v1.2.3", "ab" * 32, "")
    assert told == {MODEL_VERSION_VARIABLE: "v1.2.3", MODEL_SHA256_VARIABLE: "ab" * 32}


def test_a_server_of_a_compiled_build_is_told_the_compiled_models_checksum_too() -> None:
    told = server_environment("v1.2.3", "ab" * 32, "cd" * 32)
    assert told == {
        MODEL_VERSION_VARIABLE: "v1.2.3",
        MODEL_SHA256_VARIABLE: "ab" * 32,
        COMPILED_SHA256_VARIABLE: "cd" * 32,
    }


def test_a_tool_of_the_environment_is_found_beside_an_environment_layered_under_this_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uv run --with pyspark python -m mlci` runs a Python of its own over the project's environment: bentoml
    and dvc are the project's, beside the site-packages the layered Python reads."""
    overlay, project = tmp_path / "overlay", tmp_path / "project"
    site = project / "lib" / "python3.11" / "site-packages"
    for folder in (overlay / "bin", project / "bin", site):
        folder.mkdir(parents=True)
    (project / "bin" / "bentoml").touch()
    monkeypatch.setattr(sys, "executable", str(overlay / "bin" / "python"))
    monkeypatch.setattr(sys, "path", [str(overlay / "lib" / "python3.11" / "site-packages"), str(site)])
    assert executable("bentoml") == str(project / "bin" / "bentoml")
    (overlay / "bin" / "bentoml").touch()
    assert executable("bentoml") == str(overlay / "bin" / "bentoml")  # the Python's own environment first
    assert executable("dvc") == str(overlay / "bin" / "dvc")  # found nowhere: where it would be
    assert executable("git") == "git"
