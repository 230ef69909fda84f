"""DVC's experiment queue, driven so that a sweep never waits forever and leaves nothing behind.

DVC runs queued experiments in worker processes it starts itself. Two of its ways are guarded here (DVC 3.67):
a worker about to leave (they leave about 10 s after the queue empties) still counts as present, and a run
started then waits for it forever; and an experiment that fails while it is set up is never reported done, so
`dvc exp run --run-all` waits for it forever too. So a sweep starts with no worker present, its run is
watched, and a run with no worker left for a while is over (or stuck) whatever DVC says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mlci.core.errors import MlciError
from mlci.core.runner import CommandError, attempt, executable, run
from mlci.experiments.records import experiments

QUEUED = re.compile(r"Queued experiment '([^']+)' for future execution")
WORKERS = re.compile(r"Worker status: (\d+) active, (\d+) idle")
WORKERS_GONE_S = 30  # how long the idle workers of an earlier sweep may take to leave
NO_WORKER_S = 20  # a run with no worker for this long has nothing left that DVC will do
WATCH_EVERY_S = 5


class QueueError(MlciError):
    """DVC's queue is in a state a sweep cannot start from, or did not run what it was given."""


def environment() -> dict[str, str]:
    """This environment's programs first on PATH: DVC starts its queue workers as `dvc`, and each experiment's
    stages run `python` and `mlci` by name, whoever started the sweep and however."""
    programs = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{programs}{os.pathsep}{os.environ.get('PATH', '')}"}


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
            raise QueueError(
                f"DVC's experiment queue workers did not stop within {WORKERS_GONE_S} s: stop them "
                "(`dvc queue stop --kill`), then run the sweep again"
            )
        time.sleep(0.5)


def refuse_a_busy_queue(root: Path, model: Path) -> None:
    """A queue that already holds experiments would run them with this sweep, unasked."""
    waiting = [e.name for e in experiments(root, model) if e.state in ("queued", "running")]
    if waiting:
        raise QueueError(
            f"DVC's queue already holds {', '.join(waiting)}: run them (`dvc exp run --run-all`) or remove them "
            "(`dvc queue remove --queued`) first, so that this sweep runs only its own experiments"
        )


def queue(root: Path, combinations: list[dict[str, str]]) -> list[str]:
    """Queue each experiment, or none: a failure removes the ones already queued."""
    names: list[str] = []
    try:
        for combination in combinations:
            overrides = [item for key, value in combination.items() for item in ("-S", f"{key}={value}")]
            said = run("dvc", "exp", "run", "--queue", *overrides, cwd=root, env=environment())
            found = QUEUED.search(said)
            if not found:
                raise CommandError("dvc exp run --queue named no experiment", ["dvc", "exp", "run"], said)
            names.append(found[1])
    except CommandError:
        if names:
            attempt("dvc", "queue", "remove", *names, cwd=root)
        raise
    return names


def watched(root: Path, jobs: int) -> None:
    """`dvc exp run --run-all`, ended when it ends or when no worker has been left for NO_WORKER_S."""
    command = [executable("dvc"), "exp", "run", "--run-all", "--jobs", str(jobs)]
    process = subprocess.Popen(command, cwd=root, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        alone_since: float | None = None
        while True:
            try:
                process.wait(timeout=WATCH_EVERY_S)
                return
            except subprocess.TimeoutExpired:
                pass
            if workers(root):
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > NO_WORKER_S:
                break  # DVC waits for something no worker will do: what was done is read back by the caller
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()


def run_queued(root: Path, combinations: list[dict[str, str]], jobs: int) -> list[str]:
    """Queue the experiments and run them, `jobs` at a time; their names. Stopped or failed, nothing of the
    sweep keeps running or waiting; ended, no worker is left to meet the next sweep."""
    without_workers(root)
    names = queue(root, combinations)
    try:
        watched(root, jobs)
        still = [e.name for e in experiments(root, Path()) if e.name in names and e.state == "queued"]
        if still:
            raise QueueError(
                f"DVC's queue workers ran none of {', '.join(still)} and left (see .dvc/tmp/exps/celery/*.out); "
                "they were removed from the queue"
            )
    except BaseException:  # stopped (Ctrl-C, SIGTERM) or failed
        attempt("dvc", "queue", "kill", *names, cwd=root)
        attempt("dvc", "queue", "remove", "--queued", cwd=root)
        raise
    finally:
        without_workers(root)
    return names
