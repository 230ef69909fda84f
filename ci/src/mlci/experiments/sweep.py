"""`mlci experiment run`: a sweep of the repository's own pipeline, every override checked before anything is
queued, then queued and run as DVC experiments with a chosen number of parallel jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.core.repository import Repository
from mlci.core.scratch import scratch_folder
from mlci.experiments.grid import PARAMS_FILE, Override, OverrideError, applied, check_keys, expand
from mlci.experiments.queue import refuse_a_busy_queue, run_queued
from mlci.experiments.records import Experiment, experiments

MOST_JOBS = 16  # parallel experiments: each trains a model in a process of its own


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
    refuse_a_busy_queue(root, repository.project.model)
    names = run_queued(root, combinations, jobs)
    recorded = {e.name: e for e in experiments(root, repository.project.model) if e.experiment}
    missing = Experiment("?", "", "", "failed", reason="DVC recorded nothing of it")
    return Sweep(
        [(combination, recorded.get(name, missing)) for combination, name in zip(combinations, names, strict=True)]
    )
