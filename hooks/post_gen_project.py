"""Do what templating cannot: cache the DVC-tracked data, then make a git repository on `main` with a first commit."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ANSWERS: dict[str, Any] = json.loads(r"""{{ cookiecutter | jsonify }}""")
ABBREVIATIONS = {"gh": "https://github.com/{}.git", "gl": "https://gitlab.com/{}.git", "bb": "https://bitbucket.org/{}"}


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


def cache_tracked_data() -> None:
    """Put each DVC-tracked file of the template into the DVC cache, as `dvc add` would, so it can be pushed."""
    for pointer in Path("data").glob("*.dvc"):
        md5 = re.search(r"md5: ([0-9a-f]{32})", pointer.read_text()).group(1)  # type: ignore[union-attr]
        data = pointer.with_suffix("")
        if hashlib.md5(data.read_bytes()).hexdigest() != md5:
            raise SystemExit(f"mlci template: {data} does not match {pointer}; the template is damaged.")
        cached = Path(".dvc", "cache", "files", "md5", md5[:2], md5[2:])
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data, cached)


def template_commit() -> str | None:
    """The commit of the template generated from, when it is a git repository."""
    found = subprocess.run(["git", "-C", ANSWERS["_repo_dir"], "rev-parse", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def record_template() -> None:
    """Write `.cruft.json`, what `cruft update` (`nox -s template-update`) needs: the template, its commit, the
    answers. Where this machine put things (`_output_dir`, `_repo_dir`) is left out. A template update renders
    the answers again without them, and keeps the repository's own record."""
    if "_repo_dir" not in ANSWERS:
        return
    answers = {key: value for key, value in ANSWERS.items() if key not in ("_output_dir", "_repo_dir")}
    template = ANSWERS["_template"]
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS:  # cookiecutter's short forms, spelled out for git
        template = ABBREVIATIONS[prefix].format(rest)
    elif not re.match(r"^([\w.+-]+://|[\w.-]+@)", template):  # a folder: named the same from anywhere
        template = str(Path(ANSWERS["_repo_dir"]).resolve())
    state = {
        "template": template,
        "commit": template_commit(),
        "checkout": ANSWERS.get("_checkout"),
        "context": {"cookiecutter": answers},
        "directory": None,
    }
    Path(".cruft.json").write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    if shutil.which("git") is None:
        print("mlci template: git is not installed; install it and generate again.", file=sys.stderr)
        return 1
    cache_tracked_data()
    record_template()
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
