"""Generate a repository from this template and run its life cycle locally, printing each step.

Everything is real: a bare git repository stands in for the remote, a local folder for storage.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter
from local_server import free_port, local_server

TEMPLATE = Path(__file__).resolve().parents[1]
PROMOTE = ("nox", "-s", "promote", "--")
DRIFT = ("nox", "-s", "drift")


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
    print("\n==> Serve the stored build and ask it the example request", flush=True)
    with local_server(command, "/readyz", project) as url:
        port = url.rsplit(":", 1)[1]
        print(f"    $ {' '.join(command).replace('{port}', port)}", flush=True)
        status, answer = post_json(f"{url}/predict", (project / "examples" / "predict.json").read_bytes())
        print(f"    POST /predict -> {status}: {answer}", flush=True)


def post_json(url: str, body: bytes) -> tuple[int, str]:
    """POST a JSON body; the status and the answer."""
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


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


def use_free_ports(project: Path) -> list[int]:
    """Point staging and production at ports nothing else on this machine holds; log files every second."""
    config = project / "mlci.toml"
    ports = [free_port(), free_port()]
    text = config.read_text().replace("port = 3001", f"port = {ports[0]}").replace("port = 3000", f"port = {ports[1]}")
    config.write_text(text.replace("flush_seconds = 60", "flush_seconds = 1"))
    print(f"\n==> Edit mlci.toml: staging on port {ports[0]}, production on port {ports[1]}", flush=True)
    print("    and [monitoring] flush_seconds = 1: the inference log is written every second", flush=True)
    return ports


def training_rows(project: Path) -> list[dict[str, Any]]:
    """The training split's features as request records: numbers as numbers, empty cells as null."""
    with (project / "data" / "prepared" / "train.csv").open() as file:
        rows = list(csv.DictReader(file))
    return [
        {
            name: (None if value == "" else value if name in ("island", "sex") else float(value))
            for name, value in row.items()
            if name != "species"
        }
        for row in rows
    ]


def send_traffic(project: Path, port: int, stage: str, shift: float = 0.0) -> list[str]:
    """Post the training data to a stage, its bill length moved by `shift` standard deviations; the answers' ids."""
    records = training_rows(project)
    lengths = [record["bill_length_mm"] for record in records if record["bill_length_mm"] is not None]
    moved = shift * statistics.stdev(lengths)
    for record in records:
        if record["bill_length_mm"] is not None:
            record["bill_length_mm"] = min(63.0, record["bill_length_mm"] + moved)  # the contract's maximum
    change = f", bill length + {shift:g} standard deviations" if shift else ""
    print(f"\n==> Send {stage} the training data, {len(records)} requests{change}", flush=True)
    ids = []
    for record in records:
        _, answer = post_json(f"http://127.0.0.1:{port}/predict", json.dumps({"records": [record]}).encode())
        ids.append(json.loads(answer)[0]["id"])
    time.sleep(2)  # the log writes its file within a second
    return ids


def outcomes_arrive(project: Path, ids: list[str]) -> None:
    """The true species of the answered penguins, under [kpi] outcomes: each answer's id and the truth."""
    with (project / "data" / "prepared" / "train.csv").open() as file:
        truths = [row["species"] for row in csv.DictReader(file)]
    folder = project.parent / "storage" / "outcomes"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,species", *(f"{name},{truth}" for name, truth in zip(ids, truths, strict=True))]
    (folder / "staging.csv").write_text("\n".join(lines) + "\n")
    print(f"\n==> The outcomes of {len(ids)} answers arrive at {folder}: each answer's id and the true species")


def table_to_score(project: Path) -> Path:
    """The raw table, two of its rows broken, as a user's file to score."""
    lines = (project / "data" / "penguins.csv").read_text().splitlines()
    lines[5] = lines[5].replace("Torgersen", "Atlantis")
    lines[9] = lines[9].replace(",2007", ",")  # no year, which the schema requires
    path = project.parent / "to-score.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def new_labelled_data(project: Path) -> None:
    """Drop new data where [retrain] source points: the data so far and forty more Gentoo penguins of 2009."""
    raw = (project / "data" / "penguins.csv").read_text().splitlines()
    gentoo = [line for line in raw if line.startswith("Gentoo,")][:40]
    newcomers = [re.sub(r",\d{4}$", ",2009", line) for line in gentoo]  # a later year: outside the schema
    source = project.parent / "storage" / "incoming" / "penguins.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("\n".join(raw + newcomers) + "\n")
    print(f"\n==> New labelled data lands at {source}: {len(newcomers)} more penguins", flush=True)


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


