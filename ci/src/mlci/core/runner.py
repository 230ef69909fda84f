"""Every external command the toolkit runs (git, dvc, bentoml, uv), and the one error a failed command raises."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mlci.core.errors import MlciError

TOOLS_OF_THIS_ENVIRONMENT = ("dvc", "bentoml")  # installed beside mlci: the environment's own, whatever PATH says


class CommandError(MlciError):
    """A command that failed: the message names it and carries its own words."""

    def __init__(self, message: str, command: list[str], output: str) -> None:
        super().__init__(f"{message}:\n{output}" if output else message)
        self.command = command
        self.output = output


def executable(tool: str) -> str:
    """The program to run for `tool`: this environment's python, dvc and bentoml, else PATH's (git, uv)."""
    if tool == "python":
        return sys.executable
    return str(Path(sys.executable).parent / tool) if tool in TOOLS_OF_THIS_ENVIRONMENT else tool


def attempt(
    tool: str, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured, and return it whatever its exit status: for callers that decide."""
    command = [executable(tool), *args]
    try:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise CommandError(f"{tool} is not installed here: install it, then run this again", command, "") from None


def run(tool: str, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """The output of a command that must succeed; CommandError with its output when it does not."""
    result = attempt(tool, *args, cwd=cwd, env=env)
    if result.returncode != 0:
        raise CommandError(f"{tool} {' '.join(args)} failed", [executable(tool), *args], failure_output(result))
    return result.stdout


def failure_output(result: subprocess.CompletedProcess[str]) -> str:
    """What a failed command said, error stream first."""
    return "\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part)
