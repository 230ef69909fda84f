"""Every script of the generated workflows, run here as the runner would run it, in a clone with a bare `origin`.

GitHub cannot be reached: each step's `run:` is executed with bash as Actions does (`-e -o pipefail`), with the
step's env values filled in by hand (matrix entries, inputs, the base branch) and the runner's files
(GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP) made locally. Lines calling `gh`, GitHub's own command line,
are left out, and so are steps made only of them: the comment and issue they post are checked statically.

The tests run in any order: what a job needs another job to have done (a release, a production deploy) is a
fixture that runs that job once, and a test that changes the clone restores it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
from actions import Runner, job, run_steps
from conftest import clone_with_origin, edited, run, serve_stages_on_free_ports, stop_stages
from mlci.core.seals import image_seal
from mlci.review.report import REVIEW_MARKER
from served import post_records, request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    root = tmp_path_factory.mktemp("actions")
    clone = clone_with_origin(reproduced, root)
    staging, production = serve_stages_on_free_ports(clone)
    (root / "runner-temp").mkdir()
    yield Runner(clone, root / "github-output", root / "step-summary", root / "runner-temp", staging, production)
    stop_stages(clone)


def test_ci_checks(runner: Runner) -> None:
    """The checks job's script, run for its `tests` entry. Its `lint` entry runs the same script with another
    session: that session runs on the shared repository before any clone is made (conftest's
    `checked_project`), and is not run a second time here."""
    assert job(runner, "ci.yml", "checks")["strategy"]["matrix"]["session"] == ["lint", "tests"]
    run_steps(runner, "ci.yml", "checks", SESSION="tests")


@pytest.mark.parametrize("session", ["validate", "uptodate"])
def test_ci_data_jobs(runner: Runner, session: str) -> None:
    results = run_steps(runner, "ci.yml", "data", SESSION=session)
    assert len(results) == 2  # pull, then the session


def test_ci_builds_the_bento_outside_the_artifact_store(runner: Runner) -> None:
    store = runner.clone.path.parent / "bentos"
    kept = sorted(store.rglob("*"))
    tags = run("git", "tag", cwd=runner.clone.path).stdout
    results = run_steps(runner, "ci.yml", "bento")
    # Named git-<commit>, or the version registered at HEAD once the release has run.
    assert list((runner.temp / "bentos" / "penguin-species").glob("*.bento"))
    assert sorted(store.rglob("*")) == kept
    assert "built and stored as a trial, not sealed" in results[-1].stdout + results[-1].stderr
    assert run("git", "tag", cwd=runner.clone.path).stdout == tags  # a trial seals nothing


def test_ci_uptodate_fails_when_the_lock_is_stale(runner: Runner) -> None:
    stale = edited(
        runner.clone.path / "params.yaml", lambda text: text.replace("n_estimators: 100", "n_estimators: 99")
    )
    with stale, pytest.raises(AssertionError, match="Run the session"):
        run_steps(runner, "ci.yml", "data", SESSION="uptodate")


def test_a_template_update_that_fails_inside_a_pipe_fails_its_step(runner: Runner) -> None:
    """The session's output goes through `tee`: run as GitHub runs the step, its exit 2 (no such template ref)
    must still fail the job, never let it commit what a failed update left."""
    head = run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout
    try:
        with pytest.raises(AssertionError, match="Take the template's changes"):
            run_steps(runner, "template-update.yml", "update", REF="no-such-ref-of-the-template")
        assert run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout == head
    finally:
        run("git", "reset", "--quiet", "--hard", head.strip(), cwd=runner.clone.path)


def test_an_update_of_workflow_files_without_an_apps_token_fails_naming_what_to_set(runner: Runner) -> None:
    """GITHUB_TOKEN may not push `.github/workflows` changes: the commit step names them, and the job stops
    before the pull request would fail to push, saying which variable and secret to set."""
    head = run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout
    workflow = runner.clone.path / ".github" / "workflows" / "ci.yml"
    try:
        workflow.write_text(workflow.read_text() + "# a template release's change\n")
        runner.output.write_text("")
        run_steps(runner, "template-update.yml", "update", only="Commit the change")
        assert runner.output.read_text() == "workflows=.github/workflows/ci.yml \n"
        check, changed = "An update of workflow files", ".github/workflows/ci.yml "
        with pytest.raises(AssertionError, match="set the variable TEMPLATE_UPDATE_APP_ID and the secret"):
            run_steps(runner, "template-update.yml", "update", only=check, WORKFLOWS=changed, APP_TOKEN="")
        run_steps(runner, "template-update.yml", "update", only=check, WORKFLOWS=changed, APP_TOKEN="ghs_x")
        run_steps(runner, "template-update.yml", "update", only=check, WORKFLOWS="", APP_TOKEN="")
    finally:
        run("git", "reset", "--quiet", "--hard", head.strip(), cwd=runner.clone.path)


def test_template_update_of_a_current_repository_changes_nothing(runner: Runner) -> None:
    head = run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout
    try:
        run_steps(runner, "template-update.yml", "update", REF="")
        assert "already up to date with the template" in (runner.temp / "template-update.md").read_text()
        assert run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout == head  # nothing to commit
        assert run("git", "status", "--porcelain", cwd=runner.clone.path).stdout == ""
    finally:  # whatever an update would have brought, gone for the tests after this one
        run("git", "reset", "--quiet", "--hard", head.strip(), cwd=runner.clone.path)


def test_review_of_a_pull_request(runner: Runner) -> None:
    run_steps(runner, "review.yml", "review", BASE_REF="main")
    review = (runner.clone.path / "reports" / "review.md").read_text()
    assert review.startswith("## Model review of penguin-species")
    assert review.endswith(f"\n{REVIEW_MARKER}\n")  # the comment the workflow edits, and no other


def test_review_of_a_pull_request_from_a_fork_fills_the_job_summary(runner: Runner) -> None:
    run_steps(runner, "review.yml", "review-fork", BASE_REF="main")
    assert "**Verdict:" in runner.summary.read_text()


class Release(NamedTuple):
    """What the release job left: its output and the container engine's command lines."""

    output: str
    engine_calls: list[str]


