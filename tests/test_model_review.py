"""`nox -s review`: the model review of real commits in a clone of the shared repository.

The tests run in any order. The first review (no champion, no change) is made with the clone, before
any test can change it; the param change, with its champion, is a fixture whose report is kept; a test
that needs a commit of a kind makes it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from conftest import Clone, clone_with_origin, commit_and_push, edited, run, set_params
from markdown_it import MarkdownIt
from mlci.core.tracked import locked_md5s

pytestmark = pytest.mark.slow

MERMAID_STATEMENT = re.compile(
    r'^    (title "[^"]*"|x-axis ("[^"]*" )?(-?[\d.]+ --> -?[\d.]+|\[("[^"]*"(, )?)+\])'
    r'|y-axis "[^"]*" -?[\d.]+ --> -?[\d.]+|(line|bar) \[(-?[\d.]+(, )?)+\])$'
)


class Start(NamedTuple):
    """The clone, and its review against itself made before anything changed it."""

    clone: Clone
    first_review: subprocess.CompletedProcess[str]
    first_report: str


@pytest.fixture(scope="module")
def start(reproduced: Path, tmp_path_factory: pytest.TempPathFactory) -> Start:
    clone = clone_with_origin(reproduced, tmp_path_factory.mktemp("review"))
    first = review(clone, "HEAD")
    return Start(clone, first, report(clone) if first.returncode == 0 else "")


@pytest.fixture(scope="module")
def clone(start: Start) -> Clone:
    return start.clone


def review(clone: Clone, base: str) -> subprocess.CompletedProcess[str]:
    command = ["uv", "run", "--no-sync", "nox", "-s", "review", "--", "--base", base]
    return subprocess.run(command, cwd=clone.path, env=clone.env, capture_output=True, text=True)


def report(clone: Clone) -> str:
    return (clone.path / "reports" / "review.md").read_text()


def dvc(clone: Clone, *args: str) -> None:
    run("uv", "run", "--no-sync", "dvc", *args, cwd=clone.path, env=clone.env)


def mlci(clone: Clone, *args: str) -> None:
    run("uv", "run", "--no-sync", "mlci", *args, cwd=clone.path, env=clone.env)


def metrics_at(clone: Clone, ref: str) -> dict[str, float]:
    return dict(json.loads(run("git", "show", f"{ref}:reports/metrics.json", cwd=clone.path).stdout))


def test_a_review_against_itself_with_no_champion_says_so(start: Start) -> None:
    assert start.first_review.returncode == 0, start.first_review.stderr
    text = start.first_report
    assert "**Verdict: unchanged from base**" in text
    assert "No param changed." in text
    assert "no version holds production yet: there is no champion to compare with" in text
    assert re.search(r"pass `penguins` \(data/penguins.csv\): \d+ expectations hold", text)


def test_a_base_without_metrics_is_reported_as_not_comparable(clone: Clone) -> None:
    first = run("git", "rev-list", "--max-parents=0", "HEAD", cwd=clone.path).stdout.strip()
    result = review(clone, first)
    assert result.returncode == 0, result.stderr
    text = report(clone)
    assert "**Verdict: not comparable with base (no metric with a known direction on both sides)**" in text
    assert f"base {first} has no reports/metrics.json (the pipeline has not run there yet)" in text
    assert "### Metrics" in text  # head's figures are still there


def test_an_unknown_ref_still_writes_the_report_and_exits_2(clone: Clone) -> None:
    result = review(clone, "no-such-branch")
    assert result.returncode == 1  # nox ends a failed session with 1, whatever the command's own code
    assert "mlci: error: git knows no ref 'no-such-branch'" in result.stdout + result.stderr  # nox merges them
    assert "git knows no ref 'no-such-branch': fetch it" in report(clone)
    direct = subprocess.run(
        ["uv", "run", "--no-sync", "mlci", "review", "--base", "no-such-branch"],
        cwd=clone.path,
        env=clone.env,
        capture_output=True,
        text=True,
    )
    assert direct.returncode == 2, direct.stderr
    assert "the incomplete review: reports/review.md and reports/review.html" in direct.stdout


class Reviewed(NamedTuple):
    """A review's outcome and copies of what it wrote, kept from later reviews."""

    result: subprocess.CompletedProcess[str]
    status_before: str
    status_after: str
    text: str
    folder: Path
    base: dict[str, float]
    head: dict[str, float]


