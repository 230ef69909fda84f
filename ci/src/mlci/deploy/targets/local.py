"""The `local` target: a stage's stored bento served by `bentoml serve` on its port, on this machine.

A candidate is started beside whatever runs now, on a spare port, and smoke-tested there. Only a candidate that
passes replaces the running version on the stage's port, where it is smoke-tested again; if that fails, the
previous version is started again. What runs is recorded per stage under `$XDG_STATE_HOME/mlci/<project>-<key>/`,
the key naming the repository's folder: two clones of one project on a machine keep records of their own.

Crash-safe: every process a deploy starts is recorded as soon as it runs, before its smoke test (the candidate in
`<stage>.candidate.json`, the stage's server in `<stage>.json`, marked not yet smoke-tested). A deploy killed at
any point leaves records that name what runs: the next `deploy` or `stop` stops a leftover candidate, and a
server never smoke-tested is replaced by the next `deploy`, not kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from mlci_serving.names import READY_ROUTE

from mlci.build.installed import Installed, install
from mlci.core.errors import RefusedError
from mlci.core.locks import held, is_held
from mlci.core.project import Project
from mlci.core.store import Store
from mlci.deploy.smoke import Smoke, answer_problems, ready, smoke_for
from mlci.deploy.targets.base import Deployment, Serving
from mlci.deploy.targets.process import Runtime, free_port, port_in_use, reachable, serves, start, stop

READY_TIMEOUT_S = 120


@dataclass(frozen=True)
class Running:
    """A deployed version, as the stage's record keeps it: its process, port and the bento it serves."""

    version: str
    pid: int
    port: int
    bento_sha256: str
    tag: str
    home: str
    verified: bool = True  # passed its smoke test on this port
    model_sha256: str = ""  # the built model's checksum, which the server checks at start
    compiled_sha256: str = ""  # the compiled model's, when the build has one (then the one served)

    def serving(self, host: str) -> Serving:
        detail = f"pid {self.pid}" if self.verified else f"pid {self.pid}, not smoke-tested: deploy again"
        return Serving(self.version, f"http://{reachable(host)}:{self.port}", detail)


class Step(Enum):
    """What a deploy does, given what runs: nothing, refuse, or start the build and switch to it."""

    KEEP = "the build already runs on the stage's port"
    REFUSE = "another program holds the stage's port"
    SWITCH = "start the build, smoke-test it, and move it to the stage's port"


def decide(current: Running | None, bento_sha256: str, port: int, port_taken: bool) -> Step:
    """The deploy's decision: keep a build that runs already (smoke-tested), refuse a port another program holds,
    else switch."""
    ours = current is not None and current.port == port
    if ours and current is not None and current.bento_sha256 == bento_sha256 and current.verified:
        return Step.KEEP
    if port_taken and not ours:
        return Step.REFUSE
    return Step.SWITCH


def state_dir(project: Project) -> Path:
    """Where this repository's deploy records live."""
    key = hashlib.sha256(str(project.root.resolve()).encode()).hexdigest()[:10]
    return Path(os.environ.get("XDG_STATE_HOME", "~/.local/state")).expanduser() / "mlci" / f"{project.name}-{key}"


