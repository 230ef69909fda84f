"""Generate a repository from this template and run its life cycle locally, printing each step.

Everything is real: a bare git repository stands in for the remote, a local folder for storage.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from cookiecutter.main import cookiecutter
from local_server import local_server

TEMPLATE = Path(__file__).resolve().parents[1]


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
    commit_all(project, "Reproduce the pipeline (dvc.lock and reports)")
    step("Push main to the remote", "git", "push", "--quiet", "-u", "origin", "main", cwd=project)
    step("Build the model's bento once, into the artifact store", "nox", "-s", "build", cwd=project)
    step("Build again: the same model stores nothing new", "nox", "-s", "build", cwd=project)
    ask_the_stored_build(project)
    print(f"\ndemo: done. The generated repository is {project}; its remote is {origin}.")


if __name__ == "__main__":
    main()