@pytest.fixture(scope="module")
def released(runner: Runner) -> Release:
    """The release job, run once: v0.0.1 registered, built, its image pushed and recorded, promoted to staging.

    No container engine runs here: tests/fake-docker stands in for docker, checking the command lines mlci gives
    it and answering with a digest; the image build itself is not exercised."""
    runner.output.write_text("")
    engine = runner.temp / "engine"
    engine.mkdir()
    shutil.copy(Path(__file__).parent / "fake-docker", engine / "docker")
    run_steps(
        runner, "release.yml", "release", path=engine, VERSION="v0.0.1", REPOSITORY="ghcr.io/Team/Penguin-Species"
    )
    output = runner.output.read_text()
    merged = merge_meanwhile(runner)
    run_steps(runner, "release.yml", "promote-staging", VERSION="v0.0.1")
    assert run("git", "rev-parse", "HEAD", cwd=runner.clone.path).stdout.strip() == merged  # promoted from the head
    return Release(output, (engine / "docker.log").read_text().splitlines())


def merge_meanwhile(runner: Runner) -> str:
    """Another change merged into origin's main while the release built: the commit it made."""
    other = runner.clone.path.parent / "meanwhile"
    run("git", "clone", "--quiet", str(runner.clone.origin), str(other), cwd=runner.clone.path.parent)
    with (other / "README.md").open("a") as readme:
        readme.write("\nA note merged while the release was building.\n")
    run("git", "commit", "--quiet", "--all", "-m", "A note merged meanwhile", cwd=other, env=runner.clone.env)
    run("git", "push", "--quiet", "origin", "HEAD:main", cwd=other, env=runner.clone.env)
    return run("git", "rev-parse", "HEAD", cwd=other).stdout.strip()


