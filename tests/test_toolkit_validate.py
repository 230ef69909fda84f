"""`mlci validate` on a small suite of its own: results, exit codes, Data Docs, and broken suites named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlci.cli import main
from test_toolkit_config import VALID

SUITE = """
from pathlib import Path

import great_expectations.expectations as gxe
import pandas as pd

DATA = Path("data/birds.csv")


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def expectations() -> list[gxe.Expectation]:
    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=["name", "wings"], exact_match=True),
        gxe.ExpectColumnValuesToBeBetween(column="wings", min_value=0, max_value=2),
    ]
"""


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder laid out as a generated repository: config, one suite, and its data."""
    (tmp_path / "mlci.toml").write_text(VALID)
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "birds.py").write_text(SUITE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "birds.csv").write_text("name,wings\nrobin,2\nwren,2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def record(repository: Path) -> Any:
    return json.loads((repository / "reports" / "validation.json").read_text())


def test_valid_data_passes_and_builds_data_docs(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "ok   birds (data/birds.csv): 2 expectations, all hold" in capsys.readouterr().out
    assert record(repository)["success"] is True
    assert (repository / "reports" / "data-docs" / "index.html").is_file()


def test_failed_expectation_is_named_with_offending_values(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "data" / "birds.csv").write_text("name,wings\nrobin,2\nsix-winged seraph,6\n")
    assert main(["validate"]) == 1
    output = capsys.readouterr()
    assert "wings: column_values_to_be_between(min_value=0.0, max_value=2.0): 1 of 2 rows (50.0%) break it, e.g. 6" in (
        output.out
    )
    assert "validation failed for 1 of 1 data files" in output.err
    (suite,) = record(repository)["suites"]
    assert suite["failures"][0]["column"] == "wings"


def test_same_data_writes_the_same_record(repository: Path) -> None:
    assert main(["validate"]) == 0
    first = (repository / "reports" / "validation.json").read_bytes()
    assert main(["validate"]) == 0
    assert (repository / "reports" / "validation.json").read_bytes() == first


def test_docs_keep_only_the_last_run(repository: Path) -> None:
    assert main(["validate"]) == 0
    assert main(["validate", "data/birds.csv"]) == 0
    assert len(list((repository / "reports" / "data-docs" / "validations").rglob("*.html"))) == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: (r / "validation" / "birds.py").unlink(), "holds no suite"),
        (lambda r: (r / "validation" / "birds.py").write_text("DATA = 'x'\n"), "missing: read, expectations"),
        (lambda r: (r / "validation" / "birds.py").write_text("import nothing_here\n"), "ModuleNotFoundError"),
        (
            lambda r: (r / "mlci.toml").write_text(VALID + '[validation]\nsuites = "nowhere"\n'),
            "nowhere: no such folder",
        ),
    ],
    ids=["empty-folder", "incomplete-module", "broken-import", "missing-folder"],
)
def test_unusable_suites_are_usage_errors(
    repository: Path, capsys: pytest.CaptureFixture[str], setup: Callable[[Path], object], message: str
) -> None:
    setup(repository)
    assert main(["validate"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("mlci: error: ")
    assert message in error
    assert not (repository / "reports").exists()


def test_unknown_suite_name_lists_the_suites(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--suite", "fish"]) == 2
    assert "no suite named 'fish'; the suites are: birds" in capsys.readouterr().err


def test_files_need_a_suite_when_there_are_several(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "validation" / "fish.py").write_text(SUITE)
    assert main(["validate", "data/birds.csv"]) == 2
    assert "name the one to check them against with --suite" in capsys.readouterr().err
    assert main(["validate", "--suite", "fish", "data/birds.csv"]) == 0


def test_helper_modules_are_not_suites(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "validation" / "_shared.py").write_text("RULES = []\n")
    assert main(["validate"]) == 0
    assert "_shared" not in capsys.readouterr().out


def test_a_report_folder_that_cannot_be_made_is_a_message_not_a_traceback(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "reports").write_text("a file where the reports folder should be")
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlci: error: ")
    assert "reports" in err
    assert "Traceback" not in err
