"""The generated pipeline, run for real with DVC: reproducible, incremental, and round-tripped through the remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import STAGES, dvc, run

pytestmark = pytest.mark.slow


def model_md5(project: Path) -> str:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    (out,) = lock["stages"]["train"]["outs"]
    return str(out["md5"])


def test_repro_writes_metrics_and_pushes(reproduced: Path) -> None:
    metrics = json.loads((reproduced / "reports" / "metrics.json").read_text())
    assert 0.9 < metrics["accuracy"] <= 1.0
    assert "Everything is up to date" in dvc(reproduced, "push")


def test_unchanged_pipeline_reruns_nothing(reproduced: Path) -> None:
    output = dvc(reproduced, "repro")
    assert "Running stage" not in output
    assert all(f"Stage '{stage}' didn't change, skipping" in output for stage in STAGES)


def test_forced_repro_gives_the_same_model_bytes(reproduced: Path) -> None:
    before = model_md5(reproduced)
    output = dvc(reproduced, "repro", "--force")
    assert all(f"Running stage '{stage}'" in output for stage in STAGES)
    assert model_md5(reproduced) == before
    assert run("git", "status", "--porcelain", cwd=reproduced).stdout == ""


def test_changed_param_reruns_only_downstream(reproduced: Path) -> None:
    params_file = reproduced / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["train"]["n_estimators"] += 10
    params_file.write_text(yaml.safe_dump(params))
    try:
        output = dvc(reproduced, "repro")
        assert "Stage 'prepare' didn't change, skipping" in output
        assert "Running stage 'train'" in output
        assert "Running stage 'evaluate'" in output
    finally:
        params_file.write_text(original)
        dvc(reproduced, "repro")
    assert run("git", "status", "--porcelain", cwd=reproduced).stdout == ""


def test_remote_round_trip(reproduced: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", str(reproduced), str(clone), cwd=tmp_path)
    dvc_command = str(reproduced / ".venv" / "bin" / "dvc")  # the same DVC, without a second environment
    assert not (clone / "models" / "model.pkl").exists()
    run(dvc_command, "pull", cwd=clone)
    assert (clone / "models" / "model.pkl").read_bytes() == (reproduced / "models" / "model.pkl").read_bytes()
    assert "Data and pipelines are up to date" in run(dvc_command, "status", cwd=clone).stdout
    assert "Running stage" not in run(dvc_command, "repro", cwd=clone).stdout