def test_release_registers_builds_pushes_an_image_and_promotes_to_staging(runner: Runner, released: Release) -> None:
    assert released.output == "version=v0.0.1\n"
    context = "build/image/v0.0.1"  # relative to the repository, where the session runs
    reference = "ghcr.io/team/penguin-species:v0.0.1"  # lowercased by the step, as registries require
    assert released.engine_calls[0] == f"build --file {context}/env/docker/Dockerfile --tag {reference} {context}"
    assert released.engine_calls[1] == f"push {reference}"
    image = image_seal(runner.clone.path, "penguin-species", "v0.0.1")
    assert image is not None
    assert re.fullmatch(r"ghcr\.io/team/penguin-species@sha256:[0-9a-f]{64}", image)
    tags = subprocess.run(
        ["git", "ls-remote", "--tags", "origin"], cwd=runner.clone.path, capture_output=True, text=True
    )
    assert "refs/tags/model@v0.0.1" in tags.stdout
    assert "refs/tags/model#staging#" in tags.stdout
    # The seals travel with the registry: a fresh clone checks the build and finds the image.
    assert "refs/tags/mlci-build/penguin-species/v0.0.1\n" in tags.stdout
    assert "refs/tags/mlci-image/penguin-species/v0.0.1\n" in tags.stdout


def test_deploy_of_staging_as_the_release_calls_it(runner: Runner, released: Release) -> None:
    runner.output.write_text("")
    run_steps(runner, "deploy.yml", "target", STAGE_INPUT="staging", TAG="main")
    assert runner.output.read_text() == "stage=staging\n"
    run_steps(runner, "deploy.yml", "deploy", STAGE="staging")
    status, _ = request(f"http://127.0.0.1:{runner.staging_port}/readyz")
    assert status == 200


def test_a_stage_tag_names_the_stage_to_deploy(runner: Runner) -> None:
    runner.output.write_text("")
    run_steps(runner, "deploy.yml", "target", STAGE_INPUT="", TAG="model#production#7")
    assert runner.output.read_text() == "stage=production\n"


@pytest.fixture(scope="module")
def in_production(runner: Runner, released: Release) -> Path:
    """The promote job, run once: v0.0.1 promoted to production and deployed; production's log folder, once the
    deploy's smoke tests are in it (the example request, sent to the candidate and on the stage's port)."""
    run_steps(runner, "promote.yml", "promote", VERSION="v0.0.1")
    log = runner.clone.path.parent / "inference-log" / "production"
    example = json.loads((runner.clone.path / "examples" / "predict.json").read_text())
    logged_records(log, 2 * len(example["records"]))
    return log


def test_the_rollback_job_runs_the_rollback_session_and_fails_when_it_refuses(
    runner: Runner, in_production: Path
) -> None:
    """Only v0.0.1 has held production: the session refuses (exit 1), so the job fails and production is as it
    was. A rollback to an earlier version is the session's own test (test_registry_and_promotion)."""
    with pytest.raises(AssertionError, match=r"no earlier version to roll back to: only v0\.0\.1 has held it"):
        run_steps(runner, "rollback.yml", "rollback", STAGE="production")
    status, body = request(f"http://127.0.0.1:{runner.production_port}/readyz")
    assert status == 200, body


@pytest.mark.parametrize(("workflow", "name"), [("promote.yml", "promote"), ("rollback.yml", "rollback")])
def test_production_changes_are_limited_to_the_people_named_when_the_variable_is_set(
    runner: Runner, workflow: str, name: str
) -> None:
    """For plans whose private repositories have no required reviewers: the job itself refuses anyone else."""
    check = "Only a person PRODUCTION_ACTORS names"
    with pytest.raises(AssertionError, match="mallory may not change production: PRODUCTION_ACTORS names alice bob"):
        run_steps(runner, workflow, name, only=check, ACTORS="alice bob", ACTOR="mallory", STAGE="production")
    run_steps(runner, workflow, name, only=check, ACTORS="alice bob", ACTOR="bob", STAGE="production")
    run_steps(runner, workflow, name, only=check, ACTORS="", ACTOR="mallory", STAGE="production")  # unset
    run_steps(runner, workflow, name, only=check, ACTORS="alice", ACTOR="mallory", STAGE="staging")