@pytest.fixture(scope="module")
def param_change(clone: Clone, tmp_path_factory: pytest.TempPathFactory) -> Reviewed:
    """A champion in production, then three shallow trees committed and reviewed against the commit before."""
    mlci(clone, "register")
    mlci(clone, "build")
    mlci(clone, "promote", "v0.0.1", "--to", "staging")
    mlci(clone, "promote", "v0.0.1", "--to", "production")
    set_params(clone.path, n_estimators=3, max_depth=2)
    dvc(clone, "repro", "--quiet")
    dvc(clone, "push", "--quiet")
    commit_and_push(clone.path, clone.env, "Three shallow trees")
    before = run("git", "status", "--porcelain", cwd=clone.path).stdout
    result = review(clone, "HEAD~1")
    after = run("git", "status", "--porcelain", cwd=clone.path).stdout
    kept = tmp_path_factory.mktemp("param-change-review")
    for written in (clone.path / "reports").glob("review*"):
        shutil.copy2(written, kept / written.name)
    base, head = metrics_at(clone, "HEAD~1"), metrics_at(clone, "HEAD")
    return Reviewed(result, before, after, report(clone), kept, base, head)


def test_a_param_change_is_named_with_both_values_and_its_metric_deltas(param_change: Reviewed) -> None:
    assert param_change.result.returncode == 0, param_change.result.stderr
    assert param_change.status_after == param_change.status_before  # the working tree is untouched
    text = param_change.text
    assert "| train.n_estimators | 100 | 3 |" in text
    assert "| train.max_depth | 8 | 2 |" in text
    base, head = param_change.base, param_change.head
    for name in base:
        row = re.search(rf"^\| {name} \| higher \| (\S+) \| (\S+) \| (\S+) \| (\S+) \|", text, re.MULTILINE)
        assert row, name
        assert float(row[1]) == pytest.approx(base[name], abs=5e-5)
        assert float(row[2]) == pytest.approx(head[name], abs=5e-5)
        assert float(row[3]) == pytest.approx(base[name], abs=5e-5)  # the champion is base's model
        assert float(row[4]) == pytest.approx(head[name] - base[name], abs=5e-5)
    assert "| champion v0.0.1 |" in text


def test_the_markdown_is_github_flavoured_with_well_formed_mermaid(param_change: Reviewed) -> None:
    text = param_change.text
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = [token for token in tokens if token.type == "table_open"]
    assert len(tables) == text.count("\n| --- |")
    assert len(tables) >= 5  # metrics, params, data, and a confusion matrix per side
    for table in re.findall(r"((?:^\|.*\|\n)+)", text, re.MULTILINE):
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in table.splitlines()}
        assert len(widths) == 1, table
    fences = [token for token in tokens if token.type == "fence" and token.info == "mermaid"]
    assert len(fences) == 3  # confusion, ROC, PR
    for fence in fences:
        front, chart = fence.content.split("---\n")[1:]  # the colours' config, then the chart
        assert 'plotColorPalette: "#0969da, #cf222e' in front
        first, *statements = chart.rstrip("\n").split("\n")
        assert first == "xychart-beta"
        assert all(MERMAID_STATEMENT.match(line) for line in statements), fence.content
        categories = re.search(r"x-axis \[(.*)\]", fence.content)
        series = re.findall(r"(?:line|bar) \[(.*)\]", fence.content)
        assert len(series) == 2
        if categories:
            assert {len(s.split(", ")) for s in series} == {len(categories[1].split(", "))}


