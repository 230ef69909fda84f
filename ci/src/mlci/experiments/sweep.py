"""`mlci experiment run`: a sweep of the repository's own pipeline, every override checked before anything is
queued, then queued and run as DVC experiments with a chosen number of parallel jobs."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.core.errors import MlciError
from mlci.core.repository import Repository
from mlci.core.runner import CommandError, attempt, run
from mlci.core.scratch import scratch_folder
from mlci.experiments.grid import PARAMS_FILE, Override, OverrideError, applied, check_keys, expand
from mlci.experiments.records import Experiment, experiments

MOST_JOBS = 16  # parallel experiments: each trains a model in a process of its own
QUEUED = re.compile(r"Queued experiment '([^']+)' for future execution")
WORKERS = re.compile(r"Worker status: (\d+) active, (\d+) idle")
# DVC's queue workers leave about 10 s after the queue empties; one leaving still counts as present, and a run
# started then waits for it forever (DVC 3.67). So a sweep starts only with no worker present, and stops its own.
WORKERS_GONE_S = 30


@dataclass(frozen=True)
class Sweep:
    """What a sweep ran: each experiment with its overrides, as DVC recorded it."""

    ran: list[tuple[dict[str, str], Experiment]]

    @property
    def failed(self) -> list[Experiment]:
        return [experiment for _, experiment in self.ran if experiment.state != "success"]


def described(combination: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in combination.items())


def check_values(repository: Repository, params: dict[str, Any], combinations: list[dict[str, str]]) -> None:
    """Every experiment's params file, checked by the repository's own typed params before any is queued."""
    read = repository.project.params_reader()
    problems = []
    with scratch_folder("experiment") as scratch:
        candidate = Path(scratch) / PARAMS_FILE
        for combination in combinations:
            candidate.write_text(yaml.safe_dump(applied(params, combination), sort_keys=False), encoding="utf-8")
            try:
                read(candidate)
            except ValueError as error:
                found = str(error).replace(str(candidate), PARAMS_FILE)
                problems.append(f"  {described(combination)}: {found}")
    if problems:
        raise OverrideError("the params refuse these experiments, nothing was queued:\n" + "\n".join(problems))


def refuse_a_busy_queue(repository: Repository) -> None:
    """A queue that already holds experiments would run them with this sweep, unasked."""
    waiting = [
        e.name for e in experiments(repository.root, repository.project.model) if e.state in ("queued", "running")
    ]
    if waiting:
        raise OverrideError(
            f"DVC's queue already holds {', '.join(waiting)}: run them (`dvc exp run --run-all`) or remove them "
            "(`dvc queue remove --queued`) first, so that this sweep runs only its own experiments"
        )


def queue(root: Path, combinations: list[dict[str, str]]) -> list[str]:
    """Queue each experiment, or none: a failure removes the ones already queued."""
    names: list[str] = []
    try:
        for combination in combinations:
            overrides = [item for key, value in combination.items() for item in ("-S", f"{key}={value}")]
            said = run("dvc", "exp", "run", "--queue", *overrides, cwd=root)
            found = QUEUED.search(said)
            if not found:
                raise CommandError("dvc exp run --queue named no experiment", ["dvc", "exp", "run"], said)
            names.append(found[1])
    except CommandError:
        if names:
            attempt("dvc", "queue", "remove", *names, cwd=root)
        raise
    return names


def workers(root: Path) -> int:
    """DVC's experiment queue workers present now, busy or idle."""
    found = WORKERS.search(run("dvc", "queue", "status", cwd=root))
    return int(found[1]) + int(found[2]) if found else 0


def without_workers(root: Path) -> None:
    """Ask DVC's idle queue workers to leave, and wait until they have."""
    if not workers(root):
        return
    attempt("dvc", "queue", "stop", cwd=root)
    deadline = time.monotonic() + WORKERS_GONE_S
    while workers(root):
        if time.monotonic() > deadline:
            raise MlciError(
                f"DVC's experiment queue workers did not stop within {WORKERS_GONE_S} s: stop them "
                "(`dvc queue stop --kill`), then run the sweep again"
            )
        time.sleep(0.5)


def run_sweep(repository: Repository, texts: list[str], jobs: int) -> Sweep:
    """Check, queue and run every experiment the overrides span; what DVC recorded of each."""
    if not texts:
        raise OverrideError("name what to vary: -S KEY=VALUE[,VALUE...], e.g. -S train.n_estimators=100,200")
    if not 1 <= jobs <= MOST_JOBS:
        raise OverrideError(f"--jobs {jobs}: give 1 to {MOST_JOBS} experiments to run at once")
    overrides = [Override.parse(text) for text in texts]
    root = repository.root
    params = yaml.safe_load((root / PARAMS_FILE).read_text(encoding="utf-8"))
    check_keys(overrides, params)
    combinations = expand(overrides)
    check_values(repository, params, combinations)
    refuse_a_busy_queue(repository)
    without_workers(root)
    names = queue(root, combinations)
    try:
        # DVC's exit status says nothing of the experiments: each one's state is read back below.
        run("dvc", "exp", "run", "--run-all", "--jobs", str(jobs), cwd=root)
    except BaseException:  # stopped (Ctrl-C, SIGTERM) or failed: nothing of this sweep keeps running or waiting
        attempt("dvc", "queue", "kill", *names, cwd=root)
        attempt("dvc", "queue", "remove", "--queued", cwd=root)
        raise
    without_workers(root)  # none left to meet the next sweep
    recorded = {e.name: e for e in experiments(root, repository.project.model) if e.experiment}
    missing = Experiment("?", "", "", "failed", reason="DVC recorded nothing of it")
    return Sweep(
        [(combination, recorded.get(name, missing)) for combination, name in zip(combinations, names, strict=True)]
    )
