"""The GitHub Actions workflows, generated and the template's own: linted (actionlint, zizmor) and held to
the hardening rules.

GitHub cannot be reached from here: the rules are checked on the parsed files, and every session the
workflows call is run by tests/test_workflow_sessions.py.
"""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import generate

PINS = {row["sha"]: row for row in csv.DictReader((Path(__file__).parent / "action-pins.tsv").open(), delimiter="\t")}
USES = re.compile(r"^\s*(?:- )?uses: (?P<action>[^@\s]+)@(?P<sha>[0-9a-f]{40}) # (?P<tag>v\S+)$")


TEMPLATE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("workflows"))


@pytest.fixture(params=["generated", "template"])
def project(request: pytest.FixtureRequest, generated: Path) -> Path:
    """Each repository whose workflows the generic rules hold for: a generated one, and this template."""
    return generated if request.param == "generated" else TEMPLATE


def workflows(project: Path) -> dict[str, dict[Any, Any]]:
    files = sorted((project / ".github" / "workflows").glob("*.yml"))
    return {path.name: yaml.safe_load(path.read_text()) for path in files}


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    found: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: a bare `on` is true
    return found


def steps(project: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in workflows(project).items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                yield name, job_name, step


def test_the_workflows_are_those_the_readme_describes(generated: Path) -> None:
    expected = {"ci.yml", "review.yml", "release.yml", "deploy.yml", "promote.yml", "monitor.yml"}
    expected |= {"template-update.yml", "cluster.yml"}
    assert set(workflows(generated)) == expected


def test_actionlint_with_shellcheck_reports_nothing(project: Path) -> None:
    result = subprocess.run(["actionlint", "-shellcheck", "shellcheck"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_reports_nothing(project: Path) -> None:
    result = subprocess.run(
        ["zizmor", "--offline", "--pedantic", ".github/workflows", ".github/dependabot.yml"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_nothing_is_granted_at_the_top_and_each_job_says_what_it_needs(project: Path) -> None:
    for name, workflow in workflows(project).items():
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}: {job_name}"


def test_every_workflow_has_a_concurrency_group_and_every_job_a_timeout(project: Path) -> None:
    for name, workflow in workflows(project).items():
        assert workflow["concurrency"]["group"], name
        for job_name, job in workflow["jobs"].items():
            assert "uses" in job or 0 < job["timeout-minutes"] <= 45, f"{name}: {job_name}"


def test_every_action_is_pinned_to_a_verified_commit(project: Path) -> None:
    for path in (project / ".github" / "workflows").glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" not in line or line.strip().startswith("#") or "uses: $/" in line:
                continue
            pinned = USES.match(line)
            assert pinned, f"{path.name}: not pinned to a full SHA with its version: {line.strip()}"
            verified = PINS.get(pinned["sha"])
            assert verified, f"{path.name}: {pinned['sha']} is not a verified pin"
            assert (verified["action"], verified["tag"]) == (pinned["action"], pinned["tag"])


def test_checkouts_keep_no_credentials(project: Path) -> None:
    checkouts = [step for _, _, step in steps(project) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_no_pull_request_target_and_no_expression_in_a_script(project: Path) -> None:
    for name, workflow in workflows(project).items():
        assert "pull_request_target" not in triggers(workflow), name
    for name, job, step in steps(project):
        assert "${{" not in step.get("run", ""), f"{name}: {job}: values reach scripts through env: only"


def test_jobs_in_an_environment_use_no_cache(generated: Path) -> None:
    deploying = [
        (name, job)
        for name, workflow in workflows(generated).items()
        for job in workflow["jobs"].values()
        if "environment" in job
    ]
    assert len(deploying) == 2  # deploy.yml's deploy and promote.yml's promote
    for name, job in deploying:
        for step in job["steps"]:
            assert not step.get("uses", "").startswith("actions/cache@"), name
            if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                assert step["with"]["enable-cache"] is False, name


def test_pull_requests_from_forks_get_no_write_token_and_no_credentials(generated: Path) -> None:
    review = workflows(generated)["review.yml"]
    fork = review["jobs"]["review-fork"]
    assert fork["if"] == "github.event.pull_request.head.repo.full_name != github.repository"
    assert fork["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(fork)
    assert "vars." not in yaml.safe_dump(fork)
    same = review["jobs"]["review"]
    assert same["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    comment = next(step["run"] for step in same["steps"] if "gh pr comment" in step.get("run", ""))
    assert "--edit-last --create-if-none --body-file reports/review.md" in comment


def test_the_release_calls_the_deploy_workflow_itself(generated: Path) -> None:
    release = workflows(generated)["release.yml"]
    assert triggers(release)["push"] == {"branches": ["main"], "paths": ["dvc.lock"]}
    assert release["jobs"]["deploy-staging"]["uses"] == "$/.github/workflows/deploy.yml"
    deploy = triggers(workflows(generated)["deploy.yml"])
    assert set(deploy) == {"workflow_call", "push"}
    assert deploy["push"] == {"tags": ["model#*#*"]}
    promote = workflows(generated)["promote.yml"]
    assert set(triggers(promote)) == {"workflow_dispatch"}
    assert promote["jobs"]["promote"]["environment"] == "production"


def step_running(job: dict[str, Any], session: str) -> tuple[int, dict[str, Any]]:
    """The position and step of the job that runs `nox -s SESSION`."""
    found = [(n, step) for n, step in enumerate(job["steps"]) if f"nox -s {session} " in step.get("run", "") + " "]
    assert len(found) == 1, f"expected one step running nox -s {session}"
    return found[0]


def test_the_release_pushes_one_image_before_it_promotes(generated: Path) -> None:
    """A kubernetes stage refuses a version without an image: the image is made before the promotion."""
    job = workflows(generated)["release.yml"]["jobs"]["release"]
    assert job["permissions"]["packages"] == "write"
    position, image = step_running(job, "image")
    assert image["run"].endswith('--push "${REPOSITORY,,}"')  # lowercase, as registries require
    assert image["env"]["REPOSITORY"] == "ghcr.io/${{ github.repository }}"
    assert position < step_running(job, "promote")[0]
    login = next(n for n, step in enumerate(job["steps"]) if step.get("uses", "").startswith("docker/login-action@"))
    assert login < position


def test_deploys_run_from_the_default_branch_and_may_push_the_overlay(generated: Path) -> None:
    """A kubernetes stage's deploy commits its overlay to the branch the controller watches, never to a tag."""
    deploy = workflows(generated)["deploy.yml"]["jobs"]["deploy"]
    checkout = next(step for step in deploy["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert deploy["permissions"]["contents"] == "write"
    _, step = step_running(deploy, "deploy")
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "gh auth setup-git" in step["run"]
    assert "git config user.email" in step["run"]
    release = workflows(generated)["release.yml"]["jobs"]["deploy-staging"]
    assert release["permissions"]["contents"] == "write"  # a called workflow gets no more than its caller grants
    promote = workflows(generated)["promote.yml"]["jobs"]["promote"]
    assert step_running(promote, "deploy")[1]["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_the_cluster_proof_runs_a_version_on_kind_by_hand_only(generated: Path) -> None:
    cluster = workflows(generated)["cluster.yml"]
    assert set(triggers(cluster)) == {"workflow_dispatch"}
    assert triggers(cluster)["workflow_dispatch"]["inputs"]["version"]["required"] is True
    job = cluster["jobs"]["kind"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    _, proof = step_running(job, "kind-proof")
    assert proof["env"]["VERSION"] == "${{ inputs.version }}"


def test_monitoring_runs_on_a_schedule_and_retrains_only_on_drift_into_a_pull_request(generated: Path) -> None:
    monitor = workflows(generated)["monitor.yml"]
    assert set(triggers(monitor)) == {"schedule", "workflow_dispatch"}
    drift, retrain = monitor["jobs"]["drift"], monitor["jobs"]["retrain"]
    assert drift["outputs"] == {"drifted": "${{ steps.check.outputs.drifted }}"}
    assert retrain["needs"] == "drift"
    assert retrain["if"] == "needs.drift.outputs.drifted == 'true'"
    issue = next(step for step in drift["steps"] if "gh issue" in step.get("run", ""))
    assert issue["if"] == "steps.check.outputs.drifted == 'true'"
    assert "--body-file reports/drift.md" in issue["run"]
    (pull_request,) = [step for step in retrain["steps"] if "create-pull-request" in step.get("uses", "")]
    assert pull_request["with"]["branch"] == "retrain/drift"
    assert pull_request["with"]["body-path"] == "reports/review.md"
    assert retrain["permissions"] == {"contents": "write", "pull-requests": "write", "id-token": "write"}


def test_dependabot_updates_actions_and_uv_after_a_cooldown(generated: Path) -> None:
    config = yaml.safe_load((generated / ".github" / "dependabot.yml").read_text())
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"github-actions", "uv"}
    assert all(update["cooldown"]["default-days"] >= 7 for update in updates.values())


def test_every_session_a_workflow_calls_exists(generated: Path) -> None:
    declared = re.findall(r"@nox\.session([^\n]*)\ndef (\w+)\(", (generated / "noxfile.py").read_text())
    sessions = {(re.findall(r'name="([^"]+)"', options) or [function])[0] for options, function in declared}
    called = set()
    for workflow in workflows(generated).values():
        for job in workflow["jobs"].values():
            matrix = job.get("strategy", {}).get("matrix", {}).get("session", [])
            for step in job.get("steps", []):
                for session in re.findall(r"nox -s (\S+)", step.get("run", "")):
                    called |= set(matrix) if session == '"$SESSION"' else {session}
    assert called
    assert called <= sessions, called - sessions
