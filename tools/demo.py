"""Generate a repository from this template and run its life cycle locally, printing each step.

Everything is real: a bare git repository stands in for the remote, a local folder for storage.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from cookiecutter.main import cookiecutter
from local_server import free_port, local_server

TEMPLATE = Path(__file__).resolve().parents[1]
PROMOTE = ("nox", "-s", "promote", "--")


def step(title: str, *command: str, cwd: Path, fails: bool = False) -> None:
    """Print what runs, run it, and stop the demo if it does not end as expected (`fails`: it must fail)."""
    print(f"\n==> {title}\n    $ {' '.join(command)}", flush=True)
    if (subprocess.run(command, cwd=cwd).returncode != 0) != fails:
        sys.exit(f"demo: step {'succeeded' if fails else 'failed'}: {title}")


def commit_all(project: Path, message: str) -> None:
    """Commit every change, signed as the generated author where git knows nobody."""
    known = subprocess.run(["git", "config", "user.email"], cwd=project, capture_output=True).returncode == 0
    author = subprocess.run(["git", "log", "-1", "--format=%an%n%ae"], cwd=project, capture_output=True, text=True)
    name, email = author.stdout.split("\n")[:2]
    identity = [] if known else ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    step("Stage every change", "git", "add", "--all", cwd=project)
    step(f"Commit: {message}", "git", *identity, "commit", "--quiet", "-m", message, cwd=project)


def ask_the_stored_build(project: Path) -> None:
    """Serve the stored build on a free port, send it the example request, print the answer, stop it."""
    command = ["uv", "run", "mlci", "serve", "--port", "{port}"]
    print(f"\n==> Serve the stored build and ask it the example request\n    $ {' '.join(command)}", flush=True)
    with local_server(command, "/readyz", project) as url:
        example = (project / "examples" / "predict.json").read_bytes()
        request = urllib.request.Request(f"{url}/predict", example, {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"    POST /predict -> {response.status}: {response.read().decode()}", flush=True)


def break_data(project: Path, bad: Path) -> Path:
    """A copy of the shipped data with an island that does not exist and a flipper a metre long."""
    text = (project / "data" / "penguins.csv").read_text()
    bad.write_text(text.replace("Adelie,Dream,", "Adelie,Atlantis,", 3).replace(",181,", ",1000,", 1))
    return bad


def set_params(project: Path, **values: int) -> None:
    """Change training parameters in params.yaml, printing the change."""
    params = project / "params.yaml"
    text = params.read_text()
    for key, value in values.items():
        text = re.sub(rf"(\n  {key}): \S+", rf"\1: {value}", text)
    params.write_text(text)
    print(f"\n==> Edit params.yaml: {', '.join(f'train.{key} = {value}' for key, value in values.items())}", flush=True)


def use_free_ports(project: Path) -> None:
    """Point staging and production at ports nothing else on this machine holds."""
    config = project / "mlci.toml"
    ports = [free_port(), free_port()]
    config.write_text(
        config.read_text().replace("port = 3001", f"port = {ports[0]}").replace("port = 3000", f"port = {ports[1]}")
    )
    print(f"\n==> Edit mlci.toml: staging on port {ports[0]}, production on port {ports[1]}", flush=True)


def release(project: Path, message: str, promote_to: list[str], refused: bool = False) -> None:
    """Reproduce, commit and push a change, register and build it, then promote it stage by stage."""
    step("Reproduce the pipeline and push its results", "nox", "-s", "repro", cwd=project)
    step("Review the change against main and the champion", "nox", "-s", "review", "--", "--base", "main", cwd=project)
    commit_all(project, message)
    step("Push main to the remote", "git", "push", "--quiet", "origin", "main", cwd=project)
    step("Register the new model as the next version", "nox", "-s", "register", cwd=project)
    step("Build it once, into the artifact store", "nox", "-s", "build", cwd=project)
    version = registered_at_head(project)
    for stage in promote_to:
        title = f"Promote {version} to {stage}: " + ("the gates refuse it" if refused else "the gates pass")
        step(title, "nox", "-s", "promote", "--", version, "--to", stage, cwd=project, fails=refused)
        if not refused:
            step(f"Deploy {stage}: start, smoke-test, switch", "nox", "-s", "deploy", "--", stage, cwd=project)
    step("Show the registry", "nox", "-s", "status", cwd=project)


def registered_at_head(project: Path) -> str:
    tags = subprocess.run(["git", "tag", "--points-at", "HEAD"], cwd=project, capture_output=True, text=True)
    return next(tag.removeprefix("model@") for tag in tags.stdout.split() if tag.startswith("model@"))


def generate(workdir: Path) -> Path:
    """Generate the project with the template's own toolkit, storage beside it."""
    print(f"\n==> Generate a repository into {workdir}", flush=True)
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(workdir),
        extra_context={"storage": str(workdir / "storage"), "mlci_source": str(TEMPLATE / "ci")},
    )
    return Path(project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=TEMPLATE / "build" / "demo", help="emptied, then used")
    workdir = parser.parse_args().workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    origin = workdir / "origin.git"
    step("Create the remote: a bare git repository", "git", "init", "--quiet", "--bare", str(origin), cwd=workdir)
    project = generate(workdir)
    step("Show the first commit", "git", "log", "--stat", "--oneline", cwd=project)
    step("Connect the remote", "git", "remote", "add", "origin", str(origin), cwd=project)
    step("Run the checks every push runs", "nox", "-s", "lint", "tests", cwd=project)
    step("Validate the toolkit's config", "uv", "run", "mlci", "config", cwd=project)
    commit_all(project, "Lock the environment (the first run wrote uv.lock)")
    step("Validate the data with the Great Expectations suites", "nox", "-s", "validate", cwd=project)
    bad_data = break_data(project, workdir / "bad-penguins.csv")
    step(
        "Check a bad file: the suite names each problem and fails",
        *("nox", "-s", "validate", "--", "--suite", "penguins", str(bad_data)),
        cwd=project,
        fails=True,
    )
    step("Reproduce the pipeline and push data and model to the DVC remote", "nox", "-s", "repro", cwd=project)
    step("Show the metrics", "uv", "run", "dvc", "metrics", "show", cwd=project)
    step("Reproduce again: nothing changed, nothing runs", "uv", "run", "dvc", "repro", cwd=project)
    use_free_ports(project)
    commit_all(project, "Reproduce the pipeline (dvc.lock and reports); serve the stages on free ports")
    step("Push main to the remote", "git", "push", "--quiet", "-u", "origin", "main", cwd=project)
    step("Register the model of this commit: a GTO tag, pushed", "nox", "-s", "register", cwd=project)
    step("Show the registry", "nox", "-s", "status", cwd=project)
    step("Build the model's bento once, into the artifact store", "nox", "-s", "build", cwd=project)
    step("Build again: the same model stores nothing new", "nox", "-s", "build", cwd=project)
    ask_the_stored_build(project)
    step(
        "Promote v0.0.1 to production first: the stage order refuses",
        *PROMOTE,
        "v0.0.1",
        "--to",
        "production",
        cwd=project,
        fails=True,
    )
    for stage in ("staging", "production"):
        step(f"Promote v0.0.1 to {stage}", *PROMOTE, "v0.0.1", "--to", stage, cwd=project)
        step(f"Deploy {stage}: start, smoke-test, switch", "nox", "-s", "deploy", "--", stage, cwd=project)
    step("Deploy staging again: it already runs, nothing to do", "nox", "-s", "deploy", "--", "staging", cwd=project)
    step("Show the registry", "nox", "-s", "status", cwd=project)
    set_params(project, n_estimators=2, max_depth=1)
    release(project, "Train two stumps", ["staging"], refused=True)
    set_params(project, n_estimators=150, max_depth=8)
    release(project, "Train 150 trees", ["staging", "production"])
    step("Roll production back to the version before", "nox", "-s", "rollback", "--", "production", cwd=project)
    step("Show the registry", "nox", "-s", "status", cwd=project)
    for stage in ("staging", "production"):
        step(f"Stop {stage}'s server", "uv", "run", "mlci", "stop", stage, cwd=project)
    print(f"\ndemo: done. The generated repository is {project}; its remote is {origin}.")


if __name__ == "__main__":
    main()
