"""The generated validation suites, run for real: bad data is named and stops the pipeline, good data passes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import STAGES, CheckedProject, dvc, run

pytestmark = pytest.mark.slow

Rows = list[list[str]]


def edited(column: str, change: Callable[[int, str], str]) -> Callable[[Rows], Rows]:
    """A corruption that changes one column's value in some rows, given the row's number and value."""

    def corrupt(rows: Rows) -> Rows:
        index = rows[0].index(column)
        return [rows[0]] + [[*row[:index], change(n, row[index]), *row[index + 1 :]] for n, row in enumerate(rows[1:])]

    return corrupt


def dropped(column: str) -> Callable[[Rows], Rows]:
    def corrupt(rows: Rows) -> Rows:
        index = rows[0].index(column)
        return [row[:index] + row[index + 1 :] for row in rows]

    return corrupt


def as_csv(rows: Rows) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue()


# Each bad file: how it is made from the shipped data, and words the report must name for it.
CORPUS: dict[str, tuple[Callable[[str], str], list[str]]] = {
    "missing_column": (lambda text: as_csv(dropped("bill_depth_mm")(rows_of(text))), ["missing: bill_depth_mm"]),
    "extra_column": (
        lambda text: as_csv([[*row, "colour" if n == 0 else "blue"] for n, row in enumerate(rows_of(text))]),
        ["unexpected: colour"],
    ),
    "wrong_type": (
        lambda text: as_csv(edited("body_mass_g", lambda n, v: "heavy" if n == 7 else v)(rows_of(text))),
        ["body_mass_g: column_values_to_be_in_type_list", "found 'str'"],
    ),
    "out_of_range": (
        lambda text: as_csv(edited("flipper_length_mm", lambda n, v: "999" if n in (2, 40) else v)(rows_of(text))),
        ["flipper_length_mm: column_values_to_be_between", "2 of 344 rows", "999.0 (2x)"],
    ),
    "unknown_category": (
        lambda text: as_csv(edited("island", lambda n, v: "Atlantis" if n % 50 == 0 else v)(rows_of(text))),
        ["island: column_values_to_be_in_set", "'Atlantis' (7x)"],
    ),
    "nulls_beyond_bound": (
        lambda text: as_csv(edited("sex", lambda n, v: "NA" if n % 4 == 0 else v)(rows_of(text))),
        ["sex: column_values_to_not_be_null", "missing, at most 8% allowed"],
    ),
    "empty_file": (lambda text: "", ["the file is empty"]),
    "header_only": (lambda text: text.splitlines(keepends=True)[0], ["table_row_count_to_be_between", "found 0"]),
    "a_class_missing": (
        lambda text: as_csv([row for n, row in enumerate(rows_of(text)) if n == 0 or row[0] != "Chinstrap"]),
        ["species: column_distinct_values_to_contain_set"],
    ),
    "malformed_csv": (
        lambda text: text + "Adelie,Dream,39.5,17.4,186,3800,female,2007,two,more\n",
        ["not well-formed CSV", "Expected 8 fields in line 346, saw 10"],
    ),
}


def rows_of(text: str) -> Rows:
    return list(csv.reader(io.StringIO(text)))


def config_writing_to(project: Path, folder: Path) -> Path:
    """The project's config with validation results and Data Docs sent to `folder`, away from the pipeline's."""
    config = folder / "mlci.toml"
    text = (project / "mlci.toml").read_text()
    text = text.replace('report = "reports/validation.json"', f'report = "{folder}/validation.json"')
    config.write_text(text.replace('docs = "reports/data-docs"', f'docs = "{folder}/data-docs"'))
    return config


def test_corpus_of_bad_files_fails_each_with_its_problem_named(checked_project: CheckedProject, tmp_path: Path) -> None:
    project = checked_project.path
    shipped = (project / "data" / "penguins.csv").read_text()
    files = []
    for name, (make, _) in CORPUS.items():
        files.append(tmp_path / f"{name}.csv")
        files[-1].write_text(make(shipped))
    config = config_writing_to(project, tmp_path)
    command = ["uv", "run", "mlci", "--config", str(config), "validate", "--suite", "penguins", *map(str, files)]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "validation failed for 10 of 10 data files" in result.stderr
    record = json.loads((tmp_path / "validation.json").read_text())
    assert not record["success"]
    outcomes = {Path(suite["data"]).stem: suite for suite in record["suites"]}
    assert set(outcomes) == set(CORPUS)
    report_of = dict(zip(CORPUS, result.stdout.split("FAIL penguins")[1:], strict=True))
    for name, (_, named) in CORPUS.items():
        assert not outcomes[name]["success"], name
        for words in named:
            assert words in report_of[name], f"{name}: {words!r} not in\n{report_of[name]}"
    assert (tmp_path / "data-docs" / "index.html").is_file()


def test_shipped_data_passes_with_data_docs(checked_project: CheckedProject, tmp_path: Path) -> None:
    project = checked_project.path
    config = config_writing_to(project, tmp_path)
    output = run("uv", "run", "mlci", "--config", str(config), "validate", cwd=project).stdout
    assert "ok   penguins (data/penguins.csv)" in output
    assert json.loads((tmp_path / "validation.json").read_text())["success"]
    pages = [page.read_text() for page in (tmp_path / "data-docs" / "validations").rglob("*.html")]
    assert len(pages) == 1
    assert "expect_column_values_to_be_between" in pages[0] or "values must be" in pages[0]


def test_nox_session_validates_the_pipeline_data(reproduced: Path) -> None:
    output = run("nox", "-s", "validate", cwd=reproduced).stdout
    assert "all hold" in output
    assert run("git", "status", "--porcelain", cwd=reproduced).stdout == ""


def test_invalid_data_stops_the_pipeline_and_keeps_the_last_model(reproduced: Path) -> None:
    data = reproduced / "data" / "penguins.csv"
    kept = {path: path.read_bytes() for path in (data, reproduced / "dvc.lock", reproduced / "models" / "model.pkl")}
    kept_metrics = (reproduced / "reports" / "metrics.json").read_bytes()
    make_bad, _ = CORPUS["out_of_range"]
    data.write_text(make_bad(data.read_text()))
    try:
        result = subprocess.run(["uv", "run", "dvc", "repro"], cwd=reproduced, capture_output=True, text=True)
        assert result.returncode != 0
        assert "failed to reproduce 'validate'" in result.stderr
        assert "flipper_length_mm: column_values_to_be_between" in result.stdout
        assert "Running stage 'prepare'" not in result.stdout
        assert (reproduced / "reports" / "metrics.json").read_bytes() == kept_metrics
        for path, content in kept.items():
            if path != data:
                assert path.read_bytes() == content, f"{path.name} changed"
        assert not json.loads((reproduced / "reports" / "validation.json").read_text())["success"]
    finally:
        for path, content in kept.items():
            path.write_bytes(content)
    output = dvc(reproduced, "repro")
    assert "Running stage 'validate'" in output
    assert all(f"Stage '{stage}' didn't change, skipping" in output for stage in STAGES[1:])
    run("git", "checkout", "data/penguins.csv.dvc", cwd=reproduced)
    assert run("git", "status", "--porcelain", cwd=reproduced).stdout == ""