def test_promotion_to_production_then_its_deploy(runner: Runner, in_production: Path) -> None:
    status, body = request(
        f"http://127.0.0.1:{runner.production_port}/predict",
        (runner.clone.path / "examples" / "predict.json").read_bytes(),
    )
    assert status == 200, body
    assert json.loads(body)[0]["model_version"] == "v0.0.1"


def test_the_cluster_proof_refuses_here_naming_what_it_lacks(runner: Runner) -> None:
    """kind needs a container engine, which these machines lack: the proof says so before it builds anything.
    What it composes runs here: the image's context (tests/test_build_and_serve.py), the overlay rendered with
    the image and the smoke test (tests/test_kubernetes_manifests.py); the cluster itself runs only on GitHub."""
    without_kind = ":".join(
        folder for folder in runner.clone.env["PATH"].split(":") if not (Path(folder) / "kind").exists()
    )
    result = subprocess.run(
        ["nox", "-s", "kind-proof", "--", "v0.0.1"],
        cwd=runner.clone.path,
        env={**runner.clone.env, "PATH": without_kind},
        capture_output=True,
        text=True,
    )
    said = result.stdout + result.stderr  # nox shows a command's output on its stdout
    assert result.returncode != 0
    assert "mlci: error: this proof needs" in said
    assert "kind (not on PATH)" in said
    assert not (runner.clone.path / "build" / "kind").exists()


def logged_records(log: Path, count: int) -> None:
    """Wait until the log holds `count` records; files are written within a second (flush_seconds = 1)."""
    deadline = time.monotonic() + 30
    while (found := sum(len(file.read_text().splitlines()) for file in log.glob("*.jsonl"))) < count:
        assert time.monotonic() < deadline, f"{log} holds {found} records after 30 s, not {count}"
        time.sleep(0.2)


def production_traffic(runner: Runner, log: Path, shift: float = 0.0) -> None:
    """A new window of production's log: the training data, its bill length moved by `shift` deviations."""
    shutil.rmtree(log, ignore_errors=True)
    rows = pd.read_csv(runner.clone.path / "data" / "prepared" / "train.csv").drop(columns=["species"])
    rows["bill_length_mm"] = (rows["bill_length_mm"] + shift * rows["bill_length_mm"].std()).clip(upper=63.0)
    post_records(f"http://127.0.0.1:{runner.production_port}", rows)
    logged_records(log, len(rows))


def test_monitor_finds_no_drift_in_traffic_like_the_training_data(runner: Runner, in_production: Path) -> None:
    production_traffic(runner, in_production)
    runner.output.write_text("")
    run_steps(runner, "monitor.yml", "drift")
    assert runner.output.read_text() == "drifted=false\n"  # the retrain job does not run
    assert "**no drift**" in runner.summary.read_text()


def test_monitor_with_nothing_to_judge_succeeds_and_says_so(runner: Runner) -> None:
    """As on GitHub with a `local` production, which serves nothing between jobs: no log to judge."""
    shutil.rmtree(runner.clone.path.parent / "inference-log" / "production", ignore_errors=True)
    runner.output.write_text("")
    runner.summary.write_text("")
    run_steps(runner, "monitor.yml", "drift")
    assert runner.output.read_text() == "drifted=false\n"
    assert runner.summary.read_text().startswith("Nothing to judge: ")
    assert "no inference log there" in runner.summary.read_text()


def test_monitor_fails_on_an_error_instead_of_calling_it_drift(runner: Runner) -> None:
    runner.output.write_text("")
    broken = edited(
        runner.clone.path / "mlci.toml", lambda text: text.replace("psi_threshold = 0.2", "psi_threshold = 0")
    )
    with broken, pytest.raises(AssertionError, match="Judge the last week of production's requests"):
        run_steps(runner, "monitor.yml", "drift")
    assert runner.output.read_text() == ""  # no verdict: the retrain job does not run


