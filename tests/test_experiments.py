"""Experiments end to end, with real DVC experiments in a clone of the shared repository whose `origin` is a bare
repository: the experiment workflow's sweep (run here as the runner would), the log, a teammate's clone seeing the
pushed experiments, the best one proposed as a reviewed branch and, after its merge, promoted by the gates; and
the refusals, each leaving DVC's queue and experiments as they were.

The tests run in any order: the sweep is a fixture run once, and a test that moves or edits the clone puts it back.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from actions import Runner, run_steps
from conftest import Clone, clone_with_origin, register_and_build, run

pytestmark = pytest.mark.slow

SWEEP = "train.n_estimators=3,12 train.max_depth=2"  # the workflow's input: two experiments


class Shown(NamedTuple):
    state: str
    model_md5: str | None
    n_estimators: object


@pytest.fixture(scope="module")
def lab(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    root = tmp_path_factory.mktemp("experiments")
    clone = clone_with_origin(reproduced, root)
    (root / "runner-temp").mkdir()
    return Runner(clone, root / "github-output", root / "step-summary", root / "runner-temp", 0, 0)


def tool(clone: Clone, name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`mlci` or `dvc` of the clone's environment, run in `cwd` (the clone), its exit status left to the caller."""
    command = [str(clone.path / ".venv" / "bin" / name), *args]
    return subprocess.run(command, cwd=cwd or clone.path, env=clone.env, capture_output=True, text=True)


