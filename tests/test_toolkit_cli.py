"""The `mlci` command: its version, help, and errors that are messages, never tracebacks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mlci
import pytest
from mlci.cli import main
from test_toolkit_config import VALID


def test_version_matches_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlci {mlci.__version__}"


def test_installed_command_prints_help() -> None:
    result = subprocess.run(["mlci", "--help"], capture_output=True, text=True, check=True)
    assert "config" in result.stdout
    assert "--config PATH" in result.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([])
    assert raised.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_config_prints_the_settings_in_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mlci.toml"
    path.write_text(VALID)
    assert main(["--config", str(path), "config"]) == 0
    settings = json.loads(capsys.readouterr().out)
    assert settings["deploy"]["staging"]["port"] == 3001
    assert settings["registry"]["stages"] == ["staging", "production"]


@pytest.mark.parametrize("text", [None, "store = [", VALID + "[gatez]\n"])
def test_bad_config_exits_2_with_a_message(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "mlci.toml"
    if text is not None:
        path.write_text(text)
    result = subprocess.run(["mlci", "--config", str(path), "config"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith(f"mlci: error: {path}")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
