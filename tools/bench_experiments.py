"""The experiments part of `nox -s bench`: one experiment against a plain `dvc repro` of the same change, and a
sweep of eight experiments run one at a time against the same sweep run two at a time.

Every measurement trains models no other has trained (its own `n_estimators`), so that DVC's run cache, which
restores a stage already run with the same inputs, serves none of them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def seconds(*command: str, cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - start


def plain_repro(project: Path, n_estimators: int) -> float:
    """`dvc repro` after the same change an experiment makes, then the change undone."""
    params = project / "params.yaml"
    original = params.read_text(encoding="utf-8")
    params.write_text(original.replace("n_estimators: ", f"n_estimators: {n_estimators}  # was ", 1), encoding="utf-8")
    try:
        return seconds("uv", "run", "--no-sync", "dvc", "repro", cwd=project)
    finally:
        params.write_text(original, encoding="utf-8")
        seconds("uv", "run", "--no-sync", "dvc", "checkout", "--force", cwd=project)


def sweep(project: Path, first: int, jobs: int) -> float:
    trees = ",".join(str(first + n) for n in range(4))
    return seconds(
        "uv", "run", "--no-sync", "mlci", "experiment", "run",
        "-S", f"train.n_estimators={trees}", "-S", "train.max_depth=6,12", "--jobs", str(jobs),
        cwd=project,
    )  # fmt: skip


def experiments(project: Path) -> None:
    repro = plain_repro(project, 101)
    one = seconds("uv", "run", "--no-sync", "mlci", "experiment", "run", "-S", "train.n_estimators=102", cwd=project)
    serial = sweep(project, 111, jobs=1)
    parallel = sweep(project, 121, jobs=2)
    print("\nExperiments (train and evaluate re-run by each; one run each)")
    print(f"  dvc repro of one changed parameter (baseline)   {repro:6.1f} s")
    print(f"  mlci experiment run of the same change          {one:6.1f} s   ratio {one / repro:.1f}x")
    print(f"  a sweep of 8 experiments, one at a time         {serial:6.1f} s   {serial / 8:.1f} s each")
    print(f"  the same sweep, two at a time                   {parallel:6.1f} s   ratio {parallel / serial:.2f}")
