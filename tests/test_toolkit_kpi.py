"""`mlci kpi` on a log and outcomes made here: the join by id, each rule at its boundary, the exit codes.

The repository is the least `mlci kpi` reads: config, project files, a git repository, and a package `toy` whose
`schema` names the target and whose `evaluate.outcome_metrics` measures answers (the generated repository's
own is run by the slow tests).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import run
from mlci.cli import main
from mlci.core.settings import Kpi
from mlci.monitoring.kpi import kpi_checks
from mlci.monitoring.outcomes import OutcomesError, read_outcomes
from test_toolkit_config import VALID

TOY_SCHEMA = """
from dataclasses import dataclass


@dataclass
class Column:
    name: str


TARGET = Column("species")
IDENTIFIER = None
"""
TOY_EVALUATE = """
def outcome_metrics(actual, predicted):
    hits = sum(a == p for a, p in zip(actual.astype(str), predicted.astype(str)))
    return {"accuracy": round(hits / len(actual), 4), "error_rate": round(1 - hits / len(actual), 4)}
"""
SETTINGS = """
[metrics]
accuracy = "higher"
error_rate = "lower"
roc_auc_ovr = "higher"

[monitoring]
log = "logs"

[kpi]
outcomes = "outcomes"
min_outcomes = {min_outcomes}
limit = {limit}
"""


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    package = tmp_path / "src" / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "schema.py").write_text(TOY_SCHEMA)
    (package / "evaluate.py").write_text(TOY_EVALUATE)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    run("git", "init", "--quiet", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    configure(tmp_path)
    return tmp_path


def configure(root: Path, min_outcomes: int = 10, limit: str = "{}") -> None:
    (root / "mlci.toml").write_text(VALID + SETTINGS.format(min_outcomes=min_outcomes, limit=limit))


def write_log(root: Path, answers: list[tuple[str | None, str]], version: str = "v0.0.1") -> None:
    """A log of production's answers: (id, predicted class) per request; an id of None is an older log's."""
    folder = root / "logs" / "production"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, prediction in answers:
        record = {"timestamp": "2026-11-23T12:00:00+00:00", "model_version": version, "inputs": {"x": 1.0}}
        lines.append(json.dumps({**record, **({"id": name} if name else {}), "prediction": prediction}))
    (folder / f"{version}-{len(list(folder.iterdir()))}.jsonl").write_text("\n".join(lines) + "\n")


def write_outcomes(root: Path, truths: dict[str, str], name: str = "1.csv") -> None:
    (root / "outcomes").mkdir(exist_ok=True)
    pd.DataFrame({"id": list(truths), "species": list(truths.values())}).to_csv(root / "outcomes" / name, index=False)


def traffic(root: Path, requests: int, with_outcomes: int, wrong: int) -> None:
    """`requests` answers of Adelie; outcomes for the first `with_outcomes`, of which `wrong` say Gentoo."""
    write_log(root, [(f"r{index}", "Adelie") for index in range(requests)])
    write_outcomes(root, {f"r{index}": "Gentoo" if index < wrong else "Adelie" for index in range(with_outcomes)})


def kpi(*args: str) -> int:
    return main(["kpi", *args])


def verdict(root: Path) -> str:
    found: str = json.loads((root / "reports" / "kpi.json").read_text())["verdict"]
    return found


def test_answers_are_joined_with_outcomes_by_id_and_measured(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic(repository, requests=40, with_outcomes=25, wrong=5)
    write_outcomes(repository, {"unanswered": "Adelie"}, "2.csv")  # an outcome of a record never logged
    assert kpi() == 0
    said = capsys.readouterr().out
    assert "v0.0.1: 40 logged answers, 25 with outcomes: accuracy 0.8; error_rate 0.2" in said
    assert "no KPI is set" in said
    report = (repository / "reports" / "kpi.md").read_text()
    assert "### v0.0.1: 40 logged answers, 25 with outcomes" in report
    assert "| accuracy | 0.8 |" in report
    assert verdict(repository) == "met"


@pytest.mark.parametrize(
    ("limit", "code"),
    [
        ("{accuracy = 0.8}", 0),  # 20 of 25 right: exactly the limit
        ("{accuracy = 0.8001}", 1),
        ("{error_rate = 0.2}", 0),  # lower is better: at most the limit
        ("{error_rate = 0.1999}", 1),
    ],
)
def test_a_limit_is_met_at_its_boundary_and_missed_past_it_in_its_direction(
    repository: Path, capsys: pytest.CaptureFixture[str], limit: str, code: int
) -> None:
    configure(repository, limit=limit)
    traffic(repository, requests=30, with_outcomes=25, wrong=5)
    assert kpi() == code
    if code:
        assert "mlci: KPI missed: v0.0.1: " in capsys.readouterr().err
        assert verdict(repository) == "missed"
        assert "**missed**" in (repository / "reports" / "kpi.md").read_text()
    else:
        assert verdict(repository) == "met"


def test_a_later_outcome_of_the_same_record_wins(repository: Path) -> None:
    configure(repository, limit="{accuracy = 1.0}")
    traffic(repository, requests=12, with_outcomes=12, wrong=1)
    assert kpi() == 1
    write_outcomes(repository, {"r0": "Adelie"}, "2.csv")  # the first outcome of r0 is corrected
    assert kpi() == 0


@pytest.mark.parametrize(("with_outcomes", "code"), [(10, 0), (9, 3)])
def test_too_few_outcomes_are_not_judged(
    repository: Path, capsys: pytest.CaptureFixture[str], with_outcomes: int, code: int
) -> None:
    configure(repository, min_outcomes=10, limit="{accuracy = 1.0}")
    traffic(repository, requests=30, with_outcomes=with_outcomes, wrong=0)
    assert kpi() == code
    if code:
        assert "v0.0.1: 9 answers with outcomes: fewer than [kpi] min_outcomes = 10" in capsys.readouterr().err
        assert verdict(repository) == "nothing to judge"


def test_answers_logged_without_an_id_have_no_outcome(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(repository, [(None, "Adelie")] * 20 + [(f"r{index}", "Adelie") for index in range(10)])
    write_outcomes(repository, {f"r{index}": "Adelie" for index in range(10)})
    assert kpi() == 0
    assert "30 logged answers, 10 with outcomes" in capsys.readouterr().out


def test_each_version_is_judged_on_its_own_answers(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(repository, limit="{accuracy = 0.9}")
    write_log(repository, [(f"a{index}", "Adelie") for index in range(10)], "v0.0.1")
    write_log(repository, [(f"b{index}", "Gentoo") for index in range(10)], "v0.0.2")
    write_outcomes(repository, {**{f"a{i}": "Adelie" for i in range(10)}, **{f"b{i}": "Adelie" for i in range(10)}})
    assert kpi() == 1
    assert capsys.readouterr().err.strip() == "mlci: KPI missed: v0.0.2: accuracy >= 0.9"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('[kpi]\noutcomes = ""', "no outcomes to measure answers against: set [kpi] outcomes"),
        ("[kpi]\noutcomes = 'outcomes'\nlimit = {roc_auc_ovr = 0.9}", "[kpi] names roc_auc_ovr, which outcomes"),
        ("[kpi]\noutcomes = 'outcomes'\nlimit = {recall = 0.9}", "kpi: recall: a KPI on a metric [metrics] does"),
    ],
)
def test_kpis_that_cannot_be_judged_are_refused_naming_why(
    repository: Path, capsys: pytest.CaptureFixture[str], settings: str, message: str
) -> None:
    text = (repository / "mlci.toml").read_text()
    (repository / "mlci.toml").write_text(text[: text.index("[kpi]")] + settings + "\nmin_outcomes = 1\n")
    traffic(repository, requests=10, with_outcomes=10, wrong=0)
    assert kpi() == 2
    assert message in capsys.readouterr().err


def test_an_outcomes_table_without_the_target_is_refused_naming_the_columns(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic(repository, requests=10, with_outcomes=10, wrong=0)
    pd.DataFrame({"id": ["r1"], "label": ["Adelie"]}).to_csv(repository / "outcomes" / "3.csv", index=False)
    assert kpi() == 2
    err = capsys.readouterr().err
    assert "3.csv: no column 'species'; an outcomes table names each record by 'id'" in err
    assert "(it has: 'id', 'label')" in err


def test_no_log_is_nothing_to_judge(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_outcomes(repository, {"r1": "Adelie"})
    assert kpi() == 3
    assert "no inference log there" in capsys.readouterr().err
    assert verdict(repository) == "nothing to judge"


@pytest.mark.parametrize(
    ("metric", "direction", "live", "tested", "passed"),
    [
        ("accuracy", "higher", 0.85, 0.9, True),  # a drop of exactly max_drop
        ("accuracy", "higher", 0.8499, 0.9, False),
        ("rmse", "lower", 1.15, 1.1, True),  # lower is better: a rise of exactly max_drop
        ("rmse", "lower", 1.1501, 1.1, False),
    ],
)
def test_the_largest_drop_from_the_test_set_follows_the_metrics_direction(
    metric: str, direction: str, live: float, tested: float, passed: bool
) -> None:
    (check,) = kpi_checks({metric: live}, {metric: tested}, Kpi(max_drop={metric: 0.05}), {metric: direction})
    assert check.passed is passed
    assert check.rule == f"{metric} loss vs its test set <= 0.05"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("latin1.csv", "id,species\n1,Ad\xe9lie\n".encode("latin-1")),
        ("utf16.csv", "id,species\n1,Adelie\n".encode("utf-16")),
        ("empty.csv", b""),
        ("open-quote.csv", b'id,species\n1,"Adelie\n2,Gentoo\n'),
        ("truncated.parquet", b"PAR1garbagePAR1"),
    ],
)
def test_an_outcomes_table_that_cannot_be_read_is_named(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(OutcomesError, match=rf"{name}: not a table that can be read: "):
        read_outcomes(str(tmp_path), "id", "species")


def test_an_outcomes_table_with_old_mac_line_ends_or_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"id,species\r1,Adelie\r2,Gentoo\r")
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbfid,species\n3,Chinstrap\n")
    outcomes = read_outcomes(str(tmp_path), "id", "species")
    assert outcomes.to_dict("records") == [
        {"id": "1", "actual": "Adelie"},
        {"id": "2", "actual": "Gentoo"},
        {"id": "3", "actual": "Chinstrap"},
    ]
