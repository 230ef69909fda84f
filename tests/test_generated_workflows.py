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
from mlci.monitoring.drift import VERDICT_FILE
from mlci.review.report import REVIEW_MARKER

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
    expected |= {"template-update.yml", "cluster.yml", "rollback.yml", "experiment.yml"}
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


def test_the_template_update_checks_out_the_whole_history(generated: Path) -> None:
    """`git apply -3` needs the blobs of the generation commit; a shallow clone is refused by the session."""
    steps = workflows(generated)["template-update.yml"]["jobs"]["update"]["steps"]
    (checkout,) = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0


def test_every_script_runs_with_pipefail(project: Path) -> None:
    """GitHub runs a step with no shell as `bash -e {0}`, which ignores a failure inside a pipe; `shell: bash` is
    `bash --noprofile --norc -eo pipefail {0}` (workflow syntax, jobs.<job_id>.steps[*].shell)."""
    for name, workflow in workflows(project).items():
        assert workflow["defaults"] == {"run": {"shell": "bash"}}, name
        for job_name, job in workflow["jobs"].items():
            assert "defaults" not in job, f"{name}: {job_name}"
            assert all(step.get("shell", "bash") == "bash" for step in job.get("steps", [])), f"{name}: {job_name}"


def test_every_workflow_or_each_of_its_jobs_has_a_concurrency_group_and_every_job_a_timeout(project: Path) -> None:
    for name, workflow in workflows(project).items():
        for job_name, job in workflow["jobs"].items():
            group = (workflow.get("concurrency") or job.get("concurrency") or {}).get("group")
            assert group, f"{name}: {job_name} has no concurrency group"
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
    assert len(deploying) == 3  # deploy.yml's deploy, promote.yml's promote and rollback.yml's rollback
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
    assert "-F body=@reports/review.md" in comment  # the review's comment edited, or else created
    assert 'gh pr comment "$PR_NUMBER" --body-file reports/review.md' in comment


def test_the_release_calls_the_deploy_workflow_itself(generated: Path) -> None:
    release = workflows(generated)["release.yml"]
    assert triggers(release)["push"] == {"branches": ["main"], "paths": ["dvc.lock"]}
    assert release["jobs"]["deploy-staging"]["uses"] == "$/.github/workflows/deploy.yml"
    deploy = triggers(workflows(generated)["deploy.yml"])
    assert set(deploy) == {"workflow_call", "push"}
    assert deploy["push"] == {"tags": ["*#*#*"]}  # <model>#<stage>#<n>, whatever [registry] model says
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
    login = next(n for n, step in enumerate(job["steps"]) if step.get("uses", "").startswith("docker/login-action@"))
    assert login < position
    jobs = workflows(generated)["release.yml"]["jobs"]
    assert jobs["promote-staging"]["needs"] == "release"  # after the image, in a job of its own
    assert jobs["deploy-staging"]["needs"] == "promote-staging"


def test_promotions_start_from_the_default_branchs_head(generated: Path) -> None:
    """A kubernetes stage's overlay is committed onto the branch: a promotion checked out at the commit that
    started the run (a release behind a merge, a late approval) could not push it."""
    found = workflows(generated)
    for workflow, name in (
        ("release.yml", "promote-staging"),
        ("promote.yml", "promote"),
        ("rollback.yml", "rollback"),
    ):
        job = found[workflow]["jobs"][name]
        checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}", workflow
        assert checkout["with"]["fetch-depth"] == 0, workflow
        step_running(job, "promote" if name != "rollback" else "rollback")


