"""`mlci refresh` where it refuses or changes nothing; the copy and `dvc add` run in the workflow tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run
from mlci.cli import main
from test_toolkit_config import VALID

DATA = "species,island\nAdelie,Dream\n"


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose raw data DVC tracks (its .dvc file), and a folder where new data lands."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "penguins.csv").write_text(DATA)
    (tmp_path / "data" / "penguins.csv.dvc").write_text("outs:\n- path: penguins.csv\n")
    (tmp_path / "incoming").mkdir()
    source = tmp_path / "incoming" / "penguins.csv"
    (tmp_path / "mlci.toml").write_text(VALID + f'\n[retrain]\nsource = "{source}"\ndata = "data/penguins.csv"\n')
    run("git", "init", "--quiet", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_data_equal_to_what_the_repository_holds_changes_nothing(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "incoming" / "penguins.csv").write_text(DATA)
    assert main(["refresh"]) == 0
    assert "already holds the data" in capsys.readouterr().out


def test_no_data_at_the_source_is_named(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refresh"]) == 2
    assert "incoming/penguins.csv: no data there: put the newest labelled data there first" in capsys.readouterr().err


def test_a_target_dvc_does_not_track_is_refused(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "data" / "penguins.csv.dvc").unlink()
    (repository / "incoming" / "penguins.csv").write_text(DATA + "Gentoo,Biscoe\n")
    assert main(["refresh"]) == 2
    assert "data/penguins.csv is not tracked by DVC" in capsys.readouterr().err


def test_a_failed_dvc_add_leaves_the_old_data(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The template's test environment has no DVC (generation needs none), so `python -m dvc add` fails here.
    (repository / "incoming" / "penguins.csv").write_text(DATA + "Gentoo,Biscoe\n")
    assert main(["refresh"]) == 2
    assert "dvc add data/penguins.csv failed, the data is unchanged" in capsys.readouterr().err
    assert (repository / "data" / "penguins.csv").read_text() == DATA
    assert sorted(path.name for path in (repository / "data").iterdir()) == ["penguins.csv", "penguins.csv.dvc"]


def test_no_source_configured_is_named(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "mlci.toml").write_text(VALID)
    assert main(["refresh"]) == 2
    assert "[retrain] source is not set in mlci.toml" in capsys.readouterr().err