def test_the_kpi_job_alerts_only_when_a_kpi_is_missed(runner: Runner, in_production: Path) -> None:
    shutil.rmtree(in_production, ignore_errors=True)
    rows = pd.read_csv(runner.clone.path / "data" / "prepared" / "test.csv", dtype={"species": str})
    answers = post_records(f"http://127.0.0.1:{runner.production_port}", rows.drop(columns=["species"]))
    logged_records(in_production, len(rows))
    outcomes = runner.clone.path.parent / "outcomes"
    outcomes.mkdir(exist_ok=True)
    ids = [answer["id"] for answer in answers]
    wrong = ["Gentoo" if answer["prediction"] != "Gentoo" else "Adelie" for answer in answers]
    for truths, missed in ((rows["species"].tolist(), "false"), (wrong, "true")):
        pd.DataFrame({"id": ids, "species": truths}).to_csv(outcomes / "outcomes.csv", index=False)
        runner.output.write_text("")
        runner.summary.write_text("")
        run_steps(runner, "monitor.yml", "kpi")
        assert runner.output.read_text() == f"missed={missed}\n"  # the alert issue's step runs on true only
        assert runner.summary.read_text().startswith("## KPIs of ")
    assert "**missed**: accuracy loss vs its test set <= 0.05" in runner.summary.read_text()


def test_monitor_on_drift_retrains_on_the_newest_data_up_to_the_pull_request(
    runner: Runner, in_production: Path
) -> None:
    production_traffic(runner, in_production, shift=2.0)
    sent = len(pd.read_csv(runner.clone.path / "data" / "prepared" / "train.csv"))
    runner.output.write_text("")
    run_steps(runner, "monitor.yml", "drift")
    assert runner.output.read_text() == "drifted=true\n"
    assert "drifted**: bill_length_mm" in (runner.clone.path / "reports" / "drift.md").read_text()
    # Newly labelled data lands at [retrain] source: forty more Gentoo penguins of the study's last year (a later
    # year is outside the schema's range for `year`, a feature, and would stop the pipeline at validation).
    raw = pd.read_csv(runner.clone.path / "data" / "penguins.csv")
    newcomers = raw[raw["species"] == "Gentoo"].head(40).assign(year=2009)
    fresh = runner.clone.path.parent / "incoming" / "penguins.csv"
    fresh.parent.mkdir(exist_ok=True)
    pd.concat([raw, newcomers]).to_csv(fresh, index=False)
    try:
        run_steps(runner, "monitor.yml", "retrain")
        retrained(runner.clone.path, len(raw), sent)
    finally:  # the clone back on origin's main, for the tests that run after this one
        run("git", "reset", "--quiet", "--hard", "origin/main", cwd=runner.clone.path)
        run("uv", "run", "--no-sync", "dvc", "checkout", "--quiet", "--force", cwd=runner.clone.path)
        fresh.unlink()


def retrained(git: Path, rows: int, requests: int) -> None:
    """The retrain job's commit: on top of main, the new data and model, the review against the champion."""
    subject = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=git, capture_output=True, text=True).stdout
    assert subject == "Retrain on the newest data after drift in production\n"
    on_top = subprocess.run(["git", "rev-parse", "HEAD~1", "origin/main"], cwd=git, capture_output=True, text=True)
    first, second = on_top.stdout.split()
    assert first == second  # one commit on main: the pull request's content
    changed = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"], cwd=git, capture_output=True, text=True
    ).stdout.split()
    assert {"data/penguins.csv.dvc", "dvc.lock"} <= set(changed)  # the new data and model
    assert not [name for name in changed if name.startswith("reports/review") or name.startswith("reports/drift")]
    review = (git / "reports" / "review.md").read_text()
    assert "v0.0.1" in review  # the production champion is compared
    assert f"{rows} rows in base, {rows + 40} in head" in review  # the newest data
    # The challenger replayed on the week of production's traffic that drifted (its requests, shifted, are logged)
    replayed = re.search(
        r"head replayed on (\d+) requests production answered with v0\.0\.1: \*\*[\d.]+% agree", review
    )
    assert replayed, review
    assert int(replayed[1]) == requests