def test_deploys_run_from_the_default_branch_and_may_push_the_overlay(generated: Path) -> None:
    """A kubernetes stage's deploy commits its overlay to the branch the controller watches, never to a tag."""
    deploy = workflows(generated)["deploy.yml"]["jobs"]["deploy"]
    checkout = next(step for step in deploy["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert deploy["permissions"]["contents"] == "write"
    _, step = step_running(deploy, "deploy")
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert CREDENTIAL_HELPER in step["run"]
    assert "git config user.email" in step["run"]
    release = workflows(generated)["release.yml"]["jobs"]["deploy-staging"]
    assert release["permissions"]["contents"] == "write"  # a called workflow gets no more than its caller grants
    promote = workflows(generated)["promote.yml"]["jobs"]["promote"]
    assert step_running(promote, "deploy")[1]["env"]["GH_TOKEN"] in JOB_TOKENS


# git asks the job's token of `gh`, set for this clone only: `gh auth setup-git` writes the runner's global
# configuration, which a self-hosted runner keeps for every later job.
CREDENTIAL_HELPER = "git config --local --add credential.https://github.com.helper '!gh auth git-credential'"

# The job's token, or where a ruleset may let only an App through (production's tags), the App's when it is set.
JOB_TOKENS = {"${{ github.token }}", "${{ steps.app.outputs.token || github.token }}"}

# The sessions whose toolkit command fetches from or pushes to `origin` and must not fail doing so
# (`registry.sync`, `registry.publish`, `gitops.commit_file`).
ORIGIN_SESSIONS = {"register", "promote", "deploy", "rollback"}


def test_every_step_that_talks_to_origin_has_the_jobs_token_for_git(generated: Path) -> None:
    """Checkouts keep no credentials, so a step that fetches or pushes needs the token and git set to use it."""
    checked = 0
    for name, workflow in workflows(generated).items():
        for job_name, job in workflow["jobs"].items():
            git_set_up = False
            for step in job.get("steps", []):
                script = step.get("run", "")
                assert "gh auth setup-git" not in script, f"{name}: {job_name}"
                git_set_up = git_set_up or CREDENTIAL_HELPER in script
                sessions = set(re.findall(r"nox -s (\S+)", script)) & ORIGIN_SESSIONS
                sessions |= {
                    f"experiment -- {a}" for a in re.findall(r"nox -s experiment -- (push|pull|propose)", script)
                }
                if sessions:
                    checked += 1
                    where = f"{name}: {job_name}: nox -s {', '.join(sorted(sessions))}"
                    assert git_set_up, f"{where}: no credential helper for this clone before it"
                    token = step.get("env", {}).get("GH_TOKEN")
                    assert token in JOB_TOKENS, f"{where}: GH_TOKEN is {token!r}"
    assert checked >= 7  # release: register, promote; deploy; promote: promote, deploy; rollback; experiment: push


def test_concurrency_of_deploys_is_the_stages_whatever_started_them(generated: Path) -> None:
    found = workflows(generated)
    deploy = found["deploy.yml"]["jobs"]["deploy"]["concurrency"]
    promote = found["promote.yml"]["jobs"]["promote"]["concurrency"]
    rollback = found["rollback.yml"]["jobs"]["rollback"]
    assert deploy["group"] == "deploy-${{ needs.target.outputs.stage }}"  # the stage, from an input or a tag
    assert promote["group"] == "deploy-production"
    assert rollback["concurrency"]["group"] == "deploy-${{ inputs.stage }}"
    assert rollback["environment"] == "${{ inputs.stage }}"  # production's reviewers approve a rollback too
    for name, workflow in found.items():  # a job-level group would wait on the workflow's own
        assert not (workflow.get("concurrency") and any("concurrency" in j for j in workflow["jobs"].values())), name
    for group in (deploy, promote, rollback["concurrency"], found["release.yml"]["concurrency"]):
        assert group["cancel-in-progress"] is False
        assert group["queue"] == "max"  # a third run waits too, instead of cancelling the one waiting


def test_every_job_that_needs_oidc_on_a_pull_request_skips_forks(generated: Path) -> None:
    same_repository = "github.event.pull_request.head.repo.full_name == github.repository"
    guarded = 0
    for name, workflow in workflows(generated).items():
        if "pull_request" not in triggers(workflow):
            continue
        for job_name, job in workflow["jobs"].items():
            if job.get("permissions", {}).get("id-token") == "write":
                assert same_repository in job.get("if", ""), f"{name}: {job_name} asks forks for an OIDC token"
                guarded += 1
    assert guarded == 3  # ci.yml's data and bento, review.yml's review


def test_exit_codes_are_read_from_the_toolkit_not_from_nox(generated: Path) -> None:
    """nox turns every failure into exit 1: a step never branches on a nox session's exit status."""
    for name, job, step in steps(generated):
        if "nox -s" in step.get("run", ""):
            assert "$?" not in step["run"], f"{name}: {job}: {step.get('name')}"
    monitor = workflows(generated)["monitor.yml"]["jobs"]["drift"]
    _, check = step_running(monitor, "monitor")
    assert VERDICT_FILE in check["run"]
    noxfile = (generated / "noxfile.py").read_text()
    assert 'uv_run(session, "mlci", "drift", *session.posargs, success_codes=[0, 1, 3])' in noxfile


def test_the_review_edits_its_own_comment_only(generated: Path) -> None:
    review = workflows(generated)["review.yml"]["jobs"]["review"]
    (post,) = [step for step in review["steps"] if "gh pr comment" in step.get("run", "")]
    assert "--edit-last" not in post["run"]  # the last comment of any workflow using the job's token
    assert REVIEW_MARKER in post["run"]
    assert 'select(.user.login == "github-actions[bot]"' in post["run"]


def test_the_readme_states_the_settings_and_subjects_the_workflows_need(generated: Path) -> None:
    readme = (generated / "README.md").read_text() + (generated / "docs" / "github.md").read_text()
    subjects = set()
    for workflow in workflows(generated).values():
        for job in workflow["jobs"].values():
            if job.get("permissions", {}).get("id-token") != "write":
                continue
            if "environment" in job:
                stages = ["staging", "production"] if "${{" in job["environment"] else [job["environment"]]
                subjects |= {f"environment:{stage}" for stage in stages}
                continue
            on = triggers(workflow)
            subjects |= {"pull_request"} if "pull_request" in on else set()
            if {"push", "schedule", "workflow_dispatch", "workflow_call"} & set(on):
                subjects.add("ref:refs/heads/main")
    assert subjects == {"ref:refs/heads/main", "pull_request", "environment:staging", "environment:production"}
    for subject in subjects:
        assert f"`repo:OWNER/REPOSITORY:{subject}`" in readme, subject
    # the immutable form (repositories created from 15 July 2026 on): the same subjects, names with their IDs
    assert "`repo:OWNER@OWNER_ID/REPOSITORY@REPOSITORY_ID:`" in readme
    assert "`repo:OWNER@OWNER_ID/REPOSITORY@REPOSITORY_ID:environment:production`" in readme
    assert '"Allow GitHub Actions to create and approve pull\n   requests"' in readme
    assert "`model#*`" in readme  # the environments' deployment tag rule
    assert "more than three are pushed at once" in readme
    assert "holds each run until someone approves it" in readme


def test_every_variable_and_secret_a_workflow_reads_is_in_the_readmes_setup(generated: Path) -> None:
    texts = [path.read_text() for path in (generated / ".github" / "workflows").glob("*.yml")]
    named = {name for text in texts for name in re.findall(r"\b(?:vars|secrets)\.([A-Z][A-Z0-9_]*)", text)}
    assert {"AWS_ROLE_ARN", "PRODUCTION_ACTORS", "TEMPLATE_UPDATE_APP_KEY", "RELEASE_APP_ID"} <= named
    setup = (generated / "README.md").read_text().split("To set it up", 1)[1].split("\n\n", 2)[1]
    assert sorted(name for name in named if f"`{name}`" not in setup) == []


def test_the_templates_dependabot_watches_the_generated_workflows_too() -> None:
    config = yaml.safe_load((TEMPLATE / ".github" / "dependabot.yml").read_text())
    (actions,) = [update for update in config["updates"] if update["package-ecosystem"] == "github-actions"]
    watched = {
        folder
        for directory in actions["directories"]
        for folder in ([TEMPLATE] if directory == "/" else TEMPLATE.glob(directory.lstrip("/")))
    }
    assert all("{" not in directory for directory in actions["directories"])  # braces: alternatives in a glob
    assert watched == {TEMPLATE, TEMPLATE / "{{cookiecutter.project}}" / ".github" / "workflows"}


def test_the_cluster_proof_runs_a_version_on_kind_by_hand_only(generated: Path) -> None:
    cluster = workflows(generated)["cluster.yml"]
    assert set(triggers(cluster)) == {"workflow_dispatch"}
    assert triggers(cluster)["workflow_dispatch"]["inputs"]["version"]["required"] is True
    job = cluster["jobs"]["kind"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "packages": "read"}  # the sealed image
    position, proof = step_running(job, "kind-proof")
    login = next(n for n, step in enumerate(job["steps"]) if step.get("uses", "").startswith("docker/login-action@"))
    assert login < position
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


def test_a_missed_kpi_opens_one_alert_issue_and_comments_on_it_after(generated: Path) -> None:
    kpi = workflows(generated)["monitor.yml"]["jobs"]["kpi"]
    assert kpi["permissions"] == {"contents": "read", "issues": "write", "id-token": "write"}
    _, check = step_running(kpi, "kpi-check")
    assert "reports/kpi.json" in check["run"]
    (issue,) = [step for step in kpi["steps"] if "gh issue" in step.get("run", "")]
    assert issue["if"] == "steps.check.outputs.missed == 'true'"
    assert 'gh issue list --state open --search "in:title \\"$TITLE\\""' in issue["run"]
    assert 'gh issue comment "$open" --body-file reports/kpi.md' in issue["run"]
    assert 'gh issue create --title "$TITLE" --body-file reports/kpi.md' in issue["run"]
    noxfile = (generated / "noxfile.py").read_text()
    assert 'uv_run(session, "mlci", "kpi", *session.posargs, success_codes=[0, 1, 3])' in noxfile


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
