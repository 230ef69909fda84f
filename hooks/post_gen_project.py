"""Do what templating cannot: make the generated folder a git repository on `main` with a first commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

ANSWERS: dict[str, Any] = json.loads(r"""{{ cookiecutter | jsonify }}""")


def git(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in the generated repository, failing loudly."""
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True, env=env)


def has_identity() -> bool:
    """Whether git knows who commits here."""
    return all(
        subprocess.run(["git", "config", key], capture_output=True).returncode == 0
        for key in ("user.name", "user.email")
    )


def commit_env() -> dict[str, str]:
    """The environment for the first commit: the answers' author when git has no identity of its own."""
    env = dict(os.environ)
    if not has_identity():
        for role in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{role}_NAME"] = ANSWERS["author_name"]
            env[f"GIT_{role}_EMAIL"] = ANSWERS["author_email"]
    return env


def main() -> int:
    if shutil.which("git") is None:
        print("mlci template: git is not installed; install it and generate again.", file=sys.stderr)
        return 1
    try:
        git("init", "--quiet")
        git("symbolic-ref", "HEAD", "refs/heads/main")
        git("add", "--all")
        git(
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            f"Generate {ANSWERS['project']} from the mlci template",
            env=commit_env(),
        )
    except subprocess.CalledProcessError as error:
        print(f"mlci template: `{' '.join(error.cmd)}` failed:\n{error.stderr}", file=sys.stderr)
        return 1
    print(f"Generated {ANSWERS['project']}: a git repository on main with one commit. Next:")
    print(f"  cd {ANSWERS['project']} && nox -s lint tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
