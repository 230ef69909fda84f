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


def environment_folders() -> list[Path]:
    """Where this environment's programs are: beside its python, then beside each site-packages it reads (an
    environment layered over another, as `uv run --with` makes, reads the project's)."""
    folders = [Path(sys.executable).parent]
    for entry in map(Path, sys.path):
        if entry.name == "site-packages" and len(entry.parents) > 2:
            folders.append(entry.parents[2] / "bin")
    return folders


def executable(tool: str) -> str:
    """The program to run for `tool`: this environment's python, dvc and bentoml, else PATH's (git, uv)."""
    if tool == "python":
        return sys.executable
    if tool not in TOOLS_OF_THIS_ENVIRONMENT:
        return tool
    found = [folder / tool for folder in environment_folders() if (folder / tool).is_file()]
    return str(found[0] if found else Path(sys.executable).parent / tool)


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
