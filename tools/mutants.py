"""`nox -s mutants`: mutation testing of the toolkit's decision rules against its fast tests, with mutmut.

mutmut names a module by its path from the folder it runs in, and puts only `src/` on the import path: the
toolkit's sources and tests are copied into `build/mutants/` in that shape, and mutmut runs there. Prints the
score (killed of judged mutants) and every survivor; exits 1 below the goal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = ROOT / "build" / "mutants"
DECISION_MODULES = [  # where the toolkit decides: gates, stage order, registry, store, drift, review, deploys
    "promotion/gates.py",
    "monitoring/psi.py",
    "promotion/promote.py",
    "core/registry.py",
    "core/store.py",
    "monitoring/drift.py",
    "review/comparison.py",
    "deploy/targets/local.py",
    "deploy/targets/kubernetes.py",
    "deploy/gitops.py",
]
GOAL = 0.8  # the share of judged mutants the fast tests must kill
SETTINGS = """\
[tool.mutmut]
only_mutate = {only}
pytest_add_cli_args = ["-m", "not slow", "-p", "no:cacheprovider"]

[tool.pytest.ini_options]
markers = ["slow: runs a generated repository's own sessions"]
"""


def prepare() -> None:
    """The toolkit's sources as `src/`, its fast tests as `tests/`, and the settings, in a fresh workspace."""
    shutil.rmtree(WORKSPACE, ignore_errors=True)
    shutil.copytree(ROOT / "ci" / "src", WORKSPACE / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (WORKSPACE / "tests").mkdir()
    for test in [ROOT / "tests" / "conftest.py", *sorted((ROOT / "tests").glob("test_toolkit_*.py"))]:
        shutil.copy2(test, WORKSPACE / "tests" / test.name)
    only = json.dumps([f"src/mlci/{module}" for module in DECISION_MODULES])
    (WORKSPACE / "pyproject.toml").write_text(SETTINGS.format(only=only))


def score() -> float:
    """Print the score and the survivors of the last run; the score."""
    subprocess.run(["mutmut", "export-cicd-stats"], cwd=WORKSPACE, check=True, capture_output=True)
    stats = json.loads((WORKSPACE / "mutants" / "mutmut-cicd-stats.json").read_text())
    killed = stats["killed"] + stats["timeout"]  # a mutant that makes a test hang is caught as well
    judged = killed + stats["survived"] + stats["suspicious"]
    share = killed / judged if judged else 0.0
    print(f"mutants: {stats['total']}; killed {killed} of {judged} judged: {share:.0%} (goal {GOAL:.0%})")
    print(f"reached by no fast test: {stats['no_tests']}; skipped: {stats['skipped']}")
    listing = subprocess.run(["mutmut", "results"], cwd=WORKSPACE, check=True, capture_output=True, text=True)
    survivors = listing.stdout.strip()
    print(
        f"survivors (`cd {WORKSPACE.relative_to(ROOT)} && mutmut show NAME` shows one):\n{survivors}"
        if survivors
        else "no survivor"
    )
    return share


def sealed() -> dict[str, str]:
    """The environment mutants run in: git finds no repository above the workspace. A mutant that turns a
    repository argument into None runs git in the working directory; without the seal, that was this checkout
    (a mutated `git reset --keep HEAD~1` once undid a commit here)."""
    return {**os.environ, "GIT_CEILING_DIRECTORIES": str(WORKSPACE.parent)}


def main() -> int:
    prepare()
    subprocess.run(["mutmut", "run", *sys.argv[1:]], cwd=WORKSPACE, check=True, env=sealed())
    return 0 if score() >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