def smoke_test(process: subprocess.Popen[bytes], url: str, version: str, smoke: Smoke) -> list[str]:
    """What is wrong with a freshly started build: not ready, a valid request not answered, a bad one accepted."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready(url):
        if process.poll() is not None:
            return [f"the service exited with code {process.returncode} before it was ready"]
        if time.monotonic() > deadline:
            return [f"{READY_ROUTE} did not answer 200 within {READY_TIMEOUT_S} s"]
        time.sleep(0.3)
    return answer_problems(url, version, smoke)


class LocalTarget:
    """A stage served on this machine, on its port from `mlci.toml`."""

    declarative = False

    def __init__(self, project: Project, stage: str, runtime: Runtime, store: Store) -> None:
        self.project = project
        self.stage = stage
        self.runtime = runtime
        self.store = store
        self.where = f"port {runtime.port}"
        self.state = state_dir(project)
        self.record_path = self.state / f"{stage}.json"
        self.candidate_path = self.state / f"{stage}.candidate.json"
        self.log = self.state / f"{stage}.log"
        self.lock = self.state / f"{stage}.lock"

    def preflight(self) -> None:
        """Nothing to check ahead: the deploy itself keeps what runs on any failure."""

    def running(self) -> Running | None:
        """What serves the stage: its record, if the process it names is alive and still `bentoml serve` of it."""
        return self.read(self.record_path)

    @staticmethod
    def read(path: Path) -> Running | None:
        if not path.is_file():
            return None
        recorded = Running(**json.loads(path.read_text()))
        return recorded if serves(recorded.pid, recorded.tag) else None

    def current(self) -> Serving | None:
        running = self.running()
        return running.serving(self.runtime.host) if running else None

    def leftover(self) -> Serving | None:
        """A candidate still running with no deploy under way: one stopped before it could stop its candidate."""
        if is_held(self.lock):
            return None  # a deploy is smoke-testing it now
        candidate = self.read(self.candidate_path)
        return candidate.serving(self.runtime.host) if candidate else None

    @staticmethod
    def write(path: Path, deployed: Running | None) -> None:
        """Write (or clear) a record atomically."""
        if deployed is None:
            path.unlink(missing_ok=True)
            return
        partial = path.with_name(f"{path.name}.partial")
        partial.write_text(json.dumps(asdict(deployed), indent=2))
        partial.replace(path)

    def reap_candidate(self) -> None:
        """Stop a candidate a killed deploy left running, and forget it."""
        leftover = self.read(self.candidate_path)
        if leftover:
            stop(leftover.pid)
        self.write(self.candidate_path, None)

    def launch(self, installed: Installed, port: int, smoke: Smoke, record: Path) -> tuple[Running, list[str]]:
        """Start a build on a port, record it (not yet smoke-tested), and smoke-test it; what runs, and the
        problems found. The caller stops it."""
        process = start(installed, port, self.runtime, self.log)
        started = Running(
            version=installed.version,
            pid=process.pid,
            port=port,
            bento_sha256=installed.bento_sha256,
            tag=installed.tag,
            home=str(installed.home),
            verified=False,
            model_sha256=installed.model_sha256,
            compiled_sha256=installed.compiled_sha256,
        )
        self.write(record, started)
        problems = smoke_test(process, f"http://{reachable(self.runtime.host)}:{port}", installed.version, smoke)
        return started, problems

    def deploy(self, version: str) -> Deployment:
        """Make the stage serve this build, keeping what runs now unless the build passes its smoke test."""
        installed = install(self.store, self.project.root, self.project.name, version)
        smoke = smoke_for(self.project)
        self.state.mkdir(parents=True, exist_ok=True)
        with held(self.lock, f"another deploy of {self.stage} is running"):
            self.reap_candidate()
            return self.switch(installed, smoke)

    def switch(self, installed: Installed, smoke: Smoke) -> Deployment:
        stage, port = self.stage, self.runtime.port
        current = self.running()
        step = decide(current, installed.bento_sha256, port, port_in_use(port))
        if step is Step.KEEP and current is not None:
            return Deployment(stage, current.serving(self.runtime.host), None, changed=False)
        if step is Step.REFUSE:
            raise RefusedError(
                f"{stage}: port {port} is taken by another program, not by this stage's deployment; "
                f"stop that program or set another port in [deploy.{stage}] of mlci.toml. Nothing was changed."
            )
        kept = f"{current.version} keeps running" if current else "nothing was running, and nothing runs now"
        candidate, problems = self.launch(installed, free_port(), smoke, self.candidate_path)
        stop(candidate.pid)
        self.write(self.candidate_path, None)
        if problems:
            raise RefusedError(
                f"{stage}: {installed.version} failed its smoke test ({'; '.join(problems)}); {kept}. Log: {self.log}"
            )
        if current:
            stop(current.pid)
        started, problems = self.launch(installed, port, smoke, self.record_path)
        if problems:
            stop(started.pid)
            if current and current.verified:
                self.restart(current)
            else:
                self.write(self.record_path, None)
            raise RefusedError(f"{stage}: {installed.version} failed on port {port} ({'; '.join(problems)}); {kept}")
        deployed = Running(**{**asdict(started), "verified": True})
        self.write(self.record_path, deployed)
        replaced = current.version if current and current.version != deployed.version else None
        return Deployment(stage, deployed.serving(self.runtime.host), replaced, changed=True)

    def restart(self, previous: Running) -> None:
        """Start the version that ran before again, on its port, and record it."""
        installed = Installed(
            previous.tag,
            previous.version,
            previous.bento_sha256,
            Path(previous.home),
            previous.model_sha256,
            previous.compiled_sha256,
        )
        restored = start(installed, previous.port, self.runtime, self.log)
        self.write(self.record_path, Running(**{**asdict(previous), "pid": restored.pid}))

    def stop(self) -> Serving | None:
        """Stop what runs for the stage (a leftover candidate too), and clear its records."""
        self.reap_candidate()
        current = self.running()
        self.write(self.record_path, None)
        if current is None:
            return None
        stop(current.pid)
        return current.serving(self.runtime.host)
