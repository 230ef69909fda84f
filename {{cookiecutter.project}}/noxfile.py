"""Every step of this repository's life cycle as a nox session: the same on a laptop and in CI.

All sessions share the project's one environment, which uv keeps in step with `uv.lock`,
so the model is trained, tested and served with exactly the same packages.
"""

import os
import tomllib

import nox
from nox.command import CommandFailed

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


# uv runs in the project's own .venv: a virtual environment the user has activated is not it.
OWN_ENVIRONMENT: dict[str, str | None] = {"VIRTUAL_ENV": None}
# `score --engine spark` runs with pyspark beside the environment (`uv run --with`): not in
# uv.lock, so that a repository that never uses Spark never downloads it.
SPARK = "pyspark>=4.0,<5"
synced: set[str] = set()  # the sessions of this nox run that have synced the environment


def storage_endpoint() -> dict[str, str]:
    """[storage] endpoint of mlci.toml as AWS_ENDPOINT_URL, which DVC reads (mlci sets it itself);
    the environment's own wins."""
    try:
        with open("mlci.toml", "rb") as file:
            storage = tomllib.load(file).get("storage")
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # mlci says what is wrong with the file
    endpoint = storage.get("endpoint") if isinstance(storage, dict) else None
    if isinstance(endpoint, str) and endpoint and not os.environ.get("AWS_ENDPOINT_URL"):
        return {"AWS_ENDPOINT_URL": endpoint}
    return {}