def test_the_html_is_self_contained_with_every_plot(param_change: Reviewed) -> None:
    page = (param_change.folder / "review.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page
    assert "<link" not in page
    images = re.findall(r'<img src="data:image/png;base64,', page)
    assert len(images) == 3
    for name in ("confusion", "roc", "pr"):
        assert (param_change.folder / f"review-{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_data_change_shows_rows_and_a_drift_score_per_feature(clone: Clone) -> None:
    data = clone.path / "data" / "penguins.csv"
    lines = data.read_text().splitlines(keepends=True)
    torgersen = [line for line in lines if ",Torgersen," in line]
    dropped = set(torgersen[:44])  # 300 rows stay: the suite's lower bound; Torgersen falls from 15% to 3%
    kept = [line for line in lines if line not in dropped]
    data.write_text("".join(kept))
    dvc(clone, "add", "--quiet", "data/penguins.csv")
    dvc(clone, "repro", "--quiet")
    dvc(clone, "push", "--quiet")
    commit_and_push(clone.path, clone.env, "Keep few penguins of Torgersen island")
    result = review(clone, "HEAD~1")
    assert result.returncode == 0, result.stderr
    text = report(clone)
    assert f"`penguins`: {len(lines) - 1} rows in base, {len(kept) - 1} in head." in text
    island = re.search(r"^\| island \| category \| .* \| (\d\.\d{3}) \| (.*) \|$", text, re.MULTILINE)
    assert island, text
    assert float(island[1]) > 0.2
    assert island[2].startswith("drifted (PSI > 0.2)")


def test_a_base_whose_data_is_not_in_the_remote_is_reported(clone: Clone, tmp_path: Path) -> None:
    run("git", "commit", "--quiet", "--allow-empty", "-m", "Nothing changed", cwd=clone.path, env=clone.env)
    empty_cache, empty_remote = tmp_path / "cache", tmp_path / "remote"
    empty_remote.mkdir()
    dvc(clone, "config", "--local", "cache.dir", str(empty_cache))
    dvc(clone, "config", "--local", "remote.storage.url", str(empty_remote))
    try:
        result = review(clone, "HEAD~1")
    finally:
        (clone.path / ".dvc" / "config.local").unlink()
    assert result.returncode == 0, result.stderr
    text = report(clone)
    assert "base HEAD~1's data/penguins.csv cannot be read" in text
    assert "### Metrics" in text
    assert "| train." not in text  # the params did not change in that commit


def test_failed_validation_of_head_is_named(clone: Clone) -> None:
    try:
        with edited(clone.path / "data" / "penguins.csv", lambda text: text.replace(",Biscoe,", ",Atlantis,", 5)):
            failed = subprocess.run(["uv", "run", "--no-sync", "mlci", "validate"], cwd=clone.path, env=clone.env)
            assert failed.returncode == 1
            result = review(clone, "HEAD")
    finally:
        mlci(clone, "validate")  # the record of the restored data
    assert result.returncode == 0, result.stderr
    text = report(clone)
    line = next(line for line in text.splitlines() if line.startswith("- **FAIL** `penguins`"))
    assert "island: column_values_to_be_in_set" in line
    assert "Atlantis" in line


def test_a_replaced_model_in_dvc_is_refused_before_anything_loads_it(clone: Clone, tmp_path: Path) -> None:
    """The bytes DVC serves for another commit's model are checked against the md5 git records: a pickle put in the
    cache (and remote) under the model's checksum is never handed to the code that would unpickle it."""
    (model_md5,) = locked_md5s(yaml.safe_load((clone.path / "dvc.lock").read_text()), Path("models/model.pkl"))
    cache, remote = tmp_path / "cache", tmp_path / "remote"
    dvc(clone, "config", "--local", "cache.dir", str(cache))
    try:
        dvc(clone, "fetch", "--quiet", "models/model.pkl")  # copies of the model's bytes, this test's to damage
        dvc(clone, "config", "--local", "remote.storage.url", str(remote))
        dvc(clone, "push", "--quiet", "models/model.pkl")
        entries = [
            path
            for path in [*cache.rglob("*"), *remote.rglob("*")]
            if path.is_file() and f"{path.parent.name}{path.name}" == model_md5
        ]
        assert len(entries) == 2, f"the model's entries in the cache and the remote: {entries}"
        for entry in entries:
            entry.chmod(0o644)
            entry.write_bytes(b"not the model")
        script = (
            "import sys; from pathlib import Path; from mlci.core.tracked import fetch_at\n"
            "fetch_at(Path('.'), Path('models/model.pkl'), sys.argv[1], Path(sys.argv[2]))"
        )
        head = run("git", "rev-parse", "HEAD", cwd=clone.path).stdout.strip()
        result = subprocess.run(
            ["uv", "run", "--no-sync", "python", "-c", script, head, str(tmp_path / "fetched")],
            cwd=clone.path,
            env=clone.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        (clone.path / ".dvc" / "config.local").unlink()
    assert result.returncode != 0
    assert "DVC served bytes other than those git records" in result.stderr
    assert f"recorded {model_md5}" in result.stderr
    assert not list((tmp_path / "fetched").rglob("model.pkl")), "the replaced bytes were left where code reads them"