def shown(clone: Clone, cwd: Path | None = None) -> dict[str, Shown]:
    """The experiments of HEAD's commit as DVC itself lists them."""
    listed = tool(clone, "dvc", "exp", "show", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    found = {}
    for baseline in json.loads(listed.stdout):
        for entry in baseline.get("experiments") or []:
            for revision in entry["revs"]:
                data = revision.get("data") or {}
                model = (data.get("outs") or {}).get("models/model.pkl") or {}
                params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
                state = (entry.get("executor") or {}).get("state") or "success"
                found[revision["name"]] = Shown(state, model.get("hash"), params.get("train", {}).get("n_estimators"))
    return found


@pytest.fixture(scope="module")
def swept(lab: Runner) -> list[str]:
    """The experiment workflow's job, run once: the sweep, its log, the push; the names of its experiments."""
    before = set(shown(lab.clone))
    for step in ("Pull", "Run the sweep", "Write the experiment log", "Push the experiments"):
        run_steps(lab, "experiment.yml", "sweep", only=step, SETS=SWEEP, JOBS="2")
    # The runner's clone ends with the job; this one goes on as a person's would, without the job's git helper
    # (a key set twice in .git/config, which DVC's experiments cannot read: the workflow sets it after the sweep).
    run("git", "config", "--local", "--unset-all", "credential.https://github.com.helper", cwd=lab.clone.path)
    return sorted(set(shown(lab.clone)) - before)


def test_the_workflow_runs_every_combination_logs_them_and_pushes_them(lab: Runner, swept: list[str]) -> None:
    experiments = shown(lab.clone)
    assert len(swept) == 2
    assert {experiments[name].n_estimators for name in swept} == {3, 12}
    assert {experiments[name].state for name in swept} == {"success"}
    summary = lab.summary.read_text()
    for name in swept:
        assert re.search(rf"^\| {name} \| success \| 2 \| (3|12) \| .* \| pass", summary, re.MULTILINE), summary
    assert "accuracy ↑" in summary  # every metric, with its direction
    refs = tool(lab.clone, "dvc", "exp", "list", "--name-only", "origin").stdout.split()
    assert set(swept) <= set(refs)


def test_a_teammates_clone_sees_the_pushed_experiments(lab: Runner, swept: list[str], tmp_path: Path) -> None:
    teammate = tmp_path / "teammate"
    run("git", "clone", "--quiet", str(lab.clone.origin), str(teammate), cwd=tmp_path)
    assert not set(swept) & set(shown(lab.clone, cwd=teammate))
    pulled = tool(lab.clone, "mlci", "experiment", "pull", cwd=teammate)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert set(swept) <= set(shown(lab.clone, cwd=teammate))
    log = tool(lab.clone, "mlci", "experiment", "log", "--sort", "accuracy", cwd=teammate)
    assert log.returncode == 0, log.stderr
    assert all(re.search(rf"^{name} +success", log.stdout, re.MULTILINE) for name in swept), log.stdout


@pytest.fixture
def put_back(lab: Runner) -> Iterator[None]:
    """Whatever a test switches, commits or edits, the clone and origin's main are as they were after it."""
    clone = lab.clone
    main = run("git", "rev-parse", "main", cwd=clone.path).stdout.strip()
    yield
    run("git", "checkout", "--quiet", "--force", "main", cwd=clone.path)
    run("git", "reset", "--quiet", "--hard", main, cwd=clone.path)
    run("git", "push", "--quiet", "--force", "origin", "main", cwd=clone.path, env=clone.env)
    assert tool(clone, "dvc", "checkout", "--quiet", "--force").returncode == 0


def test_the_best_experiment_becomes_a_reviewed_branch_and_after_its_merge_passes_the_gates(
    lab: Runner, swept: list[str], put_back: None
) -> None:
    clone = lab.clone
    log = tool(clone, "mlci", "experiment", "log", "--sort", "f1_macro", "--where", "train.max_depth=2")
    best = log.stdout.splitlines()[1].split()[0]  # the first row under the header: the best macro F1 of those
    assert best in swept
    proposed = tool(clone, "mlci", "experiment", "propose", best)
    assert proposed.returncode == 0, proposed.stdout + proposed.stderr
    assert f"{best} is the branch experiment/{best}, pushed to origin" in proposed.stdout
    assert "Verdict: " in proposed.stdout
    assert f"refs/heads/experiment/{best}" in run("git", "ls-remote", "--heads", "origin", cwd=clone.path).stdout
    assert "n_estimators" in (clone.path / "reports" / "review.md").read_text()  # the changed parameter
    assert run("git", "log", "-1", "--format=%s", cwd=clone.path).stdout.startswith(f"Experiment {best}: train.")
    # The pull request merged; then what the release does: register, build, promote through the gates.
    run("git", "switch", "--quiet", "main", cwd=clone.path)
    run("git", "merge", "--quiet", "--ff-only", f"experiment/{best}", cwd=clone.path)
    run("git", "push", "--quiet", "origin", "main", cwd=clone.path, env=clone.env)
    # The experiment's model is the pipeline's: training it again from the merged params gives the same bytes.
    run("uv", "run", "--no-sync", "dvc", "repro", "--force", "--single-item", "train", cwd=clone.path, env=clone.env)
    assert run("git", "status", "--porcelain", "dvc.lock", cwd=clone.path).stdout == ""
    version = register_and_build(clone.path, clone.env)
    promoted = tool(clone, "mlci", "promote", version, "--to", "staging")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert re.search(r"f1_macro beats baseline by >= 0\.05 +\S+ +\S+ +pass", promoted.stdout), promoted.stdout


def queue_and_experiments(clone: Clone) -> tuple[str, dict[str, Shown]]:
    queue = tool(clone, "dvc", "queue", "status").stdout
    return re.sub(r"Worker status.*", "", queue, flags=re.DOTALL), shown(clone)


REFUSED = [  # each override, and what the refusal says of it
    (["-S", "train.n_estimator=5"], "train.n_estimator: params.yaml has no such key; did you mean train.n_estim"),
    (["-S", "train.n_estimators=0,5"], "train.n_estimators=0: params.yaml: invalid params"),
    (["-S", "prepare.test_size=1.5"], "prepare.test_size: Input should be less than 1"),
    (["-S", f"train.seed={','.join(map(str, range(65)))}"], "more than 64"),
    (["-S", "train.seed=1", "--jobs", "0"], "--jobs 0: give 1 to 16"),
]


def test_a_bad_override_is_refused_before_anything_is_queued(lab: Runner, swept: list[str]) -> None:
    before = queue_and_experiments(lab.clone)
    for overrides, message in REFUSED:
        refused = tool(lab.clone, "mlci", "experiment", "run", *overrides)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert queue_and_experiments(lab.clone) == before


def test_an_experiment_whose_data_fails_validation_fails_and_the_log_says_why(
    lab: Runner, swept: list[str], put_back: None
) -> None:
    clone = lab.clone
    data = clone.path / "data" / "penguins.csv"
    rows = data.read_text().splitlines()
    data.write_text("\n".join([*rows, rows[1].replace("Adelie", "Emperor", 1)]) + "\n")  # a species never seen
    assert tool(clone, "dvc", "add", "--quiet", "data/penguins.csv").returncode == 0
    ran = tool(clone, "mlci", "experiment", "run", "-S", "train.n_estimators=4")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    (name,) = re.findall(r"mlci: (\S+) failed: ", ran.stderr)
    assert "failed to reproduce 'validate'" in ran.stderr
    assert shown(clone)[name].state == "failed"
    log = tool(clone, "mlci", "experiment", "log", "--where", "state=failed")
    assert re.search(rf"^{name} +failed", log.stdout, re.MULTILINE), log.stdout
    failures = (clone.path / "reports" / "experiments.md").read_text().split("### Failed", 1)[1]
    assert name in failures
    assert "Emperor" in failures  # the value that failed its expectation, from the experiment's own output