def uv_run(session: nox.Session, *args: str, success_codes: list[int] | None = None) -> None:
    """Run a command in the project's environment, synced with the lock file once per session."""
    if session.name not in synced:
        if not os.path.isdir(".venv"):  # said before the one sync that takes minutes
            session.log("creating .venv from uv.lock: installing the ML stack takes minutes")
        session.run("uv", "sync", "--inexact", "--quiet", external=True, env=OWN_ENVIRONMENT)
        synced.add(session.name)
    session.run(
        "uv",
        "run",
        "--no-sync",
        *args,
        external=True,
        env={**OWN_ENVIRONMENT, **storage_endpoint()},
        success_codes=success_codes or [0],
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Run the pre-commit hooks on every file and the type checker; say if the template moved on."""
    uv_run(session, "pre-commit", "run", "--all-files", "--show-diff-on-failure", *session.posargs)
    uv_run(session, "mypy")
    uv_run(session, "mlci", "template-status", success_codes=[0, 2])  # informs, never fails


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    uv_run(session, "pytest", *session.posargs)


@nox.session(default=False)
def adopt(session: nox.Session) -> None:
    """Make a CSV table the data (`-- PATH --target COLUMN [--task regression]`)."""
    uv_run(session, "mlci", "adopt", *session.posargs)


@nox.session(default=False)
def validate(session: nox.Session) -> None:
    """Check the data against its suites (`nox -s validate -- --suite NAME FILE`: a new file)."""
    uv_run(session, "mlci", "validate", *session.posargs)


@nox.session(default=False)
def repro(session: nox.Session) -> None:
    """Reproduce the pipeline: pull what the remote has, run what changed, push the results."""
    reproduce(session)
    try:
        uv_run(session, "dvc", "push")
    except CommandFailed:
        session.error(
            "dvc push did not finish; what reached the remote stays there. Check what DVC said "
            "above, then run `nox -s repro` again: nothing re-runs, and it pushes only what the "
            "remote lacks."
        )


def reproduce(session: nox.Session) -> None:
    """Check the params, pull what the remote has, and run the stages that changed."""
    # Bad params stop the run here, before DVC removes any stage's outputs.
    uv_run(session, "python", "-m", "{{ cookiecutter.package_name }}.params")
    # A missing bucket or refused credentials, named with what to check before DVC meets them.
    uv_run(session, "mlci", "storage")
    if not os.path.exists("dvc.lock"):
        session.log(
            "no dvc.lock yet: DVC warns 'No file hash info found' for the outputs no run has made"
            " yet; that is harmless"
        )
    uv_run(session, "dvc", "pull", "--allow-missing")
    uv_run(session, "dvc", "repro", *session.posargs)


@nox.session(default=False)
def experiment(session: nox.Session) -> None:
    """Sweep params as DVC experiments (`-- run -S KEY=A,B [-j N]`), compare them (`-- log`),
    share them (`-- push`, `-- pull`), make the best a pull request's branch (`-- propose NAME`)."""
    uv_run(session, "mlci", "experiment", *session.posargs)


@nox.session(default=False)
def preview(session: nox.Session) -> None:
    """Reproduce the pipeline here, pushing nothing: what a pull request's review runs."""
    reproduce(session)


@nox.session(default=False)
def pull(session: nox.Session) -> None:
    """Fetch the data and the model that dvc.lock records from the DVC remote."""
    uv_run(session, "mlci", "storage")
    uv_run(session, "dvc", "pull", *session.posargs)


@nox.session(default=False)
def uptodate(session: nox.Session) -> None:
    """Fail unless dvc.lock matches the code, params and data: was `nox -s repro` committed?"""
    uv_run(session, "dvc", "status")
    uv_run(session, "dvc", "status", "--quiet")  # exits 1 when a stage would run


@nox.session(default=False)
def build(session: nox.Session) -> None:
    """Build the current model's bento once and store it (`-- [VERSION] [--store URL]`)."""
    uv_run(session, "mlci", "build", *session.posargs)


@nox.session(default=False)
def image(session: nox.Session) -> None:
    """A stored version's container image: its checked build context, or built, pushed and
    recorded once (`-- VERSION [--push REPOSITORY]`)."""
    uv_run(session, "mlci", "image", *session.posargs)


@nox.session(name="kind-proof", default=False)
def kind_proof(session: nox.Session) -> None:
    """Run a stored version through the staging overlay on a throwaway kind cluster (`-- VERSION`;
    needs docker, kind and kubectl: the cluster workflow runs it on GitHub)."""
    uv_run(session, "mlci", "kind-proof", *session.posargs)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve a stored build, not the working tree (`-- VERSION --port N`, both optional)."""
    uv_run(session, "mlci", "serve", *session.posargs)


@nox.session(default=False)
def register(session: nox.Session) -> None:
    """Register the model of the current commit as the next version (`-- --bump minor|major`)."""
    uv_run(session, "mlci", "register", *session.posargs)


@nox.session(default=False)
def status(session: nox.Session) -> None:
    """Print the registry: versions, their metrics and stages, and what each stage runs."""
    uv_run(session, "mlci", "status", *session.posargs)


@nox.session(default=False)
def promote(session: nox.Session) -> None:
    """Promote a version through the gates (`-- VERSION --to STAGE`)."""
    uv_run(session, "mlci", "promote", *session.posargs)


@nox.session(default=False)
def deploy(session: nox.Session) -> None:
    """Run the version a stage is assigned: smoke-tested here, or declared in git (`-- STAGE`)."""
    uv_run(session, "mlci", "deploy", *session.posargs)


@nox.session(default=False)
def rollback(session: nox.Session) -> None:
    """Assign a stage back to the version it held before, and deploy it (`-- STAGE`)."""
    uv_run(session, "mlci", "rollback", *session.posargs)


@nox.session(default=False)
def review(session: nox.Session) -> None:
    """Compare the model with a base and the champion (`-- --base origin/main`): reports/review.*"""
    uv_run(session, "mlci", "review", *session.posargs)


@nox.session(default=False)
def drift(session: nox.Session) -> None:
    """Judge a stage's logged requests against the training data (`-- [--stage S] [--since 7d]`)."""
    uv_run(session, "mlci", "drift", *session.posargs)


@nox.session(default=False)
def monitor(session: nox.Session) -> None:
    """`drift` for a scheduled job: drift and too few requests are verdicts (reports/drift.json),
    not failures; the session fails only on an error (exit 2 or 4)."""
    uv_run(session, "mlci", "drift", *session.posargs, success_codes=[0, 1, 3])


@nox.session(default=False)
def kpi(session: nox.Session) -> None:
    """Judge a stage's answers on their outcomes by [kpi] (`-- [--stage S] [--since 7d]`)."""
    uv_run(session, "mlci", "kpi", *session.posargs)


@nox.session(name="kpi-check", default=False)
def kpi_check(session: nox.Session) -> None:
    """`kpi` for a scheduled job: a missed KPI and too few outcomes are verdicts (reports/kpi.json),
    not failures; the session fails only on an error (exit 2 or 4)."""
    uv_run(session, "mlci", "kpi", *session.posargs, success_codes=[0, 1, 3])


@nox.session(default=False)
def shadow(session: nox.Session) -> None:
    """Replay a stage's logged requests through a challenger's build (`-- VERSION [--stage S]`)."""
    uv_run(session, "mlci", "shadow", *session.posargs)


@nox.session(default=False)
def score(session: nox.Session) -> None:
    """Score a table with a stored build (`-- INPUT OUTPUT --version V [--engine spark]`)."""
    arguments = " ".join(session.posargs)
    on_spark = "--engine spark" in arguments or "--engine=spark" in arguments
    # the `mlci` script runs the environment's own Python, which does not see what `--with` adds
    command = ["--with", SPARK, "python", "-m", "mlci"] if on_spark else ["mlci"]
    uv_run(session, *command, "score", *session.posargs)


@nox.session(default=False)
def refresh(session: nox.Session) -> None:
    """Make the newest labelled data ([retrain] source of mlci.toml) the raw data, in DVC."""
    uv_run(session, "mlci", "refresh", *session.posargs)


@nox.session(name="template-update", default=False)
def template_update(session: nox.Session) -> None:
    """Bring the template's newest changes in, uncommitted, to review (`-- --ref REF`)."""
    uv_run(session, "mlci", "template-update", *session.posargs)
