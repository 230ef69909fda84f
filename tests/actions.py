"""Run a generated workflow's job here as GitHub's runner would: its `run:` scripts in order, with the shell
GitHub uses, the step's env filled in by hand and the runner's files made locally; `gh` lines left out."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from conftest import Clone, run

# A line of a step that only talks to GitHub: a `gh` call, its output captured, or the shell's if around them.
GITHUB_ONLY = re.compile(r"\s*(gh |\w+=\$\(gh |if |then$|else$|fi$)")


class Runner(NamedTuple):
    """The clone and the files a runner provides."""

    clone: Clone
    output: Path
    summary: Path
    temp: Path
    staging_port: int
    production_port: int


def workflow_file(runner: Runner, workflow: str) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((runner.clone.path / ".github" / "workflows" / workflow).read_text())
    return found


def job(runner: Runner, workflow: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = workflow_file(runner, workflow)["jobs"][name]
    return found


# How GitHub's runner starts a `run` step on Linux, by its shell (the workflow syntax page, "jobs.<job_id>.steps
# [*].shell"): with none given, `bash -e {0}`, so a failure inside a pipe goes unnoticed; `shell: bash` adds
# `-o pipefail`.
SHELLS = {None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"]}


def shell_of(runner: Runner, workflow: str, name: str, step: dict[str, Any]) -> list[str]:
    """The command GitHub runs the step's script with: the step's shell, else the job's default, else the
    workflow's."""
    defaults = [job(runner, workflow, name), workflow_file(runner, workflow)]
    shell = step.get("shell") or next((d["defaults"]["run"]["shell"] for d in defaults if "defaults" in d), None)
    assert shell in SHELLS, f"{workflow}: {name}: a step runs with shell {shell!r}, which these tests do not model"
    return SHELLS[shell]


DEFAULT_BRANCH = "${{ github.event.repository.default_branch }}"


def checkout_default_branch(runner: Runner) -> None:
    """What actions/checkout does with `ref:` the default branch: the branch as origin has it when the job starts."""
    run("git", "fetch", "--quiet", "--tags", "origin", "main", cwd=runner.clone.path, env=runner.clone.env)
    run("git", "checkout", "--quiet", "-B", "main", "origin/main", cwd=runner.clone.path, env=runner.clone.env)


def run_steps(
    runner: Runner, workflow: str, name: str, path: Path | None = None, only: str = "", **values: str
) -> list[subprocess.CompletedProcess[str]]:
    """Run a job's scripts in order (those whose name starts with `only`), its env filled from `values` (and
    `path` first on PATH); stop at the first that fails."""
    results = []
    for step in job(runner, workflow, name)["steps"]:
        if not only and step.get("with", {}).get("ref") == DEFAULT_BRANCH:
            checkout_default_branch(runner)
        if "run" not in step or not step.get("name", "").startswith(only):
            continue
        lines = [line for line in step["run"].splitlines() if line.strip()]
        if all(GITHUB_ONLY.match(line) for line in lines):
            continue
        env = {key: values[key] for key in step.get("env", {}) if key in values}
        script = "\n".join(line for line in lines if not line.strip().startswith("gh "))
        result = subprocess.run(
            [*shell_of(runner, workflow, name, step), "-c", script],
            cwd=runner.clone.path,
            env={
                **runner.clone.env,
                **env,
                "GITHUB_OUTPUT": str(runner.output),
                "GITHUB_STEP_SUMMARY": str(runner.summary),
                "RUNNER_TEMP": str(runner.temp),
                **({"PATH": f"{path}:{runner.clone.env['PATH']}"} if path else {}),
            },
            capture_output=True,
            text=True,
        )
        results.append(result)
        assert result.returncode == 0, (
            f"{workflow}: {name}: {step.get('name', script)}\n{result.stdout}\n{result.stderr}"
        )
    assert results, f"{workflow}: {name}: no step ran here"
    return results