def adopt_a_table(project: Path, workdir: Path) -> None:
    """Bring a user's table: scikit-learn's diabetes data, a regression, through the whole life cycle."""
    table = workdir / "diabetes.csv"
    frame = "datasets.load_diabetes(as_frame=True).frame"
    code = f"from sklearn import datasets; {frame}.to_csv({str(table)!r}, index=False)"
    step("Write scikit-learn's diabetes table as a user's own CSV", "uv", "run", "python", "-c", code, cwd=project)
    adopt = ("nox", "-s", "adopt", "--", str(table), "--target", "target")
    step("Adopt it: schema, suite, example, gates and plots follow the table", *adopt, cwd=project)
    step("Adopt it again: nothing changes", *adopt, cwd=project)
    step("Show what adoption changed, for review", "git", "status", "--short", cwd=project)
    step("Stage the change", "git", "add", "--all", cwd=project)
    step("Run the checks and validate the new table", "nox", "-s", "lint", "tests", "validate", cwd=project)
    release(project, "Adopt scikit-learn's diabetes table: a regression", ["staging", "production"])
    ask_the_stored_build(project)


def registered_at_head(project: Path) -> str:
    tags = subprocess.run(["git", "tag", "--points-at", "HEAD"], cwd=project, capture_output=True, text=True)
    return next(tag.removeprefix("model@") for tag in tags.stdout.split() if tag.startswith("model@"))


def generate(workdir: Path, storage: str = "") -> Path:
    """Generate the project with the template's own toolkit, storage beside it unless named."""
    print(f"\n==> Generate a repository into {workdir}", flush=True)
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(workdir),
        extra_context={"storage": storage or str(workdir / "storage"), "mlci_source": str(TEMPLATE / "ci")},
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
    ports = use_free_ports(project)
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
    answered = send_traffic(project, ports[0], "staging")
    step("Judge staging's logged requests: like the training data", *DRIFT, "--", "--stage", "staging", cwd=project)
    outcomes_arrive(project, answered)
    step(
        "Measure staging's answers against their outcomes: the KPIs",
        "nox",
        "-s",
        "kpi",
        "--",
        "--stage",
        "staging",
        cwd=project,
    )
    step(
        "Replay staging's traffic through the two stumps (v0.0.2, refused at promotion): they disagree",
        "nox",
        "-s",
        "shadow",
        "--",
        "v0.0.2",
        "--stage",
        "staging",
        cwd=project,
    )
    scored = project.parent / "scored.csv"
    step(
        "Score a table with production's build: two broken rows go to a side file, with the reason",
        "nox",
        "-s",
        "score",
        "--",
        str(table_to_score(project)),
        str(scored),
        "--stage",
        "production",
        cwd=project,
    )
    step("Show the rows refused", "cat", str(scored.with_suffix(".refused.csv")), cwd=project)
    send_traffic(project, ports[1], "production", shift=2)
    step("Judge production's logged requests: drift, exit 1", *DRIFT, cwd=project, fails=True)
    new_labelled_data(project)
    step("Take the newest labelled data, tracked by DVC", "nox", "-s", "refresh", cwd=project)
    release(project, "Retrain on the newest data after drift in production", ["staging", "production"])
    adopt_a_table(project, workdir)
    step(
        "Unpack the production build as its image's context, checked: docker or podman builds it, on Kubernetes",
        *("nox", "-s", "image", "--", registered_at_head(project)),
        cwd=project,
    )
    for stage in ("staging", "production"):
        step(f"Stop {stage}'s server", "uv", "run", "mlci", "stop", stage, cwd=project)
    print(f"\ndemo: done. The generated repository is {project}; its remote is {origin}.")


if __name__ == "__main__":
    main()
